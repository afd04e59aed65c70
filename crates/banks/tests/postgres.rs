//! What only the shared store has to get right: many writers at once with
//! readers following the change feed, change notices, bulk imports, and
//! messages that never show a password. (The behaviour both backends share
//! is tested on both in store.rs.)

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use banks::testing::TestDatabase;
use banks::{BankOptions, Change, ChangeCursor, Location, NewEntry, Store};

fn entry(hash: String, external_id: Option<String>, withdrawn: bool) -> Result<NewEntry, banks::LineError> {
    Ok(NewEntry {
        signal: "pdq".into(),
        hash,
        categories: vec!["test:a".into()],
        external_id,
        source: Some("test".into()),
        raw: serde_json::Map::new(),
        withdrawn,
    })
}

/// A distinct PDQ hash for (writer, n).
fn hash(writer: u32, n: u32) -> String {
    let mut bytes = [0u8; 32];
    bytes[..4].copy_from_slice(&writer.to_be_bytes());
    bytes[4..8].copy_from_slice(&n.to_be_bytes());
    bytes[31] = 0x5a;
    pdq::Hash256::from_bytes(bytes).to_hex()
}

fn live_ids(store: &Store) -> BTreeSet<u32> {
    let mut ids = BTreeSet::new();
    store
        .for_each_entry(&[], |e| {
            ids.insert(e.id);
            Ok(())
        })
        .unwrap();
    ids
}

fn apply(live: &mut BTreeSet<u32>, changes: &[Change]) {
    for c in changes {
        match c {
            Change::Removed(id) => {
                live.remove(id);
            }
            Change::Added { id, .. } => {
                live.insert(*id);
            }
        }
    }
}

#[test]
#[cfg_attr(not(postgres_tests), ignore = "set TANTALUM_TEST_POSTGRES to run")]
fn a_follower_of_the_feed_ends_exactly_where_concurrent_writers_left_the_store() {
    let db = TestDatabase::create("concurrent_writers");
    let location = Location::Postgres(db.url.clone());
    let setup = Store::open_at(&location).unwrap();
    for w in 0..4 {
        setup.create_bank(&format!("W{w}"), &BankOptions::default()).unwrap();
    }
    let follower = Store::open_reader_at(&location).unwrap();
    let mut cursor = ChangeCursor::default();
    let mut followed = BTreeSet::new();
    std::thread::scope(|scope| {
        let writers: Vec<_> = (0..4u32)
            .map(|w| {
                let location = location.clone();
                scope.spawn(move || {
                    let mut store = Store::open_at(&location).unwrap();
                    let bank = format!("W{w}");
                    for round in 0..12u32 {
                        // Add 50, re-add 10 already there, withdraw 5 by their list ids.
                        let adds =
                            (round * 50..round * 50 + 50).map(|n| entry(hash(w, n), Some(format!("{w}-{n}")), false));
                        let again = (0..10).map(|n| entry(hash(w, n), Some(format!("{w}-{n}")), false));
                        let withdraw =
                            (0..5u32).map(|k| entry(String::new(), Some(format!("{w}-{}", round * 7 + k)), true));
                        let report = store.import(&bank, adds.chain(again).chain(withdraw)).unwrap();
                        assert!(report.applied);
                        if round % 4 == 3 {
                            let id = store.entry_id(&bank, "pdq", &hash(w, round * 50)).unwrap();
                            if let Some(id) = id {
                                store.remove_entry(id).unwrap();
                            }
                        }
                    }
                })
            })
            .collect();
        // Follow while they write.
        while !writers.iter().all(|w| w.is_finished()) {
            let (changes, next) = follower.changes_since(&cursor).unwrap();
            apply(&mut followed, &changes);
            cursor = next;
        }
        for w in writers {
            w.join().unwrap();
        }
    });
    let (changes, _) = follower.changes_since(&cursor).unwrap();
    apply(&mut followed, &changes);
    let truth = live_ids(&follower);
    // Per writer: 600 added, 60 withdrawn of which the last round's re-adds revived 8, 3 removed.
    assert_eq!(truth.len(), 4 * (600 - 52 - 3), "every writer's live entries");
    assert_eq!(
        followed, truth,
        "the follower saw exactly the live entries, nothing missed"
    );
    // The index built from scratch holds the same.
    assert_eq!(follower.pdq_index().unwrap().len(), truth.len());
}

#[test]
#[cfg_attr(not(postgres_tests), ignore = "set TANTALUM_TEST_POSTGRES to run")]
fn a_listener_wakes_when_another_connection_changes_the_store() {
    let db = TestDatabase::create("listener");
    let location = Location::Postgres(db.url.clone());
    let mut store = Store::open_at(&location).unwrap();
    store.create_bank("B", &BankOptions::default()).unwrap();
    let mut listener = Store::listen(&location).unwrap().expect("PostgreSQL listens");
    assert!(
        !listener.wait(Duration::from_millis(200)).unwrap(),
        "quiet store: no wake-up"
    );
    let started = Instant::now();
    store
        .import("B", std::iter::once(entry(hash(9, 9), None, false)))
        .unwrap();
    assert!(listener.wait(Duration::from_secs(5)).unwrap(), "woken by the import");
    assert!(started.elapsed() < Duration::from_secs(5));
    // A failed import (a bad line) changes nothing and says nothing.
    let bad = store
        .import(
            "B",
            vec![
                entry(hash(9, 10), None, false),
                Err(banks::LineError {
                    line: 2,
                    message: "bad".into(),
                }),
            ]
            .into_iter(),
        )
        .unwrap();
    assert!(!bad.applied);
    assert!(!listener.wait(Duration::from_millis(300)).unwrap());
    // The embedded store has no listener: services poll it.
    let dir = tempfile::tempdir().unwrap();
    assert!(Store::listen(&Location::Dir(dir.path().to_path_buf()))
        .unwrap()
        .is_none());
}

#[test]
#[cfg_attr(not(postgres_tests), ignore = "set TANTALUM_TEST_POSTGRES to run")]
fn bulk_imports_go_in_whole_and_reimports_spend_no_ids() {
    let db = TestDatabase::create("bulk");
    let location = Location::Postgres(db.url.clone());
    let mut store = Store::open_at(&location).unwrap();
    store.create_bank("BULK", &BankOptions::default()).unwrap();
    let list = || (0..50_000u32).map(|n| entry(hash(1, n), Some(n.to_string()), false));
    let report = store.import("BULK", list()).unwrap();
    assert_eq!((report.read, report.added, report.duplicates), (50_000, 50_000, 0));
    let max = store.max_entry_id().unwrap();
    assert_eq!(max, 50_000);
    for _ in 0..3 {
        let again = store.import("BULK", list()).unwrap();
        assert_eq!((again.added, again.duplicates), (0, 50_000));
    }
    assert_eq!(store.max_entry_id().unwrap(), max, "duplicates took no ids");
    assert_eq!(store.pdq_index().unwrap().len(), 50_000);
    let info = store.bank("BULK").unwrap().unwrap();
    assert_eq!(info.counts, vec![("pdq".to_string(), 50_000)]);
    // Export order is import order, across the pages of the walk.
    let mut seen = Vec::new();
    store
        .for_each_entry(&["BULK".to_string()], |e| {
            seen.push(e.entry.external_id.unwrap());
            Ok(())
        })
        .unwrap();
    let expected: Vec<String> = (0..50_000u32).map(|n| n.to_string()).collect();
    assert_eq!(seen, expected);
}

#[test]
fn a_store_that_cannot_be_reached_is_named_without_its_password() {
    let location = Location::parse("postgres://tantalum:s3cret@127.0.0.1:1/banks?connect_timeout=2");
    assert!(matches!(location, Location::Postgres(_)));
    assert_eq!(
        location.to_string(),
        "postgres://tantalum:***@127.0.0.1:1/banks?connect_timeout=2"
    );
    let message = match Store::open_at(&location) {
        Ok(_) => panic!("nothing listens on port 1"),
        Err(e) => e.to_string(),
    };
    assert!(
        message.starts_with("postgres://tantalum:***@127.0.0.1:1/banks"),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
    assert!(matches!(Location::parse("/var/lib/tantalum"), Location::Dir(_)));
}

/// A store opened at `url` takes an import and gets a listener.
fn the_store_works_over(url: &str, bank: &str, seed: u32) {
    let mut store = Store::open_at(&Location::Postgres(url.to_string())).unwrap();
    store.create_bank(bank, &BankOptions::default()).unwrap();
    assert!(
        store
            .import(bank, std::iter::once(entry(hash(seed, seed), None, false)))
            .unwrap()
            .applied
    );
    assert!(Store::listen(&Location::Postgres(url.to_string())).unwrap().is_some());
}

/// Why connecting to `url` fails; `why` is what the refusal guards against.
fn refusal(url: &str, why: &str) -> String {
    match banks::connect_postgres(url, "test") {
        Ok(_) => panic!("{url}: {why}"),
        Err(e) => e.to_string(),
    }
}

#[test]
#[cfg_attr(not(postgres_tests), ignore = "set TANTALUM_TEST_POSTGRES to run")]
fn tls_connections_verify_the_server_certificate() {
    let db = TestDatabase::create("tls");
    let mut plain = banks::connect_postgres(&db.url, "test").unwrap();
    let ssl: String = plain.query_one("SHOW ssl", &[]).unwrap().get(0);
    if ssl != "on" {
        eprintln!("the test server has TLS off (scripts/test-postgres turns it on): nothing to check");
        return;
    }
    let encrypted = |client: &mut postgres::Client| -> bool {
        client
            .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
            .unwrap()
            .get(0)
    };
    assert!(
        !encrypted(&mut plain),
        "without sslmode=require the connection is plain"
    );
    // scripts/test-postgres puts the CA that signed the server's certificate beside it.
    let server_cert: String = plain.query_one("SHOW ssl_cert_file", &[]).unwrap().get(0);
    let cert = std::path::Path::new(&server_cert)
        .with_file_name("ca.crt")
        .display()
        .to_string();
    let with = |extra: &str| format!("{}{}{extra}", db.url, if db.url.contains('?') { '&' } else { '?' });

    // The CA as the root: verified, encrypted, and the store works over it.
    let verified = with(&format!("sslmode=require&sslrootcert={cert}"));
    let mut client = banks::connect_postgres(&verified, "test").unwrap();
    assert!(encrypted(&mut client));
    the_store_works_over(&verified, "T", 3);

    // A certificate nobody vouches for is refused, never used unverified.
    let message = refusal(
        &with("sslmode=require"),
        "a private CA's certificate must not pass against the web roots",
    );
    assert!(message.to_lowercase().contains("certificate"), "{message}");
    // A root file with no certificate in it, and a root file without TLS asked for: clear refusals.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let message = refusal(
        &with(&format!("sslmode=require&sslrootcert={}", empty.display())),
        "no root, no connection",
    );
    assert!(message.contains("no certificate"), "{message}");
    let message = refusal(
        &with(&format!("sslrootcert={cert}")),
        "a root certificate without sslmode=require must not fall back to plain TCP",
    );
    assert!(message.contains("sslmode=require"), "{message}");
}

#[test]
#[cfg_attr(not(postgres_tests), ignore = "set TANTALUM_TEST_POSTGRES to run")]
fn client_certificates_log_in_where_the_server_demands_them() {
    let db = TestDatabase::create("client_cert");
    let mut admin = banks::connect_postgres(&db.url, "test").unwrap();
    let server_cert: String = admin.query_one("SHOW ssl_cert_file", &[]).unwrap().get(0);
    let tls = std::path::Path::new(&server_cert).with_file_name("");
    let (ca, cert, key) = (tls.join("ca.crt"), tls.join("client.crt"), tls.join("client.key"));
    if !cert.exists() {
        eprintln!("the test server has no client certificate (scripts/test-postgres makes one): nothing to check");
        return;
    }
    // scripts/test-postgres lets the role tantalum_cert in with a certificate from the test CA only.
    let as_cert_user = db.url.replacen("://postgres@", "://tantalum_cert@", 1);
    let with = |extra: &str| {
        format!(
            "{as_cert_user}{}sslmode=require&sslrootcert={}{extra}",
            if as_cert_user.contains('?') { '&' } else { '?' },
            ca.display()
        )
    };
    let refused = |url: &str| refusal(url, "must be refused");

    // With the certificate: logged in as its role, and the store works over it.
    let url = with(&format!("&sslcert={}&sslkey={}", cert.display(), key.display()));
    let mut client = banks::connect_postgres(&url, "test").unwrap();
    let row = client
        .query_one(
            "SELECT current_user::text, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "tantalum_cert");
    assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some("/CN=tantalum_cert"));
    the_store_works_over(&url, "C", 5);

    // Without it the server says no; half a pair, a shared key file or no TLS: we say no first.
    let message = refused(&with(""));
    assert!(message.contains("certificate"), "{message}");
    let message = refused(&with(&format!("&sslcert={}", cert.display())));
    assert!(message.contains("sslcert and sslkey go together"), "{message}");
    let dir = tempfile::tempdir().unwrap();
    let shared_key = dir.path().join("client.key");
    std::fs::copy(&key, &shared_key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shared_key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let message = refused(&with(&format!(
            "&sslcert={}&sslkey={}",
            cert.display(),
            shared_key.display()
        )));
        assert!(message.contains("group or world access"), "{message}");
        std::fs::set_permissions(&shared_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::write(
        &shared_key,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap();
    let message = refused(&with(&format!(
        "&sslcert={}&sslkey={}",
        cert.display(),
        shared_key.display()
    )));
    assert!(message.contains("encrypted keys are not supported"), "{message}");
    let plain = format!(
        "{as_cert_user}{}sslcert={}&sslkey={}",
        if as_cert_user.contains('?') { '&' } else { '?' },
        cert.display(),
        key.display()
    );
    let message = refused(&plain);
    assert!(message.contains("sslmode=require"), "{message}");
}

#[test]
#[cfg_attr(not(postgres_tests), ignore = "set TANTALUM_TEST_POSTGRES to run")]
fn opening_a_store_again_runs_no_ddl() {
    // DDL locks tables (replacing a trigger locks entries outright), which would stall every
    // replica's lookups whenever a command opened the store: the schema is made once per version.
    let db = TestDatabase::create("ddl_once");
    let location = Location::Postgres(db.url.clone());
    let trigger = |client: &mut postgres::Client| -> u32 {
        client
            .query_one("SELECT oid FROM pg_trigger WHERE tgname = 'entry_removed'", &[])
            .unwrap()
            .get(0)
    };
    let first = Store::open_at(&location).unwrap();
    let mut admin = banks::connect_postgres(&db.url, "test").unwrap();
    let made = trigger(&mut admin);
    for _ in 0..3 {
        Store::open_at(&location).unwrap();
        Store::open_reader_at(&location).unwrap();
    }
    assert_eq!(trigger(&mut admin), made, "the trigger was not made again");
    first.create_bank("still-works", &BankOptions::default()).unwrap();
}

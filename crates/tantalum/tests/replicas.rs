//! Two `tantalum serve` processes sharing one PostgreSQL store, driven over
//! real HTTP: what one replica is told, the other matches within seconds,
//! through both APIs; tokens and the audit chain are shared.
//! Runs when `TANTALUM_TEST_POSTGRES` names a server (see scripts/test-postgres).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const PDQ_A: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
const PDQ_B: &str = "f0a10efd51c83d429053d48d0fffbc52e34e0e17ada956a9d29685211ea9e58f";

/// How long a change may take to reach the other replica (the bound).
const LIVE_WITHIN: Duration = Duration::from_secs(5);

fn tantalum(store: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tantalum"));
    command.arg("--store").arg(store);
    command
}

struct Replica {
    child: Child,
    addr: String,
}

impl Replica {
    fn start(store: &str) -> Replica {
        let mut child = tantalum(store)
            .args(["serve", "--listen", "127.0.0.1:0", "--quiet"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("serve exited before listening").unwrap();
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if v["msg"] == "listening" {
                    break v["addr"].as_str().unwrap().to_string();
                }
            }
        };
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Replica { child, addr }
    }

    fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let text = String::from_utf8_lossy(&response);
        let (head, payload) = text.split_once("\r\n\r\n").unwrap();
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        let payload = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            dechunk(payload)
        } else {
            payload.to_string()
        };
        let value = serde_json::from_str(&payload).unwrap_or(Value::String(payload));
        (status, value)
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        // SIGTERM: the graceful shutdown path, as an orchestrator stops a replica.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn dechunk(mut text: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = text.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        text = &rest[size + 2..];
    }
    out
}

/// Polls `probe` until it holds; returns how long that took, or fails after `LIVE_WITHIN`.
fn within_bound(what: &str, mut probe: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if probe() {
            let took = started.elapsed();
            eprintln!("{what}: {took:?}");
            return took;
        }
        assert!(started.elapsed() < LIVE_WITHIN, "{what}: not within {LIVE_WITHIN:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn pdq_hits(replica: &Replica, token: &str, hash: &str) -> Vec<Value> {
    let (status, body) = replica.call("POST", "/v1/match", token, Some(json!({"queries": [{"pdq": hash}]})));
    assert_eq!(status, 200, "{body}");
    body["results"][0]["hits"].as_array().unwrap().clone()
}

#[test]
#[cfg_attr(not(postgres_tests), ignore = "set TANTALUM_TEST_POSTGRES to run")]
fn two_replicas_on_one_postgres_store_share_every_change() {
    let db = banks::testing::TestDatabase::create("replicas");
    let store = db.url.as_str();
    let output = tantalum(store)
        .args(["token", "create", "--scope", "admin", "--note", "replica test"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = stdout.lines().last().unwrap().trim().to_string();

    let a = Replica::start(store);
    let b = Replica::start(store);

    // Our API: a bank and an entry through A, matched by B.
    let (status, body) = a.call("POST", "/v1/banks", &token, Some(json!({"name": "shared"})));
    assert_eq!(status, 201, "{body}");
    let (status, body) = a.call(
        "POST",
        "/v1/banks/shared/entries",
        &token,
        Some(json!({"entries": [{"signal": "pdq", "hash": PDQ_A, "categories": ["caid:A"], "external_id": "x-1"}]})),
    );
    assert_eq!(status, 200, "{body}");
    let id = body["ids"][0].as_u64().unwrap();
    within_bound("an addition through A matched by B", || {
        pdq_hits(&b, &token, PDQ_A)
            .iter()
            .any(|h| h["entry_id"] == id && h["categories"] == json!(["caid:A"]) && h["external_id"] == "x-1")
    });

    // Withdrawn through A: B stops matching it.
    let (status, body) = a.call("DELETE", &format!("/v1/entries/{id}"), &token, None);
    assert_eq!(status, 204, "{body}");
    within_bound("a removal through A no longer matched by B", || {
        pdq_hits(&b, &token, PDQ_A).is_empty()
    });

    // HMA's API: content added through B, looked up through A; disabled through A, gone on B at once
    // (content settings live in the shared service tables, read at lookup time).
    let (status, body) = b.call("POST", "/c/banks", &token, Some(json!({"name": "HMA_SHARED"})));
    assert_eq!(status, 201, "{body}");
    let (status, body) = b.call("POST", "/c/bank/HMA_SHARED/signal", &token, Some(json!({"pdq": PDQ_B})));
    assert_eq!(status, 200, "{body}");
    let content = body["id"].as_u64().unwrap();
    let lookup = format!("/m/lookup?signal={PDQ_B}&signal_type=pdq");
    within_bound("HMA content added through B found by A", || {
        let (_, found) = a.call("GET", &lookup, &token, None);
        found["HMA_SHARED"][0]["bank_content_id"] == content
    });
    let (status, body) = a.call(
        "PUT",
        &format!("/c/bank/HMA_SHARED/content/{content}"),
        &token,
        Some(json!({"disable_until_ts": 0})),
    );
    assert_eq!(status, 200, "{body}");
    let (_, found) = b.call("GET", &lookup, &token, None);
    assert_eq!(found, json!({}), "disabled content is not returned by either replica");

    // A bank removed through B disappears from A.
    let (status, _) = b.call("DELETE", "/v1/banks/shared", &token, None);
    assert!(status == 200 || status == 204, "{status}");
    within_bound("a bank removed through B gone from A", || {
        let (_, banks) = a.call("GET", "/v1/banks", &token, None);
        !banks.to_string().contains("\"shared\"")
    });

    // The database drops every connection (as a restart does): both replicas reconnect on their
    // own, no request fails, and changes still travel from one to the other.
    db.drop_connections();
    let (status, body) = a.call("POST", "/v1/banks", &token, Some(json!({"name": "after_restart"})));
    assert_eq!(status, 201, "{body}");
    let (status, body) = a.call(
        "POST",
        "/v1/banks/after_restart/entries",
        &token,
        Some(json!({"entries": [{"signal": "pdq", "hash": PDQ_A}]})),
    );
    assert_eq!(status, 200, "{body}");
    within_bound("an addition after the connections dropped matched by B", || {
        !pdq_hits(&b, &token, PDQ_A).is_empty()
    });

    // Both replicas report their index status; the audit chain holds actions from both, unbroken.
    let (status, index) = b.call("GET", "/v1/index/status", &token, None);
    assert_eq!(status, 200, "{index}");
    drop((a, b));
    let verify = tantalum(store).args(["audit", "verify"]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    let list = tantalum(store).args(["audit", "list"]).output().unwrap();
    let actions: Vec<String> = String::from_utf8(list.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["action"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(actions.len() >= 6, "{actions:?}");
    assert_eq!(actions[0], "token.create");
}

#[test]
#[cfg_attr(not(postgres_tests), ignore = "set TANTALUM_TEST_POSTGRES to run")]
fn the_command_line_works_on_a_postgres_store() {
    let db = banks::testing::TestDatabase::create("cli");
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list.csv");
    std::fs::write(
        &list,
        format!("signal_type,signal\npdq,{PDQ_A}\nmd5,900150983cd24fb0d6963f7d28e17f72\n"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = tantalum(&db.url).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, err) = run(&["bank", "import", "LIST", list.to_str().unwrap(), "--format", "te"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, out, _) = run(&["bank", "export", "LIST", "--format", "te"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        out,
        std::fs::read_to_string(&list).unwrap(),
        "export gives back the list"
    );
    let (code, out, _) = run(&["match", "--json", "900150983cd24fb0d6963f7d28e17f72"]);
    assert_eq!(code, Some(0), "a hit exits 0");
    assert!(out.contains("\"LIST\""), "{out}");
    // A store that cannot be reached: exit 2 with the location, password hidden.
    let out = tantalum("postgres://u:s3cret@127.0.0.1:1/x?connect_timeout=2")
        .args(["bank", "list"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("postgres://u:***@127.0.0.1:1/x") && !err.contains("s3cret"),
        "{err}"
    );
}

fn report_matches(case: &std::path::Path) -> std::collections::BTreeMap<String, Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_tantalum"))
        .args(["report", "--case", case.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let matches: Vec<Value> = f["matches"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| json!([m["bank"], m["signal"], m["distance"], m["entry_hash"], m["categories"]]))
                .collect();
            (f["path"].as_str().unwrap().to_string(), json!([f["status"], matches]))
        })
        .collect()
}

#[test]
#[cfg_attr(not(postgres_tests), ignore = "set TANTALUM_TEST_POSTGRES to run")]
fn a_scan_on_the_postgres_store_records_what_the_embedded_store_does_through_lost_connections() {
    let db = banks::testing::TestDatabase::create("scan");
    let dir = tempfile::tempdir().unwrap();
    let layout = synth::write_evidence(
        &dir.path().join("tree"),
        synth::Extras {
            photos: 40,
            traps: false,
        },
    )
    .unwrap();
    let embedded = dir.path().join("store").to_str().unwrap().to_string();
    for store in [db.url.as_str(), embedded.as_str()] {
        let run = |args: &[&str]| {
            let out = tantalum(store).args(args).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        };
        run(&[
            "bank",
            "import",
            "flagged",
            layout.flagged_list.to_str().unwrap(),
            "--format",
            "csv",
        ]);
        run(&["bank", "create", "known", "--known"]);
        run(&["bank", "import", "known", layout.known_list.to_str().unwrap()]);
    }
    let evidence = layout.evidence.to_str().unwrap();
    let case_embedded = dir.path().join("case-embedded");
    let out = tantalum(&embedded)
        .args(["scan", "--case", case_embedded.to_str().unwrap(), evidence])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the corrupt and empty files: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The same scan on PostgreSQL while every connection is dropped again and again: each
    // run either completes or stops cleanly, recording nothing unmatched, and the rerun resumes.
    let case_shared = dir.path().join("case-shared");
    let dropping = std::sync::atomic::AtomicBool::new(true);
    let mut runs = Vec::new();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while dropping.load(std::sync::atomic::Ordering::Relaxed) {
                db.drop_connections();
                std::thread::sleep(Duration::from_millis(40));
            }
        });
        for _ in 0..4 {
            let out = tantalum(&db.url)
                .args(["scan", "--case", case_shared.to_str().unwrap(), evidence])
                .output()
                .unwrap();
            if out.status.code() == Some(2) {
                eprintln!("a run stopped: {}", String::from_utf8_lossy(&out.stderr).trim());
            }
            runs.push(out.status.code());
        }
        dropping.store(false, std::sync::atomic::Ordering::Relaxed);
    });
    let last = tantalum(&db.url)
        .args(["scan", "--case", case_shared.to_str().unwrap(), evidence])
        .output()
        .unwrap();
    runs.push(last.status.code());
    eprintln!("exit codes of the runs: {runs:?}");
    assert!(
        matches!(last.status.code(), Some(0 | 1)),
        "the last run completes: {}",
        String::from_utf8_lossy(&last.stderr)
    );
    let (embedded_matches, shared_matches) = (report_matches(&case_embedded), report_matches(&case_shared));
    assert!(embedded_matches.values().any(|v| !v[1].as_array().unwrap().is_empty()));
    assert_eq!(shared_matches, embedded_matches, "the same files, statuses and matches");
}

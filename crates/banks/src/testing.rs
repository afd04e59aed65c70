//! Support for tests that need a PostgreSQL server: each gets a database of
//! its own on the server named by `TANTALUM_TEST_POSTGRES`, dropped when the
//! test ends. Tests compile with `cfg(postgres_tests)` only when that
//! variable is set at build time (see build.rs) and are ignored, shown as
//! skipped, otherwise.

use std::sync::atomic::{AtomicU32, Ordering};

/// The variable naming the test server (a superuser URL, e.g. the one `scripts/test-postgres` prints).
pub const TEST_POSTGRES: &str = "TANTALUM_TEST_POSTGRES";

/// A fresh database on the test server, dropped on drop.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    /// Its connection string.
    pub url: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (before_query, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let authority_start = before_query.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = before_query[authority_start..]
        .find('/')
        .map(|i| authority_start + i)
        .unwrap_or(before_query.len());
    format!("{}/{name}{query}", &before_query[..path_start])
}

impl TestDatabase {
    /// Creates one, or panics with the reason; `hint` goes into its name.
    pub fn create(hint: &str) -> TestDatabase {
        let admin_url = std::env::var(TEST_POSTGRES)
            .unwrap_or_else(|_| panic!("{TEST_POSTGRES} must name a PostgreSQL server for this test"));
        let hint: String = hint
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(30)
            .collect::<String>()
            .to_ascii_lowercase();
        let name = format!(
            "tantalum_test_{hint}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut client = postgres::Client::connect(&admin_url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting to {TEST_POSTGRES}: {e}"));
        // Each statement alone: CREATE DATABASE refuses to run inside a (multi-statement) transaction.
        for sql in [
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name}"),
        ] {
            client.batch_execute(&sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        }
        TestDatabase {
            url: with_database(&admin_url, &name),
            admin_url,
            name,
        }
    }
}

impl TestDatabase {
    /// Ends every connection to this database, as a server restart does.
    pub fn drop_connections(&self) {
        let mut client = postgres::Client::connect(&self.admin_url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting to {TEST_POSTGRES}: {e}"));
        client
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&self.name],
            )
            .unwrap_or_else(|e| panic!("ending connections to {}: {e:?}", self.name));
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_is_replaced_in_any_url_form() {
        assert_eq!(
            super::with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "t1"),
            "postgres://u:p@h:5432/t1?sslmode=disable"
        );
        assert_eq!(super::with_database("postgres://h", "t2"), "postgres://h/t2");
    }

    #[test]
    fn passwords_never_show_in_messages() {
        assert_eq!(
            crate::pg::redact("postgres://user:secret@host/db"),
            "postgres://user:***@host/db"
        );
        assert_eq!(crate::pg::redact("postgres://host/db"), "postgres://host/db");
        assert_eq!(
            crate::pg::redact("host=h password=secret dbname=x"),
            "host=h password=*** dbname=x"
        );
    }
}

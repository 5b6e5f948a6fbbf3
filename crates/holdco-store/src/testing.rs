//! Throwaway PostgreSQL stores for tests: each test gets a schema of its own (so tests run in
//! parallel), dropped when the test ends.
//!
//! The server is `postgres://postgres@127.0.0.1:5432/test` unless `HOLDCO_TEST_POSTGRES`
//! names another. Where none answers, [`TestSchema::create`] prints why the test is skipped
//! and returns `None`, so `cargo test` passes on a machine without PostgreSQL; with `CI=true`
//! it panics instead, so that CI never passes without having run them.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The environment variable naming the test server's URL.
pub const TEST_SERVER_VARIABLE: &str = "HOLDCO_TEST_POSTGRES";

/// The test server's URL.
pub fn server_url() -> String {
    std::env::var(TEST_SERVER_VARIABLE)
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A schema created for one test and dropped (with everything in it) when this is dropped.
#[derive(Debug)]
pub struct TestSchema {
    /// The store URL for the schema: the server's URL with `schema=NAME`.
    pub url: String,
    name: String,
}

fn connect(url: &str) -> Result<postgres::Client, postgres::Error> {
    let mut config: postgres::Config = url.parse()?;
    config.connect_timeout(Duration::from_secs(3));
    config.connect(postgres::NoTls)
}

impl TestSchema {
    /// A new, empty schema for the test `test`; `None` (and a line on stderr saying why)
    /// when no PostgreSQL answers, or a panic when the variable `CI` is `true`.
    pub fn create(test: &str) -> Option<TestSchema> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let server = server_url();
        let shown = crate::url::redact(&server);
        let mut client = match connect(&server) {
            Ok(client) => client,
            Err(error) => {
                let reason = format!("no PostgreSQL at {shown} ({})", crate::error::chain(&error));
                // The test harness names each test's thread after the test.
                let test = match std::thread::current().name() {
                    Some(thread) if thread != test && thread != "main" => {
                        format!("{thread} ({test})")
                    }
                    _ => test.to_string(),
                };
                if std::env::var("CI").is_ok_and(|value| value == "true") {
                    panic!("{test}: {reason}; CI=true requires the PostgreSQL tests to run (see .ci/run)");
                }
                // Straight to stderr, past the harness's capture: a skip must be seen.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED (PostgreSQL) {test}: {reason}; start one or set {TEST_SERVER_VARIABLE} to run this test"
                );
                return None;
            }
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos());
        let name = format!(
            "holdco_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        client
            .batch_execute(&format!("CREATE SCHEMA \"{name}\""))
            .unwrap_or_else(|error| {
                panic!("{test}: cannot create the schema {name} at {shown}: {error}")
            });
        let separator = if server.contains('?') { '&' } else { '?' };
        Some(TestSchema {
            url: format!("{server}{separator}schema={name}"),
            name,
        })
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        // Best effort: a schema left behind by a failed drop only takes space.
        if let Ok(mut client) = connect(&server_url()) {
            let _ =
                client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name));
        }
    }
}

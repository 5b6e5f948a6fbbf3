//! Schema migrations of the PostgreSQL backend: the SQL files of `migrations/postgres/`,
//! embedded in the binary and applied in order, once each, as recorded in `schema_migrations`.
//!
//! A released migration is never edited: a schema change is a new file with the next number,
//! added to [`MIGRATIONS`] (a test fails when a file and the list disagree).
//!
//! Opening a store whose schema is current only reads: a reader never waits for a writer,
//! and never writes. Only a store that is behind takes the migration lock (an advisory lock
//! per schema) and applies what is missing in one transaction; PostgreSQL's DDL is
//! transactional, so a failed migration leaves the schema as it was.

use crate::StoreError;
use postgres::Client;

/// One embedded migration.
pub(crate) struct Migration {
    /// Its number: 1, 2, 3 ... with no gaps.
    pub version: i64,
    /// Its file name in `migrations/postgres/`.
    pub name: &'static str,
    /// The SQL it runs.
    pub sql: &'static str,
}

/// Every migration, in order.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init.sql",
        sql: include_str!("../../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "0002_changesets.sql",
        sql: include_str!("../../migrations/postgres/0002_changesets.sql"),
    },
    Migration {
        version: 3,
        name: "0003_fact_annotations.sql",
        sql: include_str!("../../migrations/postgres/0003_fact_annotations.sql"),
    },
    Migration {
        version: 4,
        name: "0004_api_tokens.sql",
        sql: include_str!("../../migrations/postgres/0004_api_tokens.sql"),
    },
    Migration {
        version: 5,
        name: "0005_pro_forma_basis.sql",
        sql: include_str!("../../migrations/postgres/0005_pro_forma_basis.sql"),
    },
];

/// The schema version this code creates and understands.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |migration| migration.version)
}

/// The highest migration recorded, or `None` when the schema has no migration table yet.
fn applied(client: &mut impl postgres::GenericClient) -> Result<Option<i64>, postgres::Error> {
    let row = client.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])?;
    if !row.get::<_, bool>(0) {
        return Ok(None);
    }
    let row = client.query_one(
        "SELECT COALESCE(MAX(version), 0)::bigint FROM schema_migrations",
        &[],
    )?;
    Ok(Some(row.get(0)))
}

/// Brings the schema up to date, or refuses a schema newer than the code.
pub(crate) fn run(client: &mut Client, location: &str) -> Result<(), StoreError> {
    let failed = |version: i64, name: &'static str| {
        move |error: postgres::Error| StoreError::Migration {
            location: location.to_string(),
            version,
            name,
            source: Box::new(error),
        }
    };
    let too_new = |found: i64| StoreError::SchemaTooNew {
        location: location.to_string(),
        found,
        supported: latest_version(),
    };
    match applied(client).map_err(failed(0, "schema_migrations"))? {
        Some(found) if found == latest_version() => return Ok(()),
        Some(found) if found > latest_version() => return Err(too_new(found)),
        _ => {}
    }
    let mut transaction = client
        .transaction()
        .map_err(failed(0, "schema_migrations"))?;
    // Two processes opening a new store at once: the second waits here, then finds the
    // migrations applied.
    transaction
        .batch_execute(
            "SELECT pg_advisory_xact_lock(hashtext(COALESCE(current_schema(), '') || ' holdco migrate'));
             CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    bigint PRIMARY KEY,
                 name       text   NOT NULL,
                 applied_at bigint NOT NULL
             );",
        )
        .map_err(failed(0, "schema_migrations"))?;
    let found = applied(&mut transaction)
        .map_err(failed(0, "schema_migrations"))?
        .unwrap_or(0);
    if found > latest_version() {
        return Err(too_new(found));
    }
    for migration in MIGRATIONS
        .iter()
        .filter(|migration| migration.version > found)
    {
        let failed = failed(migration.version, migration.name);
        transaction.batch_execute(migration.sql).map_err(failed)?;
        transaction
            .execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                &[
                    &migration.version,
                    &migration.name,
                    &crate::merge::unix_now(),
                ],
            )
            .map_err(failed)?;
    }
    transaction
        .commit()
        .map_err(failed(latest_version(), "commit"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_listed_once_in_order() {
        let listed: Vec<(i64, &str)> = MIGRATIONS.iter().map(|m| (m.version, m.name)).collect();
        crate::migrations_listed_in_order(
            concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"),
            &listed,
        );
    }
}

//! Schema migrations of the SQLite backend: the SQL files of `migrations/sqlite/`, embedded
//! in the binary and applied in order, once each, as recorded in `schema_migrations`.
//!
//! A released migration is never edited: a schema change is a new file with the next number,
//! added to [`MIGRATIONS`] (a test fails when a file and the list disagree).

use crate::StoreError;
use rusqlite::{Connection, TransactionBehavior};

/// One embedded migration.
pub(crate) struct Migration {
    /// Its number: 1, 2, 3 ... with no gaps.
    pub version: i64,
    /// Its file name in `migrations/sqlite/`.
    pub name: &'static str,
    /// The SQL it runs.
    pub sql: &'static str,
    /// A step SQL alone cannot express, run before `sql` in the same transaction.
    pub before: Option<fn(&rusqlite::Transaction) -> rusqlite::Result<()>>,
}

/// Every migration, in order.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init.sql",
        sql: include_str!("../../migrations/sqlite/0001_init.sql"),
        before: None,
    },
    Migration {
        version: 2,
        name: "0002_documents.sql",
        sql: include_str!("../../migrations/sqlite/0002_documents.sql"),
        before: None,
    },
    Migration {
        version: 3,
        name: "0003_fact_segments.sql",
        sql: include_str!("../../migrations/sqlite/0003_fact_segments.sql"),
        before: None,
    },
    Migration {
        version: 4,
        name: "0004_api_tokens.sql",
        sql: include_str!("../../migrations/sqlite/0004_api_tokens.sql"),
        before: None,
    },
    Migration {
        version: 5,
        name: "0005_changesets.sql",
        sql: include_str!("../../migrations/sqlite/0005_changesets.sql"),
        before: None,
    },
    Migration {
        version: 6,
        name: "0006_fact_annotations.sql",
        sql: include_str!("../../migrations/sqlite/0006_fact_annotations.sql"),
        before: None,
    },
    Migration {
        version: 7,
        name: "0007_pro_forma_basis.sql",
        sql: include_str!("../../migrations/sqlite/0007_pro_forma_basis.sql"),
        before: Some(widen_basis_checks),
    },
    Migration {
        version: 8,
        name: "0008_binary_series.sql",
        sql: include_str!("../../migrations/sqlite/0008_binary_series.sql"),
        before: None,
    },
    Migration {
        version: 9,
        name: "0009_metric_columns.sql",
        sql: include_str!("../../migrations/sqlite/0009_metric_columns.sql"),
        before: None,
    },
    Migration {
        version: 10,
        name: "0010_timeline_image.sql",
        sql: include_str!("../../migrations/sqlite/0010_timeline_image.sql"),
        before: None,
    },
];

/// Migration 7: the fact tables' `basis` columns accept code 4 (pro forma). SQLite cannot
/// alter a CHECK constraint; the change leaves every stored row valid and the file format
/// as it is, so it is made in the schema text itself, as SQLite documents for such changes
/// (https://www.sqlite.org/lang_altertable.html, "making other kinds of table schema
/// changes"): the schema cookie is bumped so every open connection reloads it.
fn widen_basis_checks(transaction: &rusqlite::Transaction) -> rusqlite::Result<()> {
    let version: i64 = transaction.query_row("PRAGMA schema_version", [], |row| row.get(0))?;
    transaction.execute_batch("PRAGMA writable_schema = ON")?;
    let changed = transaction.execute(
        "UPDATE sqlite_master SET sql = replace(sql, 'CHECK (basis >= 0 AND basis <= 3)', 'CHECK (basis >= 0 AND basis <= 4)')
         WHERE type = 'table' AND name IN ('fact_revisions', 'facts')",
        [],
    );
    let bumped = transaction.execute_batch(&format!("PRAGMA schema_version = {}", version + 1));
    transaction.execute_batch("PRAGMA writable_schema = OFF")?;
    changed?;
    bumped?;
    Ok(())
}

/// The schema version this code creates and understands.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |migration| migration.version)
}

/// The migrations recorded, in order, or `None` when the file has no migration table yet; a
/// plain read, which in WAL mode never waits for a writer.
fn applied(connection: &Connection) -> rusqlite::Result<Option<Vec<i64>>> {
    let has_table: bool = connection.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')",
        [],
        |row| row.get(0),
    )?;
    if !has_table {
        return Ok(None);
    }
    recorded(connection).map(Some)
}

fn recorded(connection: &Connection) -> rusqlite::Result<Vec<i64>> {
    connection
        .prepare("SELECT version FROM schema_migrations ORDER BY version")?
        .query_map([], |row| row.get(0))?
        .collect()
}

/// True when exactly the listed migrations are recorded.
fn current(found: &[i64]) -> bool {
    found
        .iter()
        .copied()
        .eq(MIGRATIONS.iter().map(|m| m.version))
}

/// Brings the schema up to date in one transaction, or refuses a schema newer than the code.
///
/// Every listed migration not recorded yet is applied, in order: migrations numbered on two
/// branches at once (9 on one, 10 on the other) both reach a store made by either branch.
///
/// The version is read first without any lock: when it is current (every open but the first
/// after an upgrade) nothing is written. Otherwise reading it again and applying migrations
/// happen under one write lock, so two processes opening a new store at once cannot both
/// apply the same migration.
pub(crate) fn run(connection: &mut Connection, location: &str) -> Result<(), StoreError> {
    let failed = |version: i64, name: &'static str| {
        move |error: rusqlite::Error| StoreError::Migration {
            location: location.to_string(),
            version,
            name,
            source: Box::new(error),
        }
    };
    // A store whose schema is current is only read: a reader opening it while an import
    // holds the write lock must neither wait for that lock nor take it.
    match applied(connection).map_err(failed(0, "schema_migrations"))? {
        Some(found) if current(&found) => return Ok(()),
        Some(found) if found.last().is_some_and(|last| *last > latest_version()) => {
            return Err(StoreError::SchemaTooNew {
                location: location.to_string(),
                found: found.last().copied().unwrap_or_default(),
                supported: latest_version(),
            })
        }
        _ => {}
    }
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(failed(0, "schema_migrations"))?;
    transaction
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    INTEGER PRIMARY KEY,
                 name       TEXT    NOT NULL,
                 applied_at INTEGER NOT NULL
             );",
        )
        .map_err(failed(0, "schema_migrations"))?;
    let found = recorded(&transaction).map_err(failed(0, "schema_migrations"))?;
    if let Some(last) = found.last().filter(|last| **last > latest_version()) {
        return Err(StoreError::SchemaTooNew {
            location: location.to_string(),
            found: *last,
            supported: latest_version(),
        });
    }
    for migration in MIGRATIONS
        .iter()
        .filter(|migration| !found.contains(&migration.version))
    {
        let failed = failed(migration.version, migration.name);
        if let Some(before) = migration.before {
            before(&transaction).map_err(failed)?;
        }
        transaction.execute_batch(migration.sql).map_err(failed)?;
        transaction
            .execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                rusqlite::params![migration.version, migration.name, crate::merge::unix_now()],
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
            concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"),
            &listed,
        );
    }

    #[test]
    fn running_twice_applies_nothing_new() {
        let mut connection = Connection::open_in_memory().unwrap();
        run(&mut connection, ":memory:").unwrap();
        run(&mut connection, ":memory:").unwrap();
        let applied: i64 = connection
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(applied, MIGRATIONS.len() as i64);
    }

    #[test]
    fn a_store_of_version_6_accepts_pro_forma_facts_after_migration_7() {
        // A file made by the previous release: migrations 1 to 6 only.
        let path = std::env::temp_dir().join(format!("holdco-mig7-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut old = Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);",
        )
        .unwrap();
        for migration in &MIGRATIONS[..6] {
            old.execute_batch(migration.sql).unwrap();
            old.execute(
                "INSERT INTO schema_migrations VALUES (?1, ?2, 0)",
                rusqlite::params![migration.version, migration.name],
            )
            .unwrap();
        }
        let insert = "INSERT INTO fact_revisions (unit, period_start, granularity, metric, counterparty, basis, structure, revision, value, import_id, is_current)
                      VALUES ('b', 24240, 'quarter', 'revenue', '', ?1, '2020-04-01', 1, 20.0, 1, 1)";
        old.execute(
            "INSERT INTO imports (id, label, imported_at, facts_new, facts_revised, facts_unchanged) VALUES (1, 'test', 0, 1, 0, 0)",
            [],
        )
        .unwrap();
        // Refused before the migration...
        assert!(old.execute(insert, [4]).is_err());
        old.execute(insert, [1]).unwrap();
        // ... and, from another connection opened before it ran, accepted after.
        let other = Connection::open(&path).unwrap();
        run(&mut old, path.to_str().unwrap()).unwrap();
        let insert_pro_forma = insert.replace("'b'", "'c'");
        other.execute(&insert_pro_forma, [4]).unwrap();
        let bases: Vec<String> = other
            .prepare("SELECT basis FROM current_facts ORDER BY unit")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(bases, ["restated", "pro_forma"]);
        let check: String = other
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        drop((old, other));
        let _ = std::fs::remove_file(&path);
    }
}

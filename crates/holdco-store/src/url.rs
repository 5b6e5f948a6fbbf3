//! Store selection in one place: a `--db` value (or `HOLDCO_DB`) names an SQLite file or a
//! PostgreSQL database, and [`open_store`] opens the matching backend behind `dyn Store`.

use crate::{PostgresStore, SqliteStore, Store, StoreError};
use std::path::PathBuf;

/// Where a store is, as given by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// An SQLite file: a plain path, or `sqlite://PATH` (`sqlite:///abs/path` for an absolute
    /// one).
    Sqlite(PathBuf),
    /// A PostgreSQL database: `postgres://` or `postgresql://` URL, kept as given.
    Postgres(String),
}

impl StoreUrl {
    /// Reads a `--db` value. Anything with a `scheme://` other than `sqlite`, `postgres` and
    /// `postgresql` is refused, so that a typo never creates a file with a URL for a name.
    pub fn parse(text: &str) -> Result<StoreUrl, StoreError> {
        if let Some(path) = text.strip_prefix("sqlite://") {
            return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(StoreUrl::Postgres(text.to_string()));
        }
        let scheme = text.split_once("://").map(|(scheme, _)| scheme);
        if scheme.is_some_and(|scheme| {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }) {
            return Err(StoreError::UnsupportedUrl { url: redact(text) });
        }
        Ok(StoreUrl::Sqlite(PathBuf::from(text)))
    }

    /// False only for an SQLite file that does not exist yet; a database server is assumed
    /// to hold the store (opening it says otherwise).
    pub fn exists(&self) -> bool {
        match self {
            StoreUrl::Sqlite(path) => path.exists(),
            StoreUrl::Postgres(_) => true,
        }
    }

    /// Opens the store (creating an SQLite file, or a PostgreSQL schema's tables, when
    /// missing).
    pub fn open(&self) -> Result<Box<dyn Store>, StoreError> {
        Ok(match self {
            StoreUrl::Sqlite(path) => Box::new(SqliteStore::open(path)?),
            StoreUrl::Postgres(url) => Box::new(PostgresStore::open(url)?),
        })
    }
}

/// Shown in messages: the path, or the URL with its password hidden.
impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreUrl::Sqlite(path) => write!(f, "{}", path.display()),
            StoreUrl::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

/// Opens the store named by a `--db` value: an SQLite path or `sqlite://` URL, or a
/// `postgres://` URL.
pub fn open_store(url: &str) -> Result<Box<dyn Store>, StoreError> {
    StoreUrl::parse(url)?.open()
}

/// A connection URL with its password replaced by `***`: in the user part
/// (`user:secret@host`) and in a `password=` parameter.
pub fn redact(url: &str) -> String {
    let mut text = url.to_string();
    if let Some(scheme_end) = text.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = text[rest_start..]
            .find(['/', '?'])
            .map_or(text.len(), |offset| rest_start + offset);
        if let Some(at) = text[rest_start..authority_end].rfind('@') {
            let user_info = &text[rest_start..rest_start + at];
            if let Some(colon) = user_info.find(':') {
                text.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    // password=... in the query or in a key=value connection string.
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(found) = rest.find("password=") {
        let value_start = found + "password=".len();
        let starts_word = found == 0 || matches!(rest.as_bytes()[found - 1], b'?' | b'&' | b' ');
        out.push_str(&rest[..value_start]);
        rest = &rest[value_start..];
        if starts_word {
            let end = rest.find(['&', ' ']).unwrap_or(rest.len());
            out.push_str("***");
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_values_name_their_backend() {
        assert_eq!(
            StoreUrl::parse("holdco.db").unwrap(),
            StoreUrl::Sqlite("holdco.db".into())
        );
        assert_eq!(
            StoreUrl::parse("sqlite:///tmp/a.db").unwrap(),
            StoreUrl::Sqlite("/tmp/a.db".into())
        );
        assert_eq!(
            StoreUrl::parse("sqlite://a.db").unwrap(),
            StoreUrl::Sqlite("a.db".into())
        );
        assert_eq!(
            StoreUrl::parse("postgres://u@h/db").unwrap(),
            StoreUrl::Postgres("postgres://u@h/db".into())
        );
        assert!(matches!(
            StoreUrl::parse("postgresql://u@h/db").unwrap(),
            StoreUrl::Postgres(_)
        ));
        let refused = StoreUrl::parse("mysql://root:pw@h/db").unwrap_err();
        assert!(
            refused.to_string().contains("mysql://root:***@h/db"),
            "{refused}"
        );
        assert!(!refused.to_string().contains("pw"), "{refused}");
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://ann:s3cret@db.example:5432/team"),
            "postgres://ann:***@db.example:5432/team"
        );
        assert_eq!(redact("postgres://ann@h/db"), "postgres://ann@h/db");
        assert_eq!(
            redact("postgres://ann:p@ss@h/db"),
            "postgres://ann:***@h/db"
        );
        assert_eq!(
            redact("postgres://h/db?password=x&sslmode=disable"),
            "postgres://h/db?password=***&sslmode=disable"
        );
        assert_eq!(
            redact("host=h password=x user=u"),
            "host=h password=*** user=u"
        );
        let shown = StoreUrl::parse("postgres://ann:s3cret@h/db")
            .unwrap()
            .to_string();
        assert!(!shown.contains("s3cret"));
    }
}

//! Access tokens: created, listed and revoked by `holdco token`, checked on every API request.
//!
//! A token's text is `hc1.ID.SECRET`: ID is 9 random bytes and SECRET 32 random bytes, both
//! base64url without padding. It is shown once; the store keeps only the ID, a random salt
//! and the argon2id hash of the secret (table `api_tokens`, SQLite migration 0004). The ID
//! lets a request find its row without trying every hash. The row is read on every request,
//! so a revoked token is refused at once, even when another process revoked it.
//!
//! Tokens live in the store they guard: table `api_tokens` of an SQLite store (migration
//! 0004) or of a PostgreSQL store's schema (migration 0002), so several `holdco serve`
//! processes on one PostgreSQL store share one token table and a revocation reaches them all.

use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use holdco_core::UnitId;
use holdco_store::StoreUrl;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::path::PathBuf;

/// What a token may do. Every role reads; the write roles (analyst, approver) have no
/// endpoints yet, and admin manages tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads.
    Viewer,
    /// Reads; will propose change sets.
    Analyst,
    /// Reads; will approve others' change sets.
    Approver,
    /// Everything, including token management.
    Admin,
}

impl Role {
    /// Parses `viewer`, `analyst`, `approver` or `admin`.
    pub fn parse(text: &str) -> Result<Role, String> {
        match text {
            "viewer" => Ok(Role::Viewer),
            "analyst" => Ok(Role::Analyst),
            "approver" => Ok(Role::Approver),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "`{other}` is not a role (expected viewer, analyst, approver or admin)"
            )),
        }
    }

    /// The name stored and shown.
    pub fn name(&self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }
}

/// A token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// The name given at creation (unique in the store).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The units whose subtrees it sees; empty for the whole group.
    pub scopes: Vec<String>,
    /// Creation time, seconds since the Unix epoch.
    pub created_at: i64,
    /// Revocation time, when revoked.
    pub revoked_at: Option<i64>,
}

/// Why a token operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The PostgreSQL store failed.
    #[error("token store: {0}")]
    Postgres(String),
    /// A name already used (revoked tokens keep theirs).
    #[error(
        "a token named `{0}` exists already (revoked tokens keep their names): choose another name"
    )]
    NameTaken(String),
    /// An empty or over-long name.
    #[error("token name `{0}`: expected 1 to 64 letters, digits, '-', '_' or '.'")]
    BadName(String),
    /// A scope that is not a unit id.
    #[error("--scope {0}")]
    BadScope(String),
    /// No such token.
    #[error("no token named `{0}` (see `holdco token list`)")]
    Unknown(String),
    /// The store failed.
    #[error("token store: {0}")]
    Store(#[from] rusqlite::Error),
    /// The system's random source failed.
    #[error("no random bytes from the system: {0}")]
    Random(String),
    /// The hash function failed (never on valid parameters).
    #[error("token hash: {0}")]
    Hash(String),
}

/// Who a valid token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Token name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Units whose subtrees it sees; empty for the whole group.
    pub scopes: Vec<UnitId>,
}

/// The tokens of one store.
pub struct TokenStore {
    backend: Backend,
}

enum Backend {
    Sqlite(Connection),
    /// The driver needs `&mut` even to read.
    Postgres(std::sync::Mutex<postgres::Client>),
}

impl From<postgres::Error> for TokenError {
    fn from(error: postgres::Error) -> TokenError {
        // The driver's message names the server's complaint; never a token (values are
        // sent as parameters, not in the text of the statement).
        let mut text = error.to_string();
        if let Some(db) = error.as_db_error() {
            text = format!("{text}: {}", db.message());
        }
        TokenError::Postgres(text)
    }
}

/// A token row as read by either backend: name, role, scopes (JSON), salt, hash.
type Row = (String, String, String, Vec<u8>, Vec<u8>);

/// argon2id with a small memory cost: a token's secret has 256 random bits, so a slow hash
/// adds no strength against guessing and only costs every request's check.
fn hasher() -> Argon2<'static> {
    let params = Params::new(1024, 1, 1, Some(32)).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_secret(secret: &[u8], salt: &[u8]) -> Result<Vec<u8>, TokenError> {
    let mut out = vec![0u8; 32];
    hasher()
        .hash_password_into(secret, salt, &mut out)
        .map_err(|e| TokenError::Hash(e.to_string()))?;
    Ok(out)
}

fn random_bytes(count: usize) -> Result<Vec<u8>, TokenError> {
    let mut bytes = vec![0u8; count];
    getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
    Ok(bytes)
}

/// Equality whose time does not depend on where the inputs differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl TokenStore {
    /// Opens the tokens of the store named by a `--db` value (running the store's
    /// migrations first, which create the table).
    pub fn open(db: &str) -> anyhow::Result<TokenStore> {
        let url = StoreUrl::parse(db)?;
        // Opening through the store applies the migrations that create the table.
        let store = url.open()?;
        let backend = match &url {
            StoreUrl::Sqlite(path) => {
                drop(store);
                let path: PathBuf = path.clone();
                let connection = Connection::open(&path).map_err(TokenError::from)?;
                connection
                    .busy_timeout(std::time::Duration::from_secs(5))
                    .map_err(TokenError::from)?;
                Backend::Sqlite(connection)
            }
            StoreUrl::Postgres(text) => {
                drop(store);
                let client = holdco_store::PostgresStore::connect(text)?;
                Backend::Postgres(std::sync::Mutex::new(client))
            }
        };
        Ok(TokenStore { backend })
    }

    fn postgres(
        client: &std::sync::Mutex<postgres::Client>,
    ) -> std::sync::MutexGuard<'_, postgres::Client> {
        client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Creates a token and returns its text: the only time it is ever shown.
    pub fn create(&self, name: &str, role: Role, scopes: &[String]) -> Result<String, TokenError> {
        let good_name = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !good_name {
            return Err(TokenError::BadName(name.to_string()));
        }
        for scope in scopes {
            UnitId::parse(scope).map_err(TokenError::BadScope)?;
        }
        let id = URL_SAFE_NO_PAD.encode(random_bytes(9)?);
        let secret = random_bytes(32)?;
        let salt = random_bytes(16)?;
        let hash = hash_secret(&secret, &salt)?;
        let scopes_json = serde_json::to_string(scopes).expect("strings serialize");
        let inserted = match &self.backend {
            Backend::Sqlite(connection) => connection.execute(
                "INSERT INTO api_tokens (id, name, role, scopes, salt, hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (name) DO NOTHING",
                params![id, name, role.name(), scopes_json, salt, hash, now()],
            )? as u64,
            Backend::Postgres(client) => Self::postgres(client).execute(
                "INSERT INTO api_tokens (id, name, role, scopes, salt, hash, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING",
                &[&id, &name, &role.name(), &scopes_json, &salt, &hash, &now()],
            )?,
        };
        if inserted == 0 {
            return Err(TokenError::NameTaken(name.to_string()));
        }
        Ok(format!("hc1.{id}.{}", URL_SAFE_NO_PAD.encode(secret)))
    }

    /// Every token, oldest first.
    pub fn list(&self) -> Result<Vec<TokenInfo>, TokenError> {
        let rows: Vec<(String, String, String, i64, Option<i64>)> = match &self.backend {
            Backend::Sqlite(connection) => {
                let mut statement = connection.prepare(
                    "SELECT name, role, scopes, created_at, revoked_at FROM api_tokens ORDER BY created_at, name",
                )?;
                let rows = statement.query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)?,
                        row.get::<_, Option<i64>>(4)?,
                    ))
                })?;
                rows.collect::<Result<_, _>>()?
            }
            Backend::Postgres(client) => Self::postgres(client)
                .query(
                    "SELECT name, role, scopes, created_at, revoked_at FROM api_tokens ORDER BY created_at, name",
                    &[],
                )?
                .iter()
                .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)))
                .collect(),
        };
        let mut out = Vec::new();
        for (name, role, scopes, created_at, revoked_at) in rows {
            out.push(TokenInfo {
                name,
                // The table's CHECK constraint admits only the four roles.
                role: Role::parse(&role).unwrap_or(Role::Viewer),
                scopes: serde_json::from_str(&scopes).unwrap_or_default(),
                created_at,
                revoked_at,
            });
        }
        Ok(out)
    }

    /// Revokes a token by name; revoking it again changes nothing.
    pub fn revoke(&self, name: &str) -> Result<(), TokenError> {
        let found = match &self.backend {
            Backend::Sqlite(connection) => connection.execute(
                "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE name = ?1",
                params![name, now()],
            )? as u64,
            Backend::Postgres(client) => Self::postgres(client).execute(
                "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE name = $1",
                &[&name, &now()],
            )?,
        };
        if found == 0 {
            return Err(TokenError::Unknown(name.to_string()));
        }
        Ok(())
    }

    /// The caller a token text stands for: `None` for a malformed, unknown, wrong or revoked
    /// token (the same answer for each, so a client learns nothing about which).
    pub fn check(&self, text: &str) -> Result<Option<Caller>, TokenError> {
        match self.find(text)? {
            Some(candidate) => candidate.verify(),
            None => Ok(None),
        }
    }

    /// The active row a token text names, not yet verified: the cheap half of
    /// [`TokenStore::check`], so a server holds the store only for the read and hashes
    /// outside it.
    pub fn find(&self, text: &str) -> Result<Option<Candidate>, TokenError> {
        let mut parts = text.split('.');
        let (Some("hc1"), Some(id), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        let Ok(secret) = URL_SAFE_NO_PAD.decode(secret) else {
            return Ok(None);
        };
        let row: Option<Row> = match &self.backend {
            Backend::Sqlite(connection) => connection
                .query_row(
                    "SELECT name, role, scopes, salt, hash FROM api_tokens
                     WHERE id = ?1 AND revoked_at IS NULL",
                    params![id],
                    |row| {
                        Ok((
                            row.get(0)?,
                            row.get(1)?,
                            row.get(2)?,
                            row.get(3)?,
                            row.get(4)?,
                        ))
                    },
                )
                .optional()?,
            Backend::Postgres(client) => Self::postgres(client)
                .query_opt(
                    "SELECT name, role, scopes, salt, hash FROM api_tokens
                     WHERE id = $1 AND revoked_at IS NULL",
                    &[&id],
                )?
                .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4))),
        };
        let Some((name, role, scopes, salt, hash)) = row else {
            return Ok(None);
        };
        let scopes: Vec<String> = serde_json::from_str(&scopes).unwrap_or_default();
        Ok(Some(Candidate {
            caller: Caller {
                name,
                role: Role::parse(&role).unwrap_or(Role::Viewer),
                scopes: scopes
                    .iter()
                    .filter_map(|s| UnitId::parse(s).ok())
                    .collect(),
            },
            secret,
            salt,
            hash,
        }))
    }
}

/// An active token's row and the secret presented for it, to verify.
pub struct Candidate {
    caller: Caller,
    secret: Vec<u8>,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Candidate {
    /// The caller when the secret hashes to the stored hash, else `None`.
    pub fn verify(self) -> Result<Option<Caller>, TokenError> {
        let matches = same_bytes(&hash_secret(&self.secret, &self.salt)?, &self.hash);
        Ok(matches.then_some(self.caller))
    }

    /// [`Candidate::verify`], skipping the hash for a secret already verified against the
    /// same stored hash. The row is still read on every request (so a revocation counts at
    /// once); only the hash, the costly half, is remembered.
    pub fn verify_cached(self, cache: &Verified) -> Result<Option<Caller>, TokenError> {
        let known = cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&self.hash)
            .is_some_and(|secret| same_bytes(secret, &self.secret));
        if known {
            return Ok(Some(self.caller));
        }
        let (hash, secret) = (self.hash.clone(), self.secret.clone());
        let caller = self.verify()?;
        if caller.is_some() {
            let mut cache = cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if cache.len() >= VERIFIED_LIMIT {
                cache.clear();
            }
            cache.insert(hash, secret);
        }
        Ok(caller)
    }
}

/// Secrets verified, by the stored hash they matched: memory only, never written or logged.
pub type Verified = std::sync::Mutex<std::collections::HashMap<Vec<u8>, Vec<u8>>>;

/// Verified secrets remembered at most (then forgotten all at once, and hashed again).
const VERIFIED_LIMIT: usize = 10_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_checks_until_revoked_and_only_its_hash_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let store = TokenStore::open(db.to_str().unwrap()).unwrap();
        let token = store
            .create("board", Role::Viewer, &["taobao_tmall".into()])
            .unwrap();
        let caller = store.check(&token).unwrap().expect("valid token");
        assert_eq!(caller.role, Role::Viewer);
        assert_eq!(caller.scopes.len(), 1);
        // A changed secret or id is refused.
        let mut wrong = token.clone();
        wrong.pop();
        wrong.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(store.check(&wrong).unwrap(), None);
        assert_eq!(store.check("hc1.nope.nope").unwrap(), None);
        assert_eq!(store.check("").unwrap(), None);
        // The secret appears nowhere in the store's files (the database and its journal).
        let secret = token.rsplit('.').next().unwrap();
        let raw = URL_SAFE_NO_PAD.decode(secret).unwrap();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
            assert!(!bytes.windows(raw.len()).any(|w| w == raw.as_slice()));
        }
        assert!(matches!(
            store.create("board", Role::Admin, &[]),
            Err(TokenError::NameTaken(_))
        ));
        store.revoke("board").unwrap();
        assert_eq!(store.check(&token).unwrap(), None);
        assert!(store.list().unwrap()[0].revoked_at.is_some());
        assert!(matches!(
            store.revoke("nobody"),
            Err(TokenError::Unknown(_))
        ));
    }
}

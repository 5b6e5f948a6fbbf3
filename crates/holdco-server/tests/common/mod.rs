//! What every server test file starts from: the bundled example served from a fresh SQLite
//! store on 127.0.0.1:0, and tokens of any role and scope. (Each file keeps its own request
//! helpers: they answer in the shapes its tests compare.)
#![allow(dead_code)] // each test file uses part of it

use holdco_server::{Role, RunningServer, Server, TokenStore};
use reqwest::blocking::Client;
use std::path::{Path, PathBuf};

/// A running server on a temporary store.
pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub db: String,
    pub server: RunningServer,
    pub client: Client,
}

/// The bundled example's folder.
pub fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alibaba")
}

/// The bundled example as a model, read as the CLI reads it (people.csv and governance.toml
/// are documents of the people domain).
pub fn example_model() -> holdco_core::Model {
    holdco_governance::register();
    let files = holdco_folder::read(&example()).unwrap();
    let (model, problems) = holdco_core::format::read_model(&files);
    assert!(problems.is_empty(), "{problems:?}");
    model.unwrap()
}

/// A fresh store filled by `fill`, served on a random local port.
pub fn serve(fill: impl FnOnce(&mut dyn holdco_store::Store)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("holdco.db").to_str().unwrap().to_string();
    let mut store = holdco_store::open_store(&db).unwrap();
    fill(store.as_mut());
    drop(store);
    let server = Server::open(&db).unwrap().spawn("127.0.0.1:0").unwrap();
    Fixture {
        _dir: dir,
        db,
        server,
        client: Client::new(),
    }
}

/// The example imported into a fresh store, served.
pub fn start() -> Fixture {
    serve(|store| {
        store.import(&example_model(), "example").unwrap();
    })
}

impl Fixture {
    /// A token of `role` limited to `scopes` (none: the whole group).
    pub fn token(&self, name: &str, role: Role, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        TokenStore::open(&self.db)
            .unwrap()
            .create(name, role, &scopes)
            .unwrap()
    }

    /// The address of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.address)
    }
}

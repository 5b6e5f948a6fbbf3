//! holdco-server: `holdco serve`, the model of one store held in memory and answered over
//! HTTP, behind bearer tokens with roles and unit scopes.
//!
//! The model is a [`holdco_app::Snapshot`] — validated once, its engine and columnar table
//! built once per model revision and shared by every request — held in an
//! [`arc_swap::ArcSwap`]: a request takes the current snapshot (`Arc`) and never waits for
//! a writer; a new revision of the store is loaded beside it and swapped in whole, so no
//! request ever sees half of a change. A watcher polls the store's revision (its latest
//! import) and reloads when another process wrote (several servers on one PostgreSQL store
//! see each other's changes within one poll interval).
//!
//! The routes come from modules, each an [`OpenApiRouter`] merged in [`api`]: a module adds
//! endpoints and their documentation together, and the OpenAPI document
//! (`/api/v1/openapi.json`, page at `/api/docs`) always lists exactly the routes served.
//! Handlers take an [`auth::Authorized`] (the caller of a valid token) and read the model
//! through [`AppState::snapshot`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
mod changesets;
pub mod cli;
mod dashboard_api;
mod error;
mod openapi;
mod people;
mod queries;
pub mod respond;
pub mod tokens;
mod whatif;

pub use error::ApiError;
pub use queries::{MAX_PATHS, MAX_PERIODS};
pub use tokens::{Caller, Role, TokenInfo, TokenStore};

use anyhow::Context as _;
use arc_swap::ArcSwap;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::{Json, Router};
use holdco_app::store::StoreUrl;
use holdco_app::Snapshot;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;

/// Largest request body accepted: bigger is refused with 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What every request shares.
pub struct AppState {
    /// The model served with its caches; swapped whole, never changed in place.
    snapshot: ArcSwap<Snapshot>,
    /// The token table, read on every request so a revocation counts at once.
    tokens: Mutex<TokenStore>,
    /// Secrets already verified against their row's hash.
    verified: tokens::Verified,
    /// The store, for reloads.
    url: StoreUrl,
    /// The dashboard's documents built from the snapshot served (rebuilt after a swap).
    dashboard: dashboard_api::Cache,
    /// What-if snapshots (`?changeset=ID`) of the served revision.
    what_if: whatif::Cache,
    /// Held by whoever writes the store and swaps in the model it made (an apply), and by
    /// the reload of another process's revision, so the two never both build a snapshot of
    /// one revision and a reload never swaps in a revision older than the served one.
    writing: Mutex<()>,
}

/// The state as handlers receive it.
pub type SharedState = Arc<AppState>;

impl AppState {
    /// The current snapshot (cheap: one atomic load and a reference count).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Swaps in a new snapshot: requests under way keep the one they took; the old one is
    /// freed when the last of them finishes (what-if snapshots of the old revision go too).
    pub fn replace(&self, snapshot: Snapshot) {
        let revision = snapshot.revision();
        self.snapshot.store(Arc::new(snapshot));
        whatif::forget_other_revisions(self, revision);
    }

    /// Takes the writer's lock (see [`AppState::swap_in`]).
    fn writing(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Serves `model`, the valid model the store holds at `revision` (written by this server
    /// under the writer's lock from `from`, the snapshot served): its snapshot is built from
    /// it, without reading the store or validating it again, taking from `from` what the
    /// change leaves as it was ([`Snapshot::successor`]: the columnar table with the revised
    /// figures put in, the fact index), its caches warmed, then swapped in.
    fn swap_in(
        &self,
        from: &Snapshot,
        model: holdco_core::Model,
        revision: i64,
    ) -> anyhow::Result<()> {
        let snapshot = from.successor(Arc::new(model), Some(revision))?;
        warm(&snapshot);
        self.replace(snapshot);
        dashboard_api::warm(self);
        Ok(())
    }

    /// The store served.
    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    /// Loads the store's current model when its revision differs from the one served, and
    /// swaps it in. True when it swapped.
    pub fn reload_if_changed(&self) -> anyhow::Result<bool> {
        let _writing = self.writing();
        self.reload_locked()
    }

    /// [`AppState::reload_if_changed`] under the writer's lock, already held.
    fn reload_locked(&self) -> anyhow::Result<bool> {
        let store = holdco_app::store::open_existing(&self.url)?;
        let revision = holdco_app::store::revision(store.as_ref())?;
        if revision == self.snapshot().revision() {
            return Ok(false);
        }
        let snapshot = holdco_app::store::snapshot_of(store.as_ref(), &self.url)?;
        warm(&snapshot);
        self.replace(snapshot);
        dashboard_api::warm(self);
        Ok(true)
    }
}

/// Builds the caches a large model's first request would otherwise pay for.
fn warm(snapshot: &Snapshot) {
    if snapshot.model().facts.len() >= holdco_app::FAST_PATH_FACTS {
        let _ = snapshot.fact_table();
    }
}

/// A server ready to listen: the model loaded and checked, the token table open.
pub struct Server {
    state: SharedState,
    poll: Option<Duration>,
}

/// A server running on a background thread (see [`Server::spawn`]).
pub struct RunningServer {
    /// The address it listens on.
    pub address: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    watcher: Option<Watcher>,
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        drop(self.watcher.take());
    }
}

/// The thread that polls the store's revision and swaps in new models.
struct Watcher {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    fn start(state: SharedState, every: Duration) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let tick = Duration::from_millis(50).min(every);
            let mut waited = Duration::ZERO;
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                waited += tick;
                if waited < every {
                    continue;
                }
                waited = Duration::ZERO;
                match state.reload_if_changed() {
                    Ok(true) => eprintln!(
                        "holdco serve: the store changed; now serving revision {}",
                        state
                            .snapshot()
                            .revision()
                            .map_or("none".to_string(), |r| r.to_string())
                    ),
                    Ok(false) => {}
                    // The model served stays; the next poll tries again.
                    Err(error) => eprintln!("holdco serve: cannot reload the store: {error:#}"),
                }
            }
        });
        Watcher {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Every endpoint of the API with its documentation: one `OpenApiRouter` per module,
/// merged here. A module adding endpoints merges its own router here; no `/api/v1` route
/// is added any other way, so the document lists exactly the routes served (a test holds
/// it).
pub fn api() -> OpenApiRouter<SharedState> {
    OpenApiRouter::with_openapi(openapi::document())
        .merge(queries::routes())
        .merge(people::routes())
        .merge(changesets::routes())
        .merge(dashboard_api::routes())
}

impl Server {
    /// Loads the model of the store named by a `--db` value and opens its tokens.
    ///
    /// Runs before any async runtime: the PostgreSQL backend is a blocking client that
    /// starts a runtime of its own. An empty store or an invalid model is refused here, so
    /// no request ever meets one.
    pub fn open(db: &str) -> anyhow::Result<Server> {
        let url = StoreUrl::parse(db)?;
        let snapshot = holdco_app::store::load_snapshot(&url)?;
        warm(&snapshot);
        let tokens = TokenStore::open(db)?;
        Ok(Server {
            state: Arc::new(AppState {
                snapshot: ArcSwap::from_pointee(snapshot),
                tokens: Mutex::new(tokens),
                verified: Default::default(),
                url,
                dashboard: Default::default(),
                what_if: Default::default(),
                writing: Mutex::new(()),
            }),
            poll: Some(Duration::from_secs(2)),
        })
    }

    /// Builds the dashboard's timeline document of the snapshot on a background thread, so
    /// the first sign-in finds it ready (a request asking meanwhile waits for it).
    pub fn warm_dashboard(self) -> Server {
        let state = self.state.clone();
        std::thread::spawn(move || dashboard_api::warm(&state));
        self
    }

    /// How often the store's revision is polled (`None`: never; the model stays as loaded).
    pub fn poll_every(mut self, every: Option<Duration>) -> Server {
        self.poll = every;
        self
    }

    /// The shared state (for tests and embedders).
    pub fn state(&self) -> SharedState {
        self.state.clone()
    }

    /// The routes, for serving or for testing without a socket.
    pub fn router(&self) -> Router {
        let (api, document) = api().split_for_parts();
        Router::new()
            .route("/health", get(health))
            .route("/ready", get(ready))
            .merge(api)
            .merge(openapi::docs(document))
            .merge(holdco_dashboard::router())
            .fallback(not_found)
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(self.state.clone())
    }

    fn watcher(&self) -> Option<Watcher> {
        self.poll
            .map(|every| Watcher::start(self.state.clone(), every))
    }

    /// Serves on `listen` until Ctrl-C or SIGTERM, then finishes the requests under way.
    /// `on_bound` hears the address bound (useful with port 0).
    pub fn run(self, listen: &str, on_bound: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .max_blocking_threads(blocking_threads())
            .enable_all()
            .build()?;
        let watcher = self.watcher();
        let result = runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("--listen {listen}: cannot listen there"))?;
            on_bound(listener.local_addr()?);
            axum::serve(listener, self.router())
                .with_graceful_shutdown(shutdown_signal())
                .await?;
            Ok(())
        });
        drop(watcher);
        result
    }

    /// Serves on `listen` from a background thread until the handle is dropped.
    pub fn spawn(self, listen: &str) -> anyhow::Result<RunningServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(blocking_threads())
            .enable_all()
            .build()?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(listen))
            .with_context(|| format!("--listen {listen}: cannot listen there"))?;
        let address = listener.local_addr()?;
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let router = self.router();
        let watcher = self.watcher();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stop.await;
                    })
                    .await;
            });
        });
        Ok(RunningServer {
            address,
            shutdown: Some(shutdown),
            thread: Some(thread),
            watcher,
        })
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// The model is loaded before the server listens, so a server that answers is ready.
async fn ready() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ready" }))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint (the endpoints: /api/v1/openapi.json)".to_string())
}

/// Threads for the blocking work of requests (token checks, queries): four per core, at
/// least 8. The work is computation, so more threads than that only queue on the cores; with
/// tokio's default of 512, 64 clients grew the pool to about 300 threads, each keeping its own
/// stack and allocator pages (RSS 35 MB -> 700 MB on the example in 15 s).
fn blocking_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .saturating_mul(4)
        .clamp(8, 64)
}

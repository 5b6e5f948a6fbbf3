//! holdco-server: `holdco serve`, the model of one store loaded once into memory and
//! answered over HTTP as JSON, behind bearer tokens with roles and unit scopes.
//!
//! The model is read from the store when the server starts and held in an
//! [`arc_swap::ArcSwap`]: every request takes a snapshot (`Arc<Model>`) and never waits for
//! a writer, and a later change set can swap in a new model without stopping readers. The
//! core's engine borrows its model and is not `Send`, so each request builds one on a
//! blocking thread from its snapshot; the JSON bodies are the core's serde types, the same
//! the CLI prints with `--json`.
//!
//! Routes: `GET /health` and `GET /ready` (no token; they reveal nothing about the model);
//! `GET /api/v1/structure`, `/api/v1/rollup`, `/api/v1/explain`, `/api/v1/reconcile` (a
//! bearer token of any role; a scoped token sees only its units' subtrees).
#![deny(missing_docs)]

mod changesets;
pub mod cli;
mod dashboard_api;
mod error;
mod queries;
pub mod tokens;

pub use error::ApiError;
pub use queries::MAX_PERIODS;
pub use tokens::{Caller, Role, TokenInfo, TokenStore};

use anyhow::{anyhow, Context as _};
use arc_swap::ArcSwap;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use holdco_core::Model;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// What every request shares.
struct AppState {
    /// The model served; swapped whole, never changed in place.
    model: ArcSwap<Model>,
    /// The token table, read on every request so a revocation counts at once.
    tokens: Mutex<TokenStore>,
}

/// A server ready to listen: the model loaded and checked, the token table open.
pub struct Server {
    state: Arc<AppState>,
    /// The store's `--db` value (change sets write through it).
    db: String,
}

/// A server running on a background thread (see [`Server::spawn`]).
pub struct RunningServer {
    /// The address it listens on.
    pub address: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Server {
    /// Loads the model of the store named by a `--db` value and opens its tokens.
    ///
    /// Runs before any async runtime: the PostgreSQL backend is a blocking client that
    /// starts a runtime of its own. An empty store or an invalid model is refused here, so
    /// no request ever meets one.
    pub fn open(db: &str) -> anyhow::Result<Server> {
        let url = holdco_store::StoreUrl::parse(db)?;
        if !url.exists() {
            return Err(anyhow!(
                "no store at {url}: import a model first (holdco --db {url} import FOLDER)"
            ));
        }
        let tokens = TokenStore::open(db)?;
        let model = url
            .open()?
            .load()?
            .ok_or_else(|| anyhow!("the store {url} is empty: import a model first"))?;
        holdco_core::rollup::Engine::new(&model)
            .map_err(|e| anyhow!("the stored model cannot be served: {e}"))?;
        Ok(Server {
            state: Arc::new(AppState {
                model: ArcSwap::from_pointee(model),
                tokens: Mutex::new(tokens),
            }),
            db: db.to_string(),
        })
    }

    /// The routes, for serving or for testing without a socket.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/health", get(health))
            .route("/ready", get(ready))
            .route("/api/v1/structure", get(structure))
            .route("/api/v1/rollup", get(rollup))
            .route("/api/v1/explain", get(explain))
            .route("/api/v1/reconcile", get(reconcile))
            .merge(dashboard_api::routes())
            .merge(holdco_dashboard::router())
            .fallback(not_found)
            .with_state(self.state.clone())
            .merge(changesets::router(self.state.clone(), &self.db))
    }

    /// Serves on `listen` until Ctrl-C or SIGTERM, then finishes the requests under way.
    /// `on_bound` hears the address bound (useful with port 0).
    pub fn run(self, listen: &str, on_bound: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("--listen {listen}: cannot listen there"))?;
            on_bound(listener.local_addr()?);
            axum::serve(listener, self.router())
                .with_graceful_shutdown(shutdown_signal())
                .await?;
            Ok(())
        })
    }

    /// Serves on `listen` from a background thread until the handle is dropped.
    pub fn spawn(self, listen: &str) -> anyhow::Result<RunningServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(listen))
            .with_context(|| format!("--listen {listen}: cannot listen there"))?;
        let address = listener.local_addr()?;
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let router = self.router();
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
    ApiError::NotFound("no such endpoint".to_string())
}

/// The token of a request's `Authorization: Bearer` header.
fn bearer(headers: &HeaderMap) -> Result<String, ApiError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized)?;
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::Unauthorized)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthorized);
    }
    Ok(token.trim().to_string())
}

/// Checks the token, then answers from a snapshot of the model on a blocking thread (the
/// token hash and the engine are CPU work).
async fn answer(
    state: Arc<AppState>,
    headers: &HeaderMap,
    work: impl FnOnce(&Model, &Caller) -> Result<serde_json::Value, ApiError> + Send + 'static,
) -> Result<Json<serde_json::Value>, ApiError> {
    let token = bearer(headers)?;
    let result = tokio::task::spawn_blocking(move || {
        // The store is held for the row's read only; the hash runs outside the lock.
        let candidate = state
            .tokens
            .lock()
            .map_err(|_| ApiError::Internal("token store lock poisoned".into()))?
            .find(&token)
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .ok_or(ApiError::Unauthorized)?;
        let caller = candidate
            .verify()
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .ok_or(ApiError::Unauthorized)?;
        let model = state.model.load_full();
        work(&model, &caller)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("request task failed: {e}")))?;
    result.map(Json)
}

/// The query string as name-value pairs; one that cannot be read (a bad `%` escape) is a 400
/// in the API's own shape rather than axum's plain-text rejection.
type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

fn read_params(params: Params) -> Result<HashMap<String, String>, ApiError> {
    params.map(|Query(params)| params).map_err(|e| {
        ApiError::bad(
            "query",
            format!("cannot read the query string: {}", e.body_text()),
        )
    })
}

/// A read endpoint: the query string read, then the question answered by `queries::$name`
/// on the current model for the caller (the same shape for every read).
macro_rules! read_endpoint {
    ($($name:ident),* $(,)?) => {$(
        async fn $name(
            State(state): State<Arc<AppState>>,
            headers: HeaderMap,
            params: Params,
        ) -> Result<Json<serde_json::Value>, ApiError> {
            let params = read_params(params)?;
            answer(state, &headers, move |model, caller| queries::$name(model, caller, &params)).await
        }
    )*};
}

read_endpoint!(structure, rollup, explain, reconcile);

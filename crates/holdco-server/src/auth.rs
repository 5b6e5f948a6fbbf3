//! Who is asking: the bearer token of a request checked against the store's token table.
//!
//! A handler that takes an [`Authorized`] runs only for a valid, unrevoked token; anything
//! else is a 401 before the handler starts. The token's row is read on every request (so a
//! revocation by any process counts at once); the argon2 hash of a secret already verified
//! against the same row is not computed again. Tokens never appear in a log line or an
//! error message.

use crate::error::ApiError;
use crate::tokens::Caller;
use crate::SharedState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;

/// The caller of a request with a valid token.
#[derive(Debug, Clone)]
pub struct Authorized(pub Caller);

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

impl FromRequestParts<SharedState> for Authorized {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers)?;
        let state = state.clone();
        tokio::task::spawn_blocking(move || {
            // The store is held for the row's read only; the hash runs outside the lock.
            let candidate = state
                .tokens
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .find(&token)
                .map_err(|e| ApiError::Internal(format!("reading the token table: {e}")))?
                .ok_or(ApiError::Unauthorized)?;
            candidate
                .verify_cached(&state.verified)
                .map_err(|e| ApiError::Internal(format!("checking a token: {e}")))?
                .map(Authorized)
                .ok_or(ApiError::Unauthorized)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("token check failed: {e}")))?
    }
}

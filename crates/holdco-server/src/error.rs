//! The one error type of the API and, in one place, the status and body each becomes.
//!
//! A client sees a status, a short code and a message about its own request: never an
//! internal message (those go to the server's standard error, without the token).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use holdco_core::rollup::QueryError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query parameter is missing, malformed or unknown: 400 naming it.
    #[error("{parameter}: {message}")]
    BadParameter {
        /// The parameter's name.
        parameter: String,
        /// What was wrong, and what is expected.
        message: String,
    },
    /// An unknown unit or metric: 404.
    #[error("{0}")]
    NotFound(String),
    /// No token, or not a valid one: 401.
    #[error(
        "a valid token is required: send `Authorization: Bearer TOKEN` (see `holdco token create`)"
    )]
    Unauthorized,
    /// A valid token that may not see this: 403.
    #[error("{0}")]
    Forbidden(String),
    /// A failure of the server itself: 500 with a generic message; the detail is logged.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A 400 about `parameter`.
    pub fn bad(parameter: &str, message: impl Into<String>) -> ApiError {
        ApiError::BadParameter {
            parameter: parameter.to_string(),
            message: message.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadParameter { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadParameter { .. } => "bad_parameter",
            ApiError::NotFound(_) => "not_found",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::Internal(_) => "internal",
        }
    }
}

/// A query's error, as the user's fault it is: unknown metric or unit 404, the rest 400
/// naming the parameter. An invalid model cannot reach here (the server refuses to start
/// on one), so it is internal.
impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> ApiError {
        let message = error.to_string();
        match error {
            QueryError::UnknownMetric(..) | QueryError::UnknownUnit(..) => {
                ApiError::NotFound(message)
            }
            QueryError::NodeNotInStructure(..) => ApiError::bad("node", message),
            QueryError::MissingRate(..) => ApiError::bad("currency", message),
            QueryError::NoPeriods => ApiError::bad("periods", message),
            QueryError::InvalidModel(_) => ApiError::Internal(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = serde_json::json!({ "error": self.code(), "message": self.to_string() });
        match &self {
            ApiError::BadParameter { parameter, .. } => {
                body["parameter"] = serde_json::Value::from(parameter.as_str());
            }
            ApiError::Internal(detail) => eprintln!("holdco serve: internal error: {detail}"),
            _ => {}
        }
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

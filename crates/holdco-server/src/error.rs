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
    /// A request body that cannot be read: 400 with a JSON pointer to the place.
    #[error("{message}")]
    BadBody {
        /// JSON pointer to the value at fault (empty for the whole body).
        pointer: String,
        /// What was wrong, and what is expected.
        message: String,
    },
    /// A request body over the limit: 413.
    #[error("the request body is over the limit of {0} bytes")]
    TooLarge(usize),
    /// The model cannot answer this question (a document missing or with problems, an
    /// infeasible plan): 422.
    #[error("{0}")]
    Unprocessable(String),
    /// An `Accept` header asking for a format this endpoint does not give: 406.
    #[error("{0}")]
    NotAcceptable(String),
    /// A failure of the server itself: 500 with a generic message; the detail is logged.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A question the application layer could not read: 400 naming the part.
    pub fn request(error: holdco_app::request::RequestError) -> ApiError {
        ApiError::bad(error.field(), error.api_message())
    }

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
            ApiError::BadBody { .. } => StatusCode::BAD_REQUEST,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadParameter { .. } => "bad_parameter",
            ApiError::NotFound(_) => "not_found",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::BadBody { .. } => "bad_body",
            ApiError::TooLarge(_) => "too_large",
            ApiError::NotAcceptable(_) => "not_acceptable",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::Internal(_) => "internal",
        }
    }
}

/// A query's error, as the user's fault it is: a 400 naming the parameter. An invalid model cannot reach here (the server refuses to start
/// on one), so it is internal.
impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> ApiError {
        let message = error.to_string();
        match error {
            QueryError::UnknownMetric(..) => ApiError::bad("metric", message),
            QueryError::UnknownUnit(..) => ApiError::bad("node", message),
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
            ApiError::BadBody { pointer, .. } => {
                body["pointer"] = serde_json::Value::from(pointer.as_str());
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

/// The body of every error response.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A short code: `bad_parameter`, `bad_body`, `not_found`, `unauthorized`, `forbidden`,
    /// `too_large`, `not_acceptable`, `unprocessable` or `internal`.
    pub error: String,
    /// What was wrong with the request, and what would be right.
    pub message: String,
    /// The query parameter at fault (`bad_parameter`).
    pub parameter: Option<String>,
    /// JSON pointer to the value at fault in the body (`bad_body`).
    pub pointer: Option<String>,
}

//! Answers in the format asked for: JSON (the CLI's `--json` values), or with
//! `Accept: text/csv` the CLI's `--csv` bytes where the CLI has a CSV form.

use crate::error::ApiError;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A response format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json` (the default).
    Json,
    /// `text/csv`.
    Csv,
}

/// The format an `Accept` header asks for: `text/csv` when it names it before any JSON
/// type, JSON for `application/json`, `*/*`, `application/*` or no header; 406 otherwise.
pub fn format(headers: &HeaderMap) -> Result<Format, ApiError> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Ok(Format::Json);
    };
    let accept = accept.to_str().unwrap_or("");
    for item in accept.split(',') {
        let media = item
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "text/csv" => return Ok(Format::Csv),
            "application/json" | "*/*" | "application/*" | "" => return Ok(Format::Json),
            _ => {}
        }
    }
    Err(ApiError::NotAcceptable(format!(
        "cannot answer in {accept}: ask for application/json or text/csv"
    )))
}

/// A JSON response.
pub fn json<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    json_bytes(serde_json::to_vec(value).map_err(|e| ApiError::Internal(e.to_string()))?)
}

/// A JSON response of bytes already written.
pub fn json_bytes(body: Vec<u8>) -> Result<Response, ApiError> {
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// CSV rows, escaped as the CLI's `--csv` escapes them.
pub fn csv<R: Serialize>(rows: &[R]) -> Result<Response, ApiError> {
    let body = holdco_app::text::csv_bytes(rows).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        )],
        body,
    )
        .into_response())
}

/// The value as JSON, or its rows as CSV.
pub fn either<T: Serialize, R: Serialize>(
    format: Format,
    value: &T,
    rows: impl FnOnce(&T) -> Vec<R>,
) -> Result<Response, ApiError> {
    match format {
        Format::Json => json(value),
        Format::Csv => csv(&rows(value)),
    }
}

/// The value as JSON; a CSV request is refused (the CLI has no CSV form of it either).
pub fn json_only<T: Serialize>(format: Format, value: &T) -> Result<Response, ApiError> {
    match format {
        Format::Json => json(value),
        Format::Csv => Err(ApiError::NotAcceptable(
            "this answer has no CSV form (as the CLI's): ask for application/json".into(),
        )),
    }
}

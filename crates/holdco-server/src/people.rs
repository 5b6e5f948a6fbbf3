//! Reads about people (issue 14 item 10: personal data is treated as such): who holds which
//! role on a date, the bodies of a unit, a person's record — the CLI's `people`, `board` and
//! `person`, answered by `holdco_app::people` from the snapshot.
//!
//! A scoped token sees only people whose roles lie within its subtrees: the roles on a date
//! below its scope units; the bodies of a unit inside its scope; a person who held a role
//! there, with only those roles and the stays in its subtrees (403 for anyone else).

use crate::auth::Authorized;
use crate::error::{ApiError, ErrorBody};
use crate::queries::{blocking, date, inside, params, scopes_text, RawQuery};
use crate::respond::{self, Format};
use crate::tokens::Caller;
use crate::SharedState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::NaiveDate;
use holdco_app::people::{self, PeopleError};
use holdco_app::Snapshot;
use holdco_core::UnitId;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The people endpoints and their documentation.
pub(crate) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(people_on))
        .routes(routes!(board))
        .routes(routes!(person))
}

crate::openapi::described!(
    PeopleOn (object): "The CLI's `holdco people --json`: at, roles (unit, unit_name, depth, body, role, person, name, title, since, term_end, source), in tree order.",
    Bodies (object): "The CLI's `holdco board --json`: unit, at, bodies (body, name, kind, seats, directors, independent, min_independent, members as the roles of `people`).",
    Person (object): "The CLI's `holdco person --json`: id, name, birth_year, joined, left, at, group_tenure_days, unit, unit_tenure_days, roles (role, seat, from, until, title, ended, source), units (stays), source.",
);

/// A question about people the model cannot answer, or that names an unknown unit or person.
fn refused(field: &str, error: PeopleError) -> ApiError {
    match error {
        PeopleError::Question(message) => ApiError::bad(field, message),
        other => ApiError::Unprocessable(other.to_string()),
    }
}

fn unit(field: &str, text: &str) -> Result<UnitId, ApiError> {
    UnitId::parse(text).map_err(|e| ApiError::bad(field, format!("`{text}`: {e}")))
}

/// Today (UTC): the default date of a question about people.
fn today() -> NaiveDate {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64);
    chrono::DateTime::from_timestamp(now, 0)
        .unwrap_or_default()
        .date_naive()
}

/// True when a scoped caller sees `unit` on `date` (always for a caller without scope).
fn sees(snapshot: &Snapshot, caller: &Caller, unit: &UnitId, date: NaiveDate) -> bool {
    if caller.scopes.is_empty() {
        return true;
    }
    let engine = snapshot.engine();
    engine
        .timeline()
        .unit(unit)
        .is_some_and(|index| inside(engine, caller, index, date))
}

fn outside(caller: &Caller, what: &str) -> ApiError {
    ApiError::Forbidden(format!(
        "{what} lies outside what token `{}` sees (the subtrees of {})",
        caller.name,
        scopes_text(caller)
    ))
}

/// Parameters of `GET /api/v1/people` (the flags of `holdco people`).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeopleParams {
    /// The date, `YYYY-MM-DD` (today when omitted).
    pub at: Option<String>,
    /// Only this unit and the units below it.
    pub unit: Option<String>,
    /// A change set id (draft, submitted or approved): answer as if it were applied to the
    /// current model (a what-if; nothing is written).
    pub changeset: Option<String>,
}

/// Who holds which role on a date, unit by unit in tree order (the CLI's `holdco people
/// --json`, or `--csv`); a scoped token gets the roles within its subtrees.
#[utoipa::path(
    get,
    path = "/api/v1/people",
    tag = "people",
    params(PeopleParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The roles held on the date", content(
            (PeopleOn = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "A parameter is unknown or malformed, or names a unit not alive on the date", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The unit lies outside the token's scope", body = ErrorBody),
        (status = 406, description = "An Accept header asking for neither JSON nor CSV", body = ErrorBody),
        (status = 422, description = "The model has no people", body = ErrorBody),
    )
)]
async fn people_on(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let p: PeopleParams = params(raw)?;
    let what_if = crate::whatif::parse(p.changeset.as_deref())?;
    let format = respond::format(&headers)?;
    let at = date("at", p.at.as_deref())?.unwrap_or_else(today);
    let node = p.unit.as_deref().map(|u| unit("unit", u)).transpose()?;
    blocking(&state, caller.clone(), what_if, move |snapshot| {
        let rows = match (&node, caller.scopes.is_empty()) {
            (Some(node), _) => {
                let rows =
                    people::leaders(snapshot, at, Some(node)).map_err(|e| refused("unit", e))?;
                if !sees(snapshot, &caller, node, at) {
                    return Err(outside(&caller, &format!("unit `{node}` on {at}")));
                }
                rows
            }
            (None, true) => people::leaders(snapshot, at, None).map_err(|e| refused("at", e))?,
            (None, false) => {
                // The roles below each scope unit alive on the date (a scope inside another
                // adds nothing).
                people::ledger(snapshot).map_err(|e| refused("at", e))?;
                let mut rows = Vec::new();
                for scope in &caller.scopes {
                    let covered = caller
                        .scopes
                        .iter()
                        .any(|other| other != scope && sees_within(snapshot, other, scope, at));
                    if covered {
                        continue;
                    }
                    if let Ok(mine) = people::leaders(snapshot, at, Some(scope)) {
                        rows.extend(mine);
                    }
                }
                rows
            }
        };
        let answer = serde_json::json!({ "at": at, "roles": rows });
        match format {
            Format::Json => respond::json(&answer),
            Format::Csv => respond::csv(&rows),
        }
    })
    .await
}

/// True when `unit` lies in the subtree of `scope` on `date`.
fn sees_within(snapshot: &Snapshot, scope: &UnitId, unit: &UnitId, date: NaiveDate) -> bool {
    let engine = snapshot.engine();
    let timeline = engine.timeline();
    match (timeline.unit(scope), timeline.unit(unit)) {
        (Some(scope), Some(unit)) => engine.structure(date).in_subtree(unit, scope),
        _ => false,
    }
}

/// Parameters of `GET /api/v1/board` (the arguments of `holdco board`).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BoardParams {
    /// The unit (required).
    #[param(example = "alibaba")]
    pub unit: Option<String>,
    /// The date, `YYYY-MM-DD` (today when omitted).
    pub at: Option<String>,
    /// A change set id (draft, submitted or approved): answer as if it were applied to the
    /// current model (a what-if; nothing is written).
    pub changeset: Option<String>,
}

/// The boards and committees of a unit on a date with their members (the CLI's `holdco
/// board --json`); a scoped token only for a unit inside its subtrees.
#[utoipa::path(
    get,
    path = "/api/v1/board",
    tag = "people",
    params(BoardParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The unit's bodies", body = Bodies),
        (status = 400, description = "A parameter is missing, unknown or malformed, or names a unit not alive on the date", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The unit lies outside the token's scope", body = ErrorBody),
        (status = 406, description = "Not JSON (board has no CSV form here)", body = ErrorBody),
        (status = 422, description = "The model has no people", body = ErrorBody),
    )
)]
async fn board(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let p: BoardParams = params(raw)?;
    let what_if = crate::whatif::parse(p.changeset.as_deref())?;
    let format = respond::format(&headers)?;
    let at = date("at", p.at.as_deref())?.unwrap_or_else(today);
    let text = p
        .unit
        .ok_or_else(|| ApiError::bad("unit", "required (e.g. unit=alibaba)"))?;
    let node = unit("unit", &text)?;
    blocking(&state, caller.clone(), what_if, move |snapshot| {
        let bodies = people::board(snapshot, &node, at).map_err(|e| refused("unit", e))?;
        if !sees(snapshot, &caller, &node, at) {
            return Err(outside(&caller, &format!("unit `{node}` on {at}")));
        }
        respond::json_only(
            format,
            &serde_json::json!({ "unit": node, "at": at, "bodies": bodies }),
        )
    })
    .await
}

/// Parameters of `GET /api/v1/person` (the arguments of `holdco person`).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PersonParams {
    /// The person's id in people.csv (required).
    #[param(example = "eddie_wu")]
    pub id: Option<String>,
    /// The date tenures are counted to, `YYYY-MM-DD` (today when omitted).
    pub at: Option<String>,
    /// A change set id (draft, submitted or approved): answer as if it were applied to the
    /// current model (a what-if; nothing is written).
    pub changeset: Option<String>,
}

/// A person's record: roles, units and tenures (the CLI's `holdco person --json`, or `--csv`
/// for the roles). A scoped token sees only a person who held a role within its subtrees,
/// with only those roles and units.
#[utoipa::path(
    get,
    path = "/api/v1/person",
    tag = "people",
    params(PersonParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The person's record", content(
            (Person = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "A parameter is missing, unknown or malformed, or names no person", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The person held no role within the token's scope", body = ErrorBody),
        (status = 406, description = "An Accept header asking for neither JSON nor CSV", body = ErrorBody),
        (status = 422, description = "The model has no people", body = ErrorBody),
    )
)]
async fn person(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let p: PersonParams = params(raw)?;
    let what_if = crate::whatif::parse(p.changeset.as_deref())?;
    let format = respond::format(&headers)?;
    let at = date("at", p.at.as_deref())?.unwrap_or_else(today);
    let id =
        p.id.ok_or_else(|| ApiError::bad("id", "required (e.g. id=eddie_wu)"))?;
    blocking(&state, caller.clone(), what_if, move |snapshot| {
        let report = if caller.scopes.is_empty() {
            people::person(snapshot, &id, at).map_err(|e| refused("id", e))?
        } else {
            people::person_seen(snapshot, &id, at, |unit, date| {
                sees(snapshot, &caller, unit, date)
            })
            .map_err(|e| refused("id", e))?
            .ok_or_else(|| outside(&caller, &format!("every role of `{id}`")))?
        };
        respond::either(format, &report, |r| r.roles.clone())
    })
    .await
}

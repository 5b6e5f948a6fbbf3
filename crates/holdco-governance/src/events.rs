//! The dated events governance adds to the timeline (`people.*`), as registered with core's
//! extension point: their fields, their checks on their own, and their line in history.

use chrono::NaiveDate;
use holdco_core::extension::{self, EventFields, EventType, FieldSpec, FieldType};
use holdco_core::UnitId;

/// `people.appoint`.
pub const APPOINT: &str = "people.appoint";
/// `people.step_down`.
pub const STEP_DOWN: &str = "people.step_down";
/// `people.leave`.
pub const LEAVE: &str = "people.leave";
/// `people.transfer`.
pub const TRANSFER: &str = "people.transfer";

const PERSON: FieldSpec = FieldSpec {
    name: "person",
    ty: FieldType::Text,
    required: true,
    hint: "a person id from people.csv, e.g. \"eddie_wu\"",
};
const ROLE: FieldSpec = FieldSpec {
    name: "role",
    ty: FieldType::Text,
    required: true,
    hint: "a role kind (ceo, chair, cfo, president, director_independent, director_executive, director_non_executive, head_of_business_group, or one declared in governance.toml)",
};
const UNIT: FieldSpec = FieldSpec {
    name: "unit",
    ty: FieldType::Unit,
    required: false,
    hint: "the unit the role is in",
};
const BODY: FieldSpec = FieldSpec {
    name: "body",
    ty: FieldType::Text,
    required: false,
    hint: "a body id from governance.toml (a board or committee)",
};

/// The event kinds, for the registry.
pub static EVENTS: [EventType; 4] = [
    EventType {
        kind: APPOINT,
        summary: "a person takes a role in a unit or a body, with an optional term end",
        fields: &[
            PERSON,
            ROLE,
            UNIT,
            BODY,
            FieldSpec {
                name: "term_end",
                ty: FieldType::Date,
                required: false,
                hint: "the last day of the term",
            },
            FieldSpec {
                name: "title",
                ty: FieldType::Text,
                required: false,
                hint: "the title as published, e.g. \"acting chairman and CEO\"",
            },
        ],
        check: check_appoint,
        describe: describe_appoint,
    },
    EventType {
        kind: STEP_DOWN,
        summary: "a person's role in a unit or a body ends",
        fields: &[PERSON, ROLE, UNIT, BODY],
        check: check_seat,
        describe: describe_step_down,
    },
    EventType {
        kind: LEAVE,
        summary: "a person leaves the group; every role they hold ends",
        fields: &[PERSON],
        check: no_check,
        describe: describe_leave,
    },
    EventType {
        kind: TRANSFER,
        summary: "a person moves to another unit; tenure in the group carries on",
        fields: &[
            PERSON,
            FieldSpec {
                name: "to",
                ty: FieldType::Unit,
                required: true,
                hint: "the unit the person moves to",
            },
            FieldSpec {
                name: "reset_service",
                ty: FieldType::Flag,
                required: false,
                hint: "true when the employer reset the years of service (the practice the group ended)",
            },
        ],
        check: no_check,
        describe: describe_transfer,
    },
];

fn no_check(_: NaiveDate, _: &EventFields) -> Vec<(&'static str, String)> {
    Vec::new()
}

fn check_seat(_: NaiveDate, fields: &EventFields) -> Vec<(&'static str, String)> {
    match (fields.contains_key("unit"), fields.contains_key("body")) {
        (true, true) => vec![(
            "body",
            "give either `unit` (a role in a unit) or `body` (a seat on a board or committee), not both".into(),
        )],
        (false, false) => vec![(
            "unit",
            "missing; give `unit` (a role in a unit, e.g. unit = \"alibaba\") or `body` (a board or committee of governance.toml)".into(),
        )],
        _ => Vec::new(),
    }
}

fn check_appoint(date: NaiveDate, fields: &EventFields) -> Vec<(&'static str, String)> {
    let mut problems = check_seat(date, fields);
    if let Some(end) = extension::date(fields, "term_end") {
        if end < date {
            problems.push((
                "term_end",
                format!("the term ends on {end}, before it starts on {date}; give the last day of the term (on or after {date})"),
            ));
        }
    }
    problems
}

fn seat(fields: &EventFields) -> String {
    match (
        extension::text(fields, "unit"),
        extension::text(fields, "body"),
    ) {
        (Some(unit), _) => unit.to_string(),
        (None, Some(body)) => format!("body {body}"),
        _ => String::new(),
    }
}

fn person(fields: &EventFields) -> &str {
    extension::text(fields, "person").unwrap_or("?")
}

fn describe_appoint(fields: &EventFields, _unit: &UnitId) -> String {
    let title = extension::text(fields, "title")
        .map(|t| format!(" ({t})"))
        .unwrap_or_default();
    let term = extension::date(fields, "term_end")
        .map(|d| format!(", term to {d}"))
        .unwrap_or_default();
    format!(
        "{} appointed {} of {}{title}{term}",
        person(fields),
        extension::text(fields, "role").unwrap_or("?"),
        seat(fields)
    )
}

fn describe_step_down(fields: &EventFields, _unit: &UnitId) -> String {
    format!(
        "{} steps down as {} of {}",
        person(fields),
        extension::text(fields, "role").unwrap_or("?"),
        seat(fields)
    )
}

fn describe_leave(fields: &EventFields, _unit: &UnitId) -> String {
    format!("{} leaves the group", person(fields))
}

fn describe_transfer(fields: &EventFields, unit: &UnitId) -> String {
    let to = extension::text(fields, "to").unwrap_or("?");
    let service = if extension::flag(fields, "reset_service") == Some(true) {
        " (years of service reset by the employer)"
    } else {
        ""
    };
    if to == unit.as_str() {
        format!("{} transferred in{service}", person(fields))
    } else {
        format!("{} transferred to {to}{service}", person(fields))
    }
}

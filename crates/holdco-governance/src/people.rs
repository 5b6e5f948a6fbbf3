//! `people.csv`: who the people are (id, name, birth year, first day in the group, first
//! unit, source). Personal data: names and birth years live only here and in the store.

use chrono::{Datelike, NaiveDate};
use holdco_core::{Diagnostic, UnitId};
use serde::Serialize;

/// The people file.
pub const PEOPLE_FILE: &str = "people.csv";

/// The columns of people.csv, in the order export writes them.
pub const PEOPLE_COLUMNS: [&str; 6] = ["id", "name", "birth_year", "joined", "unit", "source"];

/// Most people a file may list (docs/format.md, "Limits").
pub const MAX_PEOPLE: usize = 5_000_000;

/// One person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    /// Stable id used by events.
    pub id: String,
    /// Display name (empty when left out by `export --no-personal`).
    pub name: String,
    /// Year of birth, where published; never guessed.
    pub birth_year: Option<i32>,
    /// First day in the group, where published (never guessed): without it the person
    /// counts as in the group from their first recorded event and their tenure is unknown.
    pub joined: Option<NaiveDate>,
    /// The unit the person joined in, if known.
    pub unit: Option<UnitId>,
    /// Where the facts about the person were published.
    pub source: Option<String>,
    /// Line in people.csv.
    pub line: u32,
}

impl Person {
    /// The name, or the id when no name is given.
    pub fn display(&self) -> &str {
        if self.name.is_empty() {
            &self.id
        } else {
            &self.name
        }
    }
}

fn valid_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Parses people.csv; each problem names the line and column.
pub fn parse_people(text: &str, problems: &mut Vec<Diagnostic>) -> Vec<Person> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let at = |line: u32, field: &str, message: String| Diagnostic {
        file: PEOPLE_FILE.into(),
        line: Some(line),
        field: (!field.is_empty()).then(|| field.to_string()),
        message,
    };
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(error) => {
            problems.push(at(1, "", format!("not readable as CSV: {error}")));
            return Vec::new();
        }
    };
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    for header in headers.iter() {
        if !PEOPLE_COLUMNS.contains(&header.trim()) {
            problems.push(at(
                1,
                header,
                format!("unknown column (expected: {})", PEOPLE_COLUMNS.join(", ")),
            ));
        }
    }
    for required in ["id"] {
        if column(required).is_none() {
            problems.push(at(
                1,
                required,
                format!(
                    "missing column; people.csv needs the columns {}",
                    PEOPLE_COLUMNS.join(", ")
                ),
            ));
            return Vec::new();
        }
    }
    let mut people: Vec<Person> = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(error) => {
                let line = error.position().map(|p| p.line() as u32).unwrap_or(0);
                problems.push(at(line, "", format!("not readable as CSV: {error}")));
                continue;
            }
        };
        let line = record.position().map(|p| p.line() as u32).unwrap_or(0);
        if people.len() >= MAX_PEOPLE {
            problems.push(at(
                line,
                "",
                format!("more than {MAX_PEOPLE} people; split the group into models"),
            ));
            break;
        }
        let get = |name: &str| {
            column(name)
                .and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let mut ok = true;
        let id = get("id").unwrap_or("");
        if !valid_id(id) {
            problems.push(at(
                line,
                "id",
                format!("`{id}` is not a person id (lower-case letters, digits, _ and -, at most 64; e.g. eddie_wu)"),
            ));
            ok = false;
        } else if let Some(first) = seen.insert(id.to_string(), line) {
            problems.push(at(
                line,
                "id",
                format!("person `{id}` is listed twice (first on line {first}); keep one row per person"),
            ));
            ok = false;
        }
        let joined = match get("joined") {
            None => None,
            Some(text) => match holdco_core::period::parse_iso_date(text) {
                Some(date) => Some(date),
                None => {
                    problems.push(at(
                        line,
                        "joined",
                        format!("`{text}` is not a date (expected YYYY-MM-DD)"),
                    ));
                    ok = false;
                    None
                }
            },
        };
        let birth_year = match get("birth_year") {
            None => None,
            Some(text) => match text.parse::<i32>() {
                Ok(year) if (1900..=2200).contains(&year) => Some(year),
                _ => {
                    problems.push(at(
                        line,
                        "birth_year",
                        format!("`{text}` is not a year (expected four digits such as 1975, or empty when not published)"),
                    ));
                    ok = false;
                    None
                }
            },
        };
        if let (Some(year), Some(joined)) = (birth_year, joined) {
            if year >= joined.year() {
                problems.push(at(
                    line,
                    "birth_year",
                    format!("born in {year}, on or after joining the group on {joined}: a birth year in the future? Give the published year or leave it empty"),
                ));
                ok = false;
            }
        }
        let unit = match get("unit") {
            None => None,
            Some(text) => match UnitId::parse(text) {
                Ok(unit) => Some(unit),
                Err(message) => {
                    problems.push(at(line, "unit", message));
                    ok = false;
                    None
                }
            },
        };
        if ok {
            people.push(Person {
                id: id.to_string(),
                name: get("name").unwrap_or("").to_string(),
                birth_year,
                joined,
                unit,
                source: get("source").map(str::to_string),
                line,
            });
        }
    }
    people
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Writes people.csv; with `personal` false, names and birth years are left empty.
pub fn write_people(people: &[Person], personal: bool) -> String {
    let mut out = PEOPLE_COLUMNS.join(",");
    out.push('\n');
    for p in people {
        let row = [
            p.id.clone(),
            if personal {
                p.name.clone()
            } else {
                String::new()
            },
            match (personal, p.birth_year) {
                (true, Some(y)) => y.to_string(),
                _ => String::new(),
            },
            p.joined.map(|d| d.to_string()).unwrap_or_default(),
            p.unit.as_ref().map(|u| u.to_string()).unwrap_or_default(),
            p.source.clone().unwrap_or_default(),
        ];
        out.push_str(
            &row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

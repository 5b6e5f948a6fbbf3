//! Parsing group.toml and timeline.toml, keeping the line of every field for diagnostics.

use super::{decode, line_of};
use crate::extension::{self, FieldType, Lookup};
use crate::ids::{Currency, MetricId, UnitId};
use crate::model::{
    Aggregation, Change, ChangeKind, Consolidation, Diagnostic, EventValue, Group, Measure, Metric,
    Money, Origin, Shares, SplitPart,
};
use chrono::NaiveDate;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use toml::{Spanned, Value};

type Fields = BTreeMap<String, Spanned<Value>>;

/// One table as the change parser reads it: its span and its fields in name order, names
/// borrowed from the text where the plain scan read them (a million changes make five
/// million names: no map and no string per name).
struct Table<'a> {
    span: std::ops::Range<usize>,
    fields: Vec<(Cow<'a, str>, Spanned<Value>)>,
}

impl From<Spanned<Fields>> for Table<'static> {
    fn from(table: Spanned<Fields>) -> Self {
        let span = table.span();
        Table {
            span,
            fields: table
                .into_inner()
                .into_iter()
                .map(|(name, value)| (Cow::Owned(name), value))
                .collect(),
        }
    }
}

/// One TOML table with the position of each field, turned into typed values with
/// diagnostics that name the field and line.
struct Entry<'a> {
    path: &'a str,
    text: &'a str,
    line: u32,
    /// The fields in name order, each with whether a reader asked for it (a list, not a
    /// map: a change has a handful of fields, and a million changes are read at a time).
    fields: Vec<(Cow<'a, str>, Spanned<Value>, bool)>,
    problems: Vec<Diagnostic>,
    /// The optional unit id read last, handed from one change to the next
    /// ([`Entry::opt_unit`]).
    recent: Option<UnitId>,
}

impl<'a> Entry<'a> {
    fn new(path: &'a str, text: &'a str, spanned: Spanned<Fields>) -> Self {
        let line = line_of(text, spanned.span().start);
        Self::at_line(path, text, Table::from(spanned), line)
    }

    /// [`Entry::new`] with the table's line already known.
    fn at_line(path: &'a str, text: &'a str, table: Table<'a>, line: u32) -> Self {
        Entry {
            path,
            text,
            line,
            fields: table
                .fields
                .into_iter()
                .map(|(name, value)| (name, value, false))
                .collect(),
            problems: Vec::new(),
            recent: None,
        }
    }

    fn origin(&self) -> Origin {
        Origin {
            file: self.path.to_string(),
            line: self.line,
        }
    }

    fn get(&self, name: &str) -> Option<&Spanned<Value>> {
        self.fields
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v)
    }

    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Marks a field as read (a field that is not there needs no mark).
    fn mark(&mut self, name: &str) {
        if let Some(field) = self.fields.iter_mut().find(|(n, _, _)| n == name) {
            field.2 = true;
        }
    }

    /// Marks every field as read (when the others can't be judged).
    fn mark_all(&mut self) {
        for field in &mut self.fields {
            field.2 = true;
        }
    }

    /// The names of the fields, in name order.
    fn names(&self) -> Vec<String> {
        self.fields.iter().map(|(n, _, _)| n.to_string()).collect()
    }

    fn field_line(&self, name: &str) -> u32 {
        self.get(name)
            .map(|v| line_of(self.text, v.span().start))
            .unwrap_or(self.line)
    }

    fn problem(&mut self, name: &str, message: impl Into<String>) {
        let line = self.field_line(name);
        self.problems.push(Diagnostic {
            file: self.path.to_string(),
            line: Some(line),
            field: Some(name.to_string()),
            message: message.into(),
        });
    }

    fn value(&mut self, name: &str) -> Option<Value> {
        self.mark(name);
        self.get(name).map(|v| v.get_ref().clone())
    }

    fn opt_str(&mut self, name: &str) -> Option<String> {
        self.parse_str(name, |text| Ok(text.to_string()))
    }

    fn req_str(&mut self, name: &str, hint: &str) -> Option<String> {
        if !self.has(name) {
            let line = self.line;
            self.problems.push(Diagnostic {
                file: self.path.to_string(),
                line: Some(line),
                field: Some(name.to_string()),
                message: format!("missing; expected {hint}"),
            });
            return None;
        }
        self.opt_str(name)
    }

    fn parse_with<T>(
        &mut self,
        name: &str,
        text: Option<String>,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let text = text?;
        match parse(&text) {
            Ok(v) => Some(v),
            Err(message) => {
                self.problem(name, message);
                None
            }
        }
    }

    /// A text field parsed where it stands, without a copy (a million changes name a million
    /// units); a value that is not text is a problem naming what was found.
    fn parse_str<T>(&mut self, name: &str, parse: impl Fn(&str) -> Result<T, String>) -> Option<T> {
        self.mark(name);
        let parsed = match self.get(name)?.get_ref() {
            Value::String(text) => parse(text),
            other => Err(format!(
                "expected text in quotes, found {}",
                other.type_str()
            )),
        };
        match parsed {
            Ok(v) => Some(v),
            Err(message) => {
                self.problem(name, message);
                None
            }
        }
    }

    fn req_unit(&mut self, name: &str) -> Option<UnitId> {
        if !self.has(name) {
            // The words of `req_str`.
            self.problems.push(Diagnostic {
                file: self.path.to_string(),
                line: Some(self.line),
                field: Some(name.to_string()),
                message: "missing; expected a unit id".into(),
            });
            return None;
        }
        self.parse_str(name, UnitId::parse)
    }

    fn opt_unit(&mut self, name: &str) -> Option<UnitId> {
        // Consecutive changes often name the same parent (a generator's million units under
        // one): the id read last is shared, not parsed and allocated again.
        if let (Some(recent), Some(Value::String(text))) =
            (&self.recent, self.get(name).map(|v| v.get_ref()))
        {
            if recent.as_str() == text {
                let id = recent.clone();
                self.mark(name);
                return Some(id);
            }
        }
        let id = self.parse_str(name, UnitId::parse)?;
        self.recent = Some(id.clone());
        Some(id)
    }

    fn opt_number(&mut self, name: &str) -> Option<f64> {
        match self.value(name)? {
            Value::Integer(i) if (i as f64).abs() <= super::csv_files::MAX_VALUE_MAGNITUDE => {
                Some(i as f64)
            }
            Value::Float(f)
                if f.is_finite() && f.abs() <= super::csv_files::MAX_VALUE_MAGNITUDE =>
            {
                Some(f)
            }
            Value::Integer(_) | Value::Float(_) => {
                self.problem(
                    name,
                    "expected a finite number of at most 1e15 in magnitude",
                );
                None
            }
            other => {
                self.problem(
                    name,
                    format!("expected a number, found {}", other.type_str()),
                );
                None
            }
        }
    }

    fn req_date(&mut self, name: &str) -> Option<NaiveDate> {
        let Some(value) = self.value(name) else {
            let line = self.line;
            self.problems.push(Diagnostic {
                file: self.path.to_string(),
                line: Some(line),
                field: Some(name.to_string()),
                message: "missing; expected a date such as 2023-04-01".into(),
            });
            return None;
        };
        let text = match value {
            Value::String(s) => s,
            Value::Datetime(d) => {
                // A bare date (what the plain scan and most files give): no text round trip.
                if let (Some(date), None, None) = (d.date, d.time, d.offset) {
                    if date.year <= 9999 {
                        if let Some(day) = NaiveDate::from_ymd_opt(
                            i32::from(date.year),
                            u32::from(date.month),
                            u32::from(date.day),
                        ) {
                            return Some(day);
                        }
                    }
                }
                d.to_string()
            }
            other => {
                self.problem(
                    name,
                    format!(
                        "expected a date such as 2023-04-01, found {}",
                        other.type_str()
                    ),
                );
                return None;
            }
        };
        match crate::period::parse_iso_date(text.trim()) {
            Some(date) => Some(date),
            None => {
                self.problem(
                    name,
                    format!("`{text}` is not a date (expected YYYY-MM-DD such as 2023-04-01)"),
                );
                None
            }
        }
    }

    /// Reports every field that no reader asked for: a typo must not pass silently.
    fn finish(mut self, allowed_hint: &str) -> Vec<Diagnostic> {
        let unknown: Vec<String> = self
            .fields
            .iter()
            .filter(|(_, _, used)| !used)
            .map(|(name, _, _)| name.to_string())
            .collect();
        for name in unknown {
            self.problem(
                &name,
                format!("unknown field (expected one of: {allowed_hint})"),
            );
        }
        self.problems
    }
}

fn toml_error(path: &str, text: &str, error: &toml::de::Error) -> Diagnostic {
    let line = error.span().map(|s| line_of(text, s.start));
    let message = error.message().trim().to_string();
    Diagnostic {
        file: path.to_string(),
        line,
        field: None,
        message: format!("TOML syntax: {message}"),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFile {
    group: Option<Spanned<Fields>>,
    #[serde(default)]
    metric: Vec<Spanned<Fields>>,
}

/// Parses group.toml into the group and its metrics.
pub(super) fn parse_group(
    path: &str,
    bytes: &[u8],
    problems: &mut Vec<Diagnostic>,
) -> Option<(Group, Vec<Metric>)> {
    let text = decode(path, bytes, problems)?;
    let file: GroupFile = match toml::from_str(text) {
        Ok(file) => file,
        Err(error) => {
            problems.push(toml_error(path, text, &error));
            return None;
        }
    };
    let Some(group_table) = file.group else {
        problems.push(Diagnostic {
            file: path.into(),
            line: Some(1),
            field: Some("group".into()),
            message: "missing [group] table (id, name, currency, fiscal_year_end)".into(),
        });
        return None;
    };
    let mut entry = Entry::new(path, text, group_table);
    let id = entry.req_unit("id");
    let name = entry.req_str("name", "the group's display name");
    let currency_text = entry.req_str("currency", "a currency code such as CNY");
    let currency = entry.parse_with("currency", currency_text, Currency::parse);
    let fye_text = entry.req_str(
        "fiscal_year_end",
        "the fiscal year end as MM-DD, e.g. \"03-31\"",
    );
    let fye = entry.parse_with("fiscal_year_end", fye_text, parse_month_day);
    problems.extend(entry.finish("id, name, currency, fiscal_year_end"));
    let group = Group {
        id: id?,
        name: name?,
        currency: currency?,
        fiscal_year_end: fye?,
    };

    let mut metrics: Vec<Metric> = Vec::new();
    let mut seen: BTreeMap<MetricId, u32> = BTreeMap::new();
    for table in file.metric {
        let mut entry = Entry::new(path, text, table);
        let id_text = entry.req_str("id", "a metric id such as revenue");
        let id = entry.parse_with("id", id_text, MetricId::parse);
        let name = entry.req_str("name", "the metric's display name");
        let measure_text = entry.req_str("measure", "currency, count, users or percent");
        let measure = entry.parse_with("measure", measure_text, |s| match s {
            "currency" => Ok(Measure::Currency),
            "count" => Ok(Measure::Count),
            "users" => Ok(Measure::Users),
            "percent" => Ok(Measure::Percent),
            other => Err(format!(
                "`{other}` is not a measure (expected currency, count, users or percent)"
            )),
        });
        let aggregation_text = entry.req_str("aggregation", "flow, stock, non_additive or ratio");
        let numerator_text = entry.opt_str("numerator");
        let numerator = entry.parse_with("numerator", numerator_text, MetricId::parse);
        let denominator_text = entry.opt_str("denominator");
        let denominator = entry.parse_with("denominator", denominator_text, MetricId::parse);
        let aggregation = match aggregation_text.as_deref() {
            Some("flow") => Some(Aggregation::Flow),
            Some("stock") => Some(Aggregation::Stock),
            Some("non_additive") => Some(Aggregation::NonAdditive),
            Some("ratio") => match (numerator.clone(), denominator.clone()) {
                (Some(numerator), Some(denominator)) => Some(Aggregation::Ratio {
                    numerator,
                    denominator,
                }),
                _ => {
                    entry.problem(
                        "aggregation",
                        "a ratio needs `numerator` and `denominator` metric ids",
                    );
                    None
                }
            },
            Some(other) => {
                entry.problem("aggregation", format!("`{other}` is not an aggregation (expected flow, stock, non_additive or ratio)"));
                None
            }
            None => None,
        };
        if !matches!(aggregation, Some(Aggregation::Ratio { .. }) | None)
            && (numerator.is_some() || denominator.is_some())
        {
            entry.problem(
                "numerator",
                "only a ratio metric takes numerator and denominator",
            );
        }
        let scale = entry.opt_str("scale");
        let origin = entry.origin();
        let line = entry.line;
        problems
            .extend(entry.finish("id, name, measure, aggregation, numerator, denominator, scale"));
        if let (Some(id), Some(name), Some(measure), Some(aggregation)) =
            (id, name, measure, aggregation)
        {
            if let Some(first) = seen.insert(id.clone(), line) {
                problems.push(Diagnostic {
                    file: path.into(),
                    line: Some(line),
                    field: Some("id".into()),
                    message: format!("duplicate metric id `{id}` (first defined on line {first})"),
                });
                continue;
            }
            metrics.push(Metric {
                id,
                name,
                measure,
                aggregation,
                scale,
                origin,
            });
        }
    }
    for metric in &metrics {
        if let Aggregation::Ratio {
            numerator,
            denominator,
        } = &metric.aggregation
        {
            for (field, part) in [("numerator", numerator), ("denominator", denominator)] {
                match metrics.iter().find(|m| &m.id == part) {
                    None => problems.push(Diagnostic::at(
                        &metric.origin,
                        Some(field),
                        format!("unknown metric `{part}` (define it with [[metric]])"),
                    )),
                    Some(m) if matches!(m.aggregation, Aggregation::Ratio { .. }) => {
                        problems.push(Diagnostic::at(
                            &metric.origin,
                            Some(field),
                            format!(
                                "`{part}` is itself a ratio; a ratio takes two additive metrics"
                            ),
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
    }
    Some((group, metrics))
}

fn parse_month_day(text: &str) -> Result<(u8, u8), String> {
    let bad = || format!("`{text}` is not a month-day (expected MM-DD such as 03-31 or 12-31)");
    let (m, d) = text.trim().split_once('-').ok_or_else(bad)?;
    // Exactly two digits each: `str::parse` alone takes `+3` (issue 16 item 11).
    if [m, d]
        .iter()
        .any(|part| part.len() != 2 || !part.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let month: u8 = m.parse().map_err(|_| bad())?;
    let day: u8 = d.parse().map_err(|_| bad())?;
    NaiveDate::from_ymd_opt(2024, u32::from(month), u32::from(day)).ok_or_else(bad)?;
    Ok((month, day))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TimelineFile {
    #[serde(default)]
    change: Vec<Spanned<Fields>>,
}

const CHANGE_FIELDS: &str =
    "id, date, kind, unit, name, parent, unit_kind, ownership, units, into, parts, share, consolidation, proceeds, proceeds_currency, buyer, class, note, source";

/// The `[[change]]` entries of a file that holds other tables too (a scenario).
#[derive(serde::Deserialize)]
struct ChangesOnly {
    #[serde(default)]
    change: Vec<Spanned<Fields>>,
}

/// Parses timeline.toml; changes with problems are left out and reported.
pub(super) fn parse_timeline(
    path: &str,
    bytes: &[u8],
    group: &Group,
    metrics: &[Metric],
    problems: &mut Vec<Diagnostic>,
) -> Vec<Change> {
    let Some(text) = decode(path, bytes, problems) else {
        return Vec::new();
    };
    // A timeline in the plain subset (holdco's own writer, generators, most hand-written
    // files) is scanned line by line; anything else goes to the TOML reader.
    if let Some(tables) = scan_plain_tables(text) {
        return parse_change_tables(path, text, tables, group, metrics, problems);
    }
    match toml::from_str::<TimelineFile>(text) {
        Ok(file) => {
            let tables = file.change.into_iter().map(Table::from).collect();
            parse_change_tables(path, text, tables, group, metrics, problems)
        }
        Err(error) => {
            problems.push(toml_error(path, text, &error));
            Vec::new()
        }
    }
}

/// The `[[change]]` tables of a timeline written in the plain subset of TOML that holdco's
/// own writer and generators produce, scanned line by line (issue 16 item 6: the general
/// TOML reader took most of the time of a roll-up over a million changes).
///
/// The subset: blank lines, comments, `[[change]]` headers, and `key = value` lines with a
/// bare key and one of: a string in double quotes without escapes, a string in single
/// quotes, a decimal integer or float, `true`/`false`, a date `YYYY-MM-DD`, or a one-line
/// list of such strings. Anything else (another header, a dotted or quoted key, an inline
/// table, a value over several lines, an escape, a control character, a repeated key, a
/// carriage return) answers `None`, and the caller reads the file with the TOML crate. So
/// this function never decides anything the TOML reader would decide differently: where it
/// answers, the tables are those the TOML reader gives (same keys, values and lines; the
/// test `plain_scan_equals_the_toml_reader` holds that), and every diagnostic downstream is
/// produced by the same code.
fn scan_plain_tables(text: &str) -> Option<Vec<Table<'_>>> {
    let bytes = text.as_bytes();
    let mut tables: Vec<Table<'_>> = Vec::new();
    let mut current: Option<(usize, Vec<(Cow<'_, str>, Spanned<Value>)>)> = None;
    // A table's fields in name order, as the TOML reader's map gives them.
    fn close(
        start: usize,
        end: usize,
        mut fields: Vec<(Cow<'_, str>, Spanned<Value>)>,
    ) -> Table<'_> {
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        Table {
            span: start..end,
            fields,
        }
    }
    let mut at = 0usize;
    while at < bytes.len() {
        let end = memchr_newline(bytes, at);
        let line = &text[at..end];
        let next = if end < bytes.len() { end + 1 } else { end };
        let body = line.trim_start_matches([' ', '\t']);
        let offset = at + (line.len() - body.len());
        at = next;
        if body.is_empty() {
            continue;
        }
        let first = body.as_bytes()[0];
        if first == b'#' {
            if !plain_comment(body) {
                return None;
            }
            continue;
        }
        if first == b'[' {
            let rest = body.strip_prefix("[[change]]")?;
            if !plain_tail(rest) {
                return None;
            }
            if let Some((start, fields)) = current.take() {
                tables.push(close(start, offset, fields));
            }
            current = Some((offset, Vec::with_capacity(6)));
            continue;
        }
        // key = value
        let key_len = body
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
            .count();
        if key_len == 0 {
            return None;
        }
        let key = &body[..key_len];
        let rest = body[key_len..].trim_start_matches([' ', '\t']);
        let rest = rest.strip_prefix('=')?;
        let value_text = rest.trim_start_matches([' ', '\t']);
        let value_start = offset + (body.len() - value_text.len());
        let (value, used) = plain_value(value_text)?;
        if !plain_tail(&value_text[used..]) {
            return None;
        }
        let (_, fields) = current.as_mut()?;
        if fields.iter().any(|(name, _)| name == key) {
            return None;
        }
        fields.push((
            Cow::Borrowed(key),
            Spanned::new(value_start..value_start + used, value),
        ));
    }
    if let Some((start, fields)) = current.take() {
        tables.push(close(start, bytes.len(), fields));
    }
    Some(tables)
}

/// The end of the line starting at `from` (the position of its `\n`, or the text's end).
fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(bytes.len(), |p| from + p)
}

/// True for a character TOML refuses in strings and comments (a control character other
/// than tab; a carriage return is refused too, so line endings need no thought).
fn control(c: char) -> bool {
    (c < ' ' && c != '\t') || c == '\u{7f}'
}

fn plain_comment(comment: &str) -> bool {
    !comment.chars().any(control)
}

/// What may follow a value or header on its line: spaces, then nothing or a comment.
fn plain_tail(tail: &str) -> bool {
    let tail = tail.trim_start_matches([' ', '\t']);
    tail.is_empty() || (tail.starts_with('#') && plain_comment(tail))
}

/// A value of the plain subset at the start of `text`, and the bytes it takes.
fn plain_value(text: &str) -> Option<(Value, usize)> {
    let bytes = text.as_bytes();
    match *bytes.first()? {
        b'"' => {
            let close = text[1..].find(['"', '\\'])? + 1;
            if bytes[close] != b'"' {
                return None;
            }
            let inner = &text[1..close];
            if inner.chars().any(control) {
                return None;
            }
            Some((Value::String(inner.to_string()), close + 1))
        }
        b'\'' => {
            let close = text[1..].find('\'')? + 1;
            // `'''` opens a string over several lines.
            if close == 1 && bytes.get(2) == Some(&b'\'') {
                return None;
            }
            let inner = &text[1..close];
            if inner.chars().any(control) {
                return None;
            }
            Some((Value::String(inner.to_string()), close + 1))
        }
        b'[' => {
            let mut items = Vec::new();
            let mut at = 1;
            loop {
                at += text[at..].len() - text[at..].trim_start_matches([' ', '\t']).len();
                match bytes.get(at)? {
                    b']' => return Some((Value::Array(items), at + 1)),
                    b'"' | b'\'' => {
                        let (item, used) = plain_value(&text[at..])?;
                        items.push(item);
                        at += used;
                        at += text[at..].len() - text[at..].trim_start_matches([' ', '\t']).len();
                        match bytes.get(at)? {
                            b',' => at += 1,
                            b']' => return Some((Value::Array(items), at + 1)),
                            _ => return None,
                        }
                    }
                    _ => return None,
                }
            }
        }
        b't' if text.starts_with("true") => Some((Value::Boolean(true), 4)),
        b'f' if text.starts_with("false") => Some((Value::Boolean(false), 5)),
        _ => {
            let used = bytes
                .iter()
                .take_while(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.' | b'_' | b':')
                })
                .count();
            let token = &text[..used];
            if let Some(date) = plain_date(token) {
                return Some((Value::Datetime(date), used));
            }
            plain_number(token).map(|value| (value, used))
        }
    }
}

/// `YYYY-MM-DD` naming a real day, as a TOML local date.
fn plain_date(token: &str) -> Option<toml::value::Datetime> {
    let b = token.as_bytes();
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || ![0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|i| b[*i].is_ascii_digit())
    {
        return None;
    }
    let year: u16 = token[0..4].parse().ok()?;
    let month: u8 = token[5..7].parse().ok()?;
    let day: u8 = token[8..10].parse().ok()?;
    NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), u32::from(day))?;
    Some(toml::value::Datetime {
        date: Some(toml::value::Date { year, month, day }),
        time: None,
        offset: None,
    })
}

/// A decimal integer (fitting 64 bits, no leading zero) or float (`1.5`, `-2e3`), as TOML
/// reads it.
fn plain_number(token: &str) -> Option<Value> {
    let digits = token.strip_prefix(['+', '-']).unwrap_or(token);
    let b = digits.as_bytes();
    let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if int_len == 0 || (int_len > 1 && b[0] == b'0') {
        return None;
    }
    let mut at = int_len;
    let mut float = false;
    if b.get(at) == Some(&b'.') {
        let frac = b[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if frac == 0 {
            return None;
        }
        at += 1 + frac;
        float = true;
    }
    if matches!(b.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(b.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let exp = b[at..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp == 0 {
            return None;
        }
        at += exp;
        float = true;
    }
    if at != b.len() {
        return None;
    }
    if float {
        let value: f64 = token.parse().ok()?;
        value.is_finite().then_some(Value::Float(value))
    } else {
        token.parse::<i64>().ok().map(Value::Integer)
    }
}

/// Parses the `[[change]]` entries of a file whose other tables belong to someone else
/// (a scenario file); TOML syntax errors are left to that owner to report.
pub(super) fn parse_embedded_changes(
    path: &str,
    text: &str,
    group: &Group,
    metrics: &[Metric],
    problems: &mut Vec<Diagnostic>,
) -> Vec<Change> {
    match toml::from_str::<ChangesOnly>(text) {
        Ok(file) => {
            let tables = file.change.into_iter().map(Table::from).collect();
            parse_change_tables(path, text, tables, group, metrics, problems)
        }
        Err(_) => Vec::new(),
    }
}

fn parse_change_tables(
    path: &str,
    text: &str,
    tables: Vec<Table<'_>>,
    group: &Group,
    metrics: &[Metric],
    problems: &mut Vec<Diagnostic>,
) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut ids: BTreeMap<String, u32> = BTreeMap::new();
    // Tables come in file order: count lines on from the previous table, not from the top
    // for each (which took seconds on timelines of thousands of changes).
    let (mut counted_to, mut line) = (0usize, 1u32);
    let mut recent: Option<UnitId> = None;
    for table in tables {
        let start = table.span.start.min(text.len());
        if start < counted_to {
            (counted_to, line) = (0, 1);
        }
        line += text.as_bytes()[counted_to..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u32;
        counted_to = start;
        let mut entry = Entry::at_line(path, text, table, line);
        entry.recent = recent.take();
        let id = entry.opt_str("id");
        let date = entry.req_date("date");
        let note = entry.opt_str("note");
        let source = entry.opt_str("source");
        let kind_text = entry.req_str(
            "kind",
            "create, acquire, rename, move, merge, split, stake, divest, close or classify",
        );
        let kind = match kind_text.as_deref() {
            Some(kind) => parse_change_kind(&mut entry, kind, date, &group.currency, metrics),
            None => None,
        };
        let origin = entry.origin();
        let line = entry.line;
        recent = entry.recent.take();
        let allowed = match &kind {
            Some(ChangeKind::Event { event, .. }) => event_fields_hint(event),
            _ => CHANGE_FIELDS.to_string(),
        };
        problems.extend(entry.finish(&allowed));
        if let Some(id) = &id {
            if let Some(first) = ids.insert(id.clone(), line) {
                problems.push(Diagnostic {
                    file: path.into(),
                    line: Some(line),
                    field: Some("id".into()),
                    message: format!("duplicate change id `{id}` (first used on line {first})"),
                });
            }
        }
        if let (Some(date), Some(kind)) = (date, kind) {
            changes.push(Change {
                id,
                date,
                kind,
                note,
                source,
                origin,
            });
        }
    }
    changes
}

fn proceeds(entry: &mut Entry, default_currency: &Currency) -> Option<Option<Money>> {
    let amount = entry.opt_number("proceeds");
    let currency_text = entry.opt_str("proceeds_currency");
    let currency = entry.parse_with("proceeds_currency", currency_text.clone(), Currency::parse);
    match (amount, currency_text) {
        (None, None) => Some(None),
        (None, Some(_)) => {
            entry.problem("proceeds_currency", "given without `proceeds`");
            None
        }
        (Some(amount), _) if amount < 0.0 => {
            entry.problem(
                "proceeds",
                "proceeds can't be negative (record a loss as a fact)",
            );
            None
        }
        (Some(amount), None) => Some(Some(Money {
            amount,
            currency: default_currency.clone(),
        })),
        (Some(amount), Some(_)) => Some(Some(Money {
            amount,
            currency: currency?,
        })),
    }
}

fn parse_change_kind(
    entry: &mut Entry,
    kind: &str,
    date: Option<NaiveDate>,
    currency: &Currency,
    metrics: &[Metric],
) -> Option<ChangeKind> {
    match kind {
        "create" | "acquire" => {
            let unit = entry.req_unit("unit");
            let name = entry.req_str("name", "the unit's display name");
            let parent = entry.opt_unit("parent");
            let unit_kind = entry
                .opt_str("unit_kind")
                .unwrap_or_else(|| "unit".to_string());
            let ownership = entry.opt_number("ownership").unwrap_or(1.0);
            if !(0.0..=1.0).contains(&ownership) {
                entry.problem(
                    "ownership",
                    format!("{ownership} is not a share (expected 0 to 1)"),
                );
                return None;
            }
            Some(ChangeKind::Create {
                unit: unit?,
                name: name?,
                parent,
                unit_kind,
                acquired: kind == "acquire",
                ownership,
            })
        }
        "rename" => {
            let unit = entry.req_unit("unit");
            let name = entry.req_str("name", "the new display name");
            Some(ChangeKind::Rename {
                unit: unit?,
                name: name?,
            })
        }
        "move" => {
            let unit = entry.req_unit("unit");
            let parent = entry.req_unit("parent");
            Some(ChangeKind::Move {
                unit: unit?,
                parent: parent?,
            })
        }
        "merge" => {
            let into = entry.req_unit("into");
            let units = match entry.value("units") {
                Some(Value::Array(items)) if !items.is_empty() => {
                    let mut units = Vec::new();
                    for item in items {
                        match item.as_str().map(UnitId::parse) {
                            Some(Ok(unit)) => units.push(unit),
                            Some(Err(message)) => entry.problem("units", message),
                            None => entry.problem("units", "expected a list of unit ids in quotes"),
                        }
                    }
                    Some(units)
                }
                Some(_) => {
                    entry.problem(
                        "units",
                        "expected a non-empty list of unit ids, e.g. [\"a\", \"b\"]",
                    );
                    None
                }
                None => {
                    entry.problem(
                        "units",
                        "missing; expected the list of units merged, e.g. [\"a\", \"b\"]",
                    );
                    None
                }
            };
            Some(ChangeKind::Merge {
                units: units?,
                into: into?,
            })
        }
        "split" => {
            let unit = entry.req_unit("unit");
            let parts = parse_parts(entry, metrics);
            Some(ChangeKind::Split {
                unit: unit?,
                parts: parts?,
            })
        }
        "stake" => {
            let unit = entry.req_unit("unit");
            let share = entry.opt_number("share");
            if share.is_none() && !entry.has("share") {
                entry.problem("share", "missing; expected the group's new share, 0 to 1");
            }
            let share = share?;
            if !(0.0..=1.0).contains(&share) {
                entry.problem("share", format!("{share} is not a share (expected 0 to 1)"));
                return None;
            }
            let consolidation_text = entry.opt_str("consolidation");
            let consolidation = match consolidation_text.as_deref() {
                None => Some(if share > 0.5 {
                    Consolidation::Full
                } else {
                    Consolidation::Share
                }),
                Some("full") => Some(Consolidation::Full),
                Some("share") => Some(Consolidation::Share),
                Some("none") => Some(Consolidation::None),
                Some("equity") => Some(Consolidation::Equity),
                Some("fair_value") => Some(Consolidation::FairValue),
                Some(other) => {
                    entry.problem(
                        "consolidation",
                        format!("`{other}` is not a consolidation (expected full, share, none, equity or fair_value)"),
                    );
                    None
                }
            };
            let proceeds = proceeds(entry, currency);
            Some(ChangeKind::Stake {
                unit: unit?,
                share,
                consolidation: consolidation?,
                proceeds: proceeds?,
            })
        }
        "spin_off" => {
            let unit = entry.req_unit("unit");
            let retained = entry.opt_number("retained").unwrap_or(0.0);
            if !(0.0..1.0).contains(&retained) {
                entry.problem(
                    "retained",
                    format!(
                        "{retained} is not a retained share (expected 0 up to, not including, 1)"
                    ),
                );
                return None;
            }
            let method = match (entry.opt_str("method").as_deref(), retained > 0.0) {
                (None, true) | (Some("fair_value"), true) => Consolidation::FairValue,
                (Some("equity"), true) => Consolidation::Equity,
                (None, false) => Consolidation::None,
                (Some(other), true) => {
                    entry.problem("method", format!("`{other}` is not how a retained stake is carried (expected equity or fair_value)"));
                    return None;
                }
                (Some(_), false) => {
                    entry.problem(
                        "method",
                        "a method needs a retained share (retained = 0.199, say)",
                    );
                    return None;
                }
            };
            Some(ChangeKind::SpinOff {
                unit: unit?,
                retained,
                method,
            })
        }
        "divest" => {
            let unit = entry.req_unit("unit");
            let proceeds = proceeds(entry, currency);
            let buyer = entry.opt_str("buyer");
            Some(ChangeKind::Divest {
                unit: unit?,
                proceeds: proceeds?,
                buyer,
            })
        }
        "close" => {
            let unit = entry.req_unit("unit");
            Some(ChangeKind::Close { unit: unit? })
        }
        "classify" => {
            let unit = entry.req_unit("unit");
            let class = entry.req_str(
                "class",
                "the class id declared in strategy.toml, e.g. \"core\"",
            );
            if let Some(class) = &class {
                if class.trim().is_empty() {
                    entry.problem(
                        "class",
                        "empty; expected a class id declared in strategy.toml",
                    );
                    return None;
                }
            }
            Some(ChangeKind::Classify {
                unit: unit?,
                class: class?,
            })
        }
        "decision" => {
            let unit = entry.req_unit("unit");
            let decision =
                entry.req_str("decision", "what was decided, e.g. \"spin-off approved\"");
            if decision.as_deref().is_some_and(|d| d.trim().is_empty()) {
                entry.problem(
                    "decision",
                    "empty; say what was decided, e.g. \"spin-off approved\"",
                );
                return None;
            }
            Some(ChangeKind::Decision {
                unit: unit?,
                decision: decision?,
            })
        }
        other if other.contains('.') => parse_event(entry, other, date),
        other => {
            // Without a known kind the other fields can't be judged: don't call them unknown.
            entry.mark_all();
            entry.problem(
                "kind",
                format!("`{other}` is not a change kind (expected create, acquire, rename, move, merge, split, stake, spin_off, divest, close, classify or decision)"),
            );
            None
        }
    }
}

/// The fields a domain event may have, for the unknown-field message.
fn event_fields_hint(kind: &str) -> String {
    let mut names = vec!["id", "date", "kind", "note", "source"];
    if let Lookup::Known(event) = extension::lookup(kind) {
        names.extend(event.fields.iter().map(|f| f.name));
    }
    names.join(", ")
}

/// A domain event (`kind = "NAMESPACE.NAME"`, crate::extension): each field read with the
/// type its domain registered, then the domain's own check of the event.
fn parse_event(entry: &mut Entry, kind: &str, date: Option<NaiveDate>) -> Option<ChangeKind> {
    let common = ["id", "date", "kind", "note", "source"];
    match extension::lookup(kind) {
        Lookup::Known(event) => {
            let mut fields = BTreeMap::new();
            let mut complete = true;
            for spec in event.fields {
                entry.mark(spec.name);
                if !entry.has(spec.name) {
                    if spec.required {
                        let line = entry.line;
                        entry.problems.push(Diagnostic {
                            file: entry.path.to_string(),
                            line: Some(line),
                            field: Some(spec.name.to_string()),
                            message: format!("missing; `{kind}` needs {}", spec.hint),
                        });
                        complete = false;
                    }
                    continue;
                }
                let value = match spec.ty {
                    FieldType::Text => match entry.opt_str(spec.name) {
                        Some(text) if text.trim().is_empty() => {
                            entry.problem(spec.name, format!("empty; expected {}", spec.hint));
                            None
                        }
                        other => other.map(EventValue::Text),
                    },
                    FieldType::Unit => entry.opt_unit(spec.name).map(EventValue::Unit),
                    FieldType::Date => entry.req_date(spec.name).map(EventValue::Date),
                    FieldType::Number => entry.opt_number(spec.name).map(EventValue::Number),
                    FieldType::Flag => match entry.value(spec.name) {
                        Some(Value::Boolean(flag)) => Some(EventValue::Flag(flag)),
                        Some(other) => {
                            entry.problem(
                                spec.name,
                                format!("expected true or false, found {}", other.type_str()),
                            );
                            None
                        }
                        None => None,
                    },
                };
                match value {
                    Some(value) => {
                        fields.insert(spec.name.to_string(), value);
                    }
                    None => complete = false,
                }
            }
            if !complete {
                return None;
            }
            let found = match date {
                Some(date) => (event.check)(date, &fields),
                None => Vec::new(),
            };
            if !found.is_empty() {
                for (field, message) in found {
                    entry.problem(field, message);
                }
                return None;
            }
            Some(ChangeKind::Event {
                event: kind.to_string(),
                fields,
            })
        }
        Lookup::UnknownKind(domain) => {
            entry.mark_all();
            let kinds: Vec<&str> = domain.events.iter().map(|e| e.kind).collect();
            entry.problem(
                "kind",
                format!(
                    "`{kind}` is not an event kind of the {} domain (expected {})",
                    domain.name,
                    kinds.join(", ")
                ),
            );
            None
        }
        Lookup::UnknownNamespace if extension::is_complete() => {
            entry.mark_all();
            let known: Vec<String> = extension::domains()
                .iter()
                .map(|d| format!("{}.* ({})", d.namespace, d.name))
                .collect();
            entry.problem(
                "kind",
                format!(
                    "`{kind}` is neither a change kind nor an event kind of a known domain (event kinds: {}; change kinds: create, acquire, rename, move, merge, split, stake, spin_off, divest, close, classify, decision)",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                ),
            );
            None
        }
        Lookup::UnknownNamespace => {
            // No domain of this program reads it: keep it as written (typed by its TOML
            // values), so the model round-trips through programs that lack the domain.
            let mut fields = BTreeMap::new();
            let names: Vec<String> = entry
                .names()
                .into_iter()
                .filter(|k| !common.contains(&k.as_str()))
                .collect();
            for name in names {
                let value = match entry.value(&name) {
                    Some(Value::String(text)) => EventValue::Text(text),
                    Some(Value::Boolean(flag)) => EventValue::Flag(flag),
                    Some(Value::Datetime(d)) => {
                        match crate::period::parse_iso_date(&d.to_string()) {
                            Some(date) => EventValue::Date(date),
                            None => EventValue::Text(d.to_string()),
                        }
                    }
                    Some(value) => match number(&value) {
                        Some(n) => EventValue::Number(n),
                        None => {
                            entry.problem(&name, "expected text, a number, a date or true/false");
                            return None;
                        }
                    },
                    None => continue,
                };
                fields.insert(name, value);
            }
            Some(ChangeKind::Event {
                event: kind.to_string(),
                fields,
            })
        }
    }
}

fn parse_parts(entry: &mut Entry, metrics: &[Metric]) -> Option<Vec<SplitPart>> {
    let items = match entry.value("parts") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(_) => {
            entry.problem("parts", "expected a non-empty list such as [{ unit = \"a\", share = 0.6 }, { unit = \"b\", share = 0.4 }]");
            return None;
        }
        None => {
            entry.problem("parts", "missing; expected the successors, e.g. [{ unit = \"a\", share = 0.6 }, { unit = \"b\", share = 0.4 }]");
            return None;
        }
    };
    let mut parts = Vec::new();
    let mut ok = true;
    for (index, item) in items.iter().enumerate() {
        let position = index + 1;
        let Some(table) = item.as_table() else {
            entry.problem(
                "parts",
                format!("part {position}: expected {{ unit = \"...\", share = 0.5 }}"),
            );
            ok = false;
            continue;
        };
        let unit = match table.get("unit").and_then(Value::as_str).map(UnitId::parse) {
            Some(Ok(unit)) => Some(unit),
            Some(Err(message)) => {
                entry.problem("parts", format!("part {position}: {message}"));
                None
            }
            None => {
                entry.problem("parts", format!("part {position}: missing `unit`"));
                None
            }
        };
        let mut shares = Shares::default();
        for (key, value) in table {
            match key.as_str() {
                "unit" => {}
                "share" => match number(value) {
                    Some(share) => shares.default = Some(share),
                    None => {
                        entry.problem(
                            "parts",
                            format!("part {position}: `share` must be a finite number"),
                        );
                        ok = false;
                    }
                },
                "shares" => match value.as_table() {
                    Some(per_metric) => {
                        for (metric, value) in per_metric {
                            let Ok(metric_id) = MetricId::parse(metric) else {
                                entry.problem(
                                    "parts",
                                    format!("part {position}: `{metric}` is not a metric id"),
                                );
                                ok = false;
                                continue;
                            };
                            if !metrics.iter().any(|m| m.id == metric_id) {
                                entry.problem("parts", format!("part {position}: unknown metric `{metric}` in shares (define it in group.toml)"));
                                ok = false;
                            }
                            match number(value) {
                                Some(share) => {
                                    shares.per_metric.insert(metric_id, share);
                                }
                                None => {
                                    entry.problem("parts", format!("part {position}: share for `{metric}` must be a finite number"));
                                    ok = false;
                                }
                            }
                        }
                    }
                    None => {
                        entry.problem("parts", format!("part {position}: `shares` must be a table such as {{ revenue = 0.7 }}"));
                        ok = false;
                    }
                },
                other => {
                    entry.problem("parts", format!("part {position}: unknown field `{other}` (expected unit, share, shares)"));
                    ok = false;
                }
            }
        }
        // A default share is a part of the whole, 0 to 1. A share for a named metric may lie
        // outside that range (within -10 to 10): a profit that is the sum of a profitable and
        // a loss-making business gives one part more than all of it (docs/semantics.md, 1.3).
        for share in shares.default.iter() {
            if !(0.0..=1.0).contains(share) {
                entry.problem("parts", format!("part {position}: share {share} is outside 0 to 1 (a share of one metric, `shares = {{ METRIC = ... }}`, may go beyond for a profit line)"));
                ok = false;
            }
        }
        for (metric, share) in &shares.per_metric {
            if !(-10.0..=10.0).contains(share) {
                entry.problem(
                    "parts",
                    format!("part {position}: share {share} for `{metric}` is outside -10 to 10"),
                );
                ok = false;
            }
        }
        match unit {
            Some(unit) => parts.push(SplitPart { unit, shares }),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    // Shares must sum to 1 for the default and for every metric named anywhere.
    let mut names: BTreeSet<Option<MetricId>> = BTreeSet::new();
    names.insert(None);
    for part in &parts {
        names.extend(part.shares.per_metric.keys().cloned().map(Some));
    }
    let all_have_default = parts.iter().all(|p| p.shares.default.is_some());
    for name in names {
        let shares: Vec<Option<f64>> = parts
            .iter()
            .map(|p| match &name {
                None => p.shares.default,
                Some(metric) => p.shares.for_metric(metric),
            })
            .collect();
        let label = name
            .as_ref()
            .map(|m| format!("for `{m}`"))
            .unwrap_or_else(|| "(default)".into());
        if shares.iter().any(Option::is_none) {
            if name.is_none() && !all_have_default {
                // Without defaults every metric must be listed per part; checked per metric below.
                let listed = metrics.iter().all(|m| {
                    parts.iter().all(|p| p.shares.for_metric(&m.id).is_some())
                        || matches!(m.aggregation, Aggregation::Ratio { .. })
                });
                if !listed {
                    entry.problem(
                        "parts",
                        "every part needs a default `share`, or `shares` for every metric",
                    );
                    return None;
                }
                continue;
            }
            entry.problem("parts", format!("shares {label}: some parts give none"));
            return None;
        }
        let sum: f64 = shares.iter().flatten().sum();
        if (sum - 1.0).abs() > 1e-9 {
            entry.problem("parts", format!("shares {label} sum to {sum}, expected 1"));
            return None;
        }
    }
    Some(parts)
}

fn number(value: &Value) -> Option<f64> {
    let magnitude = super::csv_files::MAX_VALUE_MAGNITUDE;
    match value {
        Value::Integer(i) if (*i as f64).abs() <= magnitude => Some(*i as f64),
        Value::Float(f) if f.is_finite() && f.abs() <= magnitude => Some(*f),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Tables as the change parser sees them: each table's line, and each field's name,
    /// value and line.
    type Seen = Vec<(u32, Vec<(String, Value, u32)>)>;

    fn seen(text: &str, tables: &[Table<'_>]) -> Seen {
        tables
            .iter()
            .map(|table| {
                let fields = table
                    .fields
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.to_string(),
                            v.get_ref().clone(),
                            line_of(text, v.span().start),
                        )
                    })
                    .collect();
                (line_of(text, table.span.start), fields)
            })
            .collect()
    }

    /// Where the plain scan answers, the TOML reader reads the same tables; where the TOML
    /// reader refuses a file, the plain scan does not answer.
    fn agree(text: &str) -> Result<(), String> {
        let reference = toml::from_str::<TimelineFile>(text);
        match (scan_plain_tables(text), reference) {
            (None, _) => Ok(()),
            (Some(_), Err(error)) => Err(format!("scan took a file TOML refuses: {error}")),
            (Some(tables), Ok(file)) => {
                let theirs: Vec<Table<'_>> = file.change.into_iter().map(Table::from).collect();
                let (ours, theirs) = (seen(text, &tables), seen(text, &theirs));
                if ours == theirs {
                    Ok(())
                } else {
                    Err(format!("scan {ours:?}\ntoml {theirs:?}"))
                }
            }
        }
    }

    #[test]
    fn plain_scan_equals_the_toml_reader() {
        let text = "# a timeline\n\n[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"g\"\nname = 'G \"quoted\"'\nunit_kind = \"group\"  # the root\n\n  [[change]] # indented\n\tdate = 2020-02-29\nkind = \"merge\"\nunits = [\"a\", 'b' ,]\ninto = \"c\"\nshare = -0.25\nownership = 1\nproceeds = 1.5e3\nflag = true\nnote = \"ünïcode 市场 # not a comment\"\n[[change]]\n";
        agree(text).unwrap();
        let tables = scan_plain_tables(text).expect("plain");
        assert_eq!(tables.len(), 3);
        assert_eq!(line_of(text, tables[1].span.start), 10);
        // Outside the subset: left to the TOML reader.
        for text in [
            "[[change]]\nnote = \"a\\\"b\"\n",
            "[[change]]\nparts = [\n { unit = \"a\" },\n]\n",
            "[[change]]\nparts = [{ unit = \"a\", share = 1 }]\n",
            "[[change]]\nunit = \"a\"\nunit = \"b\"\n",
            "[[change]]\r\nunit = \"a\"\r\n",
            "[group]\nid = \"g\"\n",
            "unit = \"a\"\n[[change]]\n",
            "[[change]]\na.b = 1\n",
            "[[change]]\n\"unit\" = \"a\"\n",
            "[[change]]\nnote = '''x'''\n",
            "[[change]]\ndate = 2020-02-30\n",
            "[[change]]\ndate = 2020-01-01T10:00:00\n",
            "[[change]]\ndate = 2020-01-01 10:00:00\n",
            "[[change]]\nshare = 0x10\n",
            "[[change]]\nshare = 1_000\n",
            "[[change]]\nshare = 01\n",
            "[[change]]\nshare = nan\n",
            "[[change]]\nshare = 1.\n",
            "[[change]]\nshare = truex\n",
            "[[change]]\nnote = \"tab\tok but bell \u{7}\"\n",
        ] {
            assert!(scan_plain_tables(text).is_none(), "{text:?}");
            agree(text).unwrap();
        }
    }

    /// The fragments a generated file is made of: valid, near-valid and invalid pieces.
    const PIECES: &[&str] = &[
        "[[change]]",
        "[[change]] # c",
        "[change]",
        "[[ change ]]",
        "",
        "  ",
        "# note",
        "#\u{7}",
        "date = 2020-01-01",
        "date = 2021-02-29",
        "date=2024-02-29",
        "date = 2020-1-01",
        "kind = \"create\"",
        "unit = 'u1'",
        "unit = \"u\\n\"",
        "name = \"\"",
        "name = ''",
        "x = 1",
        "x = -1",
        "x = +1",
        "x = 00",
        "x = 1.25",
        "x = -0.0",
        "x = 1e3",
        "x = 1E-3",
        "x = 9223372036854775807",
        "x = 9223372036854775808",
        "x = 1e400",
        "x = true",
        "x = [\"a\",\"b\"]",
        "x = []",
        "x = [ ]",
        "x = [,]",
        "x = [\"a\" \"b\"]",
        "x = [1, 2]",
        "x = \"a\" # c",
        "x = \"a\" b",
        "x = \"a",
        "x = 'a",
        "= 1",
        "x =",
        "x = \"#\"",
        "x-y_z = 2",
        "é = 1",
        "x = { a = 1 }",
        "x = \"\"\"",
        "x = \"\u{1b}[2J\"",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn plain_scan_never_differs_from_the_toml_reader(
            lines in proptest::collection::vec(0..PIECES.len(), 0..12),
            crlf in 0..10u8,
        ) {
            let end = if crlf == 0 { "\r\n" } else { "\n" };
            let text: String = lines.iter().map(|i| format!("{}{end}", PIECES[*i])).collect();
            prop_assert!(agree(&text).is_ok(), "{text:?}: {:?}", agree(&text));
        }
    }
}

//! Fact segments (migration 0003): the facts an import records for the first time, written
//! one row of the `facts` table per series with periods and values as little-endian binary
//! arrays (migration 0008, `series_codec`; older rows hold JSON text, read alike), and read
//! back as facts.
//!
//! The `fact_revisions` table is the revision log; see the migration for how the two combine.

use super::series_codec::{column, encode_starts, encode_values};
use super::{
    basis_columns, corrupt, database, granularity_text, parse_granularity, Currencies, KeyColumns,
};
use crate::merge;
use crate::{store_origin, FactRevision, StoreError};
use holdco_core::format::fact_columns::{FactColumns, NONE};
use holdco_core::Fact;
use holdco_core::{Basis, Currency, FactKey, FiscalCalendar, Granularity, Period};
use rusqlite::{params, Connection, Transaction};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// One series row: its key, the import that wrote it, periods, figures and extras.
const INSERT_SERIES: &str =
    "INSERT INTO facts (unit, granularity, metric, counterparty, basis, structure,
     import_id, periods, figures, extras, annotations)
 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/// A series row's annotations: one (note, precision) pair per period (migration 0005).
type Annotations = Vec<(Option<String>, Option<f64>)>;

/// A fast, non-cryptographic hasher for grouping millions of facts by series in memory
/// (the Fx multiply-rotate scheme); the keys are the store's own, never adversarial.
#[derive(Default)]
pub(super) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, value: u8) {
        self.write_u64(u64::from(value));
    }
    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }
    fn finish(&self) -> u64 {
        // The multiply leaves the low bits, which pick the bucket, as weak as the input's low
        // bits (zero for aligned addresses): rotate the strong high bits down.
        self.0.rotate_left(26)
    }
}

/// A hash map keyed with [`FxHasher`].
pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Writes facts new to the store as segments of import `import_id`; refuses two facts with
/// one key.
pub(super) fn write<'a>(
    transaction: &Transaction<'_>,
    facts: &[&'a Fact],
    import_id: i64,
    calendar: FiscalCalendar,
) -> Result<(), StoreError> {
    // Ids are shared strings, and a parser hands out the same one for the same text many
    // times: each distinct string gets a number, found by its address before its text, so
    // grouping compares integers, not text, for every fact.
    let mut by_text: FastMap<&str, u32> = FastMap::default();
    let mut by_address: FastMap<(usize, usize), u32> = FastMap::default();
    let mut number = |text: &'a str| -> u32 {
        let address = (text.as_ptr() as usize, text.len());
        if let Some(number) = by_address.get(&address) {
            return *number;
        }
        let next = by_text.len() as u32;
        let number = *by_text.entry(text).or_insert(next);
        by_address.insert(address, number);
        number
    };
    // Each fact gets its series number; a counting sort then lays the facts out series by
    // series in one array (no growing list per series).
    let mut series_numbers: FastMap<(u32, u32, u32, Granularity, Basis), u32> = FastMap::default();
    let mut first_of_series: Vec<u32> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    let mut series_of: Vec<u32> = Vec::with_capacity(facts.len());
    for (index, fact) in facts.iter().enumerate() {
        let key = &fact.key;
        let counterparty = key
            .counterparty
            .as_ref()
            .map_or(u32::MAX, |unit| number(unit.as_str()));
        let series = (
            number(key.unit.as_str()),
            number(key.metric.as_str()),
            counterparty,
            key.period.granularity,
            key.basis,
        );
        let next = first_of_series.len() as u32;
        let found = *series_numbers.entry(series).or_insert(next);
        if found == next {
            first_of_series.push(index as u32);
            counts.push(0);
        }
        counts[found as usize] += 1;
        series_of.push(found);
    }
    drop(series_numbers);
    let mut offsets = Vec::with_capacity(counts.len() + 1);
    let mut total = 0;
    offsets.push(0);
    for count in &counts {
        total += count;
        offsets.push(total);
    }
    let mut cursor = offsets.clone();
    let mut order = vec![0u32; facts.len()];
    for (index, series) in series_of.iter().enumerate() {
        let slot = &mut cursor[*series as usize];
        order[*slot] = index as u32;
        *slot += 1;
    }
    drop(series_of);
    // Rows go in primary-key order, so the B-tree only ever appends.
    let mut ordered: Vec<(KeyColumns<'_>, std::ops::Range<usize>)> = first_of_series
        .iter()
        .enumerate()
        .map(|(series, first)| {
            (
                KeyColumns::of(&facts[*first as usize].key),
                offsets[series]..offsets[series + 1],
            )
        })
        .collect();
    ordered.sort_unstable_by(|(a, _), (b, _)| {
        (
            a.unit,
            a.granularity,
            a.metric,
            a.counterparty,
            a.basis,
            &a.structure,
        )
            .cmp(&(
                b.unit,
                b.granularity,
                b.metric,
                b.counterparty,
                b.basis,
                &b.structure,
            ))
    });
    let failed = database("writing facts");
    let mut insert = transaction.prepare_cached(INSERT_SERIES).map_err(&failed)?;
    let unstorable = |error: serde_json::Error| StoreError::Unstorable {
        item: "a series of facts".to_string(),
        reason: error.to_string(),
    };
    let mut starts: Vec<i32> = Vec::new();
    let mut figures: Vec<f64> = Vec::new();
    for (columns, range) in ordered {
        let members = &mut order[range];
        members.sort_unstable_by_key(|index| facts[*index as usize].key.period.start);
        if let Some(pair) = members.windows(2).find(|pair| {
            facts[pair[0] as usize].key.period.start == facts[pair[1] as usize].key.period.start
        }) {
            let key = merge::describe_key(&facts[pair[0] as usize].key, calendar);
            return Err(StoreError::DuplicateFact { key });
        }
        starts.clear();
        figures.clear();
        let mut has_extras = false;
        let mut has_annotations = false;
        for index in members.iter() {
            let fact = facts[*index as usize];
            starts.push(fact.key.period.start);
            figures.push(fact.value);
            has_extras |= fact.currency.is_some() || fact.source.is_some();
            has_annotations |= fact.note.is_some() || fact.precision.is_some();
        }
        let annotations = if has_annotations {
            let pairs: Vec<(Option<&str>, Option<f64>)> = members
                .iter()
                .map(|index| {
                    let fact = facts[*index as usize];
                    (fact.note.as_deref(), fact.precision)
                })
                .collect();
            Some(serde_json::to_string(&pairs).map_err(unstorable)?)
        } else {
            None
        };
        let extras = if has_extras {
            let pairs: Vec<(Option<&str>, Option<&str>)> = members
                .iter()
                .map(|index| {
                    let fact = facts[*index as usize];
                    (
                        fact.currency.as_ref().map(Currency::as_str),
                        fact.source.as_deref(),
                    )
                })
                .collect();
            Some(serde_json::to_string(&pairs).map_err(unstorable)?)
        } else {
            None
        };
        // Finite doubles only (checked before writing), stored bit for bit.
        let periods = encode_starts(&starts);
        let values = encode_values(&figures);
        insert
            .execute(params![
                columns.unit,
                columns.granularity,
                columns.metric,
                columns.counterparty,
                columns.basis,
                columns.structure.as_ref(),
                import_id,
                periods,
                values,
                extras,
                annotations,
            ])
            .map_err(&failed)?;
    }
    Ok(())
}

/// A fact as a segment holds it: revision 1 of its key, recorded by `import_id`.
pub(super) struct SegmentFact {
    /// The fact, with the store's origin.
    pub fact: Fact,
    /// The import that recorded it (part of the segment's primary key).
    pub import_id: i64,
    /// Its position in the segment's arrays.
    pub position: usize,
}

/// Every current fact of every segment (those not superseded), in no particular order;
/// `only` keeps the fact of one key.
pub(super) fn read(
    connection: &Connection,
    only: Option<&FactKey>,
) -> Result<Vec<SegmentFact>, StoreError> {
    read_where(connection, only, |start| {
        only.is_none_or(|key| key.period.start == start)
    })
}

/// The current facts (not superseded) of the series of `series` (its period start aside)
/// whose period starts are `starts` (ascending): the series' rows read by their primary
/// key, each decoded once for all the starts asked.
pub(super) fn read_starts(
    connection: &Connection,
    series: &FactKey,
    starts: &[i32],
) -> Result<Vec<SegmentFact>, StoreError> {
    read_where(connection, Some(series), |start| {
        starts.binary_search(&start).is_ok()
    })
}

/// The current facts of every segment, or of the rows of `series`'s series, whose period
/// start `keep` accepts.
fn read_where(
    connection: &Connection,
    only: Option<&FactKey>,
    keep: impl Fn(i32) -> bool,
) -> Result<Vec<SegmentFact>, StoreError> {
    let failed = database("reading facts");
    let all = "SELECT unit, granularity, metric, counterparty, basis, structure, import_id,
                      periods, figures, extras, superseded, annotations
               FROM facts";
    let one = format!(
        "{all} WHERE unit = ?1 AND granularity = ?2 AND metric = ?3 AND counterparty = ?4
                 AND basis = ?5 AND structure = ?6"
    );
    let mut statement = connection
        .prepare_cached(if only.is_some() { &one } else { all })
        .map_err(&failed)?;
    let wanted = only.map(KeyColumns::of);
    let mut rows = match &wanted {
        Some(key) => statement.query(params![
            key.unit,
            key.granularity,
            key.metric,
            key.counterparty,
            key.basis,
            key.structure.as_ref()
        ]),
        None => statement.query([]),
    }
    .map_err(&failed)?;
    let mut facts = Vec::new();
    while let Some(row) = rows.next().map_err(&failed)? {
        let columns = KeyColumns::of_segment(row)?;
        let series = columns.to_key()?;
        let import_id = row.get::<_, i64>(6).map_err(database("reading facts"))?;
        let starts: Vec<i32> = column(row, 7)?.starts()?;
        let figures: Vec<f64> = column(row, 8)?.values()?;
        let extras: Option<Vec<(Option<String>, Option<String>)>> =
            match super::optional_text(row, 9)? {
                Some(text) => Some(merge::decode("facts", text)?),
                None => None,
            };
        let superseded: Vec<usize> = merge::decode("facts", super::text(row, 10)?)?;
        let annotations: Option<Annotations> = match super::optional_text(row, 11)? {
            Some(text) => Some(merge::decode("facts", text)?),
            None => None,
        };
        if figures.len() != starts.len()
            || extras
                .as_ref()
                .is_some_and(|pairs| pairs.len() != starts.len())
            || annotations
                .as_ref()
                .is_some_and(|pairs| pairs.len() != starts.len())
        {
            return Err(corrupt(format!(
                "a series of {} periods holds another number of values, currencies or sources",
                starts.len()
            )));
        }
        let mut live = vec![true; starts.len()];
        for position in superseded {
            if let Some(flag) = live.get_mut(position) {
                *flag = false;
            }
        }
        let mut currencies = Currencies::default();
        for (position, start) in starts.into_iter().enumerate() {
            if !live[position] || !keep(start) {
                continue;
            }
            let (currency, source) = match &extras {
                Some(pairs) => pairs[position].clone(),
                None => (None, None),
            };
            let currency = currency.map(|code| currencies.get(code)).transpose()?;
            let (note, precision) = match &annotations {
                Some(pairs) => pairs[position].clone(),
                None => (None, None),
            };
            facts.push(SegmentFact {
                fact: Fact {
                    key: FactKey {
                        unit: series.unit.clone(),
                        period: Period::new(start, series.period.granularity),
                        metric: series.metric.clone(),
                        counterparty: series.counterparty.clone(),
                        basis: series.basis,
                    },
                    value: figures[position],
                    currency,
                    source,
                    note,
                    precision,
                    origin: store_origin(),
                },
                import_id,
                position,
            });
        }
    }
    Ok(facts)
}

/// Marks the fact at `position` of a segment as superseded by the revision log.
pub(super) fn supersede(
    transaction: &Transaction<'_>,
    key: &FactKey,
    import_id: i64,
    position: usize,
) -> Result<(), StoreError> {
    let columns = KeyColumns::of(key);
    transaction
        .prepare_cached(
            "UPDATE facts SET superseded = json_insert(superseded, '$[#]', ?8)
             WHERE unit = ?1 AND granularity = ?2 AND metric = ?3 AND counterparty = ?4
               AND basis = ?5 AND structure = ?6 AND import_id = ?7",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                columns.unit,
                columns.granularity,
                columns.metric,
                columns.counterparty,
                columns.basis,
                columns.structure.as_ref(),
                import_id,
                position as i64,
            ])
        })
        .map_err(database("writing facts"))?;
    Ok(())
}

/// The history of a key that only a segment holds: its one revision, or nothing.
pub(super) fn history(
    connection: &Connection,
    key: &FactKey,
) -> Result<Vec<FactRevision>, StoreError> {
    let failed = database("reading a fact's history");
    let mut history = Vec::new();
    for held in read(connection, Some(key))? {
        let (label, imported_at): (String, i64) = connection
            .query_row(
                "SELECT label, imported_at FROM imports WHERE id = ?1",
                [held.import_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(&failed)?;
        history.push(FactRevision {
            revision: 1,
            value: held.fact.value,
            currency: held.fact.currency,
            source: held.fact.source,
            note: held.fact.note,
            precision: held.fact.precision,
            deleted: false,
            import_id: held.import_id,
            import_label: label,
            imported_at,
        });
    }
    Ok(history)
}

/// True when any segment exists.
pub(super) fn any(connection: &Connection) -> Result<bool, StoreError> {
    connection
        .query_row("SELECT EXISTS (SELECT 1 FROM facts)", [], |row| row.get(0))
        .map_err(database("reading facts"))
}

/// Writes facts given as columns ([`FactColumns`], every series sorted by period start and
/// free of repeated keys) as segments of import `import_id`: the rows [`write`] makes of the
/// same facts, without building a fact.
pub(super) fn write_columns(
    transaction: &Transaction<'_>,
    columns: &FactColumns,
    import_id: i64,
    calendar: FiscalCalendar,
) -> Result<(), StoreError> {
    let failed = database("writing facts");

    // Rows go in primary-key order, so the B-tree only ever appends.
    // (unit, granularity, metric, counterparty, basis, structure, series): a row's key.
    type RowKey<'a> = (&'a str, &'a str, &'a str, &'a str, i64, Cow<'a, str>, usize);
    let mut ordered: Vec<RowKey> = columns
        .series
        .iter()
        .enumerate()
        .filter(|(series, _)| !columns.rows(*series).is_empty())
        .map(|(series, s)| {
            let (code, structure) = basis_columns(s.basis);
            let counterparty = if s.counterparty == NONE {
                ""
            } else {
                columns.units[s.counterparty as usize].as_str()
            };
            (
                columns.units[s.unit as usize].as_str(),
                granularity_text(s.granularity),
                columns.metrics[s.metric as usize].as_str(),
                counterparty,
                code,
                structure,
                series,
            )
        })
        .collect();
    ordered.sort_unstable();
    let mut insert = transaction.prepare_cached(INSERT_SERIES).map_err(&failed)?;
    // One thread encodes series (binary arrays, JSON extras), batch by batch, while this one inserts them.
    const BATCH: usize = 512;
    std::thread::scope(|scope| {
        let (send, receive) =
            std::sync::mpsc::sync_channel::<Result<Vec<EncodedSeries>, StoreError>>(8);
        let ordered = &ordered;
        scope.spawn(move || {
            for batch in ordered.chunks(BATCH) {
                let encoded = batch
                    .iter()
                    .map(|entry| encode_series(columns, entry.6, calendar))
                    .collect();
                if send.send(encoded).is_err() {
                    return; // the inserting side stopped on an error
                }
            }
        });
        for (batch, encoded) in ordered.chunks(BATCH).zip(receive.iter()) {
            for ((unit, granularity, metric, counterparty, basis, structure, _), row) in
                batch.iter().zip(encoded?)
            {
                insert
                    .execute(params![
                        unit,
                        granularity,
                        metric,
                        counterparty,
                        basis,
                        structure,
                        import_id,
                        row.periods,
                        row.figures,
                        row.extras,
                        None::<&str>,
                    ])
                    .map_err(&failed)?;
            }
        }
        Ok(())
    })
}

/// The encoded columns of one series row: binary periods and figures, JSON extras.
struct EncodedSeries {
    periods: Vec<u8>,
    figures: Vec<u8>,
    extras: Option<String>,
}

/// Encodes the rows of one series (sorted by period start; a repeated start is refused).
fn encode_series(
    columns: &FactColumns,
    series: usize,
    calendar: FiscalCalendar,
) -> Result<EncodedSeries, StoreError> {
    let unstorable = |error: serde_json::Error| StoreError::Unstorable {
        item: "a series of facts".to_string(),
        reason: error.to_string(),
    };
    let rows = columns.rows(series);
    let starts = &columns.starts[rows.clone()];
    if let Some(pair) = starts.windows(2).position(|pair| pair[0] >= pair[1]) {
        let key = columns.key(series, starts[pair]);
        return Err(StoreError::DuplicateFact {
            key: merge::describe_key(&key, calendar),
        });
    }
    // Finite doubles only (checked when parsed), stored bit for bit.
    let periods = encode_starts(starts);
    let figures = encode_values(&columns.values[rows.clone()]);
    let has_extras = columns.currency[rows.clone()].iter().any(|c| *c != NONE)
        || (!columns.source.is_empty() && columns.source[rows.clone()].iter().any(|s| *s != NONE));
    let extras = if has_extras {
        let pairs: Vec<(Option<&str>, Option<&str>)> = rows
            .map(|row| {
                let (currency, source) = (columns.currency[row], columns.source_of(row));
                (
                    (currency != NONE).then(|| columns.currencies[currency as usize].as_str()),
                    (source != NONE).then(|| columns.sources[source as usize].as_str()),
                )
            })
            .collect();
        Some(serde_json::to_string(&pairs).map_err(unstorable)?)
    } else {
        None
    };
    Ok(EncodedSeries {
        periods,
        figures,
        extras,
    })
}

/// A series' key as the tables store it: unit, granularity, metric, counterparty, basis code,
/// structure.
pub(super) type SeriesText = (String, &'static str, String, String, i64, String);

/// The current revision of a key the revision log holds.
pub(super) struct Logged {
    /// Its revision number (2 or more, or 1 for a key a store before migration 0003 kept in
    /// the log alone).
    pub revision: u32,
    pub value: f64,
    pub currency: Option<String>,
    pub source: Option<String>,
    /// A deletion revision (`import --prune`, a change set's removal): the key holds no fact
    /// now; `value` is the figure it had.
    pub deleted: bool,
}

/// The revision log's current figures (`is_current = 1`) by series and period start, of
/// `metrics` or all. The log holds only keys ever revised, so this costs in proportion to
/// the revisions, not to the store.
pub(super) fn logged(
    connection: &Connection,
    metrics: Option<&[holdco_core::MetricId]>,
) -> Result<FastMap<SeriesText, FastMap<i32, Logged>>, StoreError> {
    let failed = database("reading the revision log");
    let mut statement = connection
        .prepare_cached(
            "SELECT unit, granularity, metric, counterparty, basis, structure, period_start,
                    revision, value, currency, source, deleted
             FROM fact_revisions WHERE is_current = 1",
        )
        .map_err(&failed)?;
    let mut rows = statement.query([]).map_err(&failed)?;
    let mut logged: FastMap<SeriesText, FastMap<i32, Logged>> = FastMap::default();
    while let Some(row) = rows.next().map_err(&failed)? {
        let metric = super::text(row, 2)?;
        if metrics.is_some_and(|metrics| !metrics.iter().any(|m| m.as_str() == metric)) {
            continue;
        }
        let key: SeriesText = (
            super::text(row, 0)?.to_string(),
            granularity_text(parse_granularity(super::text(row, 1)?)?),
            metric.to_string(),
            super::text(row, 3)?.to_string(),
            row.get(4).map_err(&failed)?,
            super::text(row, 5)?.to_string(),
        );
        let start: i32 = row.get(6).map_err(&failed)?;
        let current = Logged {
            revision: row.get(7).map_err(&failed)?,
            value: row.get(8).map_err(&failed)?,
            currency: super::optional_text(row, 9)?.map(str::to_string),
            source: super::optional_text(row, 10)?.map(str::to_string),
            deleted: row.get(11).map_err(&failed)?,
        };
        logged.entry(key).or_default().insert(start, current);
    }
    Ok(logged)
}

/// A revised incoming row.
pub(super) struct RevisedRow {
    /// Its row in the columns, and its series there.
    pub row: usize,
    pub series: usize,
    /// The revision to write.
    pub revision: u32,
    /// When only a segment held the key: that first revision (value, currency, source, the
    /// import that recorded it), to copy into the log, which keeps a revised key's whole
    /// history.
    pub first: Option<(f64, Option<String>, Option<String>, i64)>,
}

/// What incoming columns do to the stored facts.
pub(super) struct ColumnsMerge {
    /// Per incoming row: true when its key is new to the store.
    pub new: Vec<bool>,
    /// Rows whose figure, currency or source differs from the stored current revision.
    pub revised: Vec<RevisedRow>,
    /// Segments that get newly superseded positions: the columns' series, the segment's
    /// import, and its whole superseded list after this import.
    pub superseded: Vec<(usize, i64, Vec<usize>)>,
}

/// Compares the stored facts (segments, with the revision log's current figures in place of
/// the ones they revise) with incoming columns (every series sorted by period): which rows
/// are new, which revise a stored figure, and which leave it as it is.
///
/// `None` when the reference merge is needed: a stored key the columns lack (the merged
/// model must be validated against the incoming timeline). The cost is one pass over the
/// segments plus the revision log, whatever was revised before.
pub(super) fn merge_columns(
    connection: &Connection,
    columns: &FactColumns,
    calendar: FiscalCalendar,
) -> Result<Option<ColumnsMerge>, StoreError> {
    let failed = database("reading facts");
    let mut by_key: FastMap<SeriesText, usize> = FastMap::default();
    for (series, s) in columns.series.iter().enumerate() {
        let starts = &columns.starts[columns.rows(series)];
        if let Some(at) = starts.windows(2).position(|pair| pair[0] >= pair[1]) {
            let key = columns.key(series, starts[at]);
            return Err(StoreError::DuplicateFact {
                key: merge::describe_key(&key, calendar),
            });
        }
        let (basis, structure) = basis_columns(s.basis);
        let counterparty = if s.counterparty == NONE {
            String::new()
        } else {
            columns.units[s.counterparty as usize].to_string()
        };
        let key = (
            columns.units[s.unit as usize].to_string(),
            granularity_text(s.granularity),
            columns.metrics[s.metric as usize].to_string(),
            counterparty,
            basis,
            structure.into_owned(),
        );
        by_key.insert(key, series);
    }
    let mut logged = logged(connection, None)?;
    let mut matched = vec![false; columns.len()];
    let mut revised = Vec::new();
    let mut superseded_lists = Vec::new();
    // Compares a stored current figure with incoming row `at`.
    let same = |at: usize, value: f64, currency: Option<&str>, source: Option<&str>| {
        let (incoming_currency, incoming_source) = (columns.currency[at], columns.source_of(at));
        value.to_bits() == columns.values[at].to_bits()
            && currency
                == (incoming_currency != NONE)
                    .then(|| columns.currencies[incoming_currency as usize].as_str())
            && source
                == (incoming_source != NONE)
                    .then(|| columns.sources[incoming_source as usize].as_str())
    };
    let mut statement = connection
        .prepare("SELECT unit, granularity, metric, counterparty, basis, structure, periods, figures, extras, superseded, import_id, annotations FROM facts")
        .map_err(&failed)?;
    let mut rows = statement.query([]).map_err(&failed)?;
    while let Some(row) = rows.next().map_err(&failed)? {
        let text = |index| super::text(row, index);
        // Columns carry no notes or precisions: a series with some differs from them.
        if super::optional_text(row, 11)?.is_some() {
            return Ok(None);
        }
        let granularity = granularity_text(parse_granularity(text(1)?)?);
        let basis = row.get::<_, i64>(4).map_err(&failed)?;
        let key = (
            text(0)?.to_string(),
            granularity,
            text(2)?.to_string(),
            text(3)?.to_string(),
            basis,
            text(5)?.to_string(),
        );
        let Some(series) = by_key.get(&key).copied() else {
            return Ok(None);
        };
        let import_id: i64 = row.get(10).map_err(&failed)?;
        let starts: Vec<i32> = column(row, 6)?.starts()?;
        let figures: Vec<f64> = column(row, 7)?.values()?;
        let extras: Option<Vec<(Option<String>, Option<String>)>> =
            match super::optional_text(row, 8)? {
                Some(text) => Some(merge::decode("facts", text)?),
                None => None,
            };
        let mut superseded: Vec<usize> = merge::decode("facts", text(9)?)?;
        if figures.len() != starts.len()
            || extras
                .as_ref()
                .is_some_and(|pairs| pairs.len() != starts.len())
        {
            return Err(corrupt(format!(
                "a series of {} periods holds another number of values, currencies or sources",
                starts.len()
            )));
        }
        let already = superseded.len();
        let mut was_superseded = vec![false; starts.len()];
        for position in &superseded {
            if let Some(flag) = was_superseded.get_mut(*position) {
                *flag = true;
            }
        }
        let mut log = logged.get_mut(&key);
        let range = columns.rows(series);
        let incoming = &columns.starts[range.clone()];
        for (position, start) in starts.iter().enumerate() {
            let Ok(offset) = incoming.binary_search(start) else {
                return Ok(None);
            };
            let at = range.start + offset;
            if std::mem::replace(&mut matched[at], true) {
                return Ok(None);
            }
            if was_superseded[position] {
                // The log holds this key's whole history; its current figure is the one to
                // compare with.
                let current = log
                    .as_mut()
                    .and_then(|log| log.remove(start))
                    .ok_or_else(|| {
                        corrupt(format!(
                            "a superseded fact of {} has no current revision",
                            merge::describe_key(&columns.key(series, *start), calendar)
                        ))
                    })?;
                // A deleted key brought back is a revision even with its old figure.
                let unchanged = !current.deleted
                    && same(
                        at,
                        current.value,
                        current.currency.as_deref(),
                        current.source.as_deref(),
                    );
                if !unchanged {
                    revised.push(RevisedRow {
                        row: at,
                        series,
                        revision: current.revision + 1,
                        first: None,
                    });
                }
                continue;
            }
            let (currency, source) = match &extras {
                Some(pairs) => (pairs[position].0.as_deref(), pairs[position].1.as_deref()),
                None => (None, None),
            };
            if !same(at, figures[position], currency, source) {
                revised.push(RevisedRow {
                    row: at,
                    series,
                    revision: 2,
                    first: Some((
                        figures[position],
                        currency.map(str::to_string),
                        source.map(str::to_string),
                        import_id,
                    )),
                });
                superseded.push(position);
            }
        }
        if superseded.len() > already {
            superseded_lists.push((series, import_id, superseded));
        }
    }
    // Keys only the log holds (a store from before migration 0003 kept every fact there).
    for (key, by_start) in logged {
        for (start, current) in by_start {
            let Some(series) = by_key.get(&key).copied() else {
                return Ok(None);
            };
            let range = columns.rows(series);
            let Ok(offset) = columns.starts[range.clone()].binary_search(&start) else {
                return Ok(None);
            };
            let at = range.start + offset;
            if std::mem::replace(&mut matched[at], true) {
                return Ok(None);
            }
            let unchanged = !current.deleted
                && same(
                    at,
                    current.value,
                    current.currency.as_deref(),
                    current.source.as_deref(),
                );
            if !unchanged {
                revised.push(RevisedRow {
                    row: at,
                    series,
                    revision: current.revision + 1,
                    first: None,
                });
            }
        }
    }
    Ok(Some(ColumnsMerge {
        new: matched.iter().map(|held| !held).collect(),
        revised,
        superseded: superseded_lists,
    }))
}

/// Writes what [`merge_columns`] found revised, as the reference import does: a first
/// revision only a segment held is copied into the log (not current, with its own import)
/// and its position marked superseded in the segment; the previous current revision of a
/// logged key is retired; the new revision is written current.
pub(super) fn write_revisions(
    transaction: &Transaction<'_>,
    columns: &FactColumns,
    merged: &ColumnsMerge,
    import_id: i64,
) -> Result<(), StoreError> {
    let failed = database("writing facts");
    let mut copy = transaction
        .prepare_cached(super::COPY_FIRST_REVISION)
        .map_err(&failed)?;
    let mut retire = transaction
        .prepare_cached(super::RETIRE_FACT)
        .map_err(&failed)?;
    let mut insert = transaction
        .prepare_cached(&super::insert_facts_sql(1))
        .map_err(&failed)?;
    for revised in &merged.revised {
        let key = columns.key(revised.series, columns.starts[revised.row]);
        let columns_of = KeyColumns::of(&key);
        match &revised.first {
            Some((value, currency, source, first_import)) => {
                copy.execute(params![
                    columns_of.unit,
                    columns_of.period_start,
                    columns_of.granularity,
                    columns_of.metric,
                    columns_of.counterparty,
                    columns_of.basis,
                    columns_of.structure.as_ref(),
                    value,
                    currency,
                    source,
                    first_import,
                    None::<&str>,
                    None::<f64>,
                ])
                .map_err(&failed)?;
            }
            None => {
                retire
                    .execute(columns_of.params_with(revised.revision - 1))
                    .map_err(&failed)?;
            }
        }
        let currency = columns.currency[revised.row];
        let currency = (currency != NONE).then(|| columns.currencies[currency as usize].as_str());
        let source = columns.source_of(revised.row);
        let source = (source != NONE).then(|| columns.sources[source as usize].as_str());
        insert
            .execute(params![
                columns_of.unit,
                columns_of.period_start,
                columns_of.granularity,
                columns_of.metric,
                columns_of.counterparty,
                columns_of.basis,
                columns_of.structure.as_ref(),
                revised.revision,
                columns.values[revised.row],
                currency,
                source,
                import_id,
                None::<&str>,
                None::<f64>,
                false,
            ])
            .map_err(&failed)?;
    }
    let mut update = transaction
        .prepare_cached(
            "UPDATE facts SET superseded = ?8
             WHERE unit = ?1 AND granularity = ?2 AND metric = ?3 AND counterparty = ?4
               AND basis = ?5 AND structure = ?6 AND import_id = ?7",
        )
        .map_err(&failed)?;
    for (series, segment_import, list) in &merged.superseded {
        let key = columns.key(*series, 0);
        let key = KeyColumns::of(&key);
        let list = serde_json::to_string(list).map_err(|error| StoreError::Unstorable {
            item: "a list of superseded facts".to_string(),
            reason: error.to_string(),
        })?;
        update
            .execute(params![
                key.unit,
                key.granularity,
                key.metric,
                key.counterparty,
                key.basis,
                key.structure.as_ref(),
                segment_import,
                list,
            ])
            .map_err(&failed)?;
    }
    Ok(())
}

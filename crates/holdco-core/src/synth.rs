//! Synthetic groups for tests and benchmarks: a realistic timeline (every kind of change,
//! splits with per-metric shares, stakes, disposals) and a stream of monthly facts
//! (several currencies, some intercompany), all deterministic from a seed.
//!
//! The generator tracks the structure itself while it writes changes, so every change it
//! emits is valid on its date without replaying the timeline: a million changes take
//! seconds. Facts are produced lazily so ten million rows never sit in memory.

use crate::ids::{Currency, MetricId, UnitId};
use crate::model::{
    Aggregation, Change, ChangeKind, Consolidation, Group, Measure, Metric, Model, Money, Origin,
    Shares, SplitPart,
};
use crate::period::{Granularity, Period};
use chrono::{Datelike, Days, NaiveDate};
use std::collections::BTreeMap;

/// A small, fast, seedable generator (SplitMix64). Written here so the same seed gives the
/// same model whatever dependency versions the project moves to.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 11) as u128 * n as u128) >> 53) as usize
    }
    /// A number in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthSpec {
    /// Units created at the start (the group root included).
    pub units: usize,
    /// Fact rows to aim for (the exact count is reported by [`Synth::fact_count`]).
    pub facts: usize,
    /// Dated changes after the initial creation.
    pub changes: usize,
    /// Seed.
    pub seed: u64,
    /// Levels below the root.
    pub depth: usize,
    /// Months of facts (default 120: a decade).
    pub months: Option<usize>,
    /// Metrics with facts; derived from `facts` when None (at least 3).
    pub metrics: Option<usize>,
    /// Share of fact rows that are intercompany.
    pub intercompany: f64,
}

/// Most units at the start (the state of each is kept in memory while generating).
pub const SYNTH_MAX_UNITS: usize = 2_000_000;
/// Most fact rows, aimed at or implied by units × months × metrics.
pub const SYNTH_MAX_FACTS: usize = 500_000_000;
/// Most dated changes.
pub const SYNTH_MAX_CHANGES: usize = 1_000_000;
/// Most months of facts (a century from April 2015).
pub const SYNTH_MAX_MONTHS: usize = 1_200;
/// Fewest and most metrics with facts: the first three (revenue, EBITA, headcount) are
/// always there because the ratio metric reads the first two.
pub const SYNTH_METRICS_RANGE: (usize, usize) = (3, 200);
/// Deepest initial tree.
pub const SYNTH_MAX_DEPTH: usize = 1_000;
/// Most unit-months (units × months), the size of the table of who carries facts when.
pub const SYNTH_MAX_UNIT_MONTHS: usize = 200_000_000;

impl SynthSpec {
    /// Checks every size against the documented maxima, so that generation can neither
    /// panic nor grow without bound; the error names the option and the limit.
    pub fn validate(&self) -> Result<(), String> {
        let at_most = |name: &str, value: usize, most: usize| -> Result<(), String> {
            if value > most {
                Err(format!("--{name} {value} is above the limit of {most}"))
            } else {
                Ok(())
            }
        };
        if self.units < 2 {
            return Err(format!(
                "--units {} is too few: a group needs its root and at least one unit",
                self.units
            ));
        }
        at_most("units", self.units, SYNTH_MAX_UNITS)?;
        at_most("facts", self.facts, SYNTH_MAX_FACTS)?;
        at_most("changes", self.changes, SYNTH_MAX_CHANGES)?;
        at_most("depth", self.depth, SYNTH_MAX_DEPTH)?;
        if self.depth == 0 {
            return Err("--depth 0: the tree needs at least one level below the root".into());
        }
        let months = self.months.unwrap_or(120);
        if months == 0 {
            return Err("--months 0: at least one month of facts is needed".into());
        }
        at_most("months", months, SYNTH_MAX_MONTHS)?;
        if let Some(metrics) = self.metrics {
            let (fewest, most) = SYNTH_METRICS_RANGE;
            if !(fewest..=most).contains(&metrics) {
                return Err(format!("--metrics {metrics} is outside {fewest} to {most} (revenue, EBITA and headcount always come first)"));
            }
        }
        let unit_months = self.units.saturating_mul(months);
        if unit_months > SYNTH_MAX_UNIT_MONTHS {
            return Err(format!("--units {} × --months {months} = {unit_months} unit-months, above the limit of {SYNTH_MAX_UNIT_MONTHS}", self.units));
        }
        let implied = unit_months.saturating_mul(self.metrics.unwrap_or(SYNTH_METRICS_RANGE.0));
        if implied > SYNTH_MAX_FACTS {
            return Err(format!("--units {} × --months {months} × {} metrics implies about {implied} facts, above the limit of {SYNTH_MAX_FACTS}", self.units, self.metrics.unwrap_or(SYNTH_METRICS_RANGE.0)));
        }
        if !(0.0..=1.0).contains(&self.intercompany) {
            return Err(format!(
                "intercompany share {} is not between 0 and 1",
                self.intercompany
            ));
        }
        Ok(())
    }
}

impl Default for SynthSpec {
    fn default() -> Self {
        SynthSpec {
            units: 200,
            facts: 100_000,
            changes: 50,
            seed: 1,
            depth: 4,
            months: None,
            metrics: None,
            intercompany: 0.01,
        }
    }
}

/// The first metrics of every synthetic group; further ones are flows named `metric_N`.
pub const SYNTH_METRICS: [&str; 3] = ["revenue", "ebita", "headcount"];

/// The id of the synthetic metric with this index.
pub fn metric_name(index: usize) -> String {
    SYNTH_METRICS
        .get(index)
        .map(|m| m.to_string())
        .unwrap_or_else(|| format!("metric_{index}"))
}
/// Currencies besides the reporting one (CNY).
pub const SYNTH_CURRENCIES: [&str; 3] = ["USD", "EUR", "HKD"];

/// One generated fact row.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthFact {
    /// Unit index (see [`Synth::unit_id`]).
    pub unit: u32,
    /// Month.
    pub period: Period,
    /// Metric index (see [`metric_name`]).
    pub metric: u8,
    /// Value in the unit's currency.
    pub value: f64,
    /// Currency index: 0 = CNY (empty in files), 1.. = [`SYNTH_CURRENCIES`].
    pub currency: u8,
    /// Counterparty unit index for intercompany rows.
    pub counterparty: Option<u32>,
}

/// A generated group: the model without facts, and what is needed to stream its facts.
pub struct Synth {
    /// Group, metrics, timeline and FX rates.
    pub model: Model,
    spec: SynthSpec,
    start: NaiveDate,
    months: usize,
    metric_count: usize,
    /// Per unit: created and ended month indexes (relative to the start), and whether it is
    /// a leaf in each month range: list of (from month, to month exclusive) it is a leaf.
    leaf_spans: Vec<Vec<(u32, u32)>>,
    currency_of: Vec<u8>,
    ids: Vec<UnitId>,
}

struct State {
    parent: Vec<Option<u32>>,
    children: Vec<Vec<u32>>,
    alive: Vec<bool>,
    alive_list: Vec<u32>,
    alive_pos: Vec<usize>,
    leaf_since: Vec<Option<u32>>,
    leaf_spans: Vec<Vec<(u32, u32)>>,
}

impl State {
    fn add(&mut self, parent: Option<u32>, month: u32) -> u32 {
        let index = self.parent.len() as u32;
        self.parent.push(parent);
        self.children.push(Vec::new());
        self.alive.push(true);
        self.alive_pos.push(self.alive_list.len());
        self.alive_list.push(index);
        self.leaf_since.push(Some(month));
        self.leaf_spans.push(Vec::new());
        if let Some(p) = parent {
            self.attach(index, p, month);
        }
        index
    }
    fn attach(&mut self, unit: u32, parent: u32, month: u32) {
        if self.children[parent as usize].is_empty() {
            if let Some(since) = self.leaf_since[parent as usize].take() {
                self.leaf_spans[parent as usize].push((since, month));
            }
        }
        self.children[parent as usize].push(unit);
        self.parent[unit as usize] = Some(parent);
    }
    fn detach(&mut self, unit: u32, month: u32) {
        if let Some(parent) = self.parent[unit as usize] {
            let list = &mut self.children[parent as usize];
            if let Some(pos) = list.iter().position(|c| *c == unit) {
                list.swap_remove(pos);
            }
            if list.is_empty() && self.alive[parent as usize] {
                self.leaf_since[parent as usize] = Some(month);
            }
        }
    }
    fn end(&mut self, unit: u32, month: u32) {
        self.detach(unit, month);
        self.alive[unit as usize] = false;
        let pos = self.alive_pos[unit as usize];
        let last = *self.alive_list.last().expect("non-empty");
        self.alive_list.swap_remove(pos);
        if last != unit {
            self.alive_pos[last as usize] = pos;
        }
        if let Some(since) = self.leaf_since[unit as usize].take() {
            self.leaf_spans[unit as usize].push((since, month));
        }
    }
    fn is_below(&self, unit: u32, ancestor: u32) -> bool {
        let mut current = Some(unit);
        while let Some(u) = current {
            if u == ancestor {
                return true;
            }
            current = self.parent[u as usize];
        }
        false
    }
}

fn metrics(count: usize) -> Vec<Metric> {
    let metric = |id: &str, name: &str, measure, aggregation| Metric {
        id: MetricId::parse(id).expect("valid"),
        name: name.into(),
        measure,
        aggregation,
        scale: Some("thousands".into()),
        origin: Origin::default(),
    };
    let mut list = vec![
        metric("revenue", "Revenue", Measure::Currency, Aggregation::Flow),
        metric("ebita", "EBITA", Measure::Currency, Aggregation::Flow),
        metric("headcount", "Headcount", Measure::Count, Aggregation::Stock),
    ];
    for index in 3..count {
        list.push(metric(
            &metric_name(index),
            &format!("Metric {index}"),
            Measure::Currency,
            Aggregation::Flow,
        ));
    }
    list.push(metric(
        "ebita_margin",
        "EBITA margin",
        Measure::Percent,
        Aggregation::Ratio {
            numerator: MetricId::parse("ebita").expect("valid"),
            denominator: MetricId::parse("revenue").expect("valid"),
        },
    ));
    list
}

impl Synth {
    /// Generates a group. The spec must pass [`SynthSpec::validate`] (sizes beyond it may
    /// exhaust memory).
    pub fn generate(spec: &SynthSpec) -> Synth {
        let mut rng = SplitMix::new(spec.seed);
        let start = NaiveDate::from_ymd_opt(2015, 4, 1).expect("valid date");
        let units = spec.units.max(2);
        let leaves_estimate = (units as f64 * 0.75).max(1.0);
        let months = spec.months.unwrap_or(120).max(1);
        let (fewest, most) = SYNTH_METRICS_RANGE;
        let metric_count = spec
            .metrics
            .unwrap_or_else(|| {
                (spec.facts as f64 / (leaves_estimate * months as f64)).round() as usize
            })
            .clamp(fewest, most);
        let group_id = UnitId::parse("group").expect("valid");
        let mut state = State {
            parent: Vec::new(),
            children: Vec::new(),
            alive: Vec::new(),
            alive_list: Vec::new(),
            alive_pos: Vec::new(),
            leaf_since: Vec::new(),
            leaf_spans: Vec::new(),
        };
        let mut ids: Vec<UnitId> = Vec::new();
        let mut currency_of: Vec<u8> = Vec::new();
        let mut timeline = Vec::new();
        let origin = Origin::default();
        let change = |date: NaiveDate, kind: ChangeKind, id: Option<String>| Change {
            id,
            date,
            kind,
            note: None,
            source: None,
            origin: origin.clone(),
        };
        // The initial tree: a root, then units spread over `depth` levels.
        state.add(None, 0);
        ids.push(group_id.clone());
        currency_of.push(0);
        timeline.push(change(
            start,
            ChangeKind::Create {
                unit: group_id.clone(),
                name: "Synthetic Group 合成集团".into(),
                parent: None,
                unit_kind: "group".into(),
                acquired: false,
                ownership: 1.0,
            },
            None,
        ));
        let fan = ((units as f64).powf(1.0 / spec.depth.max(1) as f64))
            .ceil()
            .max(2.0) as usize;
        for index in 1..units {
            // Breadth-first with a fixed fan-out gives the requested depth.
            let parent = ((index - 1) / fan) as u32;
            let unit = state.add(Some(parent), 0);
            let id = UnitId::parse(&format!("u{unit}")).expect("valid");
            let currency = if rng.below(4) == 0 {
                1 + rng.below(SYNTH_CURRENCIES.len()) as u8
            } else {
                0
            };
            ids.push(id.clone());
            currency_of.push(currency);
            timeline.push(change(
                start,
                ChangeKind::Create {
                    unit: id,
                    name: format!("Unit {unit}"),
                    parent: Some(ids[parent as usize].clone()),
                    unit_kind: if parent == 0 {
                        "segment".into()
                    } else {
                        "company".into()
                    },
                    acquired: false,
                    ownership: 1.0,
                },
                None,
            ));
        }
        // Changes spread evenly over the months, several per day when there are many.
        let span_days = (months as u64 * 30).max(1);
        for k in 0..spec.changes {
            let day = 1 + (k as u64 * span_days) / spec.changes.max(1) as u64;
            let date = start
                .checked_add_days(Days::new(day))
                .expect("date in range");
            let month = ((date.year() - start.year()) * 12 + date.month() as i32
                - start.month() as i32) as u32;
            let alive = state.alive_list.len();
            let pick = |rng: &mut SplitMix, state: &State| -> u32 {
                // Any alive unit but the root.
                loop {
                    let u = state.alive_list[rng.below(state.alive_list.len())];
                    if u != 0 {
                        return u;
                    }
                }
            };
            let id_of = |ids: &Vec<UnitId>, u: u32| ids[u as usize].clone();
            let roll = rng.below(100);
            // Keep the population steady: create when units run low.
            let roll = if alive < units / 2 + 2 { 0 } else { roll };
            // With the root alone there is nothing to move, merge or sell: create under it.
            let only_root = state.alive_list.len() <= 1;
            let kind = match roll {
                _ if only_root || roll <= 14 => {
                    let parent = if only_root || rng.below(3) == 0 {
                        0
                    } else {
                        pick(&mut rng, &state)
                    };
                    let unit = state.add(Some(parent), month);
                    let id = UnitId::parse(&format!("u{unit}")).expect("valid");
                    ids.push(id.clone());
                    currency_of.push(if rng.below(4) == 0 {
                        1 + rng.below(SYNTH_CURRENCIES.len()) as u8
                    } else {
                        0
                    });
                    ChangeKind::Create {
                        unit: id,
                        name: format!("Unit {unit}"),
                        parent: Some(id_of(&ids, parent)),
                        unit_kind: "company".into(),
                        acquired: roll % 2 == 0 && !only_root,
                        ownership: 1.0,
                    }
                }
                15..=29 => {
                    let unit = pick(&mut rng, &state);
                    ChangeKind::Rename {
                        unit: id_of(&ids, unit),
                        name: format!("Unit {unit} ({})", k),
                    }
                }
                30..=49 => {
                    let unit = pick(&mut rng, &state);
                    let mut target = if rng.below(4) == 0 {
                        0
                    } else {
                        pick(&mut rng, &state)
                    };
                    if state.is_below(target, unit) {
                        target = 0;
                    }
                    if state.parent[unit as usize] == Some(target) {
                        ChangeKind::Rename {
                            unit: id_of(&ids, unit),
                            name: format!("Unit {unit} [{k}]"),
                        }
                    } else {
                        state.detach(unit, month);
                        state.attach(unit, target, month);
                        ChangeKind::Move {
                            unit: id_of(&ids, unit),
                            parent: id_of(&ids, target),
                        }
                    }
                }
                50..=64 => {
                    // Merge a unit into another that is not below it; its children follow.
                    let unit = pick(&mut rng, &state);
                    let mut into = pick(&mut rng, &state);
                    if into == unit || state.is_below(into, unit) {
                        into = 0;
                    }
                    let children = state.children[unit as usize].clone();
                    for child in children {
                        state.detach(child, month);
                        state.attach(child, into, month);
                    }
                    state.end(unit, month);
                    ChangeKind::Merge {
                        units: vec![id_of(&ids, unit)],
                        into: id_of(&ids, into),
                    }
                }
                65..=79 => {
                    // A carve-out: part of a unit's history goes to another, with per-metric shares.
                    let unit = pick(&mut rng, &state);
                    let mut other = pick(&mut rng, &state);
                    if other == unit || state.is_below(other, unit) {
                        other = 0;
                    }
                    let share = 0.05 + 0.9 * rng.unit();
                    let headcount = 0.05 + 0.9 * rng.unit();
                    let share = (share * 1e4).round() / 1e4;
                    let headcount = (headcount * 1e4).round() / 1e4;
                    let per = |s: f64, h: f64| Shares {
                        default: Some(s),
                        per_metric: [(MetricId::parse("headcount").expect("valid"), h)].into(),
                    };
                    ChangeKind::Split {
                        unit: id_of(&ids, unit),
                        parts: vec![
                            SplitPart {
                                unit: id_of(&ids, unit),
                                shares: per(share, headcount),
                            },
                            SplitPart {
                                unit: id_of(&ids, other),
                                shares: per(1.0 - share, 1.0 - headcount),
                            },
                        ],
                    }
                }
                80..=89 => {
                    let unit = pick(&mut rng, &state);
                    let share = (rng.unit() * 1e3).round() / 1e3;
                    let consolidation = match rng.below(5) {
                        0 => Consolidation::None,
                        _ if share > 0.5 => Consolidation::Full,
                        _ => Consolidation::Share,
                    };
                    let proceeds = (rng.below(2) == 0).then(|| Money {
                        amount: (rng.unit() * 1e6).round(),
                        currency: Currency::parse("CNY").expect("valid"),
                    });
                    ChangeKind::Stake {
                        unit: id_of(&ids, unit),
                        share,
                        consolidation,
                        proceeds,
                    }
                }
                _ => {
                    // Divest or close a unit and everything below it.
                    let unit = pick(&mut rng, &state);
                    let mut stack = vec![unit];
                    let mut subtree = Vec::new();
                    while let Some(u) = stack.pop() {
                        stack.extend(state.children[u as usize].iter().copied());
                        subtree.push(u);
                    }
                    for u in subtree.iter().rev() {
                        state.end(*u, month);
                    }
                    if roll % 2 == 0 {
                        ChangeKind::Divest {
                            unit: id_of(&ids, unit),
                            proceeds: Some(Money {
                                amount: (rng.unit() * 1e6).round(),
                                currency: Currency::parse("CNY").expect("valid"),
                            }),
                            buyer: Some("A buyer".into()),
                        }
                    } else {
                        ChangeKind::Close {
                            unit: id_of(&ids, unit),
                        }
                    }
                }
            };
            timeline.push(change(date, kind, Some(format!("c{k}"))));
        }
        // Close the leaf spans still open at the end.
        for unit in 0..state.parent.len() {
            if let Some(since) = state.leaf_since[unit].take() {
                state.leaf_spans[unit].push((since, months as u32 + 1));
            }
        }
        // FX: monthly average and closing rates for each foreign currency.
        let calendar = crate::period::FiscalCalendar { year_end_month: 3 };
        let mut fx = Vec::new();
        for (c, code) in SYNTH_CURRENCIES.iter().enumerate() {
            let base = [7.0, 7.8, 0.9][c];
            for m in 0..months {
                let period =
                    Period::containing(start, Granularity::Month, calendar).shift(m as i32);
                let wiggle = 1.0 + 0.05 * ((m as f64) / 7.0 + c as f64).sin();
                fx.push(crate::model::FxRate {
                    currency: Currency::parse(code).expect("valid"),
                    period,
                    average: (base * wiggle * 1e4).round() / 1e4,
                    closing: (base * wiggle * 1.002 * 1e4).round() / 1e4,
                    source: None,
                    origin: Origin::default(),
                });
            }
        }
        let model = Model {
            group: Group {
                id: group_id,
                name: "Synthetic Group 合成集团".into(),
                currency: Currency::parse("CNY").expect("valid"),
                fiscal_year_end: (3, 31),
            },
            metrics: metrics(metric_count),
            timeline,
            facts: Vec::new(),
            fx,
            documents: Default::default(),
        };
        Synth {
            model,
            spec: spec.clone(),
            start,
            months,
            metric_count,
            leaf_spans: state.leaf_spans,
            currency_of,
            ids,
        }
    }

    /// Months of facts.
    pub fn months(&self) -> usize {
        self.months
    }

    /// Metrics with facts.
    pub fn metric_count(&self) -> usize {
        self.metric_count
    }

    /// The id of a unit index.
    pub fn unit_id(&self, unit: u32) -> &UnitId {
        &self.ids[unit as usize]
    }

    /// Leaf units per month: who carries facts. A unit carries facts for the months in which
    /// it is a leaf for the whole month.
    fn leaves_by_month(&self) -> Vec<Vec<u32>> {
        let mut by_month = vec![Vec::new(); self.months];
        for (unit, spans) in self.leaf_spans.iter().enumerate() {
            if unit == 0 {
                continue;
            }
            for (from, to) in spans {
                // Months strictly inside the span: the unit is a leaf from the start of the
                // month after `from` (changes happen during a month) to before `to`.
                let first = if *from == 0 { 0 } else { from + 1 };
                for m in first..(*to).min(self.months as u32) {
                    by_month[m as usize].push(unit as u32);
                }
            }
        }
        by_month
    }

    /// How many fact rows [`Synth::facts`] yields.
    pub fn fact_count(&self) -> usize {
        let per_month: usize = self.leaves_by_month().iter().map(|l| l.len()).sum();
        per_month * self.metric_count + self.intercompany_rows()
    }

    fn intercompany_rows(&self) -> usize {
        self.facts_inner()
            .filter(|f| f.counterparty.is_some())
            .count()
    }

    /// Streams the facts, month by month, unit by unit, metric by metric.
    pub fn facts(&self) -> impl Iterator<Item = SynthFact> + '_ {
        self.facts_inner()
    }

    fn facts_inner(&self) -> impl Iterator<Item = SynthFact> + '_ {
        let by_month = self.leaves_by_month();
        let calendar = crate::period::FiscalCalendar { year_end_month: 3 };
        let first = Period::containing(self.start, Granularity::Month, calendar);
        let mut rng = SplitMix::new(self.spec.seed.wrapping_mul(31).wrapping_add(7));
        let intercompany = self.spec.intercompany;
        let metric_count = self.metric_count;
        by_month
            .into_iter()
            .enumerate()
            .flat_map(move |(m, leaves)| {
                let period = first.shift(m as i32);
                let mut rows = Vec::with_capacity(leaves.len() * 3);
                for (i, unit) in leaves.iter().enumerate() {
                    let size = 100.0 + (*unit % 97) as f64 * 13.0;
                    let revenue = (size * (0.8 + 0.4 * rng.unit()) * 100.0).round() / 100.0;
                    let ebita = (revenue * (-0.1 + 0.35 * rng.unit()) * 100.0).round() / 100.0;
                    let headcount = (size * 3.0 + (rng.below(50) as f64)).round();
                    let currency = self.currency_of[*unit as usize];
                    let counterparty = (leaves.len() > 1 && rng.unit() < intercompany * 3.0)
                        .then(|| leaves[(i + 1 + rng.below(leaves.len() - 1)) % leaves.len()]);
                    match counterparty {
                        Some(other) if other != *unit => {
                            // Revenue split into an external and an intercompany part.
                            let inside = (revenue * 0.2 * 100.0).round() / 100.0;
                            rows.push(SynthFact {
                                unit: *unit,
                                period,
                                metric: 0,
                                value: revenue - inside,
                                currency,
                                counterparty: None,
                            });
                            rows.push(SynthFact {
                                unit: *unit,
                                period,
                                metric: 0,
                                value: inside,
                                currency,
                                counterparty: Some(other),
                            });
                        }
                        _ => rows.push(SynthFact {
                            unit: *unit,
                            period,
                            metric: 0,
                            value: revenue,
                            currency,
                            counterparty: None,
                        }),
                    }
                    rows.push(SynthFact {
                        unit: *unit,
                        period,
                        metric: 1,
                        value: ebita,
                        currency,
                        counterparty: None,
                    });
                    rows.push(SynthFact {
                        unit: *unit,
                        period,
                        metric: 2,
                        value: headcount,
                        currency: 0,
                        counterparty: None,
                    });
                    for metric in 3..metric_count {
                        let value = (revenue * (0.01 + 0.2 * rng.unit()) * 100.0).round() / 100.0;
                        rows.push(SynthFact {
                            unit: *unit,
                            period,
                            metric: metric as u8,
                            value,
                            currency,
                            counterparty: None,
                        });
                    }
                }
                rows
            })
    }

    /// The whole model with its facts (for small sizes).
    pub fn into_model(self) -> Model {
        let mut facts = Vec::new();
        let metric_ids: Vec<MetricId> = (0..self.metric_count)
            .map(|m| MetricId::parse(&metric_name(m)).expect("valid"))
            .collect();
        let currencies: Vec<Option<Currency>> = std::iter::once(None)
            .chain(SYNTH_CURRENCIES.iter().map(|c| Currency::parse(c).ok()))
            .collect();
        for fact in self.facts() {
            facts.push(crate::model::Fact {
                key: crate::model::FactKey {
                    unit: self.ids[fact.unit as usize].clone(),
                    period: fact.period,
                    metric: metric_ids[fact.metric as usize].clone(),
                    counterparty: fact.counterparty.map(|c| self.ids[c as usize].clone()),
                    basis: crate::model::Basis::Reported,
                },
                value: fact.value,
                currency: currencies[fact.currency as usize].clone(),
                source: None,
                note: None,
                precision: None,
                origin: Origin::default(),
            });
        }
        let mut model = self.model;
        model.facts = facts;
        model
    }
}

/// Counts of each change kind in a timeline (for reports).
pub fn change_kinds(model: &Model) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for change in &model.timeline {
        *counts.entry(change.kind.name()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {

    /// Issue 16 item 5: sizes that panicked or grew memory without bound are refused, each
    /// naming its option and limit; sizes at the limits pass.
    #[test]
    fn sizes_beyond_the_documented_maxima_are_refused() {
        let with = |edit: &dyn Fn(&mut SynthSpec)| {
            let mut spec = SynthSpec::default();
            edit(&mut spec);
            spec.validate()
        };
        for (edit, words) in [
            (
                &(|s: &mut SynthSpec| s.metrics = Some(0)) as &dyn Fn(&mut SynthSpec),
                "--metrics 0 is outside 3 to 200",
            ),
            (&|s: &mut SynthSpec| s.metrics = Some(2), "--metrics 2"),
            (
                &|s: &mut SynthSpec| s.months = Some(1_000_000_000),
                "--months 1000000000 is above the limit of 1200",
            ),
            (
                &|s: &mut SynthSpec| s.units = 1_000_000_000_000,
                "--units 1000000000000 is above",
            ),
            (
                &|s: &mut SynthSpec| s.units = usize::MAX,
                "--units 18446744073709551615 is above",
            ),
            (
                &|s: &mut SynthSpec| s.changes = 1_000_000_000,
                "--changes 1000000000 is above",
            ),
            (&|s: &mut SynthSpec| s.units = 0, "too few"),
            (&|s: &mut SynthSpec| s.months = Some(0), "--months 0"),
            (&|s: &mut SynthSpec| s.depth = 0, "--depth 0"),
            (
                &|s: &mut SynthSpec| {
                    s.units = 1_000_000;
                    s.months = Some(1_200);
                },
                "unit-months",
            ),
            (
                &|s: &mut SynthSpec| {
                    s.units = 1_000_000;
                    s.months = Some(100);
                    s.metrics = Some(200);
                },
                "implies about",
            ),
        ] {
            let error = with(edit).unwrap_err();
            assert!(error.contains(words), "{error} lacks {words}");
        }
        assert!(with(&|s| s.metrics = Some(3)).is_ok());
        assert!(with(&|s| s.months = Some(SYNTH_MAX_MONTHS)).is_ok());
        // Generation itself never panics at a limit, even unvalidated metrics.
        let tiny = SynthSpec {
            units: 5,
            facts: 10,
            changes: 3,
            months: Some(SYNTH_MAX_MONTHS),
            metrics: Some(1),
            ..SynthSpec::default()
        };
        assert_eq!(Synth::generate(&tiny).metric_count(), 3);
    }
    use super::*;

    #[test]
    fn tiny_groups_with_many_changes_terminate_and_stay_valid() {
        // A group can shrink to its root alone; the generator must then create, not spin.
        for seed in 0..300 {
            for units in 2..6 {
                let spec = SynthSpec {
                    units,
                    facts: 200,
                    changes: 60,
                    seed,
                    months: Some(12),
                    metrics: Some(3),
                    ..SynthSpec::default()
                };
                let model = Synth::generate(&spec).into_model();
                let (_, problems) = crate::validate::validate(&model);
                assert!(
                    problems.is_empty(),
                    "seed {seed}, {units} units: {:?}",
                    problems.first()
                );
            }
        }
    }

    #[test]
    fn generated_models_are_valid_and_deterministic() {
        for seed in 1..6 {
            let spec = SynthSpec {
                units: 60,
                facts: 5_000,
                changes: 120,
                seed,
                ..SynthSpec::default()
            };
            let model = Synth::generate(&spec).into_model();
            let (_, problems) = crate::validate::validate(&model);
            assert!(
                problems.is_empty(),
                "seed {seed}: {:?}",
                &problems[..problems.len().min(5)]
            );
            let again = Synth::generate(&spec).into_model();
            assert_eq!(model, again);
            let kinds = change_kinds(&model);
            for kind in [
                "create", "acquire", "rename", "move", "merge", "split", "stake", "divest", "close",
            ] {
                assert!(
                    kinds.contains_key(kind),
                    "seed {seed}: no {kind} in {kinds:?}"
                );
            }
            assert!(model.facts.iter().any(|f| f.key.counterparty.is_some()));
            assert!(model.facts.iter().any(|f| f.currency.is_some()));
        }
    }
}

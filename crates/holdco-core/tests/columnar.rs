//! The columnar fast path must give the engine's figures: on generated groups (every kind of
//! change, currencies, intercompany, stakes) and on the Alibaba example.

use holdco_core::columnar::{fast_rollup, FactTable, FastLine, FastPlan, FastQuery};
use holdco_core::rollup::{BasisFilter, Engine, Query, RowKind, View};
use holdco_core::synth::{Synth, SynthSpec};
use holdco_core::*;
use proptest::prelude::*;

fn compare(
    model: &Model,
    periods: &[Period],
    metrics: &[&str],
    view: View,
    structure: Option<chrono::NaiveDate>,
    depth: u32,
) -> usize {
    compare_below(model, periods, metrics, view, structure, None, depth)
}

fn compare_below(
    model: &Model,
    periods: &[Period],
    metrics: &[&str],
    view: View,
    structure: Option<chrono::NaiveDate>,
    node: Option<UnitId>,
    depth: u32,
) -> usize {
    let mut compared = 0;
    let engine = Engine::new(model).unwrap();
    let table = FactTable::from_model(model, &engine).unwrap();
    let query = FastQuery {
        metrics: metrics
            .iter()
            .map(|m| MetricId::parse(m).unwrap())
            .collect(),
        periods: periods.to_vec(),
        view,
        structure,
        node: node.clone(),
        depth,
        basis: Basis::Reported,
    };
    let fast = match fast_rollup(&engine, &table, &query) {
        Ok(fast) => fast,
        // Declining is allowed for this one reason: the reported tree changes between the
        // periods asked, and the engine then shows a line per parent (semantics 3.5).
        Err(error)
            if error
                .to_string()
                .contains("the tree changes between the periods") =>
        {
            return 0
        }
        Err(error) => panic!("fast path refused: {error}"),
    };
    for (mi, metric) in metrics.iter().enumerate() {
        let slow = engine
            .rollup(&Query {
                metric: MetricId::parse(metric).unwrap(),
                periods: periods.to_vec(),
                view,
                structure,
                node: node.clone(),
                depth,
                currency: None,
                basis: BasisFilter::ReportedOnly,
            })
            .unwrap();
        for (li, line) in fast.lines.iter().enumerate() {
            let FastLine::Node(unit) = line else { continue };
            let id = engine.timeline().record(*unit).id.to_string();
            for (pi, period) in periods.iter().enumerate() {
                let label = period.label(model.group.calendar());
                // A unit that changed parent between periods has one line per parent, with
                // figures only in the periods it was there: take the one that has this cell.
                let candidates: Vec<_> = slow
                    .rows
                    .iter()
                    .filter(|r| r.node == id && r.kind == RowKind::Node && r.period == label)
                    .collect();
                let row = candidates
                    .iter()
                    .find(|r| r.value.is_some() || r.gap.is_some())
                    .or(candidates.first())
                    .copied();
                let Some(row) = row else { continue };
                let a = fast.get(mi, li, pi);
                let b = row.value;
                let same = match (a, b) {
                    (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs())),
                    (None, None) => true,
                    (Some(a), None) | (None, Some(a)) => a == 0.0 && row.gap.is_none(),
                };
                assert!(
                    same,
                    "{metric} {id} {label} {view}: fast {a:?} vs engine {b:?}"
                );
                compared += usize::from(b.is_some());
            }
        }
    }
    compared
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn fast_path_equals_engine_on_generated_groups(seed in 0u64..10_000, units in 8usize..60, changes in 0usize..80, view in 0usize..3, day in 0u64..4000) {
        let spec = SynthSpec { units, facts: 4_000, changes, seed, months: Some(24), metrics: Some(3), depth: 3, ..SynthSpec::default() };
        let model = Synth::generate(&spec).into_model();
        let calendar = model.group.calendar();
        let first = Period::parse("2015-04", calendar).unwrap();
        let periods: Vec<Period> = (0..24).map(|k| first.shift(k)).collect();
        // The pro-forma view is the explainable engine's alone: the fast path declines it.
        let view = [View::Reported, View::Restated, View::Organic, View::ProForma][view];
        let target = chrono::NaiveDate::from_ymd_opt(2015, 4, 1).unwrap().checked_add_days(chrono::Days::new(day)).unwrap();
        let mut compared = compare(&model, &periods, &["revenue", "ebita", "headcount"], view, Some(target), 2);
        if view == View::Reported {
            // Over months whose tree changes the fast path declines (semantics 3.5): each
            // month alone is always compared.
            for period in periods.iter().step_by(5) {
                compared += compare(&model, &[*period], &["revenue", "ebita", "headcount"], view, Some(target), 2);
            }
        }
        prop_assert!(compared > 0);
    }
}

#[test]
fn fast_path_equals_engine_on_the_alibaba_example() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alibaba");
    let mut files = holdco_core::format::ModelFiles::new();
    for name in ["group.toml", "timeline.toml"] {
        files.insert(name.into(), std::fs::read(root.join(name)).unwrap());
    }
    for entry in std::fs::read_dir(root.join("facts")).unwrap() {
        let path = entry.unwrap().path();
        files.insert(
            format!("facts/{}", path.file_name().unwrap().to_string_lossy()),
            std::fs::read(path).unwrap(),
        );
    }
    let model = holdco_core::format::read_model(&files).0.unwrap();
    let calendar = model.group.calendar();
    let years: Vec<Period> = [
        "FY2019", "FY2020", "FY2021", "FY2022", "FY2023", "FY2024", "FY2025", "FY2026",
    ]
    .iter()
    .map(|p| Period::parse(p, calendar).unwrap())
    .collect();
    let mut compared = 0;
    for view in [View::Reported, View::Restated] {
        for date in ["2021-10-01", "2024-03-31", "2025-04-01"] {
            let structure = Some(chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap());
            let engine = Engine::new(&model).unwrap();
            let table = FactTable::from_model(&model, &engine).unwrap();
            // Years built from quarters belong to the engine; compare the others.
            for year in &years {
                let query = FastQuery {
                    metrics: vec![
                        MetricId::parse("revenue").unwrap(),
                        MetricId::parse("adjusted_ebita").unwrap(),
                    ],
                    periods: vec![*year],
                    view,
                    structure,
                    node: None,
                    depth: 2,
                    basis: Basis::Reported,
                };
                if fast_rollup(&engine, &table, &query).is_ok() {
                    compared += compare(
                        &model,
                        &[*year],
                        &["revenue", "adjusted_ebita"],
                        view,
                        structure,
                        2,
                    );
                }
            }
        }
    }
    assert!(compared > 100, "{compared}");
}

#[test]
fn fast_path_is_bit_identical_on_one_and_two_threads() {
    let spec = SynthSpec {
        units: 120,
        facts: 60_000,
        changes: 60,
        seed: 11,
        months: Some(36),
        metrics: Some(4),
        ..SynthSpec::default()
    };
    let model = Synth::generate(&spec).into_model();
    let calendar = model.group.calendar();
    let first = Period::parse("2015-04", calendar).unwrap();
    let query = three_metrics((0..36).map(|k| first.shift(k)).collect(), View::Restated);
    assert_eq!(
        answer_bits(&model, &query, 1),
        answer_bits(&model, &query, 2)
    );
}

/// Revenue, EBITA and headcount over `periods` in `view`, two levels below the top.
fn three_metrics(periods: Vec<Period>, view: View) -> FastQuery {
    FastQuery {
        metrics: ["revenue", "ebita", "headcount"]
            .iter()
            .map(|m| MetricId::parse(m).unwrap())
            .collect(),
        periods,
        view,
        structure: None,
        node: None,
        depth: 2,
        basis: Basis::Reported,
    }
}

/// The bits of every cell of the fast path's answer, computed on `threads` threads.
fn answer_bits(model: &holdco_core::Model, query: &FastQuery, threads: usize) -> Vec<Option<u64>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let engine = Engine::new(model).unwrap();
        let table = FactTable::from_model(model, &engine).unwrap();
        fast_rollup(&engine, &table, query)
            .unwrap()
            .values()
            .map(|v| v.map(f64::to_bits))
            .collect()
    })
}

#[test]
fn a_kept_plan_answers_like_a_fresh_query() {
    let spec = SynthSpec {
        units: 80,
        facts: 30_000,
        changes: 50,
        seed: 5,
        months: Some(36),
        metrics: Some(4),
        ..SynthSpec::default()
    };
    let model = Synth::generate(&spec).into_model();
    let engine = Engine::new(&model).unwrap();
    let table = FactTable::from_model(&model, &engine).unwrap();
    let first = Period::parse("2015-04", model.group.calendar()).unwrap();
    let bits = |values: Vec<Option<f64>>| {
        values
            .into_iter()
            .map(|v| v.map(f64::to_bits))
            .collect::<Vec<_>>()
    };
    let mut checked = 0;
    for view in [View::Reported, View::Restated, View::Organic] {
        for (depth, periods) in [(0, 6..30), (1, 0..36), (2, 12..13)] {
            let query = FastQuery {
                metrics: ["revenue", "ebita"]
                    .iter()
                    .map(|m| MetricId::parse(m).unwrap())
                    .collect(),
                periods: periods.map(|k| first.shift(k)).collect(),
                view,
                structure: None,
                node: None,
                depth,
                basis: Basis::Reported,
            };
            let Ok(fresh) = fast_rollup(&engine, &table, &query) else {
                continue;
            };
            let plan = FastPlan::prepare(&engine, &table, &query).unwrap();
            assert_eq!(plan.lines(), &fresh.lines[..]);
            let once = plan.run();
            let again = plan.run();
            assert_eq!(
                bits(once.values().collect()),
                bits(fresh.values().collect())
            );
            assert_eq!(
                bits(again.values().collect()),
                bits(fresh.values().collect())
            );
            checked += 1;
        }
    }
    assert!(checked >= 6, "{checked}");
}

#[test]
fn fast_path_equals_engine_below_a_node_for_some_periods() {
    // The single-node question of P1: one node, one metric, the last periods only.
    let mut compared = 0;
    for seed in [3, 17, 29] {
        let spec = SynthSpec {
            units: 60,
            facts: 8_000,
            changes: 40,
            seed,
            months: Some(24),
            metrics: Some(3),
            depth: 3,
            ..SynthSpec::default()
        };
        let model = Synth::generate(&spec).into_model();
        let engine = Engine::new(&model).unwrap();
        let first = Period::parse("2015-04", model.group.calendar()).unwrap();
        let periods: Vec<Period> = (10..24).map(|k| first.shift(k)).collect();
        let structure = engine.structure(engine.latest_structure_date());
        let root = engine.timeline().root;
        let Some(node) = (0..engine.timeline().units.len() as u32)
            .find(|u| structure.alive[*u as usize] && structure.parent[*u as usize] == Some(root))
        else {
            continue;
        };
        let node = engine.timeline().record(node).id.clone();
        for view in [View::Reported, View::Restated] {
            for depth in [0, 1] {
                compared += compare_below(
                    &model,
                    &periods,
                    &["revenue"],
                    view,
                    None,
                    Some(node.clone()),
                    depth,
                );
            }
        }
    }
    assert!(compared > 0);
}

#[test]
fn fast_path_equals_engine_with_gaps_in_series_and_periods_out_of_order() {
    // Series with missing months take the pass's row-by-row path; periods asked out of order
    // or every other month cut the rows into several runs.
    let mut compared = 0;
    for seed in [2, 13] {
        let spec = SynthSpec {
            units: 50,
            facts: 6_000,
            changes: 40,
            seed,
            months: Some(24),
            metrics: Some(3),
            depth: 3,
            ..SynthSpec::default()
        };
        let mut model = Synth::generate(&spec).into_model();
        let mut k = 0usize;
        model.facts.retain(|_| {
            k += 1;
            k % 7 != 3
        });
        let first = Period::parse("2015-04", model.group.calendar()).unwrap();
        let months: Vec<Period> = (0..24).map(|k| first.shift(k)).collect();
        let reversed: Vec<Period> = months.iter().rev().cloned().collect();
        let alternate: Vec<Period> = months.iter().step_by(2).cloned().collect();
        for view in [View::Reported, View::Restated, View::Organic] {
            for periods in [&months, &reversed, &alternate] {
                compared += compare(
                    &model,
                    periods,
                    &["revenue", "ebita", "headcount"],
                    view,
                    None,
                    2,
                );
            }
        }
    }
    assert!(compared > 1000, "{compared}");
}

#[test]
fn fast_path_with_gaps_is_bit_identical_on_one_and_two_threads() {
    let spec = SynthSpec {
        units: 90,
        facts: 40_000,
        changes: 70,
        seed: 23,
        months: Some(36),
        metrics: Some(4),
        ..SynthSpec::default()
    };
    let mut model = Synth::generate(&spec).into_model();
    let mut k = 0usize;
    model.facts.retain(|_| {
        k += 1;
        k % 11 != 5
    });
    let first = Period::parse("2015-04", model.group.calendar()).unwrap();
    for view in [View::Reported, View::Restated, View::Organic] {
        // One month as reported (over several, the tree changes and the fast path declines).
        let months = if view == View::Reported { 1 } else { 36 };
        let query = three_metrics((0..months).rev().map(|k| first.shift(k)).collect(), view);
        assert_eq!(
            answer_bits(&model, &query, 1),
            answer_bits(&model, &query, 2),
            "{view}"
        );
    }
}

/// Every field of every row: the columnar answer (`rollup_from_table`) against the engine's
/// on generated groups with intercompany figures, stakes, recorded totals, merges, splits and
/// ends (issue "Fidelity", defect 7: `eliminated` and `minority` were 0 and row sets differed).
fn rows_agree(model: &Model, query: &Query) -> usize {
    let engine = Engine::new(model).unwrap();
    let table = FactTable::from_model(model, &engine).unwrap();
    let Ok(fast) = holdco_core::columnar::rollup_from_table(&engine, &table, query) else {
        return 0;
    };
    let slow = engine.rollup(query).unwrap();
    assert_eq!(fast.engine, "columnar");
    let key = |r: &holdco_core::rollup::RollupRow| {
        (
            r.node.clone(),
            format!("{:?}", r.kind),
            r.depth,
            r.period.clone(),
        )
    };
    let fast_keys: Vec<_> = fast.rows.iter().map(key).collect();
    let slow_keys: Vec<_> = slow.rows.iter().map(key).collect();
    assert_eq!(
        fast_keys, slow_keys,
        "row sets differ for {:?} {:?} depth {}",
        query.view, query.periods, query.depth
    );
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-7 * (1.0 + a.abs().max(b.abs()));
    for (f, s) in fast.rows.iter().zip(&slow.rows) {
        let same_value = match (f.value, s.value) {
            (Some(a), Some(b)) => close(a, b),
            (None, None) => true,
            _ => false,
        };
        assert!(
            same_value,
            "{} {:?} {}: value {:?} vs {:?}",
            f.node, f.kind, f.period, f.value, s.value
        );
        assert!(
            close(f.minority, s.minority),
            "{} {}: minority {} vs {}",
            f.node,
            f.period,
            f.minority,
            s.minority
        );
        assert!(
            close(f.eliminated, s.eliminated),
            "{} {}: eliminated {} vs {}",
            f.node,
            f.period,
            f.eliminated,
            s.eliminated
        );
        assert_eq!(
            (&f.gap, &f.provenance, &f.name),
            (&s.gap, &s.provenance, &s.name),
            "{} {} {} {:?}",
            f.node,
            f.period,
            query.metric,
            query.view
        );
    }
    assert_eq!(
        (&fast.periods, &fast.excluded, fast.structure),
        (&slow.periods, &slow.excluded, slow.structure)
    );
    fast.rows.len()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn columnar_rows_equal_engine_rows_field_by_field(seed in 0u64..10_000, units in 8usize..50, changes in 0usize..60, view in 0usize..4, depth in 0u32..4, months in 1i32..13) {
        let spec = SynthSpec { units, facts: 3_000, changes, seed, months: Some(24), metrics: Some(3), depth: 3, intercompany: 0.1 };
        let model = Synth::generate(&spec).into_model();
        let first = Period::parse("2015-04", model.group.calendar()).unwrap();
        // The pro-forma view is the explainable engine's alone: the fast path declines it.
        let view = [View::Reported, View::Restated, View::Organic, View::ProForma][view];
        let mut compared = 0;
        for metric in ["revenue", "ebita", "headcount"] {
            let query = Query { metric: MetricId::parse(metric).unwrap(), periods: (0..months).map(|k| first.shift(k)).collect(), view, structure: None, node: None, depth, currency: None, basis: BasisFilter::ReportedOnly };
            compared += rows_agree(&model, &query);
            let one = Query { periods: vec![first.shift(months)], ..query };
            compared += rows_agree(&model, &one);
        }
        prop_assert!(compared > 0 || view == View::Reported || view == View::ProForma);
        if view == View::ProForma {
            prop_assert_eq!(compared, 0, "the columnar path declines the pro-forma view");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// A roll-up of a model folder read as columns (`holdco rollup --model DIR` on large
    /// folders, issue 16 item 6) gives the bits the table built from whole facts gives:
    /// every currency, counterparty and change kind the generator makes.
    #[test]
    fn table_from_columns_answers_bit_for_bit_like_the_table_from_facts(seed in 0u64..10_000, view in 0usize..2) {
        let spec = SynthSpec { units: 60, facts: 6_000, changes: 40, seed, months: Some(24), metrics: Some(3), depth: 3, ..SynthSpec::default() };
        let model = Synth::generate(&spec).into_model();
        let files = holdco_core::format::write_model(&model);
        let (without_facts, mut columns) =
            holdco_core::format::fact_columns::read_model_columns(&files).expect("a generated folder reads as columns");
        prop_assert!(holdco_core::bulk_validate::columns_valid(&without_facts, &mut columns));
        let (whole, problems) = holdco_core::format::read_model(&files);
        prop_assert!(problems.is_empty(), "{:?}", problems);
        let whole = whole.unwrap();
        let calendar = whole.group.calendar();
        let first = Period::parse("2015-04", calendar).unwrap();
        let view = [View::Reported, View::Restated][view];
        let query = FastQuery {
            metrics: whole.metrics.iter().filter(|m| matches!(m.aggregation, Aggregation::Flow | Aggregation::Stock)).map(|m| m.id.clone()).collect(),
            periods: (0..24).map(|k| first.shift(k)).collect(),
            view,
            structure: None,
            node: None,
            depth: 2,
            basis: Basis::Reported,
        };
        // The same cells, or the same reason to decline (a reported tree that changes
        // between the periods asked).
        let bits = |engine: &Engine, table: &FactTable| -> Result<Vec<Option<u64>>, String> {
            fast_rollup(engine, table, &query)
                .map(|answer| answer.values().map(|v| v.map(f64::to_bits)).collect())
                .map_err(|e| e.to_string())
        };
        let engine = Engine::new(&whole).unwrap();
        let expected = bits(&engine, &FactTable::from_model(&whole, &engine).unwrap());
        let lean = Engine::new(&without_facts).unwrap();
        let found = bits(&lean, &FactTable::from_columns(&without_facts, &columns, &lean).unwrap());
        prop_assert!(view == View::Reported || expected.is_ok(), "{:?}", expected);
        prop_assert_eq!(found, expected);
        // The tables themselves are equal: with foreign currencies (built row by row) and,
        // keeping only the facts in the reporting currency, straight from the sorted columns.
        prop_assert_eq!(
            FactTable::from_columns(&without_facts, &columns, &lean).unwrap(),
            FactTable::from_model(&whole, &engine).unwrap()
        );
        let mut reporting = whole.clone();
        let currency = reporting.group.currency.clone();
        reporting.facts.retain(|f| f.currency.as_ref().is_none_or(|c| *c == currency));
        let files = holdco_core::format::write_model(&reporting);
        let (without_facts, mut columns) =
            holdco_core::format::fact_columns::read_model_columns(&files).expect("reads as columns");
        prop_assert!(holdco_core::bulk_validate::columns_valid(&without_facts, &mut columns));
        let lean = Engine::new(&without_facts).unwrap();
        let engine = Engine::new(&reporting).unwrap();
        prop_assert_eq!(
            FactTable::from_columns(&without_facts, &columns, &lean).unwrap(),
            FactTable::from_model(&reporting, &engine).unwrap()
        );
    }
}

/// Recorded totals: every `every`-th unit without figures of its own (a parent) records a
/// revenue total for each month it lives through whole, a little above what its parts add up
/// to, so the columnar path's decomposition of finer figures is exercised.
fn with_monthly_totals(mut model: Model, every: usize) -> Model {
    if every == 0 {
        return model;
    }
    let engine = Engine::new(&model).unwrap();
    let timeline = engine.timeline();
    let revenue = MetricId::parse("revenue").unwrap();
    let months: std::collections::BTreeSet<Period> =
        model.facts.iter().map(|f| f.key.period).collect();
    let with_facts: std::collections::HashSet<&UnitId> =
        model.facts.iter().map(|f| &f.key.unit).collect();
    let template = model.facts[0].clone();
    let mut totals = Vec::new();
    for (i, record) in timeline.units.iter().enumerate() {
        if with_facts.contains(&record.id) || i % every != 0 {
            continue;
        }
        for (k, month) in months.iter().enumerate() {
            if !(record.alive_on(month.first_day()) && record.alive_on(month.last_day())) {
                continue;
            }
            let mut fact = template.clone();
            fact.key.unit = record.id.clone();
            fact.key.period = *month;
            fact.key.metric = revenue.clone();
            fact.key.counterparty = None;
            fact.currency = None;
            fact.value = 1_000.0 + (i * 7 + k) as f64;
            totals.push(fact);
        }
    }
    model.facts.extend(totals);
    model
}

/// Quarters and years of the generated months (fiscal years from April).
fn coarse_periods(model: &Model, quarters: i32, years: i32) -> (Vec<Period>, Vec<Period>) {
    use holdco_core::period::Granularity;
    let first = Period::parse("2015-04", model.group.calendar()).unwrap();
    (
        (0..quarters)
            .map(|k| Period::new(first.start + 3 * k, Granularity::Quarter))
            .collect(),
        (0..years)
            .map(|k| Period::new(first.start + 12 * k, Granularity::Year))
            .collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Quarters and years built from months (docs/semantics.md 2.3, 3.7): the columnar
    /// answer equals the engine's on every field of every row, or the columnar path declines —
    /// with changes within quarters, recorded monthly totals, and months dropped (gaps: an
    /// incomplete flow, a stock without its last month).
    #[test]
    fn columnar_rows_equal_engine_rows_for_periods_built_from_months(seed in 0u64..10_000, units in 8usize..40, changes in 0usize..12, view in 0usize..3, depth in 0u32..4, totals in 0usize..4, drop in 0usize..3) {
        let spec = SynthSpec { units, facts: 3_000, changes, seed, months: Some(24), metrics: Some(3), depth: 3, intercompany: 0.1 };
        let mut model = with_monthly_totals(Synth::generate(&spec).into_model(), totals);
        match drop {
            1 => {
                let mut k = 0usize;
                model.facts.retain(|_| { k += 1; k % 29 != 7 });
            }
            2 => {
                // One unit's figures for one month (the middle of a quarter).
                let victim = model.facts[model.facts.len() / 2].key.unit.clone();
                let month = model.facts[0].key.period.shift(4);
                model.facts.retain(|f| f.key.unit != victim || f.key.period != month);
            }
            _ => {}
        }
        let view = [View::Reported, View::Restated, View::Organic][view];
        let (quarters, years) = coarse_periods(&model, 8, 2);
        for metric in ["revenue", "ebita", "headcount", "ebita_margin"] {
            // All quarters, both years, and each alone (a gap in one declines only that one).
            let alone = quarters.iter().chain(&years).map(|p| vec![*p]);
            for periods in [quarters.clone(), years.clone()].into_iter().chain(alone) {
                let query = Query { metric: MetricId::parse(metric).unwrap(), periods, view, structure: None, node: None, depth, currency: None, basis: BasisFilter::ReportedOnly };
                rows_agree(&model, &query);
            }
        }
    }
}

#[test]
fn the_columnar_path_builds_quarters_and_years_from_months_or_declines_on_a_gap() {
    // No changes: every unit records every month, so every quarter and year is complete and
    // the columnar path answers (restated and as reported), recorded totals included.
    let spec = SynthSpec {
        units: 40,
        facts: 4_000,
        changes: 0,
        seed: 5,
        months: Some(24),
        metrics: Some(3),
        depth: 3,
        intercompany: 0.1,
    };
    let model = with_monthly_totals(Synth::generate(&spec).into_model(), 2);
    let (quarters, years) = coarse_periods(&model, 8, 2);
    let mut compared = 0;
    for view in [View::Reported, View::Restated, View::Organic] {
        for metric in ["revenue", "ebita", "headcount", "ebita_margin"] {
            for periods in [&quarters, &years] {
                let query = Query {
                    metric: MetricId::parse(metric).unwrap(),
                    periods: periods.clone(),
                    view,
                    structure: None,
                    node: None,
                    depth: 2,
                    currency: None,
                    basis: BasisFilter::ReportedOnly,
                };
                let rows = rows_agree(&model, &query);
                assert!(
                    rows > 0,
                    "{metric} {view} {periods:?}: the columnar path declined"
                );
                compared += rows;
            }
        }
    }
    assert!(compared > 100, "{compared}");
    // A month missing at one unit: the quarter holding it (and its year) is a gap there, and
    // the columnar path declines; a quarter without the gap is still answered.
    let mut gapped = model.clone();
    let victim = gapped
        .facts
        .iter()
        .find(|f| f.key.metric.as_str() == "revenue" && f.key.counterparty.is_none())
        .unwrap()
        .key
        .unit
        .clone();
    let month = quarters[2].children()[1];
    gapped
        .facts
        .retain(|f| f.key.unit != victim || f.key.period != month);
    let engine = Engine::new(&gapped).unwrap();
    let table = FactTable::from_model(&gapped, &engine).unwrap();
    for (metric, periods, answered) in [
        ("revenue", vec![quarters[2]], false),
        ("revenue", vec![years[0]], false),
        ("revenue", vec![quarters[3]], true),
        ("ebita_margin", vec![quarters[2]], false),
    ] {
        let query = Query {
            metric: MetricId::parse(metric).unwrap(),
            periods: periods.clone(),
            view: View::Restated,
            structure: None,
            node: None,
            depth: 2,
            currency: None,
            basis: BasisFilter::ReportedOnly,
        };
        let slow = engine.rollup(&query).unwrap();
        let fast = holdco_core::columnar::rollup_from_table(&engine, &table, &query);
        assert_eq!(
            fast.is_ok(),
            answered,
            "{metric} {periods:?}: {:?}",
            fast.err()
        );
        if !answered {
            assert!(
                slow.rows.iter().any(|r| r.gap.is_some()),
                "the engine shows the gap"
            );
        } else {
            assert!(rows_agree(&gapped, &query) > 0);
        }
    }
    // A stock without its last month is a gap; without another month it is the last month's.
    let headcount = MetricId::parse("headcount").unwrap();
    for (dropped, answered) in [
        (quarters[3].children()[2], false),
        (quarters[3].children()[0], true),
    ] {
        let mut stock = model.clone();
        stock.facts.retain(|f| {
            f.key.unit != victim || f.key.period != dropped || f.key.metric != headcount
        });
        let query = Query {
            metric: headcount.clone(),
            periods: vec![quarters[3]],
            view: View::Restated,
            structure: None,
            node: None,
            depth: 2,
            currency: None,
            basis: BasisFilter::ReportedOnly,
        };
        assert_eq!(rows_agree(&stock, &query) > 0, answered, "{dropped:?}");
    }
}

/// docs/semantics.md 3.7b: as reported, a unit that never moved (nor anything above it),
/// never ended and was fully held all along lands once for every period; the others land
/// per period. Both kinds side by side, every field of every row against the engine, at
/// every depth: `w` moved before the periods and `y` after them (so the latest structure
/// is not theirs in 2020), `x` sits under `p`, partly sold in 2019, and `u` under `q`, held
/// 60% from the start; `z` and `v` never moved.
#[test]
fn as_reported_units_that_never_moved_land_like_the_engine() {
    let timeline = r#"
[[change]]
date = 2018-01-01
kind = "create"
unit = "g"
name = "G"
unit_kind = "group"

[[change]]
date = 2018-01-01
kind = "create"
unit = "a"
name = "A"
parent = "g"

[[change]]
date = 2018-01-01
kind = "create"
unit = "b"
name = "B"
parent = "g"

[[change]]
date = 2018-01-01
kind = "create"
unit = "p"
name = "P"
parent = "g"

[[change]]
date = 2018-01-01
kind = "create"
unit = "x"
name = "X"
parent = "p"

[[change]]
date = 2018-01-01
kind = "create"
unit = "q"
name = "Q"
parent = "g"
ownership = 0.6

[[change]]
date = 2018-01-01
kind = "create"
unit = "u"
name = "U"
parent = "q"

[[change]]
date = 2018-01-01
kind = "create"
unit = "y"
name = "Y"
parent = "a"

[[change]]
date = 2018-01-01
kind = "create"
unit = "w"
name = "W"
parent = "y"

[[change]]
date = 2018-01-01
kind = "create"
unit = "z"
name = "Z"
parent = "b"

[[change]]
date = 2018-01-01
kind = "create"
unit = "v"
name = "V"
parent = "z"

[[change]]
date = 2019-06-01
kind = "move"
unit = "w"
parent = "z"

[[change]]
date = 2021-03-01
kind = "move"
unit = "y"
parent = "b"

[[change]]
date = 2019-07-01
kind = "stake"
unit = "p"
share = 0.6
"#;
    let mut facts = String::from("unit,period,metric,value\n");
    for (i, unit) in ["x", "y", "w", "z", "v", "u"].iter().enumerate() {
        for month in 1..=12 {
            facts.push_str(&format!(
                "{unit},2020-{month:02},revenue,{}\n",
                (i + 1) * 10 + month
            ));
        }
    }
    let model = crate::common::model(timeline, &facts, None);
    let first = Period::parse("2020-01", model.group.calendar()).unwrap();
    let mut compared = 0;
    for depth in 0..4 {
        for months in [1, 3, 12] {
            let query = Query {
                metric: MetricId::parse("revenue").unwrap(),
                periods: (0..months).map(|k| first.shift(k)).collect(),
                view: View::Reported,
                structure: None,
                node: None,
                depth,
                currency: None,
                basis: BasisFilter::ReportedOnly,
            };
            compared += rows_agree(&model, &query);
        }
    }
    assert!(
        compared > 0,
        "the columnar path answered none of the questions"
    );
}

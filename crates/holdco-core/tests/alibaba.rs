//! Golden tests on the bundled Alibaba example: published totals reconcile in every
//! structure, the headline restatement, and calibration reproducing the recorded shares.

use holdco_core::calibrate::{calibrate, Calibration};
use holdco_core::format::{is_model_file, read_model, ModelFiles};
use holdco_core::reconcile::{reconcile, CheckKind, Tolerance};
use holdco_core::rollup::{BasisFilter, Engine, Query, View};
use holdco_core::validate::validate;
use holdco_core::*;
use std::path::Path;

fn load() -> Model {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alibaba");
    let mut files = ModelFiles::new();
    for name in ["group.toml", "timeline.toml"] {
        files.insert(name.into(), std::fs::read(root.join(name)).unwrap());
    }
    for entry in std::fs::read_dir(root.join("facts")).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("facts/{}", path.file_name().unwrap().to_string_lossy());
        if is_model_file(&name) {
            files.insert(name, std::fs::read(path).unwrap());
        }
    }
    let (model, problems) = read_model(&files);
    assert!(problems.is_empty(), "{problems:#?}");
    let model = model.unwrap();
    let (_, problems) = validate(&model);
    assert!(problems.is_empty(), "{problems:#?}");
    model
}

fn period(label: &str) -> Period {
    Period::parse(label, FiscalCalendar { year_end_month: 3 }).unwrap()
}

fn date(text: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn restated(engine: &Engine, metric: &str, label: &str, structure: &str, node: &str) -> f64 {
    let query = Query {
        metric: MetricId::parse(metric).unwrap(),
        periods: vec![period(label)],
        view: View::Restated,
        structure: Some(date(structure)),
        node: Some(UnitId::parse(node).unwrap()),
        depth: 0,
        currency: None,
        basis: BasisFilter::Reported,
    };
    engine.rollup(&query).unwrap().rows[0].value.unwrap()
}

#[test]
fn published_consolidated_totals_equal_segments_plus_unallocated_plus_eliminations() {
    let model = load();
    let checks = reconcile(&model, Tolerance::Absolute(0.5)).unwrap();
    let totals: Vec<_> = checks
        .iter()
        .filter(|c| c.kind == CheckKind::Total && c.unit == "alibaba")
        .collect();
    // Every structure in which Alibaba published a complete segment table.
    let expected = [
        ("FY2019", "revenue", "reported"),
        ("FY2019", "revenue", "restated@2016-04-01"),
        ("FY2020", "revenue", "reported"),
        ("FY2020", "revenue", "restated@2021-10-01"),
        ("FY2021", "revenue", "reported"),
        ("FY2021", "revenue", "restated@2021-10-01"),
        ("FY2022", "revenue", "reported"),
        ("FY2023", "revenue", "restated@2024-03-31"),
        ("FY2023", "adjusted_ebita", "restated@2024-03-31"),
        ("FY2024", "revenue", "reported"),
        ("FY2024", "adjusted_ebita", "reported"),
        ("FY2025", "revenue", "reported"),
        ("FY2025", "adjusted_ebita", "reported"),
    ];
    for (label, metric, basis) in expected {
        let check = totals
            .iter()
            .find(|c| c.period == label && c.metric == metric && c.basis == basis)
            .unwrap_or_else(|| panic!("no total check for {label} {metric} {basis}: {totals:#?}"));
        assert!(
            check.ok,
            "{label} {metric} {basis}: published {} vs segments {} ({})",
            check.published, check.computed, check.detail
        );
    }
}

#[test]
fn fy2024_restated_into_the_four_segment_structure() {
    let model = load();
    let engine = Engine::new(&model).unwrap();
    let s3 = "2025-04-01";
    // The group total never changes.
    assert_eq!(
        restated(&engine, "revenue", "FY2024", s3, "alibaba"),
        941168.0
    );
    // AIDC and Cloud Intelligence carry over unchanged, as Alibaba published them.
    assert_eq!(
        restated(&engine, "revenue", "FY2024", s3, "international_commerce"),
        102598.0
    );
    assert_eq!(
        restated(&engine, "revenue", "FY2024", s3, "cloud_intelligence"),
        106374.0
    );
    // China E-commerce = Taobao and Tmall + Ele.me's share of Local Services + Fliggy's of All others.
    let shares = |change: &str, part: &str| -> f64 {
        model
            .timeline
            .iter()
            .find(|c| c.id.as_deref() == Some(change))
            .and_then(|c| match &c.kind {
                ChangeKind::Split { parts, .. } => parts
                    .iter()
                    .find(|p| p.unit.as_str() == part)
                    .and_then(|p| p.shares.default),
                _ => None,
            })
            .unwrap()
    };
    let eleme = shares("split-local-services-2025", "eleme");
    let fliggy = shares("split-all-others-2025", "fliggy");
    let china = restated(&engine, "revenue", "FY2024", s3, "china_commerce");
    assert!(
        (china - (434893.0 + eleme * 59802.0 + fliggy * 192331.0)).abs() < 1e-6,
        "{china}"
    );
    let others = restated(&engine, "revenue", "FY2024", s3, "all_others");
    assert!(
        (others - ((1.0 - eleme) * 59802.0 + (1.0 - fliggy) * 192331.0 + 99020.0 + 21145.0)).abs()
            < 1e-6,
        "{others}"
    );
}

#[test]
fn fy2025_restatement_is_close_to_what_alibaba_published() {
    let model = load();
    let engine = Engine::new(&model).unwrap();
    // Alibaba published FY2025 under both structures; the calibrated model lands within
    // RMB 20m of each published four-segment figure.
    for (node, published) in [
        ("china_commerce", 508380.0),
        ("all_others", 338347.0),
        ("cloud_intelligence", 118028.0),
        ("international_commerce", 132300.0),
    ] {
        let computed = restated(&engine, "revenue", "FY2025", "2025-04-01", node);
        assert!(
            (computed - published).abs() < 20.0,
            "{node}: {computed} vs {published}"
        );
    }
}

#[test]
fn calibration_reproduces_the_recorded_split_shares() {
    let model = load();
    let request = Calibration {
        changes: vec![
            "split-local-services-2025".into(),
            "split-all-others-2025".into(),
        ],
        periods: vec![period("FY2025")],
        metrics: vec![
            MetricId::parse("revenue").unwrap(),
            MetricId::parse("adjusted_ebita").unwrap(),
        ],
        published: None,
    };
    let result = calibrate(&model, &request).unwrap();
    for split in &result.splits {
        let change = model
            .timeline
            .iter()
            .find(|c| c.id.as_deref() == Some(split.change.as_str()))
            .unwrap();
        let ChangeKind::Split { parts, .. } = &change.kind else {
            panic!("not a split")
        };
        for (unit, share) in &split.parts {
            let recorded = parts
                .iter()
                .find(|p| p.unit.as_str() == unit)
                .unwrap()
                .shares
                .default
                .unwrap();
            assert!(
                (recorded - share).abs() < 1e-4,
                "{}: {unit} recorded {recorded}, calibrated {share}",
                split.change
            );
        }
    }
    assert!(result.rms_residual < 20.0, "{}", result.rms_residual);
}

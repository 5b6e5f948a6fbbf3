//! The application layer on the bundled example: one snapshot shared by threads, the front
//! door's routes, questions read from text with errors naming their part.

use holdco_app::request::{RequestError, RollupRequest};
use holdco_app::rollup::{self, Route};
use holdco_app::Snapshot;
use std::path::Path;
use std::sync::Arc;

fn example() -> Snapshot {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alibaba");
    let files = holdco_folder::read(&dir).unwrap();
    let (model, problems) = holdco_core::format::read_model(&files);
    assert!(problems.is_empty(), "{problems:?}");
    Snapshot::new(model.unwrap()).unwrap()
}

#[test]
fn one_snapshot_answers_many_threads_the_same() {
    let snapshot = Arc::new(example());
    let mut request = RollupRequest::new("revenue");
    request.view = "restated".into();
    request.periods = Some("FY2022..FY2025".into());
    let query = request.query(snapshot.model()).unwrap();
    let alone = rollup::rollup(&snapshot, &query, Route::Auto).unwrap();
    // The example is small: the explainable engine answers.
    assert!(!alone.columnar);
    let expected = serde_json::to_value(&alone.rollup).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (snapshot, query) = (snapshot.clone(), query.clone());
            std::thread::spawn(move || {
                serde_json::to_value(
                    rollup::rollup(&snapshot, &query, Route::Exact)
                        .unwrap()
                        .rollup,
                )
                .unwrap()
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap(), expected);
    }
}

#[test]
fn the_columnar_path_says_none_where_it_does_not_cover_the_question() {
    use holdco_core::synth::{Synth, SynthSpec};
    let spec = SynthSpec {
        units: 30,
        facts: 6_000,
        changes: 10,
        seed: 5,
        months: Some(24),
        metrics: Some(3),
        depth: 3,
        ..SynthSpec::default()
    };
    let snapshot = Snapshot::new(Synth::generate(&spec).into_model()).unwrap();
    let question = |view: &str, periods: &str| {
        let mut request = RollupRequest::new("revenue");
        request.view = view.into();
        request.periods = Some(periods.into());
        request.query(snapshot.model()).unwrap()
    };
    // Monthly facts restated month by month: covered, with the engine's node values.
    let query = question("restated", "2016-01..2016-12");
    let fast = rollup::columnar(&snapshot, &query).expect("covered");
    assert_eq!(fast.engine, "columnar");
    let exact = snapshot.engine().rollup(&query).unwrap();
    let mut compared = 0;
    for row in &fast.rows {
        let Some(twin) = exact
            .rows
            .iter()
            .find(|r| r.node == row.node && r.period == row.period && r.kind == row.kind)
        else {
            continue;
        };
        if let (Some(a), Some(b)) = (row.value, twin.value) {
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{row:?} {twin:?}");
            compared += 1;
        }
    }
    assert!(compared >= 12, "{compared}");
    // A fiscal year built from its months is the engine's work: not covered, no error.
    assert!(rollup::columnar(&snapshot, &question("restated", "FY2016")).is_none());
    // The front door takes the engine for a small model, whichever path would cover it.
    assert!(
        !rollup::rollup(&snapshot, &query, Route::Auto)
            .unwrap()
            .columnar
    );
    // The default structure date is the latest change's.
    let latest = snapshot.engine().latest_structure_date();
    assert_eq!(snapshot.structure_date(None), latest);
}

#[test]
fn request_errors_name_their_part_in_each_front_ends_words() {
    let snapshot = example();
    let model = snapshot.model();
    let mut request = RollupRequest::new("revenue");
    request.period = Some("FY2022..FY2024".into());
    let error = request.query(model).unwrap_err();
    assert_eq!(error, RequestError::OnePeriod("FY2022..FY2024".into()));
    assert_eq!(error.field(), "period");
    assert!(error.cli_message().contains("--periods FY2022..FY2024"));
    assert!(error.api_message().contains("periods=FY2022..FY2024"));
    let mut request = RollupRequest::new("revenue");
    request.structure = Some("2024-13-01".into());
    let error = request.query(model).unwrap_err();
    assert_eq!(error.field(), "structure");
    assert!(error.cli_message().starts_with("--structure 2024-13-01:"));
    let mut request = RollupRequest::new("revenue");
    request.from = "nowhere".into();
    assert_eq!(request.query(model).unwrap_err().field(), "from");
    let mut request = RollupRequest::new("nothing_recorded");
    request.periods = None;
    assert_eq!(
        request.query(model).unwrap_err(),
        RequestError::NoFigures("nothing_recorded".into())
    );
}

//! `holdco structure` from a store's compiled timeline (SQLite migration 0010) against the
//! replayed timeline: every field of every row, as values and as the JSON printed, on random
//! dates, depths and tops of generated timelines with moves, renames, merges, splits, stake
//! changes, spin-offs with a retained stake, divestments and closures.

use chrono::NaiveDate;
use holdco_app::views::{structure, structure_from_image, StructureView, ViewError};
use holdco_app::Snapshot;
use holdco_core::model::{Change, ChangeKind, Consolidation, Origin};
use holdco_core::synth::{Synth, SynthSpec};
use holdco_core::timeline::{Timeline, UnitIndex};
use holdco_core::Model;
use holdco_store::{SqliteStore, Store};
use proptest::prelude::*;

/// A generated model with extra changes the generator does not make (spin-offs keeping a
/// stake under each consolidation, stakes on the day of other changes, several changes of
/// one unit on one date), keeping only the changes that replay (the others are reported and
/// skipped, which the store would refuse to hold as a valid model), and no facts (a structure
/// needs none).
fn model(seed: u64, units: usize, changes: usize, extra: &[(u16, u16, u8)]) -> Model {
    let spec = SynthSpec {
        units,
        facts: 200,
        changes,
        seed,
        months: Some(24),
        metrics: Some(3),
        ..SynthSpec::default()
    };
    let mut model = Synth::generate(&spec).into_model();
    model.facts.clear();
    let dates: Vec<NaiveDate> = model.timeline.iter().map(|c| c.date).collect();
    let ids: Vec<_> = model
        .timeline
        .iter()
        .filter_map(|c| match &c.kind {
            ChangeKind::Create { unit, .. } => Some(unit.clone()),
            _ => None,
        })
        .collect();
    for (k, (unit, day, what)) in extra.iter().enumerate() {
        let unit = ids[*unit as usize % ids.len()].clone();
        let date = dates[*day as usize % dates.len()];
        let kind = match what % 6 {
            0 => ChangeKind::SpinOff {
                unit,
                retained: 0.3,
                method: Consolidation::Equity,
            },
            1 => ChangeKind::SpinOff {
                unit,
                retained: 0.1,
                method: Consolidation::FairValue,
            },
            2 => ChangeKind::Stake {
                unit,
                share: 0.4,
                consolidation: Consolidation::Share,
                proceeds: None,
            },
            3 => ChangeKind::Stake {
                unit,
                share: 0.2,
                consolidation: Consolidation::None,
                proceeds: None,
            },
            4 => ChangeKind::Rename {
                unit,
                name: format!("Renamed {k} ü"),
            },
            _ => ChangeKind::Close { unit },
        };
        model.timeline.push(Change {
            id: None,
            date,
            kind,
            note: None,
            source: None,
            origin: Origin::default(),
        });
    }
    let (timeline, _) = Timeline::replay(&model.group, &model.metrics, &model.timeline);
    let kept: Vec<Change> = timeline.changes.iter().copied().cloned().collect();
    model.timeline = kept;
    model
}

fn json(answer: &Result<StructureView, ViewError>) -> String {
    match answer {
        Ok(view) => serde_json::to_string_pretty(view).unwrap(),
        Err(error) => format!("error: {error}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn the_stored_image_gives_the_replayed_structure(
        seed in 0u64..1_000,
        units in 5usize..80,
        changes in 0usize..250,
        extra in proptest::collection::vec((any::<u16>(), any::<u16>(), any::<u8>()), 0..30),
        days in proptest::collection::vec(-400i64..4000, 1..8),
        depth in proptest::option::of(0u32..4),
        tops in proptest::collection::vec(any::<u16>(), 0..3),
    ) {
        let model = model(seed, units, changes, &extra);
        let mut store = SqliteStore::open_in_memory().unwrap();
        store.import(&model, "generated").unwrap();
        let image = store.timeline_image().unwrap().expect("an image written by the import");
        let snapshot = Snapshot::new(store.load().unwrap().unwrap()).unwrap();
        let n = snapshot.engine().timeline().units.len() as u16;
        let tops: Vec<UnitIndex> = tops.iter().map(|t| (t % n) as UnitIndex).collect();
        let first = model.timeline.iter().map(|c| c.date).min().unwrap();
        let mut dates: Vec<Option<NaiveDate>> =
            days.iter().map(|d| Some(first + chrono::Duration::days(*d))).collect();
        dates.push(None);
        // Every change date too (the day a change takes effect, and the day before).
        for change in model.timeline.iter().step_by(7) {
            dates.push(Some(change.date));
            dates.push(change.date.pred_opt());
        }
        for date in dates {
            for tops in [&[][..], &tops[..]] {
                let expected = structure(&snapshot, date, depth, tops);
                let got = structure_from_image(&image, date, depth, tops);
                prop_assert_eq!(&got, &expected, "{:?} depth {:?} tops {:?}", date, depth, tops);
                prop_assert_eq!(json(&got), json(&expected));
            }
        }
    }
}

/// The image's group name is the model's, and a store whose image row belongs to an older
/// import (written by a program that did not keep it up to date) is not read.
#[test]
fn an_image_of_another_import_is_not_used() {
    let first = model(3, 20, 40, &[]);
    let mut second = model(4, 25, 60, &[]);
    second.group.name = "Second Holdings".into();
    let path = std::env::temp_dir().join(format!("holdco-image-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut store = SqliteStore::open(&path).unwrap();
    store.import(&first, "first").unwrap();
    let old: Vec<u8> = rusqlite_image(&path);
    store.import(&second, "second").unwrap();
    assert_eq!(
        store.timeline_image().unwrap().unwrap().group_name(),
        "Second Holdings"
    );
    // Put the first import's image back, tagged with its own import: it is ignored.
    write_image(&path, 1, &old);
    assert!(store.timeline_image().unwrap().is_none());
    // Tagged as the current import but damaged: ignored too (the changes answer).
    write_image(&path, 2, &old[..old.len() - 1]);
    assert!(store.timeline_image().unwrap().is_none());
    drop(store);
    let _ = std::fs::remove_file(&path);
}

fn rusqlite_image(path: &std::path::Path) -> Vec<u8> {
    let connection = rusqlite::Connection::open(path).unwrap();
    connection
        .query_row("SELECT image FROM timeline_image", [], |row| row.get(0))
        .unwrap()
}

fn write_image(path: &std::path::Path, import_id: i64, image: &[u8]) {
    let connection = rusqlite::Connection::open(path).unwrap();
    connection
        .execute(
            "UPDATE timeline_image SET import_id = ?1, image = ?2",
            rusqlite::params![import_id, image],
        )
        .unwrap();
}

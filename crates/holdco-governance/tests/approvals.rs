//! Rule 8.11: the approvals a plan or a branch needs, on the example's illustrative table
//! (capex: the unit's CEO below 1,000, the group CEO from 1,000 to 10,000, the board from
//! 10,000; acquisitions of strategic innovation units below 500 by their CEO, others by the
//! board; disposals by the board).

use crate::common::{example_files, valid, with_ledger};
use chrono::NaiveDate;
use holdco_core::{Change, ChangeKind, Currency, Money, Origin, UnitId};
use holdco_governance::approvals::{self, Action, Status};

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
}

fn unit(id: &str) -> UnitId {
    UnitId::parse(id).expect("unit id")
}

fn capex(id: &str, amount: Option<f64>, tolerance: f64) -> Action {
    Action {
        what: format!("capex {id}"),
        unit: unit(id),
        decisions: vec!["capex".into()],
        amount,
        no_amount: amount.is_none().then(|| "not stated".to_string()),
        class: None,
        date: day("2025-06-30"),
        tolerance,
    }
}

fn change(kind: ChangeKind) -> Change {
    Change {
        id: Some("c1".into()),
        date: day("2025-07-01"),
        kind,
        note: None,
        source: None,
        origin: Origin::default(),
    }
}

#[test]
fn bands_by_amount_edges_within_tolerance_and_the_highest_band_without_an_amount() {
    let model = valid(&example_files());
    with_ledger(&model, |engine, ledger| {
        let actions = [
            capex("quark", Some(500.0), 0.0),
            capex("quark", Some(5_000.0), 0.0),
            capex("quark", Some(50_000.0), 0.0),
            // 999.9999988 as written is below 1,000; as a solved amount it is 1,000.
            capex("quark", Some(999.999_998_8), 0.0),
            capex("quark", Some(999.999_998_8), 1e-6),
            capex("quark", None, 0.0),
        ];
        let got = approvals::approvals(ledger, engine.timeline(), &actions);
        let bands: Vec<Option<&str>> = got.iter().map(|a| a.band.as_deref()).collect();
        assert_eq!(
            bands,
            vec![
                Some("0 to 1000"),
                Some("1000 to 10000"),
                Some("from 10000"),
                Some("0 to 1000"),
                Some("1000 to 10000"),
                Some("from 10000"),
            ]
        );
        assert_eq!(got[0].approver.as_deref(), Some("ceo of quark"));
        assert_eq!(got[1].approver.as_deref(), Some("ceo of alibaba"));
        assert_eq!(got[1].holders[0].person, "eddie_wu");
        assert_eq!(
            got[2].approver.as_deref(),
            Some("body alibaba_board (board of alibaba)")
        );
        assert_eq!(got[4].amount, Some(1000.0));
        assert!(got[5]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("highest band")));
        assert!(got.iter().all(|a| a.status == Status::Approver));
    });
}

#[test]
fn branch_changes_become_decisions_of_the_table() {
    let model = valid(&example_files());
    let cny = Currency::parse("CNY").unwrap();
    let usd = Currency::parse("USD").unwrap();
    let divest = |currency: &Currency| {
        change(ChangeKind::Divest {
            unit: unit("cloud_intelligence"),
            proceeds: Some(Money {
                amount: 250_000.0,
                currency: currency.clone(),
            }),
            buyer: None,
        })
    };
    let sold = approvals::action_of_change(&divest(&cny), &cny).expect("a decision");
    assert_eq!(sold.decisions, vec!["divest", "disposal"]);
    assert_eq!(
        (sold.amount, sold.date),
        (Some(250_000.0), day("2025-06-30"))
    );
    let in_dollars = approvals::action_of_change(&divest(&usd), &cny).expect("a decision");
    assert_eq!(in_dollars.amount, None);
    assert!(in_dollars.no_amount.as_deref().unwrap().contains("USD"));
    let merge = approvals::action_of_change(
        &change(ChangeKind::Merge {
            units: vec![unit("international_commerce")],
            into: unit("china_commerce"),
        }),
        &cny,
    )
    .expect("a decision");
    assert_eq!(merge.unit, unit("china_commerce"));
    assert!(approvals::action_of_change(
        &change(ChangeKind::Rename {
            unit: unit("quark"),
            name: "Quark".into()
        }),
        &cny
    )
    .is_none());
    with_ledger(&model, |engine, ledger| {
        let got = approvals::approvals(ledger, engine.timeline(), &[sold, merge]);
        // No `divest` rows: the `disposal` rows decide, the board.
        assert_eq!(got[0].decision, "disposal");
        assert_eq!(
            got[0].approver.as_deref(),
            Some("body alibaba_board (board of alibaba)")
        );
        // No `merge` or `reorganisation` rows: said, not guessed.
        assert_eq!(got[1].status, Status::NoRule);
        assert!(got[1]
            .note
            .as_deref()
            .unwrap()
            .contains("looked for: merge, reorganisation"));
    });
}

//! A fact's note and precision (docs/format.md, facts.csv; docs/semantics.md, section 10):
//! read and written back, refused with a clear message when malformed, and used by
//! `reconcile` (a difference within the published precision is rounding, not a defect; a
//! difference the published figure's note states is explained).

use crate::common::{model, problems};
use holdco_core::format::{read_model, write_model};
use holdco_core::reconcile::{known_difference, reconcile, CheckKind, CheckStatus, Tolerance};

const TIMELINE: &str = r#"
[[change]]
date = 2020-04-01
kind = "create"
unit = "g"
name = "G"
unit_kind = "group"

[[change]]
date = 2020-04-01
kind = "create"
unit = "a"
name = "A"
parent = "g"

[[change]]
date = 2020-04-01
kind = "create"
unit = "b"
name = "B"
parent = "g"
"#;

/// The group total, published to the nearest 10 (`precision` 10), against its two segments
/// published to the unit.
fn group_published_to_ten(total: f64, note: &str) -> holdco_core::Model {
    let quoted = note.replace('"', "\"\"");
    let facts = format!(
        "unit,period,metric,value,note,precision\n\
         g,FY2022,revenue,{total},\"{quoted}\",10\n\
         a,FY2022,revenue,46,,1\n\
         b,FY2022,revenue,57,,\n"
    );
    model(TIMELINE, &facts, None)
}

fn total_check(model: &holdco_core::Model, tolerance: &str) -> holdco_core::reconcile::Check {
    reconcile(model, Tolerance::parse(tolerance).unwrap())
        .unwrap()
        .into_iter()
        .find(|c| c.kind == CheckKind::Total && c.unit == "g")
        .unwrap()
}

/// docs/semantics.md 10.1: the total 100, published to the nearest 10, may be anything from
/// 95 to 105; a may be 45.5 to 46.5; b is exact. So 103 against 100 is rounding (allowance
/// 5 + 0.5), while 110 is a defect.
#[test]
fn a_difference_within_the_published_precision_is_not_a_defect() {
    let check = total_check(&group_published_to_ten(100.0, ""), "0");
    assert_eq!(check.difference, -3.0);
    assert_eq!(check.allowance, 5.5);
    assert_eq!(check.status, CheckStatus::WithinPrecision);
    assert!(check.ok);
    let check = total_check(&group_published_to_ten(110.0, ""), "0");
    assert_eq!(check.status, CheckStatus::Defect);
    assert!(!check.ok);
    // Without precisions the same 3 is a defect at a zero tolerance.
    let exact = model(
        TIMELINE,
        "unit,period,metric,value\ng,FY2022,revenue,100\na,FY2022,revenue,46\nb,FY2022,revenue,57\n",
        None,
    );
    let check = total_check(&exact, "0");
    assert_eq!((check.allowance, check.status), (0.0, CheckStatus::Defect));
    // Within tolerance stays plain ok.
    assert_eq!(
        total_check(&group_published_to_ten(100.0, ""), "5%").status,
        CheckStatus::Ok
    );
}

/// docs/semantics.md 10.2: a note `known difference 7: why` explains a difference of 7 (and
/// only of 7, within the tolerance, the allowance or the rounding of the amount written).
#[test]
fn a_known_difference_explains_exactly_the_amount_it_states() {
    let explained = group_published_to_ten(
        110.0,
        "known difference 7: a line the group left unallocated",
    );
    let check = total_check(&explained, "0");
    assert_eq!(check.status, CheckStatus::Explained);
    assert!(!check.ok, "explained is not agreement");
    assert_eq!(
        check.note.as_deref(),
        Some("known difference 7: a line the group left unallocated")
    );
    // The figure changes: the stated difference no longer explains it.
    let stale = group_published_to_ten(
        130.0,
        "known difference 7: a line the group left unallocated",
    );
    assert_eq!(total_check(&stale, "0").status, CheckStatus::Defect);
    // Any other note is shown, never taken as an explanation.
    let other = group_published_to_ten(130.0, "restated by the group in the FY2024 annual report");
    let check = total_check(&other, "0");
    assert_eq!(check.status, CheckStatus::Defect);
    assert_eq!(
        check.note.as_deref(),
        Some("restated by the group in the FY2024 annual report")
    );
    assert_eq!(
        known_difference("known difference 282.3: x"),
        Some((282.3, 0.05))
    );
    assert_eq!(
        known_difference("known difference -5129: x"),
        Some((-5129.0, 0.5))
    );
    assert_eq!(known_difference("known difference: x"), None);
    assert_eq!(known_difference("a known difference 3: x"), None);
}

#[test]
fn notes_and_precisions_are_read_and_written_back() {
    let model = group_published_to_ten(100.0, "restated, see \"p. 12\", in RMB m");
    let total = model
        .facts
        .iter()
        .find(|f| f.key.unit.as_str() == "g")
        .unwrap();
    assert_eq!(
        total.note.as_deref(),
        Some("restated, see \"p. 12\", in RMB m")
    );
    assert_eq!(total.precision, Some(10.0));
    let files = write_model(&model);
    let text = String::from_utf8(files["facts.csv"].clone()).unwrap();
    assert!(
        text.starts_with("unit,period,metric,value,currency,counterparty,basis,structure,source,note,precision\n"),
        "{text}"
    );
    let (back, problems) = read_model(&files);
    assert!(problems.is_empty(), "{problems:?}");
    let mut back = back.unwrap();
    let mut expected = model.clone();
    back.canonicalize();
    expected.canonicalize();
    assert_eq!(back.facts.len(), expected.facts.len());
    for (b, e) in back.facts.iter().zip(&expected.facts) {
        assert_eq!(
            (&b.key, &b.note, b.precision),
            (&e.key, &e.note, e.precision)
        );
    }
    // A file without annotations is written without the two columns, as before.
    let plain = holdco_core::Model {
        facts: model
            .facts
            .iter()
            .map(|f| holdco_core::Fact {
                note: None,
                precision: None,
                ..f.clone()
            })
            .collect(),
        ..model.clone()
    };
    let text = String::from_utf8(write_model(&plain)["facts.csv"].clone()).unwrap();
    assert!(
        text.starts_with("unit,period,metric,value,currency,counterparty,basis,structure,source\n")
    );
}

#[test]
fn a_malformed_precision_names_the_file_line_and_field() {
    for (bad, expected) in [
        ("0", "positive step"),
        ("-10", "positive step"),
        ("ten", "not a number"),
        ("1e300", "beyond the largest magnitude"),
    ] {
        let facts = format!("unit,period,metric,value,precision\na,FY2022,revenue,1,{bad}\n");
        let found = problems(&crate::common::files(TIMELINE, &facts, None));
        assert_eq!(found.len(), 1, "{found:?}");
        let problem = &found[0];
        assert_eq!(
            (
                problem.file.as_str(),
                problem.line,
                problem.field.as_deref()
            ),
            ("facts.csv", Some(2), Some("precision"))
        );
        assert!(problem.message.contains(expected), "{}", problem.message);
    }
}

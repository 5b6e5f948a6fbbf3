//! Bad input: every problem is reported with file, line and field, all at once.

use crate::common::{files, problems};
use crate::semantics::{FACTS, TIMELINE};

/// Problems of the sample model with `facts` appended to its facts.
fn with_facts(extra: &str) -> Vec<String> {
    let facts = format!("{FACTS}{extra}");
    problems(&files(TIMELINE, &facts, None))
        .iter()
        .map(|p| p.to_string())
        .collect()
}

fn has(problems: &[String], needle: &str) -> bool {
    problems.iter().any(|p| p.contains(needle))
}

#[test]
fn the_sample_is_clean() {
    assert_eq!(with_facts(""), Vec::<String>::new());
}

#[test]
fn fact_rows_name_file_line_and_field() {
    let p = with_facts("nobody,FY2022,revenue,1,\na,FY2022Q9,revenue,1,\na,FY2022,profit,1,\na,FY2022,revenue,abc,\na,FY2022,ebita,NaN,\na,FY2022,ebita,1e999,\na,FY2022\nc,FY2020,revenue,1,\na,FY2022,revenue,5,\na,FY2022,headcount,\"1,000\",\n");
    assert!(
        has(&p, "facts.csv:15: unit: unknown unit `nobody`"),
        "{p:#?}"
    );
    assert!(
        has(&p, "facts.csv:16: period: `FY2022Q9` is not a period"),
        "{p:#?}"
    );
    assert!(
        has(&p, "facts.csv:17: metric: unknown metric `profit`"),
        "{p:#?}"
    );
    assert!(
        has(&p, "facts.csv:18: value: `abc` is not a number"),
        "{p:#?}"
    );
    assert!(
        has(&p, "facts.csv:19: value: `NaN` is not a finite number"),
        "{p:#?}"
    );
    assert!(
        has(&p, "facts.csv:20: value: `1e999` is not a finite number"),
        "{p:#?}"
    );
    assert!(
        has(
            &p,
            "facts.csv:21: expected 5 columns as in the header, found 2"
        ),
        "{p:#?}"
    );
    assert!(
        has(
            &p,
            "facts.csv:22: period: FY2020 lies outside the life of unit `c`"
        ),
        "{p:#?}"
    );
    assert!(has(&p, "facts.csv:23: unit: duplicate fact"), "{p:#?}");
    assert!(has(&p, "without thousands separators"), "{p:#?}");
    assert_eq!(p.len(), 10, "{p:#?}");
}

#[test]
fn timeline_problems_name_the_change_and_field() {
    let bad = format!(
        "{TIMELINE}
[[change]]
id = \"sell-b1\"
date = 2024-01-01
kind = \"rename\"
unit = \"ghost\"
name = \"x\"

[[change]]
date = 2024-02-01
kind = \"move\"
unit = \"c\"
parent = \"a1\"

[[change]]
date = 2024-03-01
kind = \"split\"
unit = \"d\"
parts = [{{ unit = \"d\", share = 0.5 }}, {{ unit = \"c\", share = 0.6 }}]

[[change]]
date = 2024-04-01
kind = \"explode\"
unit = \"d\"

[[change]]
date = \"2024-13-01\"
kind = \"close\"
unit = \"d\"
colour = \"red\"
"
    );
    let p: Vec<String> = problems(&files(&bad, FACTS, None))
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert!(
        has(&p, "timeline.toml:95: id: duplicate change id `sell-b1`"),
        "{p:#?}"
    );
    assert!(
        has(&p, "timeline.toml:95: unit: unknown unit `ghost`"),
        "{p:#?}"
    );
    assert!(
        has(&p, "parent: moving `c` under `a1` would make a cycle"),
        "{p:#?}"
    );
    assert!(has(&p, "shares (default) sum to 1.1, expected 1"), "{p:#?}");
    assert!(has(&p, "kind: `explode` is not a change kind"), "{p:#?}");
    assert!(has(&p, "date: `2024-13-01` is not a date"), "{p:#?}");
    assert!(has(&p, "colour: unknown field"), "{p:#?}");
    assert!(!has(&p, "unit: unknown field"), "{p:#?}");
    assert_eq!(p.len(), 7, "{p:#?}");
}

#[test]
fn changes_on_units_that_do_not_exist_yet_are_refused() {
    let bad = TIMELINE.replace(
        "date = 2023-06-01\nkind = \"divest\"",
        "date = 2019-06-01\nkind = \"divest\"",
    );
    let p: Vec<String> = problems(&files(&bad, "unit,period,metric,value\n", None))
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert!(
        has(
            &p,
            "unit: unknown unit `b1` (no change before 2019-06-01 creates it)"
        ),
        "{p:#?}"
    );
}

#[test]
fn toml_syntax_errors_point_at_the_line() {
    let p: Vec<String> = problems(&files(
        "[[change]]\ndate = 2020-01-01\nkind = \"create\n",
        FACTS,
        None,
    ))
    .iter()
    .map(|p| p.to_string())
    .collect();
    assert!(has(&p, "timeline.toml:3: TOML syntax"), "{p:#?}");
}

#[test]
fn invalid_utf8_is_refused_but_bom_and_crlf_are_fine() {
    let mut f = files(TIMELINE, FACTS, None);
    f.insert(
        "facts.csv".into(),
        b"unit,period,metric,value\na,FY2022,revenue,1\n\xff\xfe,FY2022,revenue,2\n".to_vec(),
    );
    let p: Vec<String> = problems(&f).iter().map(|p| p.to_string()).collect();
    assert!(
        has(&p, "facts.csv:3: the file is not valid UTF-8"),
        "{p:#?}"
    );

    let mut f = files(TIMELINE, FACTS, None);
    let crlf = format!("\u{feff}{}", FACTS.replace('\n', "\r\n"));
    f.insert("facts.csv".into(), crlf.into_bytes());
    let timeline_crlf = TIMELINE.replace('\n', "\r\n");
    f.insert("timeline.toml".into(), timeline_crlf.into_bytes());
    assert!(problems(&f).is_empty());
}

#[test]
fn unknown_columns_and_missing_required_columns_are_named() {
    let p: Vec<String> = problems(&files(TIMELINE, "unit,period,metirc,value\n", None))
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert!(has(&p, "facts.csv:1: metirc: unknown column"), "{p:#?}");
    assert!(
        has(&p, "facts.csv:1: metric: missing required column"),
        "{p:#?}"
    );
}

#[test]
fn restated_figures_need_a_structure_date() {
    let facts = "unit,period,metric,value,basis,structure\nc,FY2022,revenue,1,restated,\nc,FY2022,revenue,1,reported,2022-04-01\nc,FY2022,revenue,1,restated,2020-01-01\n";
    let p: Vec<String> = problems(&files(TIMELINE, facts, None))
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert!(
        has(&p, "facts.csv:2: structure: empty; a restated figure needs"),
        "{p:#?}"
    );
    assert!(
        has(
            &p,
            "facts.csv:3: structure: only a restated or pro_forma figure takes a structure date"
        ),
        "{p:#?}"
    );
    assert!(
        has(
            &p,
            "facts.csv:4: structure: unit `c` does not exist on 2020-01-01"
        ),
        "{p:#?}"
    );
}

#[test]
fn classify_changes_need_an_existing_unit_and_a_class_and_round_trip() {
    let bad = format!(
        "{TIMELINE}
[[change]]
date = 2021-06-01
kind = \"classify\"
unit = \"a\"

[[change]]
date = 2019-01-01
kind = \"classify\"
unit = \"a\"
class = \"core\"
"
    );
    let p: Vec<String> = problems(&files(&bad, crate::semantics::FACTS, None))
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert!(has(&p, "class: missing"), "{p:#?}");
    assert!(
        p.iter()
            .any(|m| m.contains("2019-01-01") || m.contains("unit: ")),
        "{p:#?}"
    );
    assert_eq!(p.len(), 2, "{p:#?}");

    // A valid decision is kept, written back and read again unchanged.
    let good = format!("{TIMELINE}\n[[change]]\nid = \"classify-a\"\ndate = 2021-06-01\nkind = \"classify\"\nunit = \"a\"\nclass = \"core\"\nnote = \"focus area\"\n");
    let model = crate::common::model(&good, crate::semantics::FACTS, None);
    let change = model
        .timeline
        .iter()
        .find(|c| c.id.as_deref() == Some("classify-a"))
        .unwrap();
    assert_eq!(
        change.kind,
        holdco_core::ChangeKind::Classify {
            unit: holdco_core::UnitId::parse("a").unwrap(),
            class: "core".into()
        }
    );
    let written = holdco_core::format::write_model(&model);
    let (again, problems) = holdco_core::format::read_model(&written);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(again.unwrap().timeline, model.timeline);
}

#[test]
fn documents_are_kept_as_text_and_written_back_unchanged() {
    let mut input = files(TIMELINE, crate::semantics::FACTS, None);
    input.insert(
        "strategy.toml".into(),
        "[strategy]\nname = \"策略\"\r\n".as_bytes().to_vec(),
    );
    input.insert("capital.toml".into(), b"\xEF\xBB\xBF# plan\n".to_vec());
    input.insert("assessments.csv".into(), vec![0xff, 0xfe]);
    let (model, problems) = holdco_core::format::read_model(&input);
    assert!(
        problems
            .iter()
            .any(|p| p.file == "assessments.csv" && p.message.contains("UTF-8")),
        "{problems:#?}"
    );
    let model = model.unwrap();
    assert_eq!(model.documents.len(), 2);
    let written = holdco_core::format::write_model(&model);
    assert_eq!(
        written["strategy.toml"],
        "[strategy]\nname = \"策略\"\r\n".as_bytes()
    );
    assert_eq!(written["capital.toml"], b"# plan\n");
    assert!(
        holdco_core::format::is_model_file("strategy.toml")
            && holdco_core::format::is_model_file("assessments.csv")
            && holdco_core::format::is_model_file("capital.toml")
    );
}

/// Issue 16 item 10: a revenue of 1e308 passed `check` and the roll-up then showed the
/// group total as 0; values beyond 1e15 in magnitude are refused with file, line and field.
#[test]
fn values_beyond_the_documented_magnitude_are_refused() {
    let p = with_facts(
        "a,FY2022,ebita,1e308,\na,FY2022,ebita,9000000000000000,\na,FY2022,ebita,-2e15,\n",
    );
    for line in [15, 16, 17] {
        assert!(
            has(&p, &format!("facts.csv:{line}: value: `"))
                && has(&p, "beyond the largest magnitude accepted (1e15"),
            "{p:#?}"
        );
    }
    assert_eq!(
        p.iter()
            .filter(|m| m.contains("beyond the largest magnitude"))
            .count(),
        3,
        "{p:#?}"
    );
}

/// Issue 16 item 11: `fiscal_year_end = "+3-+31"` was read as 03-31; only MM-DD passes.
#[test]
fn fiscal_year_end_is_parsed_strictly() {
    for written in ["+3-+31", "3-31", "03-+1", " 03-31x"] {
        let mut files = files(crate::semantics::TIMELINE, crate::semantics::FACTS, None);
        let group = String::from_utf8(files["group.toml"].clone())
            .unwrap()
            .replace("\"03-31\"", &format!("{written:?}"));
        files.insert("group.toml".into(), group.into_bytes());
        let p: Vec<String> = problems(&files).iter().map(|p| p.to_string()).collect();
        assert!(
            has(&p, "fiscal_year_end") && has(&p, "is not a month-day"),
            "{written}: {p:#?}"
        );
    }
}

/// Siblings of item 11: dates in fact files are exactly YYYY-MM-DD.
#[test]
fn dates_in_fact_files_are_parsed_strictly() {
    let facts = "unit,period,metric,value,basis,structure\na,FY2022,revenue,1,restated,2021-1-1\na,FY2022,revenue,1,restated,+2021-01-01\n";
    let p: Vec<String> = problems(&files(TIMELINE, facts, None))
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(
        p.iter().filter(|m| m.contains("is not a date")).count(),
        2,
        "{p:#?}"
    );
}

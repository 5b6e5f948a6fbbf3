//! Bad input: each a clear problem with file, line and field.

use crate::common::{problems_of, small};
use holdco_core::Diagnostic;

const PEOPLE: &str = "ann,Ann,1980,2020-01-01,a,\nbob,Bob,,2021-06-01,b,\n";

fn appoint(date: &str, person: &str, role: &str, unit: &str) -> String {
    format!("[[change]]\ndate = {date}\nkind = \"people.appoint\"\nperson = \"{person}\"\nrole = \"{role}\"\nunit = \"{unit}\"\n\n")
}

fn one(problems: &[Diagnostic]) -> &Diagnostic {
    assert_eq!(problems.len(), 1, "{problems:#?}");
    &problems[0]
}

fn assert_at(p: &Diagnostic, file: &str, line: u32, field: &str, words: &str) {
    assert_eq!(p.file, file, "{p:#?}");
    assert_eq!(p.line, Some(line), "{p:#?}");
    assert_eq!(p.field.as_deref(), Some(field), "{p:#?}");
    assert!(p.message.contains(words), "{p:#?}");
}

/// The line of the n-th `[[change]]` of a `small` timeline (four creates come first).
fn change_line(files: &holdco_core::format::ModelFiles, n: usize) -> u32 {
    let text = String::from_utf8(files["timeline.toml"].clone()).expect("utf-8");
    let mut count = 0;
    for (i, line) in text.lines().enumerate() {
        if line == "[[change]]" {
            count += 1;
            if count == n {
                return i as u32 + 1;
            }
        }
    }
    panic!("no change {n}");
}

#[test]
fn appointment_to_a_unit_that_does_not_exist_on_the_date() {
    // Before the unit is created.
    let files = small(&appoint("2019-06-01", "ann", "ceo", "a"), PEOPLE, "", "");
    let (_, problems) = problems_of(&files);
    assert_at(
        one(&problems),
        "timeline.toml",
        change_line(&files, 5),
        "unit",
        "no change before 2019-06-01 creates it",
    );
    // After it was merged away.
    let timeline =
        "[[change]]\ndate = 2021-01-01\nkind = \"merge\"\nunits = [\"a\"]\ninto = \"c\"\n\n"
            .to_string()
            + &appoint("2022-01-01", "ann", "ceo", "a");
    let files = small(&timeline, PEOPLE, "", "");
    let (_, problems) = problems_of(&files);
    let p = one(&problems);
    assert_eq!(
        (p.line, p.field.as_deref()),
        (Some(change_line(&files, 6)), Some("unit")),
        "{p:#?}"
    );
    assert!(
        p.message.contains("`a`") && p.message.contains("2021-01-01"),
        "{p:#?}"
    );
}

#[test]
fn unknown_person() {
    let files = small(&appoint("2022-01-01", "carl", "ceo", "a"), PEOPLE, "", "");
    let (_, problems) = problems_of(&files);
    assert_at(
        one(&problems),
        "timeline.toml",
        change_line(&files, 5),
        "person",
        "unknown person `carl`",
    );
}

#[test]
fn two_holders_of_an_exclusive_role() {
    let timeline =
        appoint("2022-01-01", "ann", "ceo", "a") + &appoint("2022-03-01", "bob", "ceo", "a");
    let files = small(&timeline, PEOPLE, "", "");
    let (_, problems) = problems_of(&files);
    assert_at(
        one(&problems),
        "timeline.toml",
        change_line(&files, 6),
        "person",
        "exclusive role already held by `ann`",
    );
    // Directors are not exclusive: two at once is fine.
    let timeline = appoint("2022-01-01", "ann", "director_executive", "a")
        + &appoint("2022-03-01", "bob", "director_executive", "a");
    assert!(problems_of(&small(&timeline, PEOPLE, "", "")).1.is_empty());
    // A step-down on the successor's first day leaves no overlap, whatever the file order.
    let timeline = appoint("2022-01-01", "ann", "ceo", "a")
        + &appoint("2022-03-01", "bob", "ceo", "a")
        + "[[change]]\ndate = 2022-03-01\nkind = \"people.step_down\"\nperson = \"ann\"\nrole = \"ceo\"\nunit = \"a\"\n";
    assert!(problems_of(&small(&timeline, PEOPLE, "", "")).1.is_empty());
}

#[test]
fn transfer_before_someone_joined() {
    let timeline =
        "[[change]]\ndate = 2021-01-01\nkind = \"people.transfer\"\nperson = \"bob\"\nto = \"c\"\n";
    let files = small(timeline, PEOPLE, "", "");
    let (_, problems) = problems_of(&files);
    assert_at(
        one(&problems),
        "timeline.toml",
        change_line(&files, 5),
        "person",
        "joins the group on 2021-06-01",
    );
}

#[test]
fn birth_year_in_the_future() {
    let files = small("", "ann,Ann,2030,2020-01-01,a,\n", "", "");
    let (_, problems) = problems_of(&files);
    assert_at(
        one(&problems),
        "people.csv",
        2,
        "birth_year",
        "in the future",
    );
    // Without a first day, the first event tells.
    let files = small(
        &appoint("2022-01-01", "ann", "ceo", "a"),
        "ann,Ann,2030,,,\n",
        "",
        "",
    );
    let (_, problems) = problems_of(&files);
    assert_at(
        one(&problems),
        "people.csv",
        2,
        "birth_year",
        "in the future",
    );
}

#[test]
fn term_that_ends_before_it_starts() {
    let timeline = "[[change]]\ndate = 2022-01-01\nkind = \"people.appoint\"\nperson = \"ann\"\nrole = \"ceo\"\nunit = \"a\"\nterm_end = 2021-12-31\n";
    let files = small(timeline, PEOPLE, "", "");
    let (_, problems) = problems_of(&files);
    assert_at(
        one(&problems),
        "timeline.toml",
        change_line(&files, 5) + 6,
        "term_end",
        "before it starts",
    );
}

#[test]
fn decision_rights_with_overlapping_thresholds() {
    let governance = "[[rights]]\ndecision = \"capex\"\nfrom = 0\nto = 100\napprover = \"ceo\"\n\n[[rights]]\ndecision = \"capex\"\nfrom = 50\napprover = \"board\"\n";
    let files = small("", PEOPLE, governance, "");
    let (_, problems) = problems_of(&files);
    assert_at(
        one(&problems),
        "governance.toml",
        7,
        "from",
        "overlaps the band 0 to 100 on line 1",
    );
    // Bands that touch are fine; another class is another table.
    let ok = "[[rights]]\ndecision = \"capex\"\nfrom = 0\nto = 100\napprover = \"ceo\"\n\n[[rights]]\ndecision = \"capex\"\nfrom = 100\napprover = \"board\"\n\n[[rights]]\ndecision = \"capex\"\nclass = \"core\"\nfrom = 50\napprover = \"board\"\n";
    assert!(problems_of(&small("", PEOPLE, ok, "")).1.is_empty());
}

#[test]
fn unknown_role_body_and_event_kind() {
    let files = small(
        &appoint("2022-01-01", "ann", "emperor", "a"),
        PEOPLE,
        "",
        "",
    );
    assert_at(
        one(&problems_of(&files).1),
        "timeline.toml",
        change_line(&files, 5),
        "role",
        "unknown role `emperor`",
    );
    let timeline = "[[change]]\ndate = 2022-01-01\nkind = \"people.apoint\"\nperson = \"ann\"\n";
    let files = small(timeline, PEOPLE, "", "");
    assert_at(
        one(&problems_of(&files).1),
        "timeline.toml",
        change_line(&files, 5) + 2,
        "kind",
        "not an event kind of the governance domain",
    );
    let timeline = "[[change]]\ndate = 2022-01-01\nkind = \"people.appoint\"\nperson = \"ann\"\nrole = \"chair\"\nbody = \"board_a\"\n";
    let files = small(timeline, PEOPLE, "", "");
    assert_at(
        one(&problems_of(&files).1),
        "timeline.toml",
        change_line(&files, 5),
        "body",
        "unknown body `board_a`",
    );
    let timeline = "[[change]]\ndate = 2022-01-01\nkind = \"people.appoint\"\nperson = \"ann\"\nrole = \"ceo\"\nunit = \"a\"\nrank = 3\n";
    let files = small(timeline, PEOPLE, "", "");
    assert_at(
        one(&problems_of(&files).1),
        "timeline.toml",
        change_line(&files, 5) + 6,
        "rank",
        "unknown field",
    );
}

#[test]
fn appointment_of_someone_who_left() {
    let timeline = "[[change]]\ndate = 2022-01-01\nkind = \"people.leave\"\nperson = \"ann\"\n\n"
        .to_string()
        + &appoint("2022-02-01", "ann", "ceo", "a");
    let files = small(&timeline, PEOPLE, "", "");
    assert_at(
        one(&problems_of(&files).1),
        "timeline.toml",
        change_line(&files, 6),
        "person",
        "left the group on 2022-01-01",
    );
}

#[test]
fn people_file_problems() {
    let files = small("", "ann,Ann,1980,2020-01-01,a,\nann,Ann again,,,,\nBad Id,,,,,\nbob,Bob,nineteen,2019-13-01,,\n", "", "");
    let problems = problems_of(&files).1;
    let at: Vec<(Option<u32>, Option<&str>)> = problems
        .iter()
        .map(|p| (p.line, p.field.as_deref()))
        .collect();
    assert_eq!(
        at,
        [
            (Some(3), Some("id")),
            (Some(4), Some("id")),
            (Some(5), Some("joined")),
            (Some(5), Some("birth_year"))
        ],
        "{problems:#?}"
    );
}

//! Bad strategy and capital documents: every problem names file, line and field.

use crate::common::{edited, example};
use holdco_core::Diagnostic;
use holdco_strategy::check;

/// Checks that the edited example reports a problem in `file` on the line holding `anchor`,
/// on `field`, with a message containing `words`.
fn check_problem(
    model: holdco_core::Model,
    file: &str,
    anchor: &str,
    field: &str,
    words: &str,
) -> Vec<Diagnostic> {
    let text = model
        .documents
        .get(file)
        .cloned()
        .or_else(|| Some(String::new()))
        .unwrap();
    let (_, problems) = check(&model);
    let line = text
        .lines()
        .position(|l| l.contains(anchor))
        .map(|i| i as u32 + 1);
    assert!(
        problems.iter().any(|p| p.file == file
            && p.field.as_deref() == Some(field)
            && p.message.contains(words)
            && (line.is_none() || p.line.is_some())),
        "expected {file}: {field}: …{words}… near {anchor:?}; got {problems:#?}"
    );
    problems
}

fn line_of(text: &str, anchor: &str) -> u32 {
    text.lines().position(|l| l.contains(anchor)).unwrap() as u32 + 1
}

#[test]
fn an_unknown_criterion_in_the_assessments_is_refused() {
    let model = edited("assessments.csv", |t| {
        format!("{t}xianyu,2023-11-16,charm,4,Analyst judgement,\n")
    });
    let problems = check_problem(
        model.clone(),
        "assessments.csv",
        "charm",
        "criterion",
        "unknown criterion `charm`",
    );
    let text = &model.documents["assessments.csv"];
    assert!(
        problems
            .iter()
            .any(|p| p.line == Some(line_of(text, "charm"))),
        "{problems:#?}"
    );
}

#[test]
fn a_score_outside_the_scale_is_refused() {
    let model = edited("assessments.csv", |t| {
        t.replacen(
            "xianyu,2023-11-16,market_potential,5",
            "xianyu,2023-11-16,market_potential,9",
            1,
        )
    });
    check_problem(
        model,
        "assessments.csv",
        "market_potential,9",
        "score",
        "outside the scale",
    );
}

#[test]
fn an_unknown_class_in_a_classify_change_is_refused() {
    let mut model = example();
    for change in &mut model.timeline {
        if let holdco_core::ChangeKind::Classify { class, .. } = &mut change.kind {
            class.clear();
            class.push_str("moonshot");
            break;
        }
    }
    let (_, problems) = check(&model);
    assert!(
        problems.iter().any(|p| p.file == "timeline.toml"
            && p.line.is_some()
            && p.message.contains("unknown class `moonshot`")),
        "{problems:#?}"
    );
}

#[test]
fn weights_that_do_not_sum_as_declared_are_refused() {
    let model = edited("strategy.toml", |t| {
        t.replacen("weights_sum = 1.0", "weights_sum = 0.9", 1)
    });
    let problems = check_problem(
        model.clone(),
        "strategy.toml",
        "weights_sum",
        "weights_sum",
        "sum to 1 but 0.9 is declared",
    );
    assert!(
        problems
            .iter()
            .any(|p| p.line == Some(line_of(&model.documents["strategy.toml"], "[strategy]"))),
        "{problems:#?}"
    );
}

#[test]
fn a_rule_that_does_not_parse_is_refused_with_its_line() {
    let model = edited("strategy.toml", |t| {
        t.replacen("rule = \"focus\"", "rule = \"focus &&& (\"", 1)
    });
    let problems = check_problem(
        model.clone(),
        "strategy.toml",
        "&&&",
        "rule",
        "does not parse as CEL",
    );
    let text = &model.documents["strategy.toml"];
    // The line of the [[class]] table holding the rule.
    let class_line = text
        .lines()
        .enumerate()
        .filter(|(i, l)| l.starts_with("[[class]]") && (*i as u32) < line_of(text, "&&&"))
        .map(|(i, _)| i as u32 + 1)
        .last()
        .unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.field.as_deref() == Some("rule") && p.line == Some(class_line)),
        "{problems:#?}"
    );
}

#[test]
fn a_rule_naming_an_unknown_value_is_refused() {
    let model = edited("strategy.toml", |t| {
        t.replacen("rule = \"focus\"", "rule = \"focus && profit > 3.0\"", 1)
    });
    check_problem(
        model,
        "strategy.toml",
        "profit",
        "rule",
        "unknown name `profit`",
    );
}

#[test]
fn an_unknown_metric_or_unit_in_the_strategy_is_refused() {
    let model = edited("strategy.toml", |t| {
        t.replacen("metric = \"adjusted_ebita\"", "metric = \"ebitda\"", 1)
    });
    check_problem(
        model,
        "strategy.toml",
        "ebitda",
        "metric",
        "unknown metric `ebitda`",
    );
    let model = edited("strategy.toml", |t| {
        t.replacen(
            "\"china_commerce\", \"international_commerce\"",
            "\"taobao\", \"international_commerce\"",
            1,
        )
    });
    check_problem(
        model,
        "strategy.toml",
        "taobao",
        "portfolio",
        "unknown unit `taobao`",
    );
}

#[test]
fn a_tranche_for_a_unit_not_in_the_group_that_year_is_refused() {
    let model = edited("capital.toml", |t| {
        t.replacen("unit = \"freshippo\"", "unit = \"sun_art\"", 1)
    });
    let problems = check_problem(
        model.clone(),
        "capital.toml",
        "sun_art",
        "years",
        "`sun_art` is not in the group throughout 2025",
    );
    let text = &model.documents["capital.toml"];
    let tranche_line = line_of(text, "id = \"freshippo-stores\"") - 1;
    assert!(
        problems.iter().any(|p| p.line == Some(tranche_line)),
        "{problems:#?}"
    );
}

#[test]
fn a_negative_budget_is_refused() {
    let model = edited("capital.toml", |t| {
        t.replacen("amount = 135000", "amount = -5", 1)
    });
    let problems = check_problem(
        model.clone(),
        "capital.toml",
        "-5",
        "amount",
        "negative budget",
    );
    let text = &model.documents["capital.toml"];
    assert!(
        problems
            .iter()
            .any(|p| p.line == Some(line_of(text, "amount = -5") - 2)),
        "{problems:#?}"
    );
}

#[test]
fn an_unknown_field_or_broken_toml_points_at_the_line() {
    let model = edited("capital.toml", |t| {
        t.replacen(
            "risk_aversion = 0.5",
            "risk_aversion = 0.5\nrisk_appetite = 2",
            1,
        )
    });
    let (_, problems) = check(&model);
    let line = line_of(&model.documents["capital.toml"], "risk_appetite");
    assert!(
        problems.iter().any(|p| p.file == "capital.toml"
            && p.line == Some(line)
            && p.message.contains("risk_appetite")),
        "{problems:#?}"
    );
}

#[test]
fn an_infeasible_plan_names_the_conflicting_constraints() {
    let model = example();
    let (documents, _) = check(&model);
    let mut capital = documents.capital.clone().unwrap();
    // A floor for Xianyu larger than its only tranche can hold over three years.
    capital.floors.push(holdco_strategy::capital::UnitBound {
        unit: holdco_core::UnitId::parse("xianyu").unwrap(),
        amount: 2_000.0,
        years: (2025, 2027),
        note: None,
        line: 999,
    });
    let engine = holdco_core::rollup::Engine::new(&model).unwrap();
    let classes =
        holdco_strategy::plan::classes_on(&engine, documents.strategy.as_ref(), capital.classes_on);
    let error =
        holdco_strategy::plan::solve(&capital, documents.strategy.as_ref(), &classes).unwrap_err();
    let holdco_strategy::plan::PlanError::Infeasible(conflict) = error else {
        panic!("{error:?}")
    };
    assert_eq!(conflict.len(), 4, "{conflict:#?}");
    assert!(
        conflict[0].starts_with("tranche xianyu-ai"),
        "{conflict:#?}"
    );
    // The tranche holds 4,000 over three years; two floors of 2,000 and one year's cycle
    // commitment of 1,000 already need 5,000: an irreducible conflict.
    assert_eq!(
        conflict
            .iter()
            .filter(|c| c.starts_with("floor of xianyu") && c.contains("capital.toml:999"))
            .count(),
        2,
        "{conflict:#?}"
    );
    assert_eq!(
        conflict
            .iter()
            .filter(|c| c.starts_with("cycle of xianyu"))
            .count(),
        1,
        "{conflict:#?}"
    );
}

/// Issue 16 item 1: brackets 2,000 deep once overflowed the stack; now the rule is refused
/// by its nesting, with the class's line, before the CEL parser sees it.
#[test]
fn a_rule_nested_two_thousand_brackets_deep_is_refused() {
    let deep = format!("{}focus{}", "(".repeat(2000), ")".repeat(2000));
    let model = edited("strategy.toml", |t| {
        t.replacen("rule = \"focus\"", &format!("rule = \"{deep}\""), 1)
    });
    check_problem(
        model,
        "strategy.toml",
        "((((",
        "rule",
        "nest more than 32 deep",
    );
}

/// Issue 16 item 2: three nested `all` over long lists once ran for over 20 minutes; the
/// rule is now refused by its estimated work, at once.
#[test]
fn a_rule_with_unbounded_work_is_refused_before_it_runs() {
    let list = format!(
        "[{}]",
        (0..300)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let heavy = format!("{list}.all(x, {list}.all(y, {list}.all(z, x + y + z >= 0)))");
    let model = edited("strategy.toml", |t| {
        t.replacen("rule = \"focus\"", &format!("rule = \"{heavy}\""), 1)
    });
    let started = std::time::Instant::now();
    check_problem(
        model,
        "strategy.toml",
        "[0,1,2",
        "rule",
        "steps per unit; at most 50000",
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

/// Issue 16 item 3: an unclosed bracket once made the parser panic (printing its message);
/// it is now an ordinary problem with the class's line.
#[test]
fn an_unclosed_bracket_is_a_plain_problem() {
    let model = edited("strategy.toml", |t| {
        t.replacen("rule = \"focus\"", "rule = \"focus && (\"", 1)
    });
    check_problem(model, "strategy.toml", "focus && (", "rule", "never closed");
}

/// Issue 16 item 10's sibling in capital.toml: amounts beyond 1e15 and per-money rates
/// beyond 1e6 are refused, with their line and field.
#[test]
fn capital_figures_beyond_their_limits_are_refused() {
    let model = edited("capital.toml", |t| {
        t.replacen("amount = 135000", "amount = 1e300", 1)
    });
    check_problem(
        model,
        "capital.toml",
        "1e300",
        "amount",
        "beyond the largest magnitude accepted (1e15)",
    );
    let model = edited("capital.toml", |t| {
        t.replacen("risk_aversion = 0.5", "risk_aversion = 1e300", 1)
    });
    check_problem(
        model,
        "capital.toml",
        "risk_aversion",
        "risk_aversion",
        "from 0 to 1e6",
    );
}

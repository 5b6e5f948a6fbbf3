//! Class rules (CEL expressions) parsed and evaluated within documented limits, so that no
//! rule text, however hostile, can overflow the stack, run for minutes or print a panic.
//!
//! The CEL parser (ANTLR-generated) recurses once per level of nesting with very large frames
//! (about 100 KB a level in a debug build), and panics on some malformed input. So the text is
//! first scanned here (length, balanced brackets, nesting depth), then parsed on a dedicated
//! thread with a large stack whose panics are caught and never printed; the tree is then
//! measured (depth, and an upper bound on the steps evaluation can take) before it is
//! accepted. See "Limits" in docs/format.md.

use cel_interpreter::{Context, ExecutionError, IdedExpr, Value};
use cel_parser::ast::{EntryExpr, Expr};
use std::collections::BTreeMap;
use std::sync::Once;

/// Longest rule text, in characters.
pub const MAX_RULE_CHARS: usize = 4096;
/// Deepest nesting of brackets (`(`, `[`, `{`) in a rule's text.
pub const MAX_RULE_BRACKETS: usize = 32;
/// Deepest expression tree (operators, calls, brackets, comprehensions) a rule may have.
pub const MAX_RULE_DEPTH: usize = 64;
/// Most evaluation steps a rule may take for one unit, as estimated from its tree before it
/// runs (comprehensions multiply: `l.all(x, m.all(y, ...))` costs |l| × |m| × the body).
pub const MAX_RULE_STEPS: u64 = 50_000;

/// Stack of the thread that parses a rule: far more than the limits above need, so the
/// parser's recursion can't overflow; reserved address space, touched only as used.
const PARSER_STACK_BYTES: usize = 256 << 20;
/// Name of that thread (and of the one that evaluates); the panic hook stays silent for it.
const PARSER_THREAD: &str = "holdco-rule";

/// A parsed, measured rule, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Rule {
    expression: IdedExpr,
}

/// Bounds the checker needs from the strategy: the longest list a variable can hold.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleBounds {
    /// Most elements of `focus_areas` or `missing` (the focus areas plus the criteria).
    pub list_elements: u64,
}

impl Rule {
    /// Parses and measures `text`; the error is one line for a diagnostic.
    pub fn compile(text: &str, bounds: RuleBounds) -> Result<Rule, String> {
        scan(text)?;
        let expression = parse_silently(text)?;
        let depth = depth(&expression);
        if depth > MAX_RULE_DEPTH {
            return Err(format!("the rule nests {depth} levels deep; at most {MAX_RULE_DEPTH} are allowed (split it, or simplify it)"));
        }
        let mut estimate = Estimate {
            bounds,
            bound_names: BTreeMap::new(),
        };
        let (steps, _) = estimate.measure(&expression);
        if steps > MAX_RULE_STEPS {
            return Err(format!(
                "evaluating the rule could take {} steps per unit; at most {MAX_RULE_STEPS} are allowed (use shorter lists or fewer nested all/exists/map/filter)",
                if steps == u64::MAX { "unboundedly many".to_string() } else { steps.to_string() }
            ));
        }
        Ok(Rule { expression })
    }

    /// The variables the rule reads.
    pub fn variables(&self) -> Vec<String> {
        self.expression
            .references()
            .variables()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// Evaluates the rule in `context`, on a thread with a stack deep enough for any tree the
    /// limits admit (the interpreter recurses once per level, with large frames in debug
    /// builds); a panic inside the interpreter becomes an error.
    pub fn execute(&self, context: &Context) -> Result<Value, String> {
        silence_parser_panics();
        std::thread::scope(|scope| {
            let worker = std::thread::Builder::new()
                .name(PARSER_THREAD.into())
                .stack_size(PARSER_STACK_BYTES)
                .spawn_scoped(scope, || {
                    Value::resolve(&self.expression, context)
                        .map_err(|e: ExecutionError| e.to_string())
                });
            match worker {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|_| Err("the rule could not be evaluated".into())),
                Err(error) => Err(format!("no thread to evaluate the rule: {error}")),
            }
        })
    }
}

/// Checks length, string literals and bracket nesting without the parser, which is where
/// an unbalanced or very deep text would otherwise panic or overflow.
fn scan(text: &str) -> Result<(), String> {
    let chars = text.chars().count();
    if chars > MAX_RULE_CHARS {
        return Err(format!(
            "the rule is {chars} characters long; at most {MAX_RULE_CHARS} are allowed"
        ));
    }
    let bytes = text.as_bytes();
    let mut open: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'"' | b'\'' => {
                // A string literal: single or triple quoted; raw strings (r"...") have no escapes,
                // but a backslash before the closing quote still can't close them in our scan, which
                // errs only towards the parser reporting the problem itself.
                let triple = bytes
                    .get(i..i + 3)
                    .is_some_and(|s| s.iter().all(|&b| b == c));
                let quote_len = if triple { 3 } else { 1 };
                let start = i;
                i += quote_len;
                loop {
                    if i >= bytes.len() {
                        return Err(format!(
                            "a string literal opened at character {} is never closed",
                            text[..start].chars().count() + 1
                        ));
                    }
                    if bytes[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if !triple && (bytes[i] == b'\n' || bytes[i] == b'\r') {
                        return Err(format!(
                            "a string literal opened at character {} ends at the line's end",
                            text[..start].chars().count() + 1
                        ));
                    }
                    if bytes[i] == c
                        && (!triple
                            || bytes
                                .get(i..i + 3)
                                .is_some_and(|s| s.iter().all(|&b| b == c)))
                    {
                        i += quote_len;
                        break;
                    }
                    i += 1;
                }
                continue;
            }
            b'(' | b'[' | b'{' => {
                open.push(c);
                if open.len() > MAX_RULE_BRACKETS {
                    return Err(format!(
                        "brackets nest more than {MAX_RULE_BRACKETS} deep at character {}",
                        text[..i].chars().count() + 1
                    ));
                }
            }
            b')' | b']' | b'}' => {
                let expected = match c {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                if open.pop() != Some(expected) {
                    return Err(format!(
                        "`{}` at character {} closes no matching `{}`",
                        c as char,
                        text[..i].chars().count() + 1,
                        expected as char
                    ));
                }
            }
            _ => {}
        }
        i += 1;
    }
    if let Some(c) = open.last() {
        return Err(format!("{} `{}` never closed", open.len(), *c as char));
    }
    Ok(())
}

/// Runs the CEL parser on its own thread with a large stack; a panic inside it becomes an
/// error, and the panic hook installed here prints nothing for that thread.
fn parse_silently(text: &str) -> Result<IdedExpr, String> {
    silence_parser_panics();
    let owned = text.to_string();
    let worker = std::thread::Builder::new()
        .name(PARSER_THREAD.into())
        .stack_size(PARSER_STACK_BYTES)
        .spawn(move || {
            cel_parser::Parser::new()
                .parse(&owned)
                .map_err(|error| error.to_string().replace('\n', " "))
        });
    match worker {
        Ok(handle) => match handle.join() {
            Ok(result) => result,
            Err(_) => Err("the expression could not be parsed".into()),
        },
        Err(error) => Err(format!("no thread to parse the rule: {error}")),
    }
}

/// Installs, once per process, a panic hook that keeps quiet for the parser thread and passes
/// every other panic to the hook that was there before.
fn silence_parser_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() != Some(PARSER_THREAD) {
                previous(info);
            }
        }));
    });
}

/// Depth of the tree, counting every node.
fn depth(expression: &IdedExpr) -> usize {
    1 + children(expression)
        .into_iter()
        .map(depth)
        .max()
        .unwrap_or(0)
}

fn children(expression: &IdedExpr) -> Vec<&IdedExpr> {
    match &expression.expr {
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => Vec::new(),
        Expr::Call(call) => call
            .target
            .iter()
            .map(|t| t.as_ref())
            .chain(call.args.iter())
            .collect(),
        Expr::Comprehension(c) => vec![
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ],
        Expr::List(list) => list.elements.iter().collect(),
        Expr::Map(map) => map.entries.iter().flat_map(entry_children).collect(),
        Expr::Select(select) => vec![&select.operand],
        Expr::Struct(s) => s.entries.iter().flat_map(entry_children).collect(),
    }
}

fn entry_children(entry: &cel_parser::ast::IdedEntryExpr) -> Vec<&IdedExpr> {
    match &entry.expr {
        EntryExpr::StructField(field) => vec![&field.value],
        EntryExpr::MapEntry(e) => vec![&e.key, &e.value],
    }
}

/// Upper bounds on a value's size: the length of the value itself when it is a list (0 for a
/// scalar), and the longest list anywhere inside it (its elements, their elements...).
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    length: u64,
    inner: u64,
}

impl Size {
    /// The size of any element of a value of this size.
    fn element(self) -> Size {
        Size {
            length: self.inner,
            inner: self.inner,
        }
    }

    fn widest(self, other: Size) -> Size {
        Size {
            length: self.length.max(other.length),
            inner: self.inner.max(other.inner),
        }
    }
}

/// An upper bound on evaluation steps and on the sizes of the values computed.
struct Estimate {
    bounds: RuleBounds,
    /// Comprehension variables in scope, with the size each can hold.
    bound_names: BTreeMap<String, Size>,
}

impl Estimate {
    /// Returns (steps, size) for `expression`; steps saturate at u64::MAX.
    fn measure(&mut self, expression: &IdedExpr) -> (u64, Size) {
        match &expression.expr {
            Expr::Unspecified | Expr::Literal(_) => (1, Size::default()),
            Expr::Ident(name) => {
                let size = match self.bound_names.get(name) {
                    Some(size) => *size,
                    None if name == "focus_areas" || name == "missing" => Size {
                        length: self.bounds.list_elements,
                        inner: 0,
                    },
                    None => Size::default(),
                };
                (1, size)
            }
            Expr::Select(select) => {
                let (steps, size) = self.measure(&select.operand);
                (steps.saturating_add(1), size.element().widest(size))
            }
            Expr::List(_) | Expr::Map(_) | Expr::Struct(_) => {
                let parts = children(expression);
                let count = parts.len() as u64;
                let mut steps = 1 + count;
                let mut inner = 0;
                for part in parts {
                    let (s, z) = self.measure(part);
                    steps = steps.saturating_add(s);
                    inner = inner.max(z.length).max(z.inner);
                }
                (
                    steps,
                    Size {
                        length: count,
                        inner,
                    },
                )
            }
            Expr::Call(call) => {
                // Any function may walk its arguments once (`in`, `max`, `+` on lists copying).
                let (mut steps, mut lengths, mut widest) = (1u64, 0u64, Size::default());
                for part in call
                    .target
                    .iter()
                    .map(|t| t.as_ref())
                    .chain(call.args.iter())
                {
                    let (s, z) = self.measure(part);
                    steps = steps.saturating_add(s).saturating_add(z.length);
                    lengths = lengths.saturating_add(z.length);
                    widest = widest.widest(z);
                }
                let size = match call.func_name.as_str() {
                    "_+_" => Size {
                        length: lengths,
                        inner: widest.inner,
                    },
                    "_[_]" => widest.element().widest(widest),
                    _ => widest,
                };
                (steps, size)
            }
            Expr::Comprehension(c) => {
                let (range_steps, range) = self.measure(&c.iter_range);
                let n = range.length;
                let (init_steps, init) = self.measure(&c.accu_init);
                let saved: Vec<(String, Option<Size>)> = std::iter::once(&c.iter_var)
                    .chain(c.iter_var2.iter())
                    .chain(std::iter::once(&c.accu_var))
                    .map(|name| (name.clone(), self.bound_names.get(name).copied()))
                    .collect();
                // Iterating a map binds keys; a list, elements: either is at most an element's size.
                self.bound_names.insert(c.iter_var.clone(), range.element());
                if let Some(second) = &c.iter_var2 {
                    self.bound_names.insert(second.clone(), range.element());
                }
                // The accumulator keeps its size (all, exists) or grows by the step's addition on
                // every iteration (map, filter): measure one step to see which.
                self.bound_names.insert(c.accu_var.clone(), init);
                let (_, grown) = self.measure(&c.loop_step);
                let accumulated = Size {
                    length: init
                        .length
                        .saturating_add(n.saturating_mul(grown.length.saturating_sub(init.length))),
                    inner: grown.inner.max(init.inner),
                };
                self.bound_names.insert(c.accu_var.clone(), accumulated);
                let (cond_steps, _) = self.measure(&c.loop_cond);
                let (step_steps, _) = self.measure(&c.loop_step);
                let (result_steps, result) = self.measure(&c.result);
                for (name, before) in saved {
                    match before {
                        Some(size) => self.bound_names.insert(name, size),
                        None => self.bound_names.remove(&name),
                    };
                }
                let body = cond_steps.saturating_add(step_steps).saturating_add(1);
                let steps = range_steps
                    .saturating_add(init_steps)
                    .saturating_add(n.saturating_mul(body))
                    .saturating_add(result_steps);
                (steps, result.widest(accumulated))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds() -> RuleBounds {
        RuleBounds { list_elements: 10 }
    }

    fn list(n: usize) -> String {
        format!(
            "[{}]",
            (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
        )
    }

    #[test]
    fn the_example_rules_compile_and_run() {
        for text in [
            "focus && unit_kind != \"segment\" && score >= 75.0",
            "true",
            "focus_areas.exists(f, f == 'ai') || 'growth' in missing",
            "[1, 2, 3].all(x, x > 0)",
        ] {
            let rule = Rule::compile(text, bounds()).unwrap_or_else(|e| panic!("{text}: {e}"));
            let mut context = Context::default();
            context.add_variable_from_value("focus", true);
            context.add_variable_from_value("unit_kind", "company");
            context.add_variable_from_value("score", 80.0);
            context.add_variable_from_value("focus_areas", vec!["ai"]);
            context.add_variable_from_value("missing", Vec::<String>::new());
            assert!(
                matches!(rule.execute(&context), Ok(Value::Bool(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn brackets_nested_two_thousand_deep_are_refused_before_the_parser() {
        let text = format!("{}true{}", "(".repeat(2000), ")".repeat(2000));
        let error = Rule::compile(&text, bounds()).unwrap_err();
        assert!(error.contains("nest more than 32 deep"), "{error}");
    }

    #[test]
    fn nesting_at_the_limit_parses_and_runs_on_a_small_stack() {
        // The test thread has 2 MB: evaluation at the depth limit must fit in it.
        let text = format!(
            "{}true{}",
            "(".repeat(MAX_RULE_BRACKETS),
            ")".repeat(MAX_RULE_BRACKETS)
        );
        let rule = Rule::compile(&text, bounds()).unwrap();
        assert!(matches!(
            rule.execute(&Context::default()),
            Ok(Value::Bool(true))
        ));
        let chain = vec!["1"; MAX_RULE_DEPTH - 2].join(" + ") + " > 0";
        let rule = Rule::compile(&chain, bounds()).unwrap();
        assert!(matches!(
            rule.execute(&Context::default()),
            Ok(Value::Bool(true))
        ));
    }

    #[test]
    fn a_long_operator_chain_is_refused_by_depth() {
        let chain = vec!["1"; 500].join(" + ") + " > 0";
        let error = Rule::compile(&chain, bounds()).unwrap_err();
        assert!(error.contains("levels deep"), "{error}");
    }

    #[test]
    fn three_nested_alls_over_long_lists_are_refused_before_running() {
        // The issue's case had 1,000-element lists; within the length limit, 300 each.
        let l = list(300);
        let text = format!("{l}.all(x, {l}.all(y, {l}.all(z, x + y + z >= 0)))");
        let error = Rule::compile(&text, bounds()).unwrap_err();
        assert!(error.contains("steps per unit"), "{error}");
        let small = list(20);
        Rule::compile(
            &format!("{small}.all(x, {small}.all(y, x + y >= 0))"),
            bounds(),
        )
        .unwrap();
    }

    #[test]
    fn the_variables_lists_count_towards_the_work() {
        let l = list(20);
        let text = format!("{l}.all(x, missing.all(y, {l}.exists(z, z == x)))");
        if let Err(error) = Rule::compile(&text, RuleBounds { list_elements: 1 }) {
            panic!("{error}");
        }
        assert!(Rule::compile(
            &text,
            RuleBounds {
                list_elements: 1000
            }
        )
        .is_err());
    }

    #[test]
    fn unbalanced_text_is_an_error_without_reaching_the_parser() {
        for (text, words) in [
            ("focus && (", "never closed"),
            ("focus )", "closes no matching"),
            ("unit == 'abc", "never closed"),
            ("[1, 2}", "closes no matching"),
        ] {
            let error = Rule::compile(text, bounds()).unwrap_err();
            assert!(error.contains(words), "{text}: {error}");
        }
    }

    /// The parser recurses on chains that are not brackets (selections, ternaries, binary and
    /// unary operators) before the depth can be measured: every such chain as long as the
    /// length limit allows must come back as an answer, not a stack overflow.
    #[test]
    fn the_longest_chains_of_every_kind_are_answered() {
        let fill = |unit: &str, tail: &str| {
            let n = (MAX_RULE_CHARS - tail.len()) / unit.len();
            unit.repeat(n)
        };
        let texts = [
            format!("unit{}", fill(".a", "unit")),
            format!("{}1", fill("true ? 1 : ", "1")),
            format!("{}1 > 0", fill("1 + ", "1 > 0")),
            format!("{}true", fill("true || ", "true")),
            format!("{}true", fill("!", "true")),
            format!("{}1 > 0", fill("-", "1 > 0")),
            format!("{}1 > 0", fill("1 * 2 - ", "1 > 0")),
            format!("{}true", fill("true && false || ", "true")),
            format!("{}0", fill("1 < ", "0")),
        ];
        for text in &texts {
            assert!(text.chars().count() <= MAX_RULE_CHARS);
            if let Ok(rule) = Rule::compile(text, bounds()) {
                let _ = rule.execute(&Context::default());
            }
        }
    }

    #[test]
    fn too_long_a_text_is_refused() {
        let text = format!("unit == '{}'", "a".repeat(MAX_RULE_CHARS));
        assert!(Rule::compile(&text, bounds())
            .unwrap_err()
            .contains("characters long"));
    }
}

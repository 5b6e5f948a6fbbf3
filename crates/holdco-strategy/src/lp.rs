//! A small linear programme in the form holdco builds (maximise c·x, 0 <= x <= u, rows
//! `a·x <= b` or `a·x >= b`, each row in a named group), solved with clarabel through
//! good_lp, exported as free MPS, and diagnosed when infeasible.
//!
//! Shadow prices come from clarabel's dual values (good_lp scales them to "objective change
//! per unit more right-hand side"). When the optimum is degenerate (a bound that binds is
//! implied by others, e.g. a total equal to the sum of the yearly budgets) the dual is not
//! unique and one value says nothing reliable; [`Lp::rates`] then measures the one-sided
//! rates by solving again with the right-hand side moved up and down by a step.

use good_lp::solvers::clarabel::clarabel;
use good_lp::{
    DualValues as _, Expression, ProblemVariables, ResolutionError, Solution as _,
    SolutionWithDual as _, SolverModel as _,
};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// The direction of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Sense {
    /// `a·x <= b`.
    AtMost,
    /// `a·x >= b`.
    AtLeast,
}

/// One constraint row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Unique name (MPS-safe: no spaces).
    pub name: String,
    /// The group it belongs to (the unit of infeasibility diagnosis), e.g. `budget:2026`.
    pub group: String,
    /// Sparse coefficients (variable index, coefficient).
    pub terms: Vec<(usize, f64)>,
    /// Direction.
    pub sense: Sense,
    /// Right-hand side.
    pub rhs: f64,
}

/// A maximisation over non-negative variables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lp {
    /// Variable names (MPS-safe).
    pub names: Vec<String>,
    /// Objective coefficients (maximised).
    pub objective: Vec<f64>,
    /// Upper bounds (none: unbounded above).
    pub upper: Vec<Option<f64>>,
    /// Rows.
    pub rows: Vec<Row>,
}

/// An optimal solution.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// Objective value.
    pub objective: f64,
    /// Variable values.
    pub x: Vec<f64>,
    /// Per row: the objective gained by one more unit of right-hand side.
    pub duals: Vec<f64>,
}

/// Why no solution came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LpError {
    /// No allocation satisfies every row.
    Infeasible,
    /// The objective can grow without end (a tranche without a size).
    Unbounded,
    /// The solver stopped for another reason.
    Solver(String),
}

impl std::fmt::Display for LpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LpError::Infeasible => f.write_str("infeasible"),
            LpError::Unbounded => f.write_str("unbounded"),
            LpError::Solver(message) => write!(f, "solver: {message}"),
        }
    }
}

impl Lp {
    /// Adds a variable and returns its index.
    pub fn variable(&mut self, name: String, objective: f64, upper: Option<f64>) -> usize {
        self.names.push(name);
        self.objective.push(objective);
        self.upper.push(upper);
        self.names.len() - 1
    }

    /// The left-hand side of a row at `x`.
    pub fn activity(&self, row: &Row, x: &[f64]) -> f64 {
        row.terms.iter().map(|(i, a)| a * x[*i]).sum()
    }

    /// Solves the programme without the rows of the groups in `skip`.
    pub fn solve_without(&self, skip: &BTreeSet<String>) -> Result<Solution, LpError> {
        self.solve_with(skip, true)
    }

    /// Solves without the rows of `skip`; with `optimise` false only feasibility is asked
    /// (a zero objective), so dropping rows can never make the question unbounded.
    fn solve_with(&self, skip: &BTreeSet<String>, optimise: bool) -> Result<Solution, LpError> {
        let mut variables = ProblemVariables::new();
        let vars: Vec<good_lp::Variable> = self
            .upper
            .iter()
            .map(|upper| {
                let definition = good_lp::variable().min(0.0);
                variables.add(match upper {
                    Some(u) => definition.max(*u),
                    None => definition,
                })
            })
            .collect();
        let mut objective = Expression::with_capacity(vars.len());
        for (v, c) in vars.iter().zip(&self.objective) {
            if optimise && *c != 0.0 {
                objective.add_mul(*c, *v);
            }
        }
        let mut problem = variables.maximise(objective).using(clarabel);
        problem.settings().verbose(false);
        let mut references = Vec::with_capacity(self.rows.len());
        for row in &self.rows {
            if skip.contains(&row.group) {
                references.push(None);
                continue;
            }
            let mut lhs = Expression::with_capacity(row.terms.len());
            for (i, a) in &row.terms {
                lhs.add_mul(*a, vars[*i]);
            }
            let constraint = match row.sense {
                Sense::AtMost => lhs.leq(row.rhs),
                Sense::AtLeast => lhs.geq(row.rhs),
            };
            references.push(Some(problem.add_constraint(constraint)));
        }
        let mut solution = match problem.solve() {
            Ok(solution) => solution,
            Err(ResolutionError::Infeasible) => return Err(LpError::Infeasible),
            Err(ResolutionError::Unbounded) => return Err(LpError::Unbounded),
            Err(other) => return Err(LpError::Solver(other.to_string())),
        };
        let x: Vec<f64> = vars.iter().map(|v| solution.value(*v)).collect();
        if x.iter().any(|v| !v.is_finite()) {
            return Err(LpError::Unbounded);
        }
        let objective = x.iter().zip(&self.objective).map(|(x, c)| x * c).sum();
        let dual = solution.compute_dual();
        let duals = references
            .into_iter()
            .map(|r| r.map(|r| dual.dual(r)).unwrap_or(0.0))
            .collect();
        Ok(Solution {
            objective,
            x,
            duals,
        })
    }

    /// True when some allocation satisfies every row outside the groups in `skip` (the
    /// objective plays no part, so the answer is never "unbounded").
    pub fn feasible_without(&self, skip: &BTreeSet<String>) -> bool {
        !matches!(self.solve_with(skip, false), Err(LpError::Infeasible))
    }

    /// Solves the whole programme.
    pub fn solve(&self) -> Result<Solution, LpError> {
        self.solve_without(&BTreeSet::new())
    }

    /// The one-sided rates of row `row` at the optimum `objective`: the objective gained per
    /// unit when its right-hand side is raised by `step`, and lost per unit when it is
    /// lowered by `step` (both as "objective per unit more right-hand side"; `None` where
    /// the moved programme has no solution, e.g. a floor raised beyond what the tranches
    /// hold). The value of a linear programme is concave and piecewise linear in a
    /// right-hand side, so `up <= down`; they differ exactly at a kink, where the
    /// solver's single dual is only one point of the range `[up, down]`.
    pub fn rates(&self, row: usize, objective: f64, step: f64) -> (Option<f64>, Option<f64>) {
        let moved = |delta: f64| {
            let mut lp = self.clone();
            lp.rows[row].rhs += delta;
            lp.solve().ok().map(|s| s.objective)
        };
        let up = moved(step).map(|v| (v - objective) / step);
        let down = moved(-step).map(|v| (objective - v) / step);
        (up, down)
    }

    /// Every group, in first-row order.
    pub fn groups(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        self.rows
            .iter()
            .filter(|r| seen.insert(r.group.clone()))
            .map(|r| r.group.clone())
            .collect()
    }

    /// For an infeasible programme: a smallest set of groups that still conflict, found by a
    /// deletion filter (drop each group in turn; keep it dropped while the rest stays
    /// infeasible). What is left is irreducible: removing any one group makes it feasible.
    pub fn conflict(&self) -> Vec<String> {
        let mut dropped = BTreeSet::new();
        let groups = self.groups();
        for group in &groups {
            dropped.insert(group.clone());
            if self.feasible_without(&dropped) {
                dropped.remove(group);
            }
        }
        groups
            .into_iter()
            .filter(|g| !dropped.contains(g))
            .collect()
    }

    /// The programme in free MPS (maximisation stated with `OBJSENSE MAX`).
    pub fn to_mps(&self, name: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "NAME {name}");
        let _ = writeln!(out, "OBJSENSE\n    MAX");
        let _ = writeln!(out, "ROWS\n N obj");
        for row in &self.rows {
            let _ = writeln!(
                out,
                " {} {}",
                if row.sense == Sense::AtMost { "L" } else { "G" },
                row.name
            );
        }
        // Columns: every variable's objective and row coefficients, in variable order.
        let mut by_column: Vec<Vec<(usize, f64)>> = vec![Vec::new(); self.names.len()];
        for (r, row) in self.rows.iter().enumerate() {
            for (i, a) in &row.terms {
                by_column[*i].push((r, *a));
            }
        }
        let _ = writeln!(out, "COLUMNS");
        for (i, name) in self.names.iter().enumerate() {
            let _ = writeln!(out, " {name} obj {}", self.objective[i]);
            for (r, a) in &by_column[i] {
                let _ = writeln!(out, " {name} {} {a}", self.rows[*r].name);
            }
        }
        let _ = writeln!(out, "RHS");
        for row in &self.rows {
            if row.rhs != 0.0 {
                let _ = writeln!(out, " rhs {} {}", row.name, row.rhs);
            }
        }
        let _ = writeln!(out, "BOUNDS");
        for (i, name) in self.names.iter().enumerate() {
            if let Some(u) = self.upper[i] {
                let _ = writeln!(out, " UP bnd {name} {u}");
            }
        }
        let _ = writeln!(out, "ENDATA");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Lp {
        let mut lp = Lp::default();
        let a = lp.variable("a".into(), 2.0, Some(10.0));
        let b = lp.variable("b".into(), 1.0, None);
        lp.rows.push(Row {
            name: "budget".into(),
            group: "budget".into(),
            terms: vec![(a, 1.0), (b, 1.0)],
            sense: Sense::AtMost,
            rhs: 15.0,
        });
        lp.rows.push(Row {
            name: "floor_b".into(),
            group: "floor".into(),
            terms: vec![(b, 1.0)],
            sense: Sense::AtLeast,
            rhs: 2.0,
        });
        lp
    }

    #[test]
    fn solves_and_prices_the_budget() {
        let solution = small().solve().unwrap();
        assert!(
            (solution.objective - 25.0).abs() < 1e-5,
            "{}",
            solution.objective
        );
        assert!(
            (solution.duals[0] - 1.0).abs() < 1e-5,
            "budget dual {}",
            solution.duals[0]
        );
        assert!(
            solution.duals[1].abs() < 1e-5,
            "floor not binding {}",
            solution.duals[1]
        );
    }

    #[test]
    fn one_sided_rates_differ_at_a_degenerate_optimum() {
        // A total of 15 equal to the one budget of 15: both bind, the dual of either alone
        // is not unique. One more unit of either adds nothing (the other still binds); one
        // less of either loses the marginal use's 1 per unit.
        let mut lp = small();
        lp.rows.push(Row {
            name: "total".into(),
            group: "total".into(),
            terms: vec![(0, 1.0), (1, 1.0)],
            sense: Sense::AtMost,
            rhs: 15.0,
        });
        let solution = lp.solve().unwrap();
        for row in [0, 2] {
            let (up, down) = lp.rates(row, solution.objective, 0.5);
            assert!(up.unwrap().abs() < 1e-4, "row {row}: up {up:?}");
            assert!(
                (down.unwrap() - 1.0).abs() < 1e-4,
                "row {row}: down {down:?}"
            );
        }
        // A non-degenerate row has one rate both ways, equal to its dual.
        let (up, down) = small().rates(0, 25.0, 0.5);
        assert!(
            (up.unwrap() - 1.0).abs() < 1e-4 && (down.unwrap() - 1.0).abs() < 1e-4,
            "{up:?} {down:?}"
        );
        // Lowering the floor of b (2) is free; raising it beyond the budget has no solution.
        let mut tight = small();
        tight.rows[1].rhs = 15.0;
        let objective = tight.solve().unwrap().objective;
        assert_eq!(tight.rates(1, objective, 0.5).0, None);
    }

    #[test]
    fn a_conflict_names_the_rows_that_clash() {
        let mut lp = small();
        lp.rows.push(Row {
            name: "floor_a".into(),
            group: "floor_a".into(),
            terms: vec![(0, 1.0)],
            sense: Sense::AtLeast,
            rhs: 9.0,
        });
        lp.rows.push(Row {
            name: "cap".into(),
            group: "cap".into(),
            terms: vec![(0, 1.0), (1, 1.0)],
            sense: Sense::AtMost,
            rhs: 10.0,
        });
        lp.rows.push(Row {
            name: "unrelated".into(),
            group: "unrelated".into(),
            terms: vec![(1, 1.0)],
            sense: Sense::AtMost,
            rhs: 100.0,
        });
        assert_eq!(lp.solve(), Err(LpError::Infeasible));
        assert_eq!(
            lp.conflict(),
            vec![
                "floor".to_string(),
                "floor_a".to_string(),
                "cap".to_string()
            ]
        );
    }
}

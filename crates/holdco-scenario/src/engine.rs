//! The Monte Carlo engine: projections per unit, sum-of-the-parts value per path, and the
//! statistics kept while paths stream by.
//!
//! A [`Projection`] is a scenario compiled against the model (see [`crate::compile`]): parts
//! with their base-year figures and distributions, the group's share in each, and the
//! group-level items. [`simulate`] runs one or more projections on the *same* paths: every
//! draw comes from [`crate::rng`] keyed by (seed, the assumption's name, path, year), so two
//! scenarios that share an assumption see the same numbers on every path (common random
//! numbers) and comparisons are paired. Paths go in fixed chunks; each chunk's statistics
//! are computed alone and merged in chunk order, so the result does not depend on the number
//! of threads, and memory holds one wave of chunk statistics, never the paths.

use crate::dist::Dist;
use crate::rng;
use crate::stats::{Moments, Sketch};
use rayon::prelude::*;
use serde::Serialize;

/// Paths per chunk (the unit of work and of determinism).
pub const CHUNK: u64 = 2048;
/// Chunks computed between two merges (bounds memory whatever the number of paths).
const WAVE: u64 = 32;
/// Relative accuracy of the quantile sketches.
pub const SKETCH_ALPHA: f64 = 0.002;
/// Normal score of the 10th/90th percentile, the swing of the tornado.
pub const Z90: f64 = 1.281_551_565_544_600_5;

/// A random input: a flat assumption key, its random stream and its distribution(s).
#[derive(Debug, Clone)]
pub struct Var {
    /// Flat key, e.g. `unit.cloud_intelligence.growth` (names the stream: same key, same draws).
    pub name: String,
    /// Stream id derived from the name.
    pub stream: u64,
    /// One distribution for every year, or one per year.
    pub dists: Vec<Dist>,
}

impl Var {
    /// A variable named `name` with `dists`.
    pub fn new(name: impl Into<String>, dists: Vec<Dist>) -> Var {
        let name = name.into();
        Var { stream: rng::stream_id(&name), name, dists }
    }

    /// A variable with one distribution.
    pub fn one(name: impl Into<String>, dist: Dist) -> Var {
        Var::new(name, vec![dist])
    }

    /// The value in year `t` (0-based) at normal score `z`.
    #[inline]
    pub fn at(&self, t: usize, z: f64) -> f64 {
        self.dists[t.min(self.dists.len() - 1)].at_z(z)
    }

    /// True when it cannot vary.
    pub fn is_fixed(&self) -> bool {
        self.dists.iter().all(Dist::is_fixed)
    }
}

/// What a multiple applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// EV / EBITA.
    Ebita,
    /// EV / revenue.
    Revenue,
}

/// A unit valued as a part of the sum.
#[derive(Debug, Clone)]
pub struct Part {
    /// Unit id.
    pub unit: String,
    /// Display name.
    pub name: String,
    /// Revenue of the base year.
    pub revenue0: f64,
    /// Yearly revenue growth.
    pub growth: Var,
    /// EBITA margin (one score per path: a pessimistic path stays pessimistic).
    pub margin: Var,
    /// Valuation multiple (drawn once per path).
    pub multiple: Var,
    /// What the multiple applies to.
    pub basis: Basis,
    /// Capital allocated per projection year (from the capital plan).
    pub capital: Vec<f64>,
    /// Growth added per unit of capital / previous year's revenue.
    pub elasticity: f64,
    /// The group's economic share kept (valued with the holding discount).
    pub held: f64,
    /// Share the shareholders hold directly after a spin-off (no holding discount).
    pub direct: f64,
    /// Factor the part enters the group's reported revenue and EBITA with (fan charts).
    pub report: f64,
    /// Share of the part's earnings lost from year `.1` on (dis-synergies of a separation).
    pub dis_synergy: Option<(Var, usize)>,
    /// Why the part is where it is (held, spun off on DATE, sold on DATE...).
    pub status: String,
}

/// How parts are valued.
#[derive(Debug, Clone)]
pub enum Method {
    /// A multiple of revenue or EBITA in projection year `year` (1 = the first projected
    /// year, a forward multiple), discounted back `year - 1` years at `rate` if given.
    Multiple {
        /// Projection year the multiple applies to (1-based).
        year: usize,
        /// Discount rate for years beyond the first.
        rate: Option<Var>,
    },
    /// Discounted cash flow: free cash flow = EBITA x conversion, Gordon terminal value.
    Dcf {
        /// Discount rate.
        wacc: Var,
        /// Growth after the horizon.
        terminal_growth: Var,
        /// Free cash flow per unit of EBITA (after tax and reinvestment).
        conversion: Var,
    },
}

/// How growth scores are correlated across parts.
#[derive(Debug, Clone)]
pub enum Correlation {
    /// Independent.
    None,
    /// Every part loads `rho` on one common factor: pairwise correlation `rho`.
    Factor(f64),
    /// Lower-triangular factor L (parts order): z = L e.
    Matrix(Vec<Vec<f64>>),
}

/// A scenario ready to simulate.
#[derive(Debug, Clone)]
pub struct Projection {
    /// Scenario name.
    pub name: String,
    /// Labels of the projection years.
    pub years: Vec<String>,
    /// The parts.
    pub parts: Vec<Part>,
    /// Growth correlation.
    pub correlation: Correlation,
    /// Valuation method.
    pub method: Method,
    /// Net cash (added without discount).
    pub net_cash: Option<Var>,
    /// Other assets, e.g. stakes outside the parts (added without discount).
    pub other_assets: Option<Var>,
    /// Holding (conglomerate) discount on the parts the group keeps.
    pub discount: Option<Var>,
    /// One-off separation costs.
    pub costs: Vec<Var>,
    /// Cash from sales and listings.
    pub proceeds: Vec<Var>,
}

/// Name of the common growth factor's stream (shared by every scenario: paired draws).
pub const FACTOR: &str = "correlation.factor";

impl Projection {
    /// Names of the bridge lines, in order: one per part, then the group items.
    pub fn line_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.parts.iter().map(|p| p.name.clone()).collect();
        names.extend(["dis-synergies", "holding discount", "separation and integration costs", "sale and listing proceeds", "net cash", "other assets"].map(String::from));
        names
    }

    /// Every random input, by name (for the tornado).
    pub fn vars(&self) -> Vec<&Var> {
        let mut vars: Vec<&Var> = Vec::new();
        for part in &self.parts {
            vars.extend([&part.growth, &part.margin, &part.multiple]);
            if let Some((var, _)) = &part.dis_synergy {
                vars.push(var);
            }
        }
        match &self.method {
            Method::Multiple { rate, .. } => vars.extend(rate.iter()),
            Method::Dcf { wacc, terminal_growth, conversion } => vars.extend([wacc, terminal_growth, conversion]),
        }
        vars.extend(self.net_cash.iter().chain(self.other_assets.iter()).chain(self.discount.iter()));
        vars.extend(self.costs.iter().chain(self.proceeds.iter()));
        vars.retain(|v| !v.is_fixed());
        vars
    }
}

/// Where a path's random inputs come from.
pub trait Scores {
    /// The key of a stream on this path.
    fn key(&self, stream: u64) -> u64;
    /// The normal score of step `step` of a keyed stream.
    fn z(&self, key: u64, step: u64) -> f64;
    /// A uniform in (0, 1) for step `step` of a keyed stream.
    fn u(&self, key: u64, step: u64) -> f64;
    /// Normal scores of steps `0..steps` of every key: `out[k * steps + t]`.
    fn fill(&self, keys: &[u64], steps: usize, out: &mut [f64]) {
        for (k, key) in keys.iter().enumerate() {
            for t in 0..steps {
                out[k * steps + t] = self.z(*key, t as u64);
            }
        }
    }
    /// False when scores are set by hand and must reach the inputs as given (a tornado
    /// shock on one unit's growth moves that growth to its P90, not a factor-diluted share).
    fn correlated(&self) -> bool {
        true
    }
}

/// Random scores of one path.
struct Random {
    seed: u64,
    path: u64,
}

impl Scores for Random {
    #[inline]
    fn key(&self, stream: u64) -> u64 {
        rng::key(self.seed, stream, self.path)
    }
    #[inline]
    fn z(&self, key: u64, step: u64) -> f64 {
        rng::std_normal(rng::bits(key, step))
    }
    #[inline]
    fn u(&self, key: u64, step: u64) -> f64 {
        rng::uniform(rng::bits(key, step))
    }
}

/// Every input at its median except one stream at a fixed score (tornado).
struct Shocked {
    stream: u64,
    z: f64,
}

impl Scores for Shocked {
    fn key(&self, stream: u64) -> u64 {
        stream
    }
    fn z(&self, key: u64, _step: u64) -> f64 {
        if key == self.stream {
            self.z
        } else {
            0.0
        }
    }
    fn u(&self, key: u64, _step: u64) -> f64 {
        if key == self.stream {
            rng::norm_cdf(self.z)
        } else {
            0.5
        }
    }
    fn correlated(&self) -> bool {
        self.stream == rng::stream_id(FACTOR)
    }
}

/// One draw of an input that is not correlated with others: normal and lognormal from a
/// normal score, other distributions from a uniform through their quantile function (the
/// same law, without a normal CDF per draw). The same (key, step) gives comonotone draws
/// across the years of a path for distributions of one family.
#[inline]
fn sample(dist: &Dist, scores: &impl Scores, key: u64, step: u64) -> f64 {
    match dist {
        Dist::Fixed(value) => *value,
        Dist::Normal { .. } | Dist::LogNormal { .. } => dist.at_z(scores.z(key, step)),
        _ => dist.quantile(scores.u(key, step)),
    }
}

/// One draw of a per-path input.
#[inline]
fn draw(var: &Var, scores: &impl Scores) -> f64 {
    match &var.dists[..] {
        [Dist::Fixed(value)] => *value,
        [dist] if dist.is_fixed() => dist.at_z(0.0),
        dists => sample(&dists[0], scores, scores.key(var.stream), 0),
    }
}

/// Scratch space for one path, reused: per part-year arrays are laid out year-major
/// (`[t * parts + u]`) so the yearly loop runs over contiguous parts.
#[derive(Default)]
struct Scratch {
    keys: Vec<u64>,
    z: Vec<f64>,
    e: Vec<f64>,
    factor: Vec<f64>,
    growth: Vec<f64>,
    margin: Vec<f64>,
    keep: Vec<f64>,
    revenue: Vec<f64>,
    pv: Vec<f64>,
    lost: Vec<f64>,
    at_multiple: Vec<f64>,
    last_cash: Vec<f64>,
    last_lost: Vec<f64>,
    discount_factors: Vec<f64>,
}

/// One path's results.
struct PathOut {
    value: f64,
    lines: Vec<f64>,
    revenue: Vec<f64>,
    ebita: Vec<f64>,
}

impl PathOut {
    fn new(projection: &Projection) -> PathOut {
        let years = projection.years.len();
        PathOut { value: 0.0, lines: vec![0.0; projection.parts.len() + 6], revenue: vec![0.0; years], ebita: vec![0.0; years] }
    }
}

/// Lanes of the partial sums across parts (fixed, so sums are the same on every machine).
const LANES: usize = 8;

/// Sum of `a[i] * b[i]` in a fixed order: LANES partial sums, then their sum.
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0; LANES];
    let chunks = a.len() / LANES;
    for c in 0..chunks {
        for j in 0..LANES {
            lanes[j] += a[c * LANES + j] * b[c * LANES + j];
        }
    }
    let mut total = 0.0;
    for i in chunks * LANES..a.len() {
        total += a[i] * b[i];
    }
    lanes.iter().sum::<f64>() + total
}

fn reset(v: &mut Vec<f64>, len: usize, value: f64) {
    v.clear();
    v.resize(len, value);
}

/// Values one path of one projection.
fn path(projection: &Projection, scores: &impl Scores, scratch: &mut Scratch, out: &mut PathOut) {
    let years = projection.years.len();
    let n = projection.parts.len();
    out.lines.iter_mut().for_each(|v| *v = 0.0);
    // 1. Growth scores, one row of years per part, then correlated.
    scratch.keys.clear();
    scratch.keys.extend(projection.parts.iter().map(|p| scores.key(p.growth.stream)));
    reset(&mut scratch.z, n * years, 0.0);
    scores.fill(&scratch.keys, years, &mut scratch.z);
    let correlation = if scores.correlated() { &projection.correlation } else { &Correlation::None };
    match correlation {
        Correlation::None => {}
        Correlation::Factor(rho) => {
            let key = scores.key(rng::stream_id(FACTOR));
            let (a, b) = (rho.sqrt(), (1.0 - rho).sqrt());
            scratch.factor.clear();
            scratch.factor.extend((0..years).map(|t| a * scores.z(key, t as u64)));
            for row in scratch.z.chunks_exact_mut(years) {
                for (z, f) in row.iter_mut().zip(&scratch.factor) {
                    *z = f + b * *z;
                }
            }
        }
        Correlation::Matrix(factor) => {
            scratch.e.clear();
            scratch.e.extend_from_slice(&scratch.z);
            for t in 0..years {
                for u in 0..n {
                    let mut z = 0.0;
                    for (j, l) in factor[u].iter().enumerate().take(u + 1) {
                        z += l * scratch.e[j * years + t];
                    }
                    scratch.z[u * years + t] = z;
                }
            }
        }
    }
    // 2. Growth, margins and dis-synergies per part and year (year-major).
    reset(&mut scratch.growth, n * years, 0.0);
    reset(&mut scratch.margin, n * years, 0.0);
    reset(&mut scratch.keep, n * years, 1.0);
    let mut multiples = [0.0f64; 0].to_vec();
    multiples.reserve(n);
    for (u, part) in projection.parts.iter().enumerate() {
        let row = &scratch.z[u * years..(u + 1) * years];
        match &part.growth.dists[..] {
            [Dist::Normal { mean, sd }] => {
                for (t, z) in row.iter().enumerate() {
                    scratch.growth[t * n + u] = mean + sd * z;
                }
            }
            _ => {
                for (t, z) in row.iter().enumerate() {
                    scratch.growth[t * n + u] = part.growth.at(t, *z);
                }
            }
        }
        if part.held + part.direct == 0.0 && part.report == 0.0 {
            multiples.push(0.0);
            continue;
        }
        match &part.margin.dists[..] {
            [dist] => {
                let m = if dist.is_fixed() { dist.at_z(0.0) } else { sample(dist, scores, scores.key(part.margin.stream), 0) };
                for t in 0..years {
                    scratch.margin[t * n + u] = m;
                }
            }
            dists => {
                let key = scores.key(part.margin.stream);
                for t in 0..years {
                    scratch.margin[t * n + u] = sample(&dists[t.min(dists.len() - 1)], scores, key, 0);
                }
            }
        }
        if let Some((var, from)) = &part.dis_synergy {
            let ds = draw(var, scores);
            for t in (*from).min(years)..years {
                scratch.keep[t * n + u] = 1.0 - ds;
            }
        }
        multiples.push(draw(&part.multiple, scores));
    }
    // 3. Valuation inputs of the path.
    let (multiple_year, dcf) = match &projection.method {
        Method::Multiple { year, rate } => {
            let r = rate.as_ref().map(|r| draw(r, scores)).unwrap_or(0.0);
            scratch.discount_factors.clear();
            scratch.discount_factors.push((1.0 + r).powi(-(*year as i32 - 1)));
            (*year - 1, None)
        }
        Method::Dcf { wacc, terminal_growth, conversion } => {
            let w = draw(wacc, scores);
            let g = draw(terminal_growth, scores);
            let c = draw(conversion, scores);
            scratch.discount_factors.clear();
            let mut factor = 1.0;
            for _ in 0..years {
                factor /= 1.0 + w;
                scratch.discount_factors.push(factor);
            }
            (usize::MAX, Some((w, g, c)))
        }
    };
    // 4. Years, all parts at once.
    scratch.revenue.clear();
    scratch.revenue.extend(projection.parts.iter().map(|p| p.revenue0));
    let report: Vec<f64> = projection.parts.iter().map(|p| p.report).collect();
    let elastic = projection.parts.iter().any(|p| p.elasticity != 0.0);
    for v in [&mut scratch.pv, &mut scratch.lost, &mut scratch.at_multiple, &mut scratch.last_cash, &mut scratch.last_lost] {
        reset(v, n, 0.0);
    }
    let mut ebita = vec![0.0; n];
    for t in 0..years {
        let growth = &scratch.growth[t * n..(t + 1) * n];
        let margin = &scratch.margin[t * n..(t + 1) * n];
        let keep = &scratch.keep[t * n..(t + 1) * n];
        if elastic {
            for (u, part) in projection.parts.iter().enumerate() {
                let revenue = scratch.revenue[u];
                let extra = if part.elasticity != 0.0 && revenue > 0.0 { part.elasticity * part.capital.get(t).copied().unwrap_or(0.0) / revenue } else { 0.0 };
                scratch.revenue[u] = revenue * (1.0 + growth[u] + extra).max(0.0);
            }
        } else {
            for (revenue, g) in scratch.revenue.iter_mut().zip(growth) {
                *revenue *= (1.0 + g).max(0.0);
            }
        }
        for u in 0..n {
            ebita[u] = scratch.revenue[u] * margin[u] * keep[u];
        }
        out.revenue[t] = dot(&report, &scratch.revenue);
        out.ebita[t] = dot(&report, &ebita);
        if let Some((_, _, c)) = dcf {
            let df = c * scratch.discount_factors[t];
            for u in 0..n {
                let gross = scratch.revenue[u] * margin[u];
                scratch.pv[u] += gross * df;
                scratch.lost[u] += (gross - ebita[u]) * df;
            }
            if t + 1 == years {
                for u in 0..n {
                    let gross = scratch.revenue[u] * margin[u];
                    scratch.last_cash[u] = c * gross;
                    scratch.last_lost[u] = c * (gross - ebita[u]);
                }
            }
        } else if t == multiple_year {
            for (u, part) in projection.parts.iter().enumerate() {
                let gross = scratch.revenue[u] * margin[u];
                let x = match part.basis {
                    Basis::Ebita => gross,
                    Basis::Revenue => scratch.revenue[u],
                };
                scratch.at_multiple[u] = multiples[u] * x * scratch.discount_factors[0];
                scratch.lost[u] = scratch.at_multiple[u] * (1.0 - keep[u]);
            }
        }
    }
    // 5. The sum of the parts.
    let mut held_value = 0.0;
    for (u, part) in projection.parts.iter().enumerate() {
        let owned = part.held + part.direct;
        let (gross, lost) = match dcf {
            Some((w, g, _)) => {
                let terminal = scratch.discount_factors[years - 1] * (1.0 + g) / (w - g);
                (scratch.pv[u] + scratch.last_cash[u] * terminal, scratch.lost[u] + scratch.last_lost[u] * terminal)
            }
            None => (scratch.at_multiple[u], scratch.lost[u]),
        };
        out.lines[u] = owned * gross;
        out.lines[n] -= owned * lost;
        held_value += part.held * (gross - lost);
    }
    let discount = projection.discount.as_ref().map(|d| draw(d, scores)).unwrap_or(0.0);
    out.lines[n + 1] = -discount * held_value;
    out.lines[n + 2] = -projection.costs.iter().map(|c| draw(c, scores)).sum::<f64>();
    out.lines[n + 3] = projection.proceeds.iter().map(|c| draw(c, scores)).sum::<f64>();
    out.lines[n + 4] = projection.net_cash.as_ref().map(|v| draw(v, scores)).unwrap_or(0.0);
    out.lines[n + 5] = projection.other_assets.as_ref().map(|v| draw(v, scores)).unwrap_or(0.0);
    out.value = out.lines.iter().sum();
}

/// Streaming statistics of one scenario.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Value: moments.
    pub value: Moments,
    /// Value: quantiles.
    pub value_sketch: Sketch,
    /// Bridge lines: moments (their means add up to the mean value).
    pub lines: Vec<Moments>,
    /// Group revenue per year: quantiles.
    pub revenue: Vec<Sketch>,
    /// Group EBITA per year: quantiles.
    pub ebita: Vec<Sketch>,
}

impl Stats {
    fn new(projection: &Projection) -> Stats {
        let years = projection.years.len();
        Stats {
            value: Moments::new(),
            value_sketch: Sketch::new(SKETCH_ALPHA),
            lines: vec![Moments::new(); projection.parts.len() + 6],
            revenue: (0..years).map(|_| Sketch::new(SKETCH_ALPHA)).collect(),
            ebita: (0..years).map(|_| Sketch::new(SKETCH_ALPHA)).collect(),
        }
    }

    fn push(&mut self, out: &PathOut) {
        self.value.push(out.value);
        self.value_sketch.push(out.value);
        for (m, v) in self.lines.iter_mut().zip(&out.lines) {
            m.push(*v);
        }
        for (s, v) in self.revenue.iter_mut().zip(&out.revenue) {
            s.push(*v);
        }
        for (s, v) in self.ebita.iter_mut().zip(&out.ebita) {
            s.push(*v);
        }
    }

    fn merge(&mut self, other: &Stats) {
        self.value.merge(&other.value);
        self.value_sketch.merge(&other.value_sketch);
        for (a, b) in self.lines.iter_mut().zip(&other.lines) {
            a.merge(b);
        }
        for (a, b) in self.revenue.iter_mut().zip(&other.revenue) {
            a.merge(b);
        }
        for (a, b) in self.ebita.iter_mut().zip(&other.ebita) {
            a.merge(b);
        }
    }
}

/// Statistics of the difference between the first two scenarios, path by path.
#[derive(Debug, Clone)]
pub struct DiffStats {
    /// A - B: moments.
    pub moments: Moments,
    /// A - B: quantiles.
    pub sketch: Sketch,
    /// Paths where A > B.
    pub wins: u64,
    /// Paths where A == B.
    pub ties: u64,
}

impl DiffStats {
    fn new() -> DiffStats {
        DiffStats { moments: Moments::new(), sketch: Sketch::new(SKETCH_ALPHA), wins: 0, ties: 0 }
    }

    fn merge(&mut self, other: &DiffStats) {
        self.moments.merge(&other.moments);
        self.sketch.merge(&other.sketch);
        self.wins += other.wins;
        self.ties += other.ties;
    }

    /// P(A > B), ties counted half.
    pub fn p_greater(&self) -> f64 {
        let n = self.moments.count() as f64;
        if n == 0.0 {
            return f64::NAN;
        }
        (self.wins as f64 + 0.5 * self.ties as f64) / n
    }

    /// Standard error of [`Self::p_greater`].
    pub fn p_greater_se(&self) -> f64 {
        let n = self.moments.count() as f64;
        let p = self.p_greater();
        (p * (1.0 - p) / n).sqrt()
    }
}

/// Everything a simulation keeps.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// Paths run.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// Per scenario, in the order given.
    pub stats: Vec<Stats>,
    /// First minus second scenario, when two or more were run.
    pub diff: Option<DiffStats>,
}

struct ChunkStats {
    stats: Vec<Stats>,
    diff: Option<DiffStats>,
}

fn run_chunk(projections: &[&Projection], seed: u64, first: u64, last: u64) -> ChunkStats {
    let mut stats: Vec<Stats> = projections.iter().map(|p| Stats::new(p)).collect();
    let mut diff = (projections.len() > 1).then(DiffStats::new);
    let mut outs: Vec<PathOut> = projections.iter().map(|p| PathOut::new(p)).collect();
    let mut scratch = Scratch::default();
    for index in first..last {
        let scores = Random { seed, path: index };
        for (k, projection) in projections.iter().enumerate() {
            path(projection, &scores, &mut scratch, &mut outs[k]);
            stats[k].push(&outs[k]);
        }
        if let Some(diff) = &mut diff {
            let d = outs[0].value - outs[1].value;
            diff.moments.push(d);
            diff.sketch.push(d);
            if d > 0.0 {
                diff.wins += 1;
            } else if d == 0.0 {
                diff.ties += 1;
            }
        }
    }
    ChunkStats { stats, diff }
}

/// Runs `paths` seeded paths of every projection (the same paths for all: paired).
/// `progress` is told the number of paths done after every wave. Runs on the current rayon
/// pool; the result is bit-identical whatever its number of threads.
pub fn simulate(projections: &[&Projection], paths: u64, seed: u64, progress: &(dyn Fn(u64) + Sync)) -> Simulation {
    let mut total = ChunkStats { stats: projections.iter().map(|p| Stats::new(p)).collect(), diff: (projections.len() > 1).then(DiffStats::new) };
    let chunks = paths.div_ceil(CHUNK);
    let mut next = 0;
    while next < chunks {
        let wave_end = (next + WAVE).min(chunks);
        let results: Vec<ChunkStats> =
            (next..wave_end).into_par_iter().map(|c| run_chunk(projections, seed, c * CHUNK, ((c + 1) * CHUNK).min(paths))).collect();
        for chunk in &results {
            for (a, b) in total.stats.iter_mut().zip(&chunk.stats) {
                a.merge(b);
            }
            if let (Some(a), Some(b)) = (&mut total.diff, &chunk.diff) {
                a.merge(b);
            }
        }
        next = wave_end;
        progress((next * CHUNK).min(paths));
    }
    Simulation { paths, seed, stats: total.stats, diff: total.diff }
}

/// The value of one path of `projection` with every input at its median except the stream
/// named `shock` at normal score `z` (`shock = None`: all at their medians).
pub fn value_at(projection: &Projection, shock: Option<(&str, f64)>) -> f64 {
    let scores = match shock {
        Some((name, z)) => Shocked { stream: rng::stream_id(name), z },
        None => Shocked { stream: 0, z: 0.0 },
    };
    let mut scratch = Scratch::default();
    let mut out = PathOut::new(projection);
    path(projection, &scores, &mut scratch, &mut out);
    out.value
}

/// One bar of the tornado: how far one assumption at its P10 and P90 moves the result.
#[derive(Debug, Clone, Serialize)]
pub struct Swing {
    /// Assumption key.
    pub assumption: String,
    /// Result with the assumption at its 10th percentile (others at their medians).
    pub low: f64,
    /// Result at its 90th percentile.
    pub high: f64,
    /// The assumption's value at P10 in each scenario where it differs, described.
    pub low_note: String,
    /// At P90.
    pub high_note: String,
}

/// The assumptions that move the result most: the value of `a`, or `a - b` when `b` is
/// given, with one assumption at a time at its P10 and P90 and the rest at their medians
/// (the same assumption moves in both scenarios: paired). Returns the result at the
/// medians and the swings, largest first.
pub fn tornado(a: &Projection, b: Option<&Projection>, top: usize) -> (f64, Vec<Swing>) {
    let result = |shock: Option<(&str, f64)>| value_at(a, shock) - b.map(|b| value_at(b, shock)).unwrap_or(0.0);
    let base = result(None);
    let mut names: Vec<(String, &Var)> = a.vars().into_iter().map(|v| (v.name.clone(), v)).collect();
    if let Some(b) = b {
        for var in b.vars() {
            if !names.iter().any(|(n, _)| n == &var.name) {
                names.push((var.name.clone(), var));
            }
        }
    }
    let has_factor = |p: &Projection| matches!(p.correlation, Correlation::Factor(_));
    let factor = Var::one(FACTOR, Dist::Normal { mean: 0.0, sd: 1.0 });
    if has_factor(a) || b.is_some_and(has_factor) {
        names.push((FACTOR.to_string(), &factor));
    }
    let mut swings: Vec<Swing> = names
        .into_iter()
        .map(|(name, var)| {
            let note = |z: f64| {
                if name == FACTOR {
                    format!("common growth factor at {:+.2} sd", z)
                } else if var.dists.len() == 1 {
                    short(var.dists[0].at_z(z))
                } else {
                    format!("every year at P{}", if z < 0.0 { 10 } else { 90 })
                }
            };
            Swing { low: result(Some((&name, -Z90))), high: result(Some((&name, Z90))), low_note: note(-Z90), high_note: note(Z90), assumption: name }
        })
        .filter(|s| s.low != base || s.high != base)
        .collect();
    swings.sort_by(|x, y| (y.high - y.low).abs().total_cmp(&(x.high - x.low).abs()).then(x.assumption.cmp(&y.assumption)));
    swings.truncate(top);
    (base, swings)
}

/// A number in a few significant digits (amounts without decimals, rates with four).
fn short(value: f64) -> String {
    if value.abs() >= 1000.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.4}")
    }
}

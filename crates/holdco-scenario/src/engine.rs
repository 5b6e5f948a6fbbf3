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

impl Part {
    /// A part held in full and reported in full, valued on EBITA, with no capital and no
    /// dis-synergy: the usual starting point, its fields then adjusted as needed.
    pub fn held(unit: &str, revenue0: f64, growth: Var, margin: Var, multiple: Var) -> Part {
        Part {
            unit: unit.into(),
            name: unit.into(),
            revenue0,
            growth,
            margin,
            multiple,
            basis: Basis::Ebita,
            capital: Vec::new(),
            elasticity: 0.0,
            held: 1.0,
            direct: 0.0,
            report: 1.0,
            dis_synergy: None,
            status: "held".into(),
        }
    }
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

/// Paths computed together, one per lane: every operation of the kernel runs over a
/// `[f64; LANES]`, which the compiler turns into vector instructions. A lane does exactly
/// the arithmetic a lone path would, so results do not depend on how paths are grouped.
pub const LANES: usize = 8;

type Lanes = [f64; LANES];
/// Years a path can have in the yearly keys' numbering (horizons are at most 100 years).
const YEAR_SLOTS: u64 = 128;
/// Salt that separates yearly streams (growth scores) from per-path ones of the same name.
const YEARLY: u64 = 0x5945_4152_4c59_0001;
const ZERO: Lanes = [0.0; LANES];

/// Where the random inputs of a group of paths come from.
pub trait Scores {
    /// The keys of a per-path stream, one per lane (feed them to `z`/`u` with step 0).
    fn keys(&self, stream: u64) -> [u64; LANES];
    /// The keys of a yearly stream for years `0..years`, appended to `out`: year t's draws
    /// for the group are steps `0..LANES` of its key, one per lane, so a batch comes out
    /// year by year with the lanes side by side.
    fn extend_year_keys(&self, stream: u64, years: usize, out: &mut Vec<u64>);
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

/// Random scores of the paths `first..first + LANES`.
struct Random {
    seed: u64,
    first: u64,
}

impl Scores for Random {
    #[inline]
    fn keys(&self, stream: u64) -> [u64; LANES] {
        let stream_key = rng::stream_key(self.seed, stream);
        std::array::from_fn(|lane| rng::path_key(stream_key, self.first + lane as u64))
    }
    fn extend_year_keys(&self, stream: u64, years: usize, out: &mut Vec<u64>) {
        // Groups start at multiples of LANES (chunks are multiples of it), so (group, year)
        // names the draws of paths first..first+LANES in year t, whatever the horizon.
        let stream_key = rng::stream_key(self.seed, stream ^ YEARLY);
        let base = (self.first / LANES as u64) * YEAR_SLOTS;
        out.extend((0..years).map(|t| rng::path_key(stream_key, base + t as u64)));
    }
    #[inline]
    fn z(&self, key: u64, step: u64) -> f64 {
        rng::std_normal(rng::bits(key, step))
    }
    #[inline]
    fn u(&self, key: u64, step: u64) -> f64 {
        rng::uniform(rng::bits(key, step))
    }
    fn fill(&self, keys: &[u64], steps: usize, out: &mut [f64]) {
        rng::fill_normals(keys, steps, out);
    }
}

/// Every input at its median except one stream at a fixed score (tornado).
struct Shocked {
    stream: u64,
    z: f64,
}

impl Scores for Shocked {
    fn keys(&self, stream: u64) -> [u64; LANES] {
        [stream; LANES]
    }
    fn extend_year_keys(&self, stream: u64, years: usize, out: &mut Vec<u64>) {
        out.extend(std::iter::repeat_n(stream, years));
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
#[inline(always)]
fn sample(dist: &Dist, scores: &impl Scores, key: u64, step: u64) -> f64 {
    match dist {
        Dist::Fixed(value) => *value,
        Dist::Normal { .. } | Dist::LogNormal { .. } => dist.at_z(scores.z(key, step)),
        _ => dist.quantile(scores.u(key, step)),
    }
}

/// One draw of a per-path input, for every lane.
#[inline(always)]
fn draw(var: &Var, scores: &impl Scores) -> Lanes {
    match &var.dists[..] {
        [Dist::Fixed(value)] => [*value; LANES],
        [dist] if dist.is_fixed() => [dist.at_z(0.0); LANES],
        [Dist::Triangular { min, mode, max }] => {
            // Dist::quantile's formula, computed on all lanes at once (both branches, then
            // a select), so the draw is the same bits as one lane at a time.
            let keys = scores.keys(var.stream);
            let p: Lanes = std::array::from_fn(|lane| scores.u(keys[lane], 0));
            let (min, mode, max) = (*min, *mode, *max);
            let width = max - min;
            let below = (mode - min) / width;
            std::array::from_fn(|l| {
                let low = min + (p[l] * width * (mode - min)).sqrt();
                let high = max - ((1.0 - p[l]) * width * (max - mode)).sqrt();
                if p[l] <= below {
                    low
                } else {
                    high
                }
            })
        }
        dists => {
            let keys = scores.keys(var.stream);
            std::array::from_fn(|lane| sample(&dists[0], scores, keys[lane], 0))
        }
    }
}

/// Scratch space for one group of paths, reused.
#[derive(Default)]
struct Scratch {
    keys: Vec<u64>,
    raw: Vec<f64>,
    z: Vec<Lanes>,
    e: Vec<Lanes>,
    factor: Vec<Lanes>,
    discount_factors: Vec<Lanes>,
    fan: Vec<Lanes>,
    part_z: Vec<Lanes>,
}

/// The results of a group of paths, one per lane.
struct PathOut {
    value: Lanes,
    lines: Vec<Lanes>,
    revenue: Vec<Lanes>,
    ebita: Vec<Lanes>,
}

impl PathOut {
    fn new(projection: &Projection) -> PathOut {
        let years = projection.years.len();
        PathOut { value: ZERO, lines: vec![ZERO; projection.parts.len() + 6], revenue: vec![ZERO; years], ebita: vec![ZERO; years] }
    }
}



/// `f + b z` on every lane (a whole-array operation, so it compiles to one vector op).
#[inline(always)]
fn add_scaled(f: &Lanes, b: f64, z: &Lanes) -> Lanes {
    std::array::from_fn(|l| f[l] + b * z[l])
}

/// Values a group of `LANES` paths of one projection, with the widest vector instructions
/// the processor has. Only additions, multiplications, divisions and comparisons run in
/// vectors, never fused or approximate ones, so every variant gives the same bits.
fn path(projection: &Projection, scores: &impl Scores, scratch: &mut Scratch, out: &mut PathOut) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has AVX-512F (checked just above).
            return unsafe { path_avx512(projection, scores, scratch, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2 (checked just above).
            return unsafe { path_avx2(projection, scores, scratch, out) };
        }
    }
    path_body(projection, scores, scratch, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn path_avx512(projection: &Projection, scores: &impl Scores, scratch: &mut Scratch, out: &mut PathOut) {
    path_body(projection, scores, scratch, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn path_avx2(projection: &Projection, scores: &impl Scores, scratch: &mut Scratch, out: &mut PathOut) {
    path_body(projection, scores, scratch, out)
}

#[inline(always)]
fn path_body(projection: &Projection, scores: &impl Scores, scratch: &mut Scratch, out: &mut PathOut) {
    let years = projection.years.len();
    let n = projection.parts.len();
    // 1. Growth scores: one row of years per part and lane, drawn in one batch.
    scratch.keys.clear();
    for part in &projection.parts {
        scores.extend_year_keys(part.growth.stream, years, &mut scratch.keys);
    }
    scratch.raw.clear();
    scratch.raw.resize(n * years * LANES, 0.0);
    // raw[(u * years + t) * LANES + lane]: part u, year t, lane.
    scores.fill(&scratch.keys, LANES, &mut scratch.raw);
    let correlation = if scores.correlated() { &projection.correlation } else { &Correlation::None };
    // The common factor's loading on each year's score (a, b), or a full matrix applied to
    // every part's scores up front.
    let mut loadings = None;
    scratch.factor.clear();
    scratch.z.clear();
    match correlation {
        Correlation::None => {}
        Correlation::Factor(rho) => {
            let (a, b) = (rho.sqrt(), (1.0 - rho).sqrt());
            let keys = scores.keys(rng::stream_id(FACTOR));
            scratch.factor.extend((0..years).map(|t| std::array::from_fn(|lane| a * scores.z(keys[lane], t as u64))));
            loadings = Some(b);
        }
        Correlation::Matrix(factor) => {
            scratch.e.clear();
            for u in 0..n {
                for t in 0..years {
                    scratch.e.push(std::array::from_fn(|lane| scratch.raw[(u * years + t) * LANES + lane]));
                }
            }
            for (u, row) in factor.iter().enumerate().take(n) {
                for t in 0..years {
                    let mut z = ZERO;
                    for (j, c) in row.iter().enumerate().take(u + 1) {
                        let e = &scratch.e[j * years + t];
                        for l in 0..LANES {
                            z[l] += c * e[l];
                        }
                    }
                    scratch.z.push(z);
                }
            }
        }
    }
    // 2. Valuation inputs of the paths.
    scratch.discount_factors.clear();
    let (multiple_year, dcf) = match &projection.method {
        Method::Multiple { year, rate } => {
            let r = rate.as_ref().map(|r| draw(r, scores)).unwrap_or(ZERO);
            scratch.discount_factors.push(std::array::from_fn(|l| (1.0 + r[l]).powi(-(*year as i32 - 1))));
            (*year - 1, None)
        }
        Method::Dcf { wacc, terminal_growth, conversion } => {
            let (w, g, c) = (draw(wacc, scores), draw(terminal_growth, scores), draw(conversion, scores));
            let mut factor = [1.0; LANES];
            for _ in 0..years {
                for l in 0..LANES {
                    factor[l] /= 1.0 + w[l];
                }
                scratch.discount_factors.push(factor);
            }
            (usize::MAX, Some((w, g, c)))
        }
    };
    // 3. Part by part, year by year, every lane at once; a part's state stays in registers.
    //    The group's yearly figures gather in 8 partial sums (part u in partial u mod 8),
    //    added in order at the end: the same sum on every machine.
    let Scratch { raw, z: correlated_z, factor: factor_scores, discount_factors, fan, part_z, .. } = scratch;
    part_z.clear();
    part_z.resize(years, ZERO);
    fan.clear();
    fan.resize(2 * years * 8, ZERO);
    let mut held_value = ZERO;
    for line in out.lines.iter_mut() {
        *line = ZERO;
    }
    for (u, part) in projection.parts.iter().enumerate() {
        // This part's scores, year-major.
        let zs = &mut part_z[..];
        if correlated_z.is_empty() {
            let block = &raw[u * years * LANES..(u + 1) * years * LANES];
            for ((z, e), f) in zs.iter_mut().zip(block.chunks_exact(LANES)).zip(factor_scores.iter().chain(std::iter::repeat(&ZERO))) {
                let e: &Lanes = e.try_into().expect("chunks of LANES");
                *z = match loadings {
                    Some(b) => add_scaled(f, b, e),
                    None => *e,
                };
            }
        } else {
            zs.copy_from_slice(&correlated_z[u * years..(u + 1) * years]);
        }
        let active = part.held + part.direct != 0.0 || part.report != 0.0;
        if !active {
            continue;
        }
        let single_margin = (part.margin.dists.len() == 1).then(|| draw(&part.margin, scores));
        let margin_keys = if single_margin.is_none() { scores.keys(part.margin.stream) } else { [0; LANES] };
        let (ds, ds_from) = match &part.dis_synergy {
            Some((var, from)) => (draw(var, scores), *from),
            None => (ZERO, usize::MAX),
        };
        let multiple = draw(&part.multiple, scores);
        let normal_growth = match &part.growth.dists[..] {
            [Dist::Normal { mean, sd }] => Some((*mean, *sd)),
            _ => None,
        };
        let mut revenue = [part.revenue0; LANES];
        let (mut pv, mut lost, mut at_multiple, mut last_cash, mut last_lost) = (ZERO, ZERO, ZERO, ZERO, ZERO);
        let partial = u % 8;
        for t in 0..years {
            let z = &zs[t];
            let g: Lanes = match normal_growth {
                Some((mean, sd)) => std::array::from_fn(|l| mean + sd * z[l]),
                None => std::array::from_fn(|l| part.growth.at(t, z[l])),
            };
            if part.elasticity != 0.0 {
                let capital = part.capital.get(t).copied().unwrap_or(0.0);
                for l in 0..LANES {
                    let extra = if revenue[l] > 0.0 { part.elasticity * capital / revenue[l] } else { 0.0 };
                    revenue[l] *= (1.0 + g[l] + extra).max(0.0);
                }
            } else {
                for l in 0..LANES {
                    revenue[l] *= (1.0 + g[l]).max(0.0);
                }
            }
            let margin: Lanes = match single_margin {
                Some(m) => m,
                None => {
                    let dist = &part.margin.dists[t.min(part.margin.dists.len() - 1)];
                    std::array::from_fn(|lane| sample(dist, scores, margin_keys[lane], 0))
                }
            };
            let keep: Lanes = if t >= ds_from { std::array::from_fn(|l| 1.0 - ds[l]) } else { [1.0; LANES] };
            let mut gross = ZERO;
            let mut ebita = ZERO;
            for l in 0..LANES {
                gross[l] = revenue[l] * margin[l];
                ebita[l] = gross[l] * keep[l];
            }
            let (fan_revenue, fan_ebita) = fan.split_at_mut(years * 8);
            let (acc_r, acc_e) = (&mut fan_revenue[t * 8 + partial], &mut fan_ebita[t * 8 + partial]);
            for l in 0..LANES {
                acc_r[l] += part.report * revenue[l];
                acc_e[l] += part.report * ebita[l];
            }
            if let Some((_, _, c)) = &dcf {
                let df = &discount_factors[t];
                for l in 0..LANES {
                    let cash = c[l] * df[l];
                    pv[l] += gross[l] * cash;
                    lost[l] += (gross[l] - ebita[l]) * cash;
                    last_cash[l] = c[l] * gross[l];
                    last_lost[l] = c[l] * (gross[l] - ebita[l]);
                }
            } else if t == multiple_year {
                let df = &discount_factors[0];
                for l in 0..LANES {
                    let x = match part.basis {
                        Basis::Ebita => gross[l],
                        Basis::Revenue => revenue[l],
                    };
                    at_multiple[l] = multiple[l] * x * df[l];
                    lost[l] = at_multiple[l] * (1.0 - keep[l]);
                }
            }
        }
        let owned = part.held + part.direct;
        for l in 0..LANES {
            let (gross, lost) = match &dcf {
                Some((w, g, _)) => {
                    let terminal = discount_factors[years - 1][l] * (1.0 + g[l]) / (w[l] - g[l]);
                    (pv[l] + last_cash[l] * terminal, lost[l] + last_lost[l] * terminal)
                }
                None => (at_multiple[l], lost[l]),
            };
            out.lines[u][l] = owned * gross;
            out.lines[n][l] -= owned * lost;
            held_value[l] += part.held * (gross - lost);
        }
    }
    for t in 0..years {
        for (which, target) in [&mut out.revenue, &mut out.ebita].into_iter().enumerate() {
            let mut total = ZERO;
            for acc in &fan[which * years * 8 + t * 8..which * years * 8 + (t + 1) * 8] {
                for l in 0..LANES {
                    total[l] += acc[l];
                }
            }
            target[t] = total;
        }
    }
    // 4. Group items.
    let discount = projection.discount.as_ref().map(|d| draw(d, scores)).unwrap_or(ZERO);
    let sum = |vars: &[Var]| vars.iter().fold(ZERO, |mut acc, v| {
        let x = draw(v, scores);
        for l in 0..LANES {
            acc[l] += x[l];
        }
        acc
    });
    let (costs, proceeds) = (sum(&projection.costs), sum(&projection.proceeds));
    let net_cash = projection.net_cash.as_ref().map(|v| draw(v, scores)).unwrap_or(ZERO);
    let other = projection.other_assets.as_ref().map(|v| draw(v, scores)).unwrap_or(ZERO);
    for l in 0..LANES {
        out.lines[n + 1][l] = -discount[l] * held_value[l];
        out.lines[n + 2][l] = -costs[l];
        out.lines[n + 3][l] = proceeds[l];
        out.lines[n + 4][l] = net_cash[l];
        out.lines[n + 5][l] = other[l];
        out.value[l] = out.lines.iter().map(|line| line[l]).sum();
    }
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

    fn push(&mut self, out: &PathOut, lane: usize) {
        self.value.push(out.value[lane]);
        self.value_sketch.push(out.value[lane]);
        for (m, v) in self.lines.iter_mut().zip(&out.lines) {
            m.push(v[lane]);
        }
        for (s, v) in self.revenue.iter_mut().zip(&out.revenue) {
            s.push(v[lane]);
        }
        for (s, v) in self.ebita.iter_mut().zip(&out.ebita) {
            s.push(v[lane]);
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
    let mut group = first;
    while group < last {
        let scores = Random { seed, first: group };
        for (k, projection) in projections.iter().enumerate() {
            path(projection, &scores, &mut scratch, &mut outs[k]);
        }
        // Paths past `last` (a partial last group) are computed and dropped.
        for lane in 0..((last - group) as usize).min(LANES) {
            for (k, out) in outs.iter().enumerate() {
                stats[k].push(out, lane);
            }
            if let Some(diff) = &mut diff {
                let d = outs[0].value[lane] - outs[1].value[lane];
                diff.moments.push(d);
                diff.sketch.push(d);
                if d > 0.0 {
                    diff.wins += 1;
                } else if d == 0.0 {
                    diff.ties += 1;
                }
            }
        }
        group += LANES as u64;
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
    out.value[0]
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

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
use crate::stats::{MomentSums, Moments, Sketch};
use rayon::prelude::*;
use serde::Serialize;

/// Paths per chunk (the unit of work and of determinism).
pub const CHUNK: u64 = 2048;
/// Most chunks computed between two merges (bounds memory whatever the number of paths).
const WAVE: u64 = 32;

/// Chunks per wave: two per thread of the pool, at most [`WAVE`], so progress is reported
/// every few thousand paths on a small machine. The merge order is the chunk order whatever
/// the wave, so the result does not depend on it.
fn wave_len() -> u64 {
    (2 * rayon::current_num_threads() as u64).clamp(1, WAVE)
}
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
        Var {
            stream: rng::stream_id(&name),
            name,
            dists,
        }
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
    /// Factor the part enters the group's reported revenue and EBITA with (fan charts), per
    /// projection year: the consolidation factor of the stake the group holds in that year
    /// (weighted by the days it held it), so a stake cut in the third year reports in full
    /// before. The last entry applies to later years (one entry: every year).
    pub report: Vec<f64>,
    /// Share of the part's business lost from year `.1` (0-based) on (dis-synergies of a
    /// separation): that share of its EBITA, and for a part valued on revenue
    /// ([`Basis::Revenue`]) the same share of its revenue (margin unchanged), so the multiple
    /// sees the loss and the projected revenue shows it.
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
            report: vec![1.0],
            dis_synergy: None,
            status: "held".into(),
        }
    }
}

impl Part {
    /// The reporting factor in projection year `t` (0-based).
    pub fn report_in(&self, t: usize) -> f64 {
        self.report
            .get(t)
            .or(self.report.last())
            .copied()
            .unwrap_or(0.0)
    }

    /// The one reporting factor of every year, when it does not change.
    fn constant_report(&self) -> Option<f64> {
        let first = *self.report.first()?;
        self.report.iter().all(|&r| r == first).then_some(first)
    }
}

/// A one-off amount (separation or integration cost, sale or listing proceeds) paid or
/// received `years` years after the valuation date, discounted to that date at the
/// valuation's rate (the multiple method's `discount_rate`, or the DCF's WACC; none: not
/// discounted).
#[derive(Debug, Clone)]
pub struct OneOff {
    /// The amount.
    pub var: Var,
    /// Years from the valuation date (the first day of the first projected year) to the day
    /// it falls due; 0 or less: today, not discounted.
    pub years: f64,
}

impl OneOff {
    /// An amount due `years` years from the valuation date.
    pub fn at(var: Var, years: f64) -> OneOff {
        OneOff { var, years }
    }

    /// An amount due on the valuation date (not discounted).
    pub fn now(var: Var) -> OneOff {
        OneOff { var, years: 0.0 }
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
    /// One-off separation costs, each discounted from the day it falls due.
    pub costs: Vec<OneOff>,
    /// Cash from sales and listings, each discounted from the day it arrives.
    pub proceeds: Vec<OneOff>,
}

/// Name of the common growth factor's stream (shared by every scenario: paired draws).
pub const FACTOR: &str = "correlation.factor";

impl Projection {
    /// Names of the bridge lines, in order: one per part, then the group items.
    pub fn line_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.parts.iter().map(|p| p.name.clone()).collect();
        names.extend(
            [
                "dis-synergies",
                "holding discount",
                "separation and integration costs",
                "sale and listing proceeds",
                "net cash",
                "other assets",
            ]
            .map(String::from),
        );
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
            Method::Dcf {
                wacc,
                terminal_growth,
                conversion,
            } => vars.extend([wacc, terminal_growth, conversion]),
        }
        vars.extend(
            self.net_cash
                .iter()
                .chain(self.other_assets.iter())
                .chain(self.discount.iter()),
        );
        vars.extend(
            self.costs
                .iter()
                .chain(self.proceeds.iter())
                .map(|o| &o.var),
        );
        vars.retain(|v| !v.is_fixed());
        vars
    }
}

/// Paths computed together: every array of the kernel holds one value per path of a block,
/// and its loops run over the block's paths, which the compiler turns into vector
/// instructions. A path gets exactly the arithmetic it would get alone, so results do not
/// depend on how paths are grouped.
pub const BLOCK: usize = 128;

/// Salt that separates yearly streams (growth scores) from per-path ones of the same name.
const YEARLY: u64 = 0x5945_4152_4c59_0001;

/// Where the random inputs of a block of paths come from. Each method fills `out` with one
/// value per path of the block.
pub trait Scores {
    /// Normal scores of a per-path stream.
    fn normals(&self, stream: u64, out: &mut [f64]);
    /// Normal scores of a yearly stream in year `year` (0-based).
    fn yearly_normals(&self, stream: u64, year: usize, out: &mut [f64]);
    /// The keys of a yearly stream for years `0..years` with the first draw of the block,
    /// appended to `out`, when [`Scores::yearly_normals`] is [`rng::normal_run`] of them (so
    /// a kernel may draw the same numbers itself); nothing otherwise.
    fn yearly_keys(&self, _stream: u64, _years: usize, _out: &mut Vec<(u64, u64)>) {}
    /// Uniforms in (0, 1) of a per-path stream, from the same random bits as
    /// [`Scores::normals`] (comonotone with them).
    fn uniforms(&self, stream: u64, out: &mut [f64]);
    /// False when scores are set by hand and must reach the inputs as given (a tornado
    /// shock on one unit's growth moves that growth to its P90, not a factor-diluted share).
    fn correlated(&self) -> bool {
        true
    }
}

/// Random scores of the paths `first..first + out.len()`: a per-path stream draws step
/// `path` of its key, a yearly stream step `path` of its year's key.
struct Random {
    seed: u64,
    first: u64,
}

impl Scores for Random {
    fn normals(&self, stream: u64, out: &mut [f64]) {
        rng::normal_run(rng::stream_key(self.seed, stream), self.first, out);
    }
    fn yearly_normals(&self, stream: u64, year: usize, out: &mut [f64]) {
        let key = rng::path_key(rng::stream_key(self.seed, stream ^ YEARLY), year as u64);
        rng::normal_run(key, self.first, out);
    }
    fn yearly_keys(&self, stream: u64, years: usize, out: &mut Vec<(u64, u64)>) {
        let stream_key = rng::stream_key(self.seed, stream ^ YEARLY);
        out.extend((0..years).map(|t| (rng::path_key(stream_key, t as u64), self.first)));
    }
    fn uniforms(&self, stream: u64, out: &mut [f64]) {
        rng::uniform_run(rng::stream_key(self.seed, stream), self.first, out);
    }
}

/// Every input at its median except one stream at a fixed score (tornado).
struct Shocked {
    stream: u64,
    z: f64,
}

impl Scores for Shocked {
    fn normals(&self, stream: u64, out: &mut [f64]) {
        out.fill(if stream == self.stream { self.z } else { 0.0 });
    }
    fn yearly_normals(&self, stream: u64, _year: usize, out: &mut [f64]) {
        self.normals(stream, out);
    }
    fn uniforms(&self, stream: u64, out: &mut [f64]) {
        out.fill(if stream == self.stream {
            rng::norm_cdf(self.z)
        } else {
            0.5
        });
    }
    fn correlated(&self) -> bool {
        self.stream == rng::stream_id(FACTOR)
    }
}

/// `dist` applied in place to the scores `zs` (normal and lognormal) or uniforms `us`
/// (other families): one draw per path, the same law as [`Dist::at_z`] of a normal score
/// without a normal CDF per draw. Written to `out`.
#[inline(always)]
fn apply(dist: &Dist, zs: &[f64], us: &[f64], out: &mut [f64]) {
    match *dist {
        Dist::Fixed(value) => out.fill(value),
        Dist::Normal { mean, sd } => {
            for (x, &z) in out.iter_mut().zip(zs) {
                *x = mean + sd * z;
            }
        }
        Dist::LogNormal { .. } => {
            for (x, &z) in out.iter_mut().zip(zs) {
                *x = dist.at_z(z);
            }
        }
        Dist::Triangular { min, mode, max } if max - min > 0.0 => {
            // Dist::quantile's formula, written with selects so the loop runs in vector lanes
            // with the same bits.
            let width = max - min;
            let below = (mode - min) / width;
            for (x, &p) in out.iter_mut().zip(us) {
                // One square root: of the branch's argument, selected first.
                let lower = p <= below;
                let root = (if lower {
                    p * width * (mode - min)
                } else {
                    (1.0 - p) * width * (max - mode)
                })
                .sqrt();
                *x = if lower { min + root } else { max - root };
            }
        }
        _ => {
            for (x, &p) in out.iter_mut().zip(us) {
                *x = dist.quantile(p);
            }
        }
    }
}

/// Which scores a distribution is drawn from.
fn wants_normal(dist: &Dist) -> bool {
    matches!(dist, Dist::Normal { .. } | Dist::LogNormal { .. })
}

/// One draw of a per-path input for every path of the block (its first distribution; see
/// [`Var::at`] for yearly ones), written to `out`. `spare` is scratch of the same length.
#[inline(always)]
fn draw(var: &Var, scores: &impl Scores, out: &mut [f64], spare: &mut [f64]) {
    let dist = &var.dists[0];
    if dist.is_fixed() {
        out.fill(dist.at_z(0.0));
    } else if wants_normal(dist) {
        scores.normals(var.stream, spare);
        apply(dist, spare, &[], out);
    } else {
        scores.uniforms(var.stream, spare);
        apply(dist, &[], spare, out);
    }
}

/// Scratch arrays for one block of paths, reused from block to block.
#[derive(Default)]
struct Scratch {
    /// Growth scores of every part and year (correlation by a matrix only).
    raw: Vec<f64>,
    /// The common factor's part of each year's score, `sqrt(rho) F_t`.
    factor: Vec<f64>,
    /// Discount factors per year (DCF) or the one of the multiple's year.
    discount_factors: Vec<f64>,
    /// Conversion x discount factor per year (DCF).
    cash: Vec<f64>,
    /// Terminal value per unit of the last year's cash, discounted (DCF).
    terminal: Vec<f64>,
    /// Per-path valuation inputs: WACC or rate, terminal growth, conversion.
    w: Vec<f64>,
    g: Vec<f64>,
    c: Vec<f64>,
    /// Keys of a part's yearly growth stream and the block's first draw, and of the next
    /// part's when two go through the vector kernel together.
    keys: Vec<(u64, u64)>,
    keys2: Vec<(u64, u64)>,
    /// The second part's margin, revenue and discounted cash in the vector kernel.
    margin2: Vec<f64>,
    revenue2: Vec<f64>,
    pv2: Vec<f64>,
    /// A part's state and inputs.
    z: Vec<f64>,
    revenue: Vec<f64>,
    margin: Vec<f64>,
    margin_z: Vec<f64>,
    margin_u: Vec<f64>,
    keep: Vec<f64>,
    multiple: Vec<f64>,
    gross: Vec<f64>,
    ebita: Vec<f64>,
    pv: Vec<f64>,
    lost: Vec<f64>,
    held_value: Vec<f64>,
    item: Vec<f64>,
    spare: Vec<f64>,
}

/// Sets `v` to `n` copies of `x`.
fn reset(v: &mut Vec<f64>, n: usize, x: f64) {
    v.clear();
    v.resize(n, x);
}

/// The results of a block of paths: `value[p]`, `lines[k * BLOCK + p]`,
/// `revenue[t * BLOCK + p]`, `ebita[t * BLOCK + p]` for path `p` of the block.
struct BlockOut {
    len: usize,
    value: Vec<f64>,
    lines: Vec<f64>,
    revenue: Vec<f64>,
    ebita: Vec<f64>,
}

impl BlockOut {
    fn new(projection: &Projection) -> BlockOut {
        let years = projection.years.len();
        BlockOut {
            len: 0,
            value: vec![0.0; BLOCK],
            lines: vec![0.0; (projection.parts.len() + 6) * BLOCK],
            revenue: vec![0.0; years * BLOCK],
            ebita: vec![0.0; years * BLOCK],
        }
    }
}

/// What a part's year updates, one value per path.
struct YearState<'a> {
    pv: &'a mut [f64],
    lost: &'a mut [f64],
    gross: &'a mut [f64],
    ebita: &'a mut [f64],
    fan_revenue: &'a mut [f64],
    fan_ebita: &'a mut [f64],
}

/// One year of a part over the block: EBITA before and after dis-synergies, the group's
/// yearly sums, and with `cash` (conversion x discount factor) the discounted cash flow
/// and what the dis-synergies take from it. With `revenue_lost` (a part valued on revenue)
/// the dis-synergy takes its share of the reported revenue too. Slices passed separately
/// so the compiler knows they do not overlap and keeps the loop in vector lanes.
#[inline(always)]
fn year(
    revenue: &[f64],
    margin: &[f64],
    keep: &[f64],
    (report, revenue_lost): (f64, bool),
    cash: Option<&[f64]>,
    st: YearState<'_>,
) {
    let n = revenue.len();
    let (margin, keep) = (&margin[..n], &keep[..n]);
    let (gross_out, ebita_out, fan_r, fan_e) = (
        &mut st.gross[..n],
        &mut st.ebita[..n],
        &mut st.fan_revenue[..n],
        &mut st.fan_ebita[..n],
    );
    match cash {
        Some(cash) => {
            let (cash, pv, lost) = (&cash[..n], &mut st.pv[..n], &mut st.lost[..n]);
            for p in 0..n {
                let gross = revenue[p] * margin[p];
                let ebita = gross * keep[p];
                fan_r[p] += report
                    * if revenue_lost {
                        revenue[p] * keep[p]
                    } else {
                        revenue[p]
                    };
                fan_e[p] += report * ebita;
                let cash = cash[p];
                pv[p] += gross * cash;
                lost[p] += (gross - ebita) * cash;
                gross_out[p] = gross;
                ebita_out[p] = ebita;
            }
        }
        None => {
            for p in 0..n {
                let gross = revenue[p] * margin[p];
                let ebita = gross * keep[p];
                fan_r[p] += report
                    * if revenue_lost {
                        revenue[p] * keep[p]
                    } else {
                        revenue[p]
                    };
                fan_e[p] += report * ebita;
                gross_out[p] = gross;
                ebita_out[p] = ebita;
            }
        }
    }
}

/// One year of a part in the common case ([`block_body`] says which): growth from the
/// score `e` (with the common factor's share `f + b e` if `factor = (f, b)`), revenue,
/// EBITA, the group's yearly sums and the discounted cash, in one pass. The same law as
/// the general loop of [`block_body`]; products that are added go through fused
/// multiply-adds (`mul_add`, correctly rounded on every platform: the processor's
/// instruction or libm's), as in the AVX-512 kernel [`vector::fused_parts`], so both give the
/// same bits. (Keeping revenue and cash in registers across the years in portable code,
/// eight paths at a time, was tried: slower, the compiler then kept the yearly sums'
/// updates out of vector registers or checked bounds in the loop; the AVX-512 kernel does
/// it with explicit vector instructions.)
#[inline(always)]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)] // indexed loops: one index for six slices
fn fused_year(
    e: &[f64],
    factor: Option<(&[f64], f64)>,
    (mean, sd): (f64, f64),
    report: f64,
    cash: &[f64],
    margin: &[f64],
    revenue: &mut [f64],
    fan: (&mut [f64], &mut [f64]),
    pv: &mut [f64],
) {
    let n = e.len();
    let (cash, margin, revenue, fan_r, fan_e, pv) = (
        &cash[..n],
        &margin[..n],
        &mut revenue[..n],
        &mut fan.0[..n],
        &mut fan.1[..n],
        &mut pv[..n],
    );
    let step = |p: usize,
                z: f64,
                revenue: &mut [f64],
                fan_r: &mut [f64],
                fan_e: &mut [f64],
                pv: &mut [f64]| {
        // 1 + growth in one rounding: (1 + mean) + sd z.
        let r = revenue[p] * sd.mul_add(z, 1.0 + mean).max(0.0);
        revenue[p] = r;
        let gross = r * margin[p];
        fan_r[p] = report.mul_add(r, fan_r[p]);
        fan_e[p] = report.mul_add(gross, fan_e[p]);
        pv[p] = gross.mul_add(cash[p], pv[p]);
    };
    match factor {
        Some((f, b)) => {
            let f = &f[..n];
            for p in 0..n {
                step(p, b.mul_add(e[p], f[p]), revenue, fan_r, fan_e, pv);
            }
        }
        None => {
            for p in 0..n {
                step(p, e[p], revenue, fan_r, fan_e, pv);
            }
        }
    }
}

/// Whether the AVX-512 kernel of the common case may run.
static VECTOR_KERNEL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Allows or forbids the AVX-512 kernel of the common case (allowed by default). It gives
/// the same bits as the portable code; forbidding it exists to check exactly that.
#[doc(hidden)]
pub fn allow_vector_kernel(allow: bool) {
    VECTOR_KERNEL.store(allow, std::sync::atomic::Ordering::Relaxed);
}

/// The common case of [`fused_year`] for every year of a part, written for AVX-512: the
/// growth scores drawn in registers by the same vector code as [`rng::normal_run`], sixteen
/// paths at a time with their revenue and discounted cash kept in registers across the
/// years. The same operations (fused multiply-adds included) on the same numbers as
/// [`fused_year`], so the same bits.
#[cfg(target_arch = "x86_64")]
mod vector {
    use super::BLOCK;
    use crate::rng::avx512::{available, Normals};
    use std::arch::x86_64::*;

    /// Horizons up to this many years keep a draw counter per year in registers.
    const MAX_YEARS: usize = 16;

    /// Whether [`fused_parts`] can run: it is allowed ([`super::allow_vector_kernel`]), the
    /// processor has the features, the horizon is short enough and the block is whole groups
    /// of sixteen paths.
    pub(super) fn usable(years: usize, len: usize) -> bool {
        years <= MAX_YEARS
            && len.is_multiple_of(16)
            && super::VECTOR_KERNEL.load(std::sync::atomic::Ordering::Relaxed)
            && available()
    }

    /// What a part brings to the kernel.
    pub(super) struct Part<'a> {
        /// Mean and standard deviation of the yearly growth.
        pub growth: (f64, f64),
        /// Factor the part enters the group's yearly sums with.
        pub report: f64,
        /// Base-year revenue.
        pub revenue0: f64,
        /// Margin per path.
        pub margin: &'a [f64],
        /// (key of year t, first draw) of the growth scores, the first draw even.
        pub keys: &'a [(u64, u64)],
    }

    /// What the parts share (yearly arrays indexed `t * len + p`).
    pub(super) struct Shared<'a> {
        /// The common factor's share of each year's score and the own score's loading.
        pub factor: Option<(&'a [f64], f64)>,
        /// Conversion x discount factor per year.
        pub cash: &'a [f64],
    }

    /// Revenue in the last year and discounted cash of every path of the block for `P`
    /// parts taken together (their yearly sums updated in part order: the bits of one part
    /// after the other, with each year's factor, cash and sums read once), the group's
    /// yearly sums (`fan`, stride [`BLOCK`]) added to. `out[q]` = (revenue, discounted cash)
    /// of part q.
    ///
    /// # Safety
    /// The processor must have AVX-512 F, DQ and CD and FMA ([`usable`]).
    #[target_feature(enable = "avx512f,avx512dq,avx512cd,fma")]
    #[allow(clippy::needless_range_loop)] // years, halves and parts index several arrays each
    pub(super) unsafe fn fused_parts<const P: usize>(
        parts: [&Part<'_>; P],
        shared: &Shared<'_>,
        len: usize,
        fan: (&mut [f64], &mut [f64]),
        mut out: [(&mut [f64], &mut [f64]); P],
    ) {
        let years = parts[0].keys.len();
        assert!(years <= MAX_YEARS && len.is_multiple_of(16));
        assert!(shared.cash.len() >= years * len);
        assert!(
            fan.0.len() >= (years.max(1) - 1) * BLOCK + len
                && fan.1.len() >= (years.max(1) - 1) * BLOCK + len
        );
        for (x, (revenue, pv)) in parts.iter().zip(&out) {
            assert!(
                x.keys.len() == years
                    && x.margin.len() >= len
                    && revenue.len() >= len
                    && pv.len() >= len
            );
        }
        if let Some((f, _)) = shared.factor {
            assert!(f.len() >= years * len);
        }
        let k = Normals::new();
        let zero = _mm512_setzero_pd();
        let one_plus_mean: [__m512d; P] =
            std::array::from_fn(|q| _mm512_set1_pd(1.0 + parts[q].growth.0));
        let sd: [__m512d; P] = std::array::from_fn(|q| _mm512_set1_pd(parts[q].growth.1));
        let report: [__m512d; P] = std::array::from_fn(|q| _mm512_set1_pd(parts[q].report));
        let loading = _mm512_set1_pd(shared.factor.map_or(0.0, |(_, b)| b));
        let mut counters = [[_mm512_setzero_si512(); MAX_YEARS]; P];
        for (c, x) in counters.iter_mut().zip(&parts) {
            for (c, &(key, first)) in c.iter_mut().zip(x.keys) {
                *c = Normals::counters(key, first);
            }
        }
        let (fan_r, fan_e) = (fan.0.as_mut_ptr(), fan.1.as_mut_ptr());
        let (cash, factor) = (shared.cash.as_ptr(), shared.factor.map(|(f, _)| f.as_ptr()));
        // SAFETY (the loop): every offset below is within the lengths asserted above
        // (p + 8 <= len; rows t * len and t * BLOCK with t < years).
        for g in (0..len).step_by(16) {
            // (revenue, discounted cash, margin) of part q on paths g + 8h..g + 8h + 8.
            let mut state: [[(__m512d, __m512d, __m512d); 2]; P] = std::array::from_fn(|q| {
                let m = parts[q].margin.as_ptr();
                let revenue0 = _mm512_set1_pd(parts[q].revenue0);
                [
                    (revenue0, zero, _mm512_loadu_pd(m.add(g))),
                    (revenue0, zero, _mm512_loadu_pd(m.add(g + 8))),
                ]
            });
            for t in 0..years {
                let scores: [(__m512d, __m512d); P] = std::array::from_fn(|q| {
                    let z = k.normals(k.mix(counters[q][t]));
                    counters[q][t] = k.next(counters[q][t]);
                    z
                });
                for h in 0..2 {
                    let p = g + 8 * h;
                    let f = factor.map(|f| _mm512_loadu_pd(f.add(t * len + p)));
                    let c = _mm512_loadu_pd(cash.add(t * len + p));
                    let (fr, fe) = (fan_r.add(t * BLOCK + p), fan_e.add(t * BLOCK + p));
                    let (mut sum_r, mut sum_e) = (_mm512_loadu_pd(fr), _mm512_loadu_pd(fe));
                    for q in 0..P {
                        let e = if h == 0 { scores[q].0 } else { scores[q].1 };
                        let z = match f {
                            Some(f) => _mm512_fmadd_pd(loading, e, f),
                            None => e,
                        };
                        let (r, v, m) = &mut state[q][h];
                        let growth = _mm512_fmadd_pd(sd[q], z, one_plus_mean[q]);
                        *r = _mm512_mul_pd(*r, _mm512_max_pd(growth, zero));
                        let gross = _mm512_mul_pd(*r, *m);
                        sum_r = _mm512_fmadd_pd(report[q], *r, sum_r);
                        sum_e = _mm512_fmadd_pd(report[q], gross, sum_e);
                        *v = _mm512_fmadd_pd(gross, c, *v);
                    }
                    _mm512_storeu_pd(fr, sum_r);
                    _mm512_storeu_pd(fe, sum_e);
                }
            }
            for (part, (revenue, pv)) in state.iter().zip(out.iter_mut()) {
                for (h, (r, v, _)) in part.iter().enumerate() {
                    _mm512_storeu_pd(revenue.as_mut_ptr().add(g + 8 * h), *r);
                    _mm512_storeu_pd(pv.as_mut_ptr().add(g + 8 * h), *v);
                }
            }
        }
    }
}

/// [`close_part`] for a DCF part without dis-synergy (EBITA = gross = revenue x margin in
/// the last year, nothing lost), from the revenue, margin and discounted cash: the same
/// operations on the same numbers (the dis-synergy line and `value - lost` are unchanged by
/// a zero), so the same bits.
#[inline(always)]
fn close_fused(
    owned: f64,
    held: f64,
    (c, terminal): (&[f64], &[f64]),
    (revenue, margin, pv): (&[f64], &[f64], &[f64]),
    line: &mut [f64],
    held_value: &mut [f64],
) {
    let n = line.len();
    let (c, terminal, revenue, margin, pv, held_value) = (
        &c[..n],
        &terminal[..n],
        &revenue[..n],
        &margin[..n],
        &pv[..n],
        &mut held_value[..n],
    );
    for p in 0..n {
        let gross = revenue[p] * margin[p];
        let value = pv[p] + (c[p] * gross) * terminal[p];
        line[p] = owned * value;
        held_value[p] += held * value;
    }
}

/// A part's value on each path of the block (DCF: plus the terminal value of the last
/// year's cash, `terminal = (conversion, terminal value per unit of that cash)`):
/// its bridge line at the group's share `owned`, what dis-synergies take (subtracted from
/// `lost_line`), and its value net of them at the share `held` added to `held_value`.
#[inline(always)]
fn close_part(
    owned: f64,
    held: f64,
    terminal: Option<(&[f64], &[f64])>,
    state: (&[f64], &[f64], &[f64], &[f64]),
    line: &mut [f64],
    lost_line: &mut [f64],
    held_value: &mut [f64],
) {
    let n = line.len();
    let (pv, lost, gross, ebita) = (&state.0[..n], &state.1[..n], &state.2[..n], &state.3[..n]);
    let (lost_line, held_value) = (&mut lost_line[..n], &mut held_value[..n]);
    match terminal {
        Some((c, terminal)) => {
            let (c, terminal) = (&c[..n], &terminal[..n]);
            for p in 0..n {
                let terminal = terminal[p];
                let (last_cash, last_lost) = (c[p] * gross[p], c[p] * (gross[p] - ebita[p]));
                let (value, lost) = (pv[p] + last_cash * terminal, lost[p] + last_lost * terminal);
                line[p] = owned * value;
                lost_line[p] -= owned * lost;
                held_value[p] += held * (value - lost);
            }
        }
        None => {
            for p in 0..n {
                line[p] = owned * pv[p];
                lost_line[p] -= owned * lost[p];
                held_value[p] += held * (pv[p] - lost[p]);
            }
        }
    }
}

/// Values a block of `len` paths (at most [`BLOCK`]) of one projection, with the widest
/// vector instructions the processor has. Only correctly rounded operations run in vectors
/// (additions, multiplications, divisions, square roots, comparisons, and fused
/// multiply-adds where the code asks for them with `mul_add`), never approximate ones, so
/// every variant gives the same bits.
fn block(
    projection: &Projection,
    scores: &impl Scores,
    len: usize,
    scratch: &mut Scratch,
    out: &mut BlockOut,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            // SAFETY: the processor has AVX-512F and DQ (checked just above).
            return unsafe { block_avx512(projection, scores, len, scratch, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the processor has AVX2 and FMA (checked just above).
            return unsafe { block_avx2(projection, scores, len, scratch, out) };
        }
    }
    block_body(projection, scores, len, scratch, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn block_avx512(
    projection: &Projection,
    scores: &impl Scores,
    len: usize,
    scratch: &mut Scratch,
    out: &mut BlockOut,
) {
    block_body(projection, scores, len, scratch, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_avx2(
    projection: &Projection,
    scores: &impl Scores,
    len: usize,
    scratch: &mut Scratch,
    out: &mut BlockOut,
) {
    block_body(projection, scores, len, scratch, out)
}

#[inline(always)]
fn block_body(
    projection: &Projection,
    scores: &impl Scores,
    len: usize,
    scratch: &mut Scratch,
    out: &mut BlockOut,
) {
    let years = projection.years.len();
    let n = projection.parts.len();
    out.len = len;
    let s = scratch;
    // Every array is written before it is read, except the running sum of held value.
    for v in [
        &mut s.margin2,
        &mut s.revenue2,
        &mut s.pv2,
        &mut s.z,
        &mut s.revenue,
        &mut s.margin,
        &mut s.margin_z,
        &mut s.margin_u,
        &mut s.keep,
        &mut s.multiple,
        &mut s.gross,
        &mut s.ebita,
        &mut s.pv,
        &mut s.lost,
        &mut s.held_value,
        &mut s.item,
        &mut s.spare,
        &mut s.w,
        &mut s.g,
        &mut s.c,
    ] {
        if v.len() != len {
            reset(v, len, 0.0);
        }
    }
    s.held_value.fill(0.0);
    // 1. Correlation of the growth scores: a common factor (its share of each year's score
    //    here, the rest added part by part), or a matrix applied to all parts' scores.
    let correlation = if scores.correlated() {
        &projection.correlation
    } else {
        &Correlation::None
    };
    let mut loading = None;
    reset(&mut s.factor, 0, 0.0);
    reset(&mut s.raw, 0, 0.0);
    match correlation {
        Correlation::None => {}
        Correlation::Factor(rho) => {
            let (a, b) = (rho.sqrt(), (1.0 - rho).sqrt());
            reset(&mut s.factor, years * len, 0.0);
            let stream = rng::stream_id(FACTOR);
            for (t, f) in s.factor.chunks_exact_mut(len).enumerate() {
                scores.yearly_normals(stream, t, f);
                for x in f.iter_mut() {
                    *x *= a;
                }
            }
            loading = Some(b);
        }
        Correlation::Matrix(factor) => {
            // raw[(u * years + t) * len + p]: the independent scores, then z = L e in place
            // from the last part to the first (each row reads only earlier parts).
            reset(&mut s.raw, n * years * len, 0.0);
            for (u, part) in projection.parts.iter().enumerate() {
                for t in 0..years {
                    scores.yearly_normals(
                        part.growth.stream,
                        t,
                        &mut s.raw[(u * years + t) * len..(u * years + t + 1) * len],
                    );
                }
            }
            for u in (0..n).rev() {
                let row = &factor[u];
                for t in 0..years {
                    for p in 0..len {
                        let mut z = 0.0;
                        for (j, c) in row.iter().enumerate().take(u + 1) {
                            z += c * s.raw[(j * years + t) * len + p];
                        }
                        s.z[p] = z;
                    }
                    s.raw[(u * years + t) * len..(u * years + t + 1) * len].copy_from_slice(&s.z);
                }
            }
        }
    }
    // 2. Valuation inputs of the paths.
    reset(&mut s.discount_factors, 0, 0.0);
    let (multiple_year, dcf) = match &projection.method {
        Method::Multiple { year, rate } => {
            match rate {
                Some(rate) => draw(rate, scores, &mut s.w, &mut s.spare),
                None => s.w.fill(0.0),
            }
            s.discount_factors
                .extend(s.w.iter().map(|r| (1.0 + r).powi(-(*year as i32 - 1))));
            (*year - 1, false)
        }
        Method::Dcf {
            wacc,
            terminal_growth,
            conversion,
        } => {
            draw(wacc, scores, &mut s.w, &mut s.spare);
            draw(terminal_growth, scores, &mut s.g, &mut s.spare);
            draw(conversion, scores, &mut s.c, &mut s.spare);
            reset(&mut s.discount_factors, years * len, 0.0);
            s.spare.fill(1.0);
            for row in s.discount_factors.chunks_exact_mut(len) {
                for ((factor, d), &w) in row.iter_mut().zip(s.spare.iter_mut()).zip(&s.w) {
                    *d /= 1.0 + w;
                    *factor = *d;
                }
            }
            // The Gordon terminal value per unit of the last year's cash, discounted.
            reset(&mut s.terminal, len, 0.0);
            let last = &s.discount_factors[(years - 1) * len..years * len];
            for (((terminal, &df), &g), &w) in s.terminal.iter_mut().zip(last).zip(&s.g).zip(&s.w) {
                *terminal = df * (1.0 + g) / (w - g);
            }
            // Cash per unit of EBITA, discounted, per year.
            reset(&mut s.cash, years * len, 0.0);
            for (cash, df) in s
                .cash
                .chunks_exact_mut(len)
                .zip(s.discount_factors.chunks_exact(len))
            {
                for ((x, &c), &d) in cash.iter_mut().zip(&s.c).zip(df) {
                    *x = c * d;
                }
            }
            (usize::MAX, true)
        }
    };
    // 3. Part by part, year by year, over the block's paths.
    out.revenue[..years * BLOCK].fill(0.0);
    out.ebita[..years * BLOCK].fill(0.0);
    let dis_synergies = n * BLOCK;
    out.lines[dis_synergies..dis_synergies + len].fill(0.0);
    // The common case in one pass per year: normal growth (with the common factor's share if
    // any), one margin per path, DCF, no capital effect, no dis-synergy.
    let common = |part: &Part| match (&part.growth.dists[..], correlation) {
        ([Dist::Normal { mean, sd }], Correlation::None | Correlation::Factor(_))
            if dcf
                && part.margin.dists.len() == 1
                && part.elasticity == 0.0
                && part.dis_synergy.is_none()
                && part
                    .constant_report()
                    .is_some_and(|r| part.held + part.direct + r.abs() != 0.0) =>
        {
            Some((*mean, *sd))
        }
        _ => None,
    };
    let mut done_with = None;
    for (u, part) in projection.parts.iter().enumerate() {
        if done_with == Some(u) {
            continue;
        }
        let active = part.held + part.direct != 0.0 || part.report.iter().any(|&r| r != 0.0);
        // The common case reports the same factor every year (checked by `common`).
        let report = part.constant_report().unwrap_or(0.0);
        if !active {
            out.lines[u * BLOCK..u * BLOCK + len].fill(0.0);
            continue;
        }
        // Margin: one draw per path, or one score per path read through each year's law.
        let yearly_margin = part.margin.dists.len() > 1;
        if yearly_margin {
            scores.normals(part.margin.stream, &mut s.margin_z);
            scores.uniforms(part.margin.stream, &mut s.margin_u);
        } else {
            draw(&part.margin, scores, &mut s.margin, &mut s.spare);
        }
        let ds_from = match &part.dis_synergy {
            Some((var, from)) => {
                draw(var, scores, &mut s.item, &mut s.spare);
                *from
            }
            None => usize::MAX,
        };
        if !dcf {
            draw(&part.multiple, scores, &mut s.multiple, &mut s.spare);
        }
        let fused = common(part).filter(|_| !yearly_margin && ds_from == usize::MAX);
        // With AVX-512, the common case draws its scores in registers, two parts at a time
        // when the next part is also common (same bits as one by one).
        #[cfg(target_arch = "x86_64")]
        let vector_done = match fused {
            Some(growth) if vector::usable(years, len) => {
                s.keys.clear();
                scores.yearly_keys(part.growth.stream, years, &mut s.keys);
                s.keys.retain(|&(_, first)| first % 2 == 0);
                s.keys.len() == years && {
                    let next = projection
                        .parts
                        .get(u + 1)
                        .and_then(|next| common(next).map(|g| (next, g)));
                    let first = vector::Part {
                        growth,
                        report,
                        revenue0: part.revenue0,
                        margin: &s.margin,
                        keys: &s.keys,
                    };
                    let shared = vector::Shared {
                        factor: loading.map(|b| (&s.factor[..], b)),
                        cash: &s.cash,
                    };
                    let fan = (&mut out.revenue[..], &mut out.ebita[..]);
                    match next {
                        Some((next, growth)) => {
                            draw(&next.margin, scores, &mut s.margin2, &mut s.spare);
                            s.keys2.clear();
                            scores.yearly_keys(next.growth.stream, years, &mut s.keys2);
                            let second = vector::Part {
                                growth,
                                report: next.constant_report().unwrap_or(0.0),
                                revenue0: next.revenue0,
                                margin: &s.margin2,
                                keys: &s.keys2,
                            };
                            // SAFETY: `usable` checked that the processor has the features.
                            unsafe {
                                vector::fused_parts(
                                    [&first, &second],
                                    &shared,
                                    len,
                                    fan,
                                    [(&mut s.revenue, &mut s.pv), (&mut s.revenue2, &mut s.pv2)],
                                )
                            };
                            let terminal = (&s.c[..], &s.terminal[..]);
                            close_fused(
                                part.held + part.direct,
                                part.held,
                                terminal,
                                (&s.revenue, &s.margin, &s.pv),
                                &mut out.lines[u * BLOCK..u * BLOCK + len],
                                &mut s.held_value,
                            );
                            close_fused(
                                next.held + next.direct,
                                next.held,
                                terminal,
                                (&s.revenue2, &s.margin2, &s.pv2),
                                &mut out.lines[(u + 1) * BLOCK..(u + 1) * BLOCK + len],
                                &mut s.held_value,
                            );
                            done_with = Some(u + 1);
                        }
                        None => {
                            // SAFETY: as above.
                            unsafe {
                                vector::fused_parts(
                                    [&first],
                                    &shared,
                                    len,
                                    fan,
                                    [(&mut s.revenue, &mut s.pv)],
                                )
                            };
                            let terminal = (&s.c[..], &s.terminal[..]);
                            close_fused(
                                part.held + part.direct,
                                part.held,
                                terminal,
                                (&s.revenue, &s.margin, &s.pv),
                                &mut out.lines[u * BLOCK..u * BLOCK + len],
                                &mut s.held_value,
                            );
                        }
                    }
                    true
                }
            }
            _ => false,
        };
        #[cfg(not(target_arch = "x86_64"))]
        let vector_done = false;
        if vector_done {
            continue;
        }
        s.revenue.fill(part.revenue0);
        s.pv.fill(0.0);
        s.lost.fill(0.0);
        s.keep.fill(1.0);
        if let Some((mean, sd)) = fused {
            for t in 0..years {
                scores.yearly_normals(part.growth.stream, t, &mut s.z);
                let factor = loading.map(|b| (&s.factor[t * len..(t + 1) * len], b));
                let fan = (
                    &mut out.revenue[t * BLOCK..t * BLOCK + len],
                    &mut out.ebita[t * BLOCK..t * BLOCK + len],
                );
                fused_year(
                    &s.z,
                    factor,
                    (mean, sd),
                    report,
                    &s.cash[t * len..(t + 1) * len],
                    &s.margin,
                    &mut s.revenue,
                    fan,
                    &mut s.pv,
                );
            }
            for ((gross, ebita), (&r, &m)) in s
                .gross
                .iter_mut()
                .zip(s.ebita.iter_mut())
                .zip(s.revenue.iter().zip(&s.margin))
            {
                *gross = r * m;
                *ebita = *gross;
            }
        }
        for t in (0..years).filter(|_| fused.is_none()) {
            // Growth: this part's score, with the common factor's share if any.
            match correlation {
                Correlation::Matrix(_) => {
                    s.z.copy_from_slice(&s.raw[(u * years + t) * len..(u * years + t + 1) * len])
                }
                _ => scores.yearly_normals(part.growth.stream, t, &mut s.z),
            }
            if let Some(b) = loading {
                for (z, &f) in s.z.iter_mut().zip(&s.factor[t * len..(t + 1) * len]) {
                    *z = f + b * *z;
                }
            }
            let dist = &part.growth.dists[t.min(part.growth.dists.len() - 1)];
            match *dist {
                Dist::Normal { mean, sd } => {
                    for z in s.z.iter_mut() {
                        *z = mean + sd * *z;
                    }
                }
                _ => {
                    for z in s.z.iter_mut() {
                        *z = dist.at_z(*z);
                    }
                }
            }
            if part.elasticity != 0.0 {
                let capital = part.capital.get(t).copied().unwrap_or(0.0);
                for (r, &g) in s.revenue.iter_mut().zip(&s.z) {
                    let extra = if *r > 0.0 {
                        part.elasticity * capital / *r
                    } else {
                        0.0
                    };
                    *r *= (1.0 + g + extra).max(0.0);
                }
            } else {
                for (r, &g) in s.revenue.iter_mut().zip(&s.z) {
                    *r *= (1.0 + g).max(0.0);
                }
            }
            if yearly_margin {
                let dist = &part.margin.dists[t.min(part.margin.dists.len() - 1)];
                apply(dist, &s.margin_z, &s.margin_u, &mut s.margin);
            }
            if t == ds_from {
                for (k, &d) in s.keep.iter_mut().zip(&s.item) {
                    *k = 1.0 - d;
                }
            }
            let report = (part.report_in(t), part.basis == Basis::Revenue);
            let fan_r = &mut out.revenue[t * BLOCK..t * BLOCK + len];
            let fan_e = &mut out.ebita[t * BLOCK..t * BLOCK + len];
            let cash = if dcf {
                Some(&s.cash[t * len..(t + 1) * len])
            } else {
                None
            };
            let state = YearState {
                pv: &mut s.pv,
                lost: &mut s.lost,
                gross: &mut s.gross,
                ebita: &mut s.ebita,
                fan_revenue: fan_r,
                fan_ebita: fan_e,
            };
            year(&s.revenue, &s.margin, &s.keep, report, cash, state);
            if !dcf && t == multiple_year {
                let df = &s.discount_factors[..len];
                let x = match part.basis {
                    Basis::Ebita => &s.gross,
                    Basis::Revenue => &s.revenue,
                };
                // The part's line is its value before dis-synergies; they take their share of
                // the figure the multiple applies to (EBITA, or revenue at an unchanged margin).
                for p in 0..len {
                    s.pv[p] = s.multiple[p] * x[p] * df[p];
                    s.lost[p] = s.pv[p] * (1.0 - s.keep[p]);
                }
            }
        }
        // The part's value (DCF: plus the terminal value of the last year's cash), its
        // bridge line and its share in the value the holding discount applies to.
        let owned = part.held + part.direct;
        let (head, tail) = out.lines.split_at_mut(dis_synergies);
        let terminal = if dcf {
            Some((&s.c[..], &s.terminal[..]))
        } else {
            None
        };
        close_part(
            owned,
            part.held,
            terminal,
            (&s.pv, &s.lost, &s.gross, &s.ebita),
            &mut head[u * BLOCK..u * BLOCK + len],
            &mut tail[..len],
            &mut s.held_value,
        );
    }
    // 4. Group items.
    let item = |var: Option<&Var>, target: &mut [f64], spare: &mut [f64]| match var {
        Some(var) => draw(var, scores, target, spare),
        None => target.fill(0.0),
    };
    let held_value = std::mem::take(&mut s.held_value);
    {
        let line = &mut out.lines[(n + 1) * BLOCK..(n + 1) * BLOCK + len];
        item(projection.discount.as_ref(), line, &mut s.spare);
        for (x, &h) in line.iter_mut().zip(&held_value) {
            *x = -*x * h;
        }
    }
    s.held_value = held_value;
    // One-offs: each discounted from the day it falls due at the path's rate (s.w holds the
    // multiple method's discount rate, 0 without one, or the DCF's WACC).
    for (k, items, sign) in [(2, &projection.costs, -1.0), (3, &projection.proceeds, 1.0)] {
        let line = &mut out.lines[(n + k) * BLOCK..(n + k) * BLOCK + len];
        line.fill(0.0);
        for item in items {
            draw(&item.var, scores, &mut s.item, &mut s.spare);
            if item.years > 0.0 {
                for ((x, &v), &w) in line.iter_mut().zip(&s.item).zip(&s.w) {
                    *x += v * (1.0 + w).powf(-item.years);
                }
            } else {
                for (x, &v) in line.iter_mut().zip(&s.item) {
                    *x += v;
                }
            }
        }
        if sign < 0.0 {
            for x in line.iter_mut() {
                *x = -*x;
            }
        }
    }
    item(
        projection.net_cash.as_ref(),
        &mut out.lines[(n + 4) * BLOCK..(n + 4) * BLOCK + len],
        &mut s.spare,
    );
    item(
        projection.other_assets.as_ref(),
        &mut out.lines[(n + 5) * BLOCK..(n + 5) * BLOCK + len],
        &mut s.spare,
    );
    let value = &mut out.value[..len];
    value.fill(0.0);
    for k in 0..n + 6 {
        for (v, &x) in value.iter_mut().zip(&out.lines[k * BLOCK..k * BLOCK + len]) {
            *v += x;
        }
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
    /// Running sums of the value and the lines within a chunk, settled into the moments at
    /// its end ([`Stats::settle`]).
    sums: Vec<MomentSums>,
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
            sums: vec![MomentSums::new(); projection.parts.len() + 7],
        }
    }

    fn push(&mut self, out: &BlockOut) {
        let len = out.len;
        let (value, lines) = self
            .sums
            .split_first_mut()
            .expect("sums of the value and the lines");
        value.push_slice(&out.value[..len]);
        self.value_sketch.push_slice(&out.value[..len]);
        MomentSums::push_rows(lines, &out.lines, BLOCK, len);
        for (t, (r, e)) in self
            .revenue
            .iter_mut()
            .zip(self.ebita.iter_mut())
            .enumerate()
        {
            r.push_slice(&out.revenue[t * BLOCK..t * BLOCK + len]);
            e.push_slice(&out.ebita[t * BLOCK..t * BLOCK + len]);
        }
    }

    /// Moves the running sums into the moments.
    fn settle(&mut self) {
        for (m, sums) in std::iter::once(&mut self.value)
            .chain(self.lines.iter_mut())
            .zip(self.sums.iter_mut())
        {
            m.merge(&sums.moments());
            *sums = MomentSums::new();
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
    /// Running sums of A - B within a chunk, settled into `moments` at its end.
    sums: MomentSums,
}

impl DiffStats {
    fn new() -> DiffStats {
        DiffStats {
            moments: Moments::new(),
            sketch: Sketch::new(SKETCH_ALPHA),
            wins: 0,
            ties: 0,
            sums: MomentSums::new(),
        }
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

/// What a worker reuses from chunk to chunk: scratch arrays and block results (every
/// array is written before it is read, so what a previous chunk left does not matter).
struct Workspace {
    scratch: Scratch,
    outs: Vec<BlockOut>,
    d: Vec<f64>,
}

impl Workspace {
    fn new(projections: &[&Projection]) -> Workspace {
        Workspace {
            scratch: Scratch::default(),
            outs: projections.iter().map(|p| BlockOut::new(p)).collect(),
            d: vec![0.0; BLOCK],
        }
    }
}

fn run_chunk(
    projections: &[&Projection],
    seed: u64,
    first: u64,
    last: u64,
    work: &mut Workspace,
) -> ChunkStats {
    let mut stats: Vec<Stats> = projections.iter().map(|p| Stats::new(p)).collect();
    let mut diff = (projections.len() > 1).then(DiffStats::new);
    let Workspace { scratch, outs, d } = work;
    let mut start = first;
    while start < last {
        let len = ((last - start) as usize).min(BLOCK);
        let scores = Random { seed, first: start };
        for (k, projection) in projections.iter().enumerate() {
            block(projection, &scores, len, scratch, &mut outs[k]);
            stats[k].push(&outs[k]);
        }
        if let Some(diff) = &mut diff {
            let d = &mut d[..len];
            for ((d, &a), &b) in d
                .iter_mut()
                .zip(&outs[0].value[..len])
                .zip(&outs[1].value[..len])
            {
                *d = a - b;
            }
            diff.sums.push_slice(d);
            diff.sketch.push_slice(d);
            diff.wins += d.iter().filter(|&&d| d > 0.0).count() as u64;
            diff.ties += d.iter().filter(|&&d| d == 0.0).count() as u64;
        }
        start += len as u64;
    }
    for s in &mut stats {
        s.settle();
    }
    if let Some(diff) = &mut diff {
        diff.moments.merge(&diff.sums.moments());
        diff.sums = MomentSums::new();
    }
    ChunkStats { stats, diff }
}

/// Runs `paths` seeded paths of every projection (the same paths for all: paired).
/// `progress` is told the number of paths done after every wave. Runs on the current rayon
/// pool; the result is bit-identical whatever its number of threads.
pub fn simulate(
    projections: &[&Projection],
    paths: u64,
    seed: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Simulation {
    let mut total = ChunkStats {
        stats: projections.iter().map(|p| Stats::new(p)).collect(),
        diff: (projections.len() > 1).then(DiffStats::new),
    };
    let chunks = paths.div_ceil(CHUNK);
    let wave = wave_len();
    let mut next = 0;
    while next < chunks {
        let wave_end = (next + wave).min(chunks);
        let results: Vec<ChunkStats> = (next..wave_end)
            .into_par_iter()
            .map_init(
                || Workspace::new(projections),
                |work, c| {
                    run_chunk(
                        projections,
                        seed,
                        c * CHUNK,
                        ((c + 1) * CHUNK).min(paths),
                        work,
                    )
                },
            )
            .collect();
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
    Simulation {
        paths,
        seed,
        stats: total.stats,
        diff: total.diff,
    }
}

/// The value of one path of `projection` with every input at its median except the stream
/// named `shock` at normal score `z` (`shock = None`: all at their medians).
pub fn value_at(projection: &Projection, shock: Option<(&str, f64)>) -> f64 {
    let scores = match shock {
        Some((name, z)) => Shocked {
            stream: rng::stream_id(name),
            z,
        },
        None => Shocked { stream: 0, z: 0.0 },
    };
    let mut scratch = Scratch::default();
    let mut out = BlockOut::new(projection);
    block(projection, &scores, 1, &mut scratch, &mut out);
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

/// The assumptions that move the result most: a deterministic sensitivity of the value of
/// `a`, or of `a - b` when `b` is given, around the all-median point (every input at its
/// median: not the Monte Carlo mean), one assumption at a time at its P10 and P90 (the same
/// assumption moves in both scenarios: paired). Returns the result at the medians, the
/// `top` widest swings (largest first) and the rest that moves the result, dropped from the
/// chart (largest first).
pub fn tornado(
    a: &Projection,
    b: Option<&Projection>,
    top: usize,
) -> (f64, Vec<Swing>, Vec<Swing>) {
    let result = |shock: Option<(&str, f64)>| {
        value_at(a, shock) - b.map(|b| value_at(b, shock)).unwrap_or(0.0)
    };
    let base = result(None);
    // A move smaller than rounding in the sums is no move: an assumption both scenarios add
    // alike (net cash, other assets) leaves A - B unchanged up to the last bits.
    let noise =
        1e-9 * (value_at(a, None).abs() + b.map(|b| value_at(b, None).abs()).unwrap_or(0.0));
    let mut names: Vec<(String, &Var)> =
        a.vars().into_iter().map(|v| (v.name.clone(), v)).collect();
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
            let describe = |var: &Var, z: f64| {
                if name == FACTOR {
                    format!("{:+.2} sd", z)
                } else if var.dists.len() == 1 {
                    short(var.dists[0].at_z(z))
                } else {
                    format!("every year at P{}", if z < 0.0 { 10 } else { 90 })
                }
            };
            // The same key may hold different distributions in the two scenarios: then say
            // where it lands in each.
            let in_b = b
                .and_then(|b| b.vars().into_iter().find(|v| v.name == name))
                .filter(|v| v.dists != var.dists);
            let note = |z: f64| match in_b {
                Some(other) => format!(
                    "{}: {}, {}: {}",
                    a.name,
                    describe(var, z),
                    b.map(|b| b.name.as_str()).unwrap_or(""),
                    describe(other, z)
                ),
                None => describe(var, z),
            };
            Swing {
                low: result(Some((&name, -Z90))),
                high: result(Some((&name, Z90))),
                low_note: note(-Z90),
                high_note: note(Z90),
                assumption: name,
            }
        })
        .filter(|s| (s.low - base).abs() > noise || (s.high - base).abs() > noise)
        .collect();
    swings.sort_by(|x, y| {
        (y.high - y.low)
            .abs()
            .total_cmp(&(x.high - x.low).abs())
            .then(x.assumption.cmp(&y.assumption))
    });
    let dropped = swings.split_off(top.min(swings.len()));
    (base, swings, dropped)
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

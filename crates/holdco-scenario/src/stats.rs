//! Streaming statistics whose memory does not grow with the number of paths: [`Moments`]
//! (count, mean, variance, extremes) and [`Sketch`] (quantiles to a stated relative accuracy).
//! Both merge, so each thread summarises its own paths and the summaries are combined.

use serde::{Serialize, Serializer};

/// Count, mean, variance and extremes of a stream of values (Welford's update; Chan et al.'s
/// formula to merge). Floating-point merges are exact only up to rounding, so a
/// reproducible run merges its parts in a fixed order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    count: u64,
    mean: f64,
    /// Sum of squared deviations from the mean.
    m2: f64,
    min: f64,
    max: f64,
}

impl Default for Moments {
    fn default() -> Moments {
        Moments {
            count: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Moments {
    /// No values yet.
    pub fn new() -> Moments {
        Moments::default()
    }

    /// Adds one value.
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    /// The moments of a block of values ([`MomentSums`] of the block).
    pub fn of(xs: &[f64]) -> Moments {
        let mut sums = MomentSums::new();
        sums.push_slice(xs);
        sums.moments()
    }

    /// Adds a block of values: [`Moments::of`] merged in.
    pub fn push_slice(&mut self, xs: &[f64]) {
        self.merge(&Moments::of(xs));
    }

    /// Adds the values summarised by `other` (Chan, Golub and LeVeque's pairwise update).
    pub fn merge(&mut self, other: &Moments) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        let delta = other.mean - self.mean;
        self.mean += delta * nb / n;
        self.m2 += other.m2 + delta * delta * na * nb / n;
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// The number of values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The mean (0 when there are no values).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The sample standard deviation (divisor n - 1; 0 for fewer than two values).
    pub fn sd(&self) -> f64 {
        if self.count < 2 {
            0.0
        } else {
            (self.m2.max(0.0) / (self.count - 1) as f64).sqrt()
        }
    }

    /// The standard error of the mean, `sd / sqrt(n)` (0 for fewer than two values).
    pub fn se(&self) -> f64 {
        if self.count < 2 {
            0.0
        } else {
            self.sd() / (self.count as f64).sqrt()
        }
    }

    /// The smallest value (NaN when there are none).
    pub fn min(&self) -> f64 {
        seen(self.count, self.min)
    }

    /// The largest value (NaN when there are none).
    pub fn max(&self) -> f64 {
        seen(self.count, self.max)
    }
}

/// Running sums from which [`Moments`] follow, for values that arrive in blocks: the sums
/// of the deviations from the first value seen and of their squares (exact for constant
/// values; the first value lies within the range, so the subtraction in
/// `m2 = S2 - S1^2 / n` loses at most a few bits), and the extremes, each in eight lanes so
/// the loop runs in vector registers. A block's values go to lanes `i mod 8` in order, so
/// the result depends only on the values and how they were cut into blocks: the same bits on
/// every machine. Cheaper per block than merging a block's [`Moments`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MomentSums {
    count: u64,
    shift: f64,
    s1: [f64; 8],
    s2: [f64; 8],
    low: [f64; 8],
    high: [f64; 8],
}

impl Default for MomentSums {
    fn default() -> MomentSums {
        MomentSums {
            count: 0,
            shift: 0.0,
            s1: [0.0; 8],
            s2: [0.0; 8],
            low: [f64::INFINITY; 8],
            high: [f64::NEG_INFINITY; 8],
        }
    }
}

impl MomentSums {
    /// Nothing yet.
    pub fn new() -> MomentSums {
        MomentSums::default()
    }

    /// Adds a block of values (NaN-free input is assumed for the extremes).
    pub fn push_slice(&mut self, xs: &[f64]) {
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f,avx512dq")]
            unsafe fn avx512(sums: &mut MomentSums, xs: &[f64]) {
                sums.push_body(xs)
            }
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
            {
                // SAFETY: the processor has the features (checked just above).
                return unsafe { avx512(self, xs) };
            }
        }
        self.push_body(xs)
    }

    /// [`MomentSums::push_slice`] of row `k` of `rows` (`len` values from `k * stride`) into
    /// `sums[k]`, for every `k`: one call for many series of one block.
    pub fn push_rows(sums: &mut [MomentSums], rows: &[f64], stride: usize, len: usize) {
        #[inline(always)]
        fn body(sums: &mut [MomentSums], rows: &[f64], stride: usize, len: usize) {
            for (k, s) in sums.iter_mut().enumerate() {
                s.push_body(&rows[k * stride..k * stride + len]);
            }
        }
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f,avx512dq")]
            unsafe fn avx512(sums: &mut [MomentSums], rows: &[f64], stride: usize, len: usize) {
                body(sums, rows, stride, len)
            }
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
            {
                // SAFETY: the processor has the features (checked just above).
                return unsafe { avx512(sums, rows, stride, len) };
            }
        }
        body(sums, rows, stride, len)
    }

    /// [`MomentSums::push_slice`], compiled for whatever target it is inlined into.
    #[inline(always)]
    fn push_body(&mut self, xs: &[f64]) {
        let Some(&first) = xs.first() else {
            return;
        };
        if self.count == 0 {
            self.shift = first;
        }
        self.count += xs.len() as u64;
        let shift = self.shift;
        let (mut s1, mut s2) = (self.s1, self.s2);
        let chunks = xs.chunks_exact(8);
        let rest = chunks.remainder();
        for chunk in chunks.clone() {
            let chunk: &[f64; 8] = chunk.try_into().expect("chunks of 8");
            for l in 0..8 {
                let d = chunk[l] - shift;
                s1[l] += d;
                s2[l] += d * d;
            }
        }
        let (mut low, mut high) = (self.low, self.high);
        for chunk in chunks {
            let chunk: &[f64; 8] = chunk.try_into().expect("chunks of 8");
            for l in 0..8 {
                low[l] = if chunk[l] < low[l] { chunk[l] } else { low[l] };
                high[l] = if chunk[l] > high[l] {
                    chunk[l]
                } else {
                    high[l]
                };
            }
        }
        for (l, &x) in rest.iter().enumerate() {
            let d = x - shift;
            s1[l] += d;
            s2[l] += d * d;
            low[l] = if x < low[l] { x } else { low[l] };
            high[l] = if x > high[l] { x } else { high[l] };
        }
        (self.s1, self.s2, self.low, self.high) = (s1, s2, low, high);
    }

    /// The moments of everything added.
    pub fn moments(&self) -> Moments {
        if self.count == 0 {
            return Moments::new();
        }
        let pairwise =
            |a: &[f64; 8]| ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
        let (sum, squares) = (pairwise(&self.s1), pairwise(&self.s2));
        let n = self.count as f64;
        let mean = self.shift + sum / n;
        let m2 = (squares - sum * (sum / n)).max(0.0);
        let min = self.low.iter().fold(f64::INFINITY, |a, &b| a.min(b));
        let max = self.high.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        Moments {
            count: self.count,
            mean,
            m2,
            min,
            max,
        }
    }
}

/// Serialised as `{ count, mean, sd, se, min, max }`; min and max are null when empty.
impl Serialize for Moments {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown {
            count: u64,
            mean: f64,
            sd: f64,
            se: f64,
            min: Option<f64>,
            max: Option<f64>,
        }
        let extreme = |v: f64| (self.count > 0).then_some(v);
        Shown {
            count: self.count,
            mean: self.mean,
            sd: self.sd(),
            se: self.se(),
            min: extreme(self.min),
            max: extreme(self.max),
        }
        .serialize(serializer)
    }
}

/// Values closer to zero than this are counted in the zero bucket (and reported as 0).
pub const ZERO_THRESHOLD: f64 = 1e-12;
/// The most buckets kept per sign. When the magnitudes seen span more than
/// `gamma^MAX_BUCKETS` (about 6e17 at the default accuracy), the buckets of the smallest
/// magnitudes are collapsed into the lowest kept one, so quantiles that fall among those
/// smallest magnitudes lose their accuracy guarantee, and memory stays bounded.
pub const MAX_BUCKETS: usize = 4096;
/// The coefficients of DDSketch's cubic interpolation `P(s) = ((A s + B) s + C) s` of
/// `log2(1 + s)` on [0, 1].
const CUBIC: (f64, f64, f64) = (6.0 / 35.0, -3.0 / 5.0, 10.0 / 7.0);

/// The bucket index of a magnitude: `ceil(M (e + P(s)))` (see [`Sketch`]). Exact bit
/// operations, adds and multiplies only. Meaningful for positive normal numbers; anything
/// else gives some index that callers do not use.
#[inline(always)]
fn index_of(magnitude: f64, multiplier: f64) -> i32 {
    let bits = magnitude.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let s = f64::from_bits((bits & ((1 << 52) - 1)) | 0x3ff0_0000_0000_0000) - 1.0;
    let (a, b, c) = CUBIC;
    let interpolated = exponent as f64 + ((a * s + b) * s + c) * s;
    let index = (interpolated * multiplier).ceil();
    // Within i32 and not NaN before an unchecked conversion (a saturating `as` keeps the
    // compiler from converting in vector lanes); indices of real magnitudes are far inside.
    let index = if index.is_nan() {
        0.0
    } else {
        index.clamp(-1e9, 1e9)
    };
    // SAFETY: finite and within the range of i32 (checked just above).
    unsafe { index.to_int_unchecked::<i32>() }
}

/// [`index_of`] of the magnitude of each value, in vector lanes where the processor has
/// AVX-512 or AVX2 (the same bits: exact operations only), and the smallest and largest
/// value of the block (both NaN if any value is NaN).
fn index_block(xs: &[f64], multiplier: f64, out: &mut [i32]) -> (f64, f64) {
    #[inline(always)]
    fn body(xs: &[f64], multiplier: f64, out: &mut [i32]) -> (f64, f64) {
        for (slot, &x) in out.iter_mut().zip(xs) {
            *slot = index_of(x.abs(), multiplier);
        }
        // Lane-wise extremes; comparisons skip a NaN, so it is flagged apart.
        let (mut low, mut high, mut nan) = ([f64::INFINITY; 8], [f64::NEG_INFINITY; 8], [false; 8]);
        let chunks = xs.chunks_exact(8);
        let rest = chunks.remainder();
        for chunk in chunks {
            for l in 0..8 {
                let x = chunk[l];
                low[l] = if x < low[l] { x } else { low[l] };
                high[l] = if x > high[l] { x } else { high[l] };
                nan[l] |= x.is_nan();
            }
        }
        let (mut min, mut max, mut any_nan) =
            (f64::INFINITY, f64::NEG_INFINITY, nan.iter().any(|&b| b));
        for &x in low.iter().chain(rest) {
            min = min.min(x);
        }
        for &x in high.iter().chain(rest) {
            max = max.max(x);
        }
        any_nan |= rest.iter().any(|x| x.is_nan());
        if any_nan {
            (f64::NAN, f64::NAN)
        } else {
            (min, max)
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512dq")]
        unsafe fn avx512(xs: &[f64], multiplier: f64, out: &mut [i32]) -> (f64, f64) {
            body(xs, multiplier, out)
        }
        #[target_feature(enable = "avx2,sse4.1")]
        unsafe fn avx2(xs: &[f64], multiplier: f64, out: &mut [i32]) -> (f64, f64) {
            body(xs, multiplier, out)
        }
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            // SAFETY: the processor has the features (checked just above).
            return unsafe { avx512(xs, multiplier, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { avx2(xs, multiplier, out) };
        }
    }
    body(xs, multiplier, out)
}

/// The inverse of the interpolated `log2`: the `x = 2^e (1 + s)` with `e + P(s) = y`
/// (bisection on the increasing cubic, to the last bit).
fn interpolated_exp2(y: f64) -> f64 {
    let e = y.floor();
    let target = y - e;
    let (a, b, c) = CUBIC;
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..64 {
        let mid = 0.5 * (lo + hi);
        if ((a * mid + b) * mid + c) * mid < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    libm::exp2(e) * (1.0 + hi)
}

/// The default relative accuracy of [`Sketch`] quantiles.
pub const DEFAULT_ALPHA: f64 = 0.005;

/// Bucket arrays grow in steps of this many buckets, so their memory depends on the range
/// of values seen and not on the order in which it was discovered.
const BUCKET_STEP: usize = 64;

fn capacity_for(len: usize) -> usize {
    len.div_ceil(BUCKET_STEP) * BUCKET_STEP
}

/// Counts in consecutive logarithmic buckets, `counts[k]` for bucket `offset + k`.
#[derive(Debug, Clone, Default, PartialEq)]
struct Buckets {
    offset: i32,
    counts: Vec<u64>,
}

impl Buckets {
    fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    fn highest(&self) -> i32 {
        self.offset + self.counts.len() as i32 - 1
    }

    /// Adds one to bucket `index` ([`Buckets::add`], with a short path for a bucket that
    /// already exists).
    #[inline(always)]
    fn add_one(&mut self, index: i32) {
        let k = index.wrapping_sub(self.offset) as u32 as usize;
        if k < self.counts.len() {
            self.counts[k] += 1;
        } else {
            self.add(index, 1);
        }
    }

    /// Adds `n` to bucket `index`. Keeps at most [`MAX_BUCKETS`] buckets below the highest
    /// index seen, folding lower ones into the lowest kept bucket. The result depends only
    /// on the multiset of indices added, never on their order, so merges are exact.
    fn add(&mut self, index: i32, n: u64) {
        let cap = MAX_BUCKETS as i32;
        if self.counts.is_empty() {
            self.offset = index;
            self.counts.reserve_exact(capacity_for(1));
            self.counts.push(n);
            return;
        }
        let highest = self.highest();
        if index > highest {
            let floor = index - cap + 1;
            if floor > self.offset {
                // Fold the buckets that fall out of the window into its lowest bucket.
                let drop = ((floor - self.offset) as usize).min(self.counts.len());
                let folded: u64 = self.counts.drain(..drop).sum();
                self.offset = floor;
                if self.counts.is_empty() {
                    self.counts.push(0);
                }
                self.counts[0] += folded;
            }
            let len = (index - self.offset + 1) as usize;
            if len > self.counts.capacity() {
                self.counts
                    .reserve_exact(capacity_for(len) - self.counts.len());
            }
            self.counts.resize(len, 0);
            self.counts[len - 1] += n;
            return;
        }
        let index = index.max(highest - cap + 1);
        if index < self.offset {
            let grow = (self.offset - index) as usize;
            let mut grown = Vec::with_capacity(
                capacity_for(grow + self.counts.len()).max(self.counts.capacity()),
            );
            grown.resize(grow, 0);
            grown.extend_from_slice(&self.counts);
            self.counts = grown;
            self.offset = index;
        }
        self.counts[(index - self.offset) as usize] += n;
    }

    fn merge(&mut self, other: &Buckets) {
        // Highest first, so the window is settled before the low buckets arrive.
        for (k, &n) in other.counts.iter().enumerate().rev() {
            if n > 0 {
                self.add(other.offset + k as i32, n);
            }
        }
    }

    /// (index, count) of non-empty buckets, lowest index first.
    fn iter(&self) -> impl DoubleEndedIterator<Item = (i32, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| (self.offset + k as i32, *n))
    }
}

/// A mergeable quantile sketch with relative accuracy `alpha` (DDSketch, Masson, Rim and Lee
/// 2019) for values of any sign.
///
/// A positive value `x` is counted in bucket `ceil(M (e + P(s)))`, where `x = 2^e (1 + s)`
/// with `s` in [0, 1) (the IEEE exponent and mantissa), `P(s) = (6/35 s^2 - 3/5 s + 10/7) s`
/// is DDSketch's cubic interpolation of `log2(1 + s)` (exact at 0 and 1, increasing), and
/// `M = 7 / (10 ln gamma)`, `gamma = (1 + alpha) / (1 - alpha)`: a bucket then spans a ratio
/// of at most `gamma` (the steepest point of the interpolation is `s = 0`, where
/// `d log2 x / d(e + P) = 7 / (10 ln 2)`), so every value in it lies within `alpha` of the
/// bucket's representative `2 lo hi / (lo + hi)`. The index takes only exact bit operations,
/// adds and multiplies (no `log`), so blocks of values are indexed in vector lanes
/// ([`Sketch::push_slice`]) with the same result as one by one. Negative values use a
/// mirror set of buckets by magnitude, and values within [`ZERO_THRESHOLD`] of zero a zero
/// bucket. Count, minimum and maximum are exact. Memory is bounded by [`MAX_BUCKETS`] per
/// sign, whatever the number of values. Bucket counts are integers, so merging is exact: the
/// merge of sketches of the parts equals the sketch of the whole, in any order.
/// Non-finite values are ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct Sketch {
    alpha: f64,
    /// `M = 7 / (10 ln gamma)`: buckets per unit of the interpolated `log2`.
    multiplier: f64,
    positive: Buckets,
    negative: Buckets,
    zero: u64,
    count: u64,
    min: f64,
    max: f64,
}

impl Default for Sketch {
    fn default() -> Sketch {
        Sketch::new(DEFAULT_ALPHA)
    }
}

impl Sketch {
    /// An empty sketch with relative accuracy `alpha`, kept within [1e-6, 0.5] (a non-finite
    /// value gives [`DEFAULT_ALPHA`]). Sketches merge only with sketches of the same `alpha`.
    pub fn new(alpha: f64) -> Sketch {
        let alpha = if alpha.is_finite() {
            alpha.clamp(1e-6, 0.5)
        } else {
            DEFAULT_ALPHA
        };
        let multiplier = 7.0 / (10.0 * ((1.0 + alpha) / (1.0 - alpha)).ln());
        Sketch {
            alpha,
            multiplier,
            positive: Buckets::default(),
            negative: Buckets::default(),
            zero: 0,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// The relative accuracy.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    #[inline(always)]
    fn index(&self, magnitude: f64) -> i32 {
        index_of(magnitude, self.multiplier)
    }

    /// The interval of magnitudes counted in bucket `index`: the `x` with
    /// `(index - 1) / M < e + P(s) <= index / M`.
    fn bounds(&self, index: i32) -> (f64, f64) {
        (
            interpolated_exp2((index - 1) as f64 / self.multiplier),
            interpolated_exp2(index as f64 / self.multiplier),
        )
    }

    /// The representative value of bucket `index`: within `alpha` of everything in it.
    fn representative(&self, index: i32) -> f64 {
        let (lo, hi) = self.bounds(index);
        // 2 lo hi / (lo + hi), written so that it cannot overflow.
        let ratio = lo / hi;
        hi * (2.0 * ratio / (1.0 + ratio))
    }

    /// Adds a block of values (non-finite ones are ignored), indexing them in vector lanes:
    /// the same sketch as adding them one by one.
    pub fn push_slice(&mut self, xs: &[f64]) {
        const STRIDE: usize = 128;
        let mut indices = [0i32; STRIDE];
        for block in xs.chunks(STRIDE) {
            let (low, high) = index_block(block, self.multiplier, &mut indices);
            if low > ZERO_THRESHOLD && high < f64::INFINITY {
                // All positive and finite (the usual block): counts and extremes at once.
                self.count += block.len() as u64;
                self.min = self.min.min(low);
                self.max = self.max.max(high);
                for &index in &indices[..block.len()] {
                    self.positive.add_one(index);
                }
                continue;
            }
            for (&x, &index) in block.iter().zip(&indices) {
                if !x.is_finite() {
                    continue;
                }
                self.count += 1;
                self.min = self.min.min(x);
                self.max = self.max.max(x);
                if x > ZERO_THRESHOLD {
                    self.positive.add_one(index);
                } else if x < -ZERO_THRESHOLD {
                    self.negative.add_one(index);
                } else {
                    self.zero += 1;
                }
            }
        }
    }

    /// Adds one value (non-finite values are ignored).
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.push_n(x, 1);
    }

    /// Adds `n` copies of a value (non-finite values are ignored).
    pub fn push_n(&mut self, x: f64, n: u64) {
        if !x.is_finite() || n == 0 {
            return;
        }
        self.count += n;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        if x > ZERO_THRESHOLD {
            let index = self.index(x);
            self.positive.add(index, n);
        } else if x < -ZERO_THRESHOLD {
            let index = self.index(-x);
            self.negative.add(index, n);
        } else {
            self.zero += n;
        }
    }

    /// Adds the values of another sketch. Exact: the result does not depend on the order
    /// of merges. Both sketches should have the same `alpha`; if they do not, `other`'s
    /// buckets are read as if they had this sketch's.
    pub fn merge(&mut self, other: &Sketch) {
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
        self.zero += other.zero;
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// The number of values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The smallest value (exact; NaN when empty).
    pub fn min(&self) -> f64 {
        seen(self.count, self.min)
    }

    /// The largest value (exact; NaN when empty).
    pub fn max(&self) -> f64 {
        seen(self.count, self.max)
    }

    /// Buckets in increasing order of value: (sign, index, count), sign -1, 0 or 1.
    fn ordered(&self) -> impl Iterator<Item = (i8, i32, u64)> + '_ {
        let negative = self.negative.iter().rev().map(|(i, n)| (-1i8, i, n));
        let zero = (self.zero > 0).then_some((0i8, 0, self.zero));
        let positive = self.positive.iter().map(|(i, n)| (1i8, i, n));
        negative.chain(zero).chain(positive)
    }

    fn value_of(&self, sign: i8, index: i32) -> f64 {
        match sign {
            0 => 0.0,
            s => f64::from(s) * self.representative(index),
        }
    }

    /// The `q`-quantile, `q` in [0, 1]: the minimum at 0, the maximum at 1, and otherwise
    /// within `alpha` (relative) of the order statistic of rank `floor(q (n - 1))` (within
    /// [`ZERO_THRESHOLD`] for values counted as zero). NaN when empty or `q` is NaN.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 || q.is_nan() {
            return f64::NAN;
        }
        if q <= 0.0 {
            return self.min;
        }
        if q >= 1.0 {
            return self.max;
        }
        let rank = (q * (self.count - 1) as f64).floor() as u64;
        let mut seen = 0u64;
        for (sign, index, n) in self.ordered() {
            seen += n;
            if seen > rank {
                return self.value_of(sign, index).clamp(self.min, self.max);
            }
        }
        self.max
    }

    /// About how many values are greater than `t` (exact below the minimum and at or above
    /// the maximum; otherwise up to the bucket holding `t`).
    pub fn count_above(&self, t: f64) -> u64 {
        if self.count == 0 || t >= self.max {
            return 0;
        }
        if t < self.min {
            return self.count;
        }
        self.ordered()
            .filter(|(sign, index, _)| self.value_of(*sign, *index) > t)
            .map(|(_, _, n)| n)
            .sum()
    }

    /// A histogram for charting: `bins` equal-width bins `(lo, hi, share)` over the
    /// P0.5-P99.5 range (or min to max if that range is empty), where `share` is the fraction
    /// of all values in the bin (values outside the range are left out, so shares add up to
    /// about 0.99). Each bucket's count is spread evenly over its interval. Empty for an
    /// empty sketch or zero bins; one bin holding everything when all values are equal.
    pub fn histogram(&self, bins: usize) -> Vec<(f64, f64, f64)> {
        if self.count == 0 || bins == 0 {
            return Vec::new();
        }
        let (mut lo, mut hi) = (self.quantile(0.005), self.quantile(0.995));
        if hi <= lo {
            (lo, hi) = (self.min, self.max);
        }
        if hi <= lo {
            return vec![(lo, hi, 1.0)];
        }
        let width = (hi - lo) / bins as f64;
        let mut mass = vec![0.0; bins];
        let total = self.count as f64;
        for (sign, index, n) in self.ordered() {
            let (a, b) = match sign {
                0 => (0.0, 0.0),
                1 => self.bounds(index),
                _ => {
                    let (a, b) = self.bounds(index);
                    (-b, -a)
                }
            };
            // The exact extremes bound every bucket.
            let (a, b) = (a.clamp(self.min, self.max), b.clamp(self.min, self.max));
            let share = n as f64 / total;
            if b - a <= 0.0 {
                if (lo..=hi).contains(&a) {
                    mass[(((a - lo) / width) as usize).min(bins - 1)] += share;
                }
                continue;
            }
            let (from, to) = (a.max(lo), b.min(hi));
            if to <= from {
                continue;
            }
            let first = (((from - lo) / width) as usize).min(bins - 1);
            let last = (((to - lo) / width) as usize).min(bins - 1);
            for (k, slot) in mass.iter_mut().enumerate().take(last + 1).skip(first) {
                let (bin_lo, bin_hi) = (lo + k as f64 * width, lo + (k + 1) as f64 * width);
                let overlap = to.min(bin_hi) - from.max(bin_lo);
                if overlap > 0.0 {
                    *slot += share * overlap / (b - a);
                }
            }
        }
        mass.iter()
            .enumerate()
            .map(|(k, m)| {
                (
                    lo + k as f64 * width,
                    if k + 1 == bins {
                        hi
                    } else {
                        lo + (k + 1) as f64 * width
                    },
                    *m,
                )
            })
            .collect()
    }

    /// The bytes this sketch occupies, its bucket arrays included (at most about
    /// `2 * 8 * MAX_BUCKETS` plus a constant, whatever the number of values).
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Sketch>()
            + (self.positive.counts.capacity() + self.negative.counts.capacity())
                * std::mem::size_of::<u64>()
    }

    /// Whether no value has been added.
    pub fn is_empty(&self) -> bool {
        self.count == 0 && self.positive.is_empty() && self.negative.is_empty()
    }
}

/// A statistic that exists only once something was seen: NaN before.
fn seen(count: u64, value: f64) -> f64 {
    if count == 0 {
        f64::NAN
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{draw_bits, key, std_normal, stream_id};

    fn normals(n: usize, path: u64) -> impl Iterator<Item = f64> {
        let k = key(17, stream_id("stats test"), path);
        (0..n as u64).map(move |s| std_normal(draw_bits(k, s)))
    }

    fn sample_size() -> usize {
        if cfg!(debug_assertions) {
            200_000
        } else {
            1_000_000
        }
    }

    #[test]
    fn moments_match_two_pass_and_merge() {
        let xs: Vec<f64> = normals(10_001, 1).map(|z| 100.0 + 3.0 * z).collect();
        let mut all = Moments::new();
        xs.iter().for_each(|x| all.push(*x));
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        assert!((all.mean() - mean).abs() < 1e-10 && (all.sd() - sd).abs() < 1e-10);
        assert!((all.se() - sd / n.sqrt()).abs() < 1e-12);
        assert_eq!(all.min(), xs.iter().cloned().fold(f64::INFINITY, f64::min));
        assert_eq!(
            all.max(),
            xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
        );
        let (mut a, mut b) = (Moments::new(), Moments::new());
        xs[..3000].iter().for_each(|x| a.push(*x));
        xs[3000..].iter().for_each(|x| b.push(*x));
        a.merge(&b);
        a.merge(&Moments::new());
        assert_eq!(a.count(), all.count());
        assert!((a.mean() - all.mean()).abs() < 1e-10 && (a.sd() - all.sd()).abs() < 1e-10);
        assert_eq!((a.min(), a.max()), (all.min(), all.max()));
        let mut empty = Moments::new();
        assert!(empty.min().is_nan() && empty.sd() == 0.0 && empty.se() == 0.0);
        empty.merge(&all);
        assert_eq!(empty, all);
        let json = serde_json::to_string(&Moments::new()).unwrap();
        assert_eq!(
            json,
            r#"{"count":0,"mean":0.0,"sd":0.0,"se":0.0,"min":null,"max":null}"#
        );
    }

    #[test]
    fn sums_by_blocks_give_the_moments() {
        let xs: Vec<f64> = normals(10_001, 4).map(|z| 5e5 + 7e4 * z).collect();
        let mut all = Moments::new();
        xs.iter().for_each(|x| all.push(*x));
        // Blocks of every size, the last one short: the same moments within rounding.
        for block in [1, 7, 8, 128, 1000, 20_000] {
            let mut sums = MomentSums::new();
            xs.chunks(block).for_each(|b| sums.push_slice(b));
            let m = sums.moments();
            assert_eq!(
                (m.count(), m.min(), m.max()),
                (all.count(), all.min(), all.max()),
                "block {block}"
            );
            assert!(
                (m.mean() - all.mean()).abs() < 1e-9 * all.mean(),
                "block {block}: {} vs {}",
                m.mean(),
                all.mean()
            );
            assert!(
                (m.sd() - all.sd()).abs() < 1e-9 * all.sd(),
                "block {block}: {} vs {}",
                m.sd(),
                all.sd()
            );
        }
        // Constant values: exact, whatever the blocks.
        let mut constant = MomentSums::new();
        [0.1f64; 300]
            .chunks(37)
            .for_each(|b| constant.push_slice(b));
        assert_eq!(
            (constant.moments().mean(), constant.moments().sd()),
            (0.1, 0.0)
        );
        assert_eq!(MomentSums::new().moments(), Moments::new());
        assert_eq!(Moments::of(&[]), Moments::new());
    }

    /// Every checked quantile lies within alpha of the exact order statistic.
    fn check_quantiles(values: &mut [f64], sketch: &Sketch) {
        values.sort_unstable_by(f64::total_cmp);
        let n = values.len();
        assert_eq!(sketch.count(), n as u64);
        assert_eq!(sketch.quantile(0.0), values[0]);
        assert_eq!(sketch.quantile(1.0), values[n - 1]);
        for q in [
            0.001, 0.01, 0.05, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.95, 0.99, 0.999,
        ] {
            let exact = values[(q * (n - 1) as f64).floor() as usize];
            let got = sketch.quantile(q);
            let tolerance = sketch.alpha() * exact.abs() * (1.0 + 1e-12) + ZERO_THRESHOLD;
            assert!(
                (got - exact).abs() <= tolerance,
                "q {q}: sketch {got}, exact {exact}"
            );
        }
    }

    #[test]
    fn quantiles_are_within_alpha() {
        let n = sample_size();
        let mut lognormal: Vec<f64> = normals(n, 2).map(|z| (2.0 + 1.5 * z).exp()).collect();
        let mut normal: Vec<f64> = normals(n, 3).map(|z| 1000.0 + 50.0 * z).collect();
        let mut mixed: Vec<f64> = normals(n, 4).map(|z| 0.3 + z * z * z).collect();
        for values in [&mut lognormal, &mut normal, &mut mixed] {
            let mut sketch = Sketch::new(DEFAULT_ALPHA);
            values.iter().for_each(|x| sketch.push(*x));
            check_quantiles(values, &sketch);
        }
        // Exact zeros and a coarser accuracy.
        let mut with_zeros: Vec<f64> = normals(10_000, 5)
            .map(|z| if z.abs() < 0.5 { 0.0 } else { -z })
            .collect();
        let mut sketch = Sketch::new(0.02);
        with_zeros.iter().for_each(|x| sketch.push(*x));
        check_quantiles(&mut with_zeros, &sketch);
    }

    #[test]
    fn merging_halves_equals_the_whole() {
        let values: Vec<f64> = normals(100_000, 6).map(|z| 5.0 * z + 1.0).collect();
        let mut whole = Sketch::default();
        values.iter().for_each(|x| whole.push(*x));
        let (mut a, mut b) = (Sketch::default(), Sketch::default());
        values[..37_000].iter().for_each(|x| a.push(*x));
        values[37_000..].iter().for_each(|x| b.push(*x));
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        for q in (0..=100).map(|i| i as f64 / 100.0) {
            assert_eq!(
                ab.quantile(q).to_bits(),
                whole.quantile(q).to_bits(),
                "q {q}"
            );
            assert_eq!(
                ba.quantile(q).to_bits(),
                whole.quantile(q).to_bits(),
                "q {q}"
            );
        }
        assert_eq!(ab.count(), whole.count());
        assert_eq!(ab.histogram(30), whole.histogram(30));
    }

    #[test]
    fn collapsing_keeps_memory_bounded_and_merges_exact() {
        // Magnitudes spanning 1e-10 to 1e300 need far more than MAX_BUCKETS buckets.
        let values: Vec<f64> = (0..20_000)
            .map(|i| 10f64.powf(-10.0 + 310.0 * ((i * 7919) % 20_000) as f64 / 20_000.0))
            .collect();
        let mut whole = Sketch::default();
        values.iter().for_each(|x| whole.push(*x));
        assert!(whole.positive.counts.len() <= MAX_BUCKETS);
        assert!(whole.memory_bytes() <= std::mem::size_of::<Sketch>() + 2 * 8 * 2 * MAX_BUCKETS);
        let mut parts = [Sketch::default(), Sketch::default(), Sketch::default()];
        for (i, x) in values.iter().enumerate() {
            parts[i % 3].push(*x);
        }
        let mut merged = parts[2].clone();
        merged.merge(&parts[0]);
        merged.merge(&parts[1]);
        for q in [0.0, 0.01, 0.2, 0.5, 0.9, 0.99, 1.0] {
            assert_eq!(
                merged.quantile(q).to_bits(),
                whole.quantile(q).to_bits(),
                "q {q}"
            );
        }
        // The quantiles within the kept window (the top ~17.8 decades, here above 1e282)
        // keep their accuracy.
        let mut sorted = values.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        let exact = sorted[(0.99 * (sorted.len() - 1) as f64) as usize];
        assert!(exact > 1e283);
        assert!(
            (whole.quantile(0.99) - exact).abs() <= DEFAULT_ALPHA * exact * (1.0 + 1e-12),
            "{} vs {exact}: {}",
            whole.quantile(0.99),
            (whole.quantile(0.99) - exact).abs() / exact
        );
    }

    #[test]
    fn memory_does_not_grow_with_the_number_of_values() {
        // A bounded distribution covers the same buckets whatever the sample size.
        let sizes = [
            100_000u64,
            1_000_000 / if cfg!(debug_assertions) { 2 } else { 1 },
        ];
        let memory: Vec<usize> = sizes
            .iter()
            .map(|&n| {
                let mut sketch = Sketch::default();
                let k = key(3, 3, 3);
                (0..n)
                    .for_each(|s| sketch.push(1.0 + 999.0 * crate::rng::uniform(draw_bits(k, s))));
                sketch.memory_bytes()
            })
            .collect();
        assert_eq!(memory[0], memory[1]);
        // An unbounded one stays under the cap.
        let mut sketch = Sketch::default();
        normals(sample_size(), 9).for_each(|z| sketch.push((3.0 * z).exp() - 1.0));
        assert!(sketch.memory_bytes() <= std::mem::size_of::<Sketch>() + 2 * 8 * 2 * MAX_BUCKETS);
    }

    #[test]
    fn edge_cases() {
        let mut sketch = Sketch::new(f64::NAN);
        assert_eq!(sketch.alpha(), DEFAULT_ALPHA);
        assert!(
            sketch.quantile(0.5).is_nan()
                && sketch.histogram(10).is_empty()
                && sketch.count_above(0.0) == 0
        );
        sketch.push(f64::NAN);
        sketch.push(f64::INFINITY);
        assert!(sketch.is_empty());
        sketch.push_n(7.0, 5);
        assert_eq!(sketch.quantile(0.3), 7.0);
        assert_eq!(sketch.histogram(10), vec![(7.0, 7.0, 1.0)]);
        assert_eq!((sketch.count_above(6.0), sketch.count_above(7.0)), (5, 0));
        assert!(sketch.quantile(f64::NAN).is_nan());
    }

    #[test]
    fn counts_above_and_histogram_shares() {
        let values: Vec<f64> = normals(100_000, 8).collect();
        let mut sketch = Sketch::default();
        values.iter().for_each(|x| sketch.push(*x));
        for t in [-2.0, -0.5, 0.0, 0.7, 2.5] {
            let exact = values.iter().filter(|x| **x > t).count() as f64;
            // Only values in t's bucket (relative width 2 alpha) can be misplaced.
            let slack = values
                .iter()
                .filter(|x| (**x - t).abs() <= 2.0 * DEFAULT_ALPHA * t.abs() + ZERO_THRESHOLD)
                .count() as f64;
            assert!(
                (sketch.count_above(t) as f64 - exact).abs() <= slack,
                "t {t}"
            );
        }
        let bins = sketch.histogram(40);
        assert_eq!(bins.len(), 40);
        let total: f64 = bins.iter().map(|b| b.2).sum();
        assert!((total - 0.99).abs() < 0.002, "shares add up to {total}");
        for pair in bins.windows(2) {
            assert!(pair[0].1 <= pair[1].0 + 1e-12 && pair[0].0 < pair[0].1);
        }
        // The middle bin holds about its normal probability.
        let (lo, hi, share) = bins[20];
        let expected = crate::rng::norm_cdf(hi) - crate::rng::norm_cdf(lo);
        assert!(
            (share - expected).abs() < 4.0 * (expected / 100_000.0).sqrt(),
            "{share} vs {expected}"
        );
    }
}

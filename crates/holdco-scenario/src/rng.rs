//! Counter-based random numbers: every draw is a pure function of (seed, variable stream,
//! draw index), so a run gives bit-identical results on any number of threads, and two
//! scenarios that share a variable see the same draws on the same path (common random
//! numbers, which makes their comparison paired).
//!
//! There is no generator state to carry around. A variable's draws come from a key:
//! [`stream_key`]`(seed, stream)` for a per-path variable, and [`path_key`] of it per year for
//! a yearly one; draw `i` of a key (the engine uses the path's index) is [`draw_bits`], the
//! 32-bit half `i & 1` of [`bits`]`(key, i >> 1)` (SplitMix64 read at a position), so one mix
//! serves two draws. [`uniform`] and [`std_normal`] turn 32 bits into numbers; [`normal_run`]
//! and [`uniform_run`] fill a run of consecutive draws.
//!
//! **Stability.** [`stream_id`], [`mix`], [`stream_key`], [`path_key`], [`bits`],
//! [`draw_bits`], [`uniform`], [`std_normal`] and the runs are part of the file format in all
//! but name: a seed written in a scenario must give the same numbers on every platform,
//! instruction set and thread count, and in every release. They use only integer arithmetic,
//! IEEE-754 operations that are correctly rounded everywhere (add, subtract, multiply, fused
//! multiply-add, exact conversions) and constant tables written in this file. Any change to
//! them is a breaking change for saved seeds. (The normals changed twice: from a ziggurat to
//! an inversion in f64 from 64 bits, so that they vectorise, then to the inversion in f32 from
//! 32 bits below, twice as fast; results moved within their Monte Carlo error.)
//!
//! **Speed.** [`std_normal`] inverts the distribution function with a degree-6 polynomial per
//! octave of the tail probability in f32 (no branch, no `log` or `sqrt`, no tail case: 32
//! octaves cover every probability 31 bits give). [`normal_run`] computes sixteen at a time
//! with AVX-512 where the processor has it (detected at run time), giving the same bits as
//! the scalar function. Measured on the development machine (release build, the ignored
//! `timing_runs` test below, AMD EPYC Zen 5, 2 shared cores, CPU time, another benchmark
//! running): `normal_run` 0.37 ns per normal, `uniform_run` 0.12-0.14 ns (mostly the mixing).

/// The 64-bit golden ratio, the SplitMix64 increment: odd, with well-spread bits.
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
/// A second odd constant, used to separate the path level from the step level.
const PATH_INCREMENT: u64 = 0xd1b5_4a32_d192_ed03;
/// Separates the seed from the stream when the stream key is derived.
const SEED_SALT: u64 = 0x2545_f491_4f6c_dd1d;

/// A stable 64-bit identifier for a variable, from its name (e.g. `"growth/cloud"`).
///
/// FNV-1a over the UTF-8 bytes of the name, followed by [`mix`] so that names differing in one
/// character give unrelated identifiers. Stable across platforms and releases: the identifier
/// of a name never changes, so saved seeds keep reproducing the same runs.
pub fn stream_id(name: &str) -> u64 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = FNV_OFFSET;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    mix(hash)
}

/// The SplitMix64 finaliser (Stafford's variant 13): a bijection on 64-bit words whose output
/// bits each depend on every input bit. Stable across platforms and releases.
#[inline(always)]
pub fn mix(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The key shared by all paths of one variable under one seed. [`path_key`] of it equals
/// [`key`]`(seed, stream, path)`; use the pair to compute this part once per variable.
#[inline]
pub fn stream_key(seed: u64, stream: u64) -> u64 {
    mix(mix(seed ^ SEED_SALT).wrapping_add(stream))
}

/// The key of one path of a variable, from its [`stream_key`].
#[inline]
pub fn path_key(stream_key: u64, path: u64) -> u64 {
    mix(stream_key.wrapping_add(path.wrapping_add(1).wrapping_mul(PATH_INCREMENT)))
}

/// The key of one (seed, variable stream, path): feed it to [`bits`] with the step number.
#[inline]
pub fn key(seed: u64, stream: u64, path: u64) -> u64 {
    path_key(stream_key(seed, stream), path)
}

/// 64 well-mixed random bits for step `step` of the key `key`: the SplitMix64 generator
/// seeded with the key and read at position `step` (it passes BigCrush); keys are themselves
/// mixed, so different paths and streams give unrelated sequences.
#[inline(always)]
pub fn bits(key: u64, step: u64) -> u64 {
    mix(key.wrapping_add(step.wrapping_mul(GOLDEN)))
}

/// The 32 random bits of draw `index` of a key: half `index & 1` (low, then high) of
/// [`bits`]`(key, index >> 1)`, so one mix serves two draws.
#[inline(always)]
pub fn draw_bits(key: u64, index: u64) -> u32 {
    (bits(key, index >> 1) >> (32 * (index & 1))) as u32
}

/// A uniform number in the open interval (0, 1) from 32 random bits: the midpoint
/// `(x + 1/2) / 2^32` of one of 2^32 equal cells, never 0 or 1.
#[inline(always)]
pub fn uniform(x: u32) -> f64 {
    (f64::from(x) + 0.5) * (1.0 / 4_294_967_296.0)
}

/// The unnormalised normal density, with libm's `exp` (the same code on every platform).
fn gauss(x: f64) -> f64 {
    libm::exp(-0.5 * x * x)
}

/// The octaves of the tail probability: `p` in `[2^-(s+2), 2^-(s+1))` for `s` in `0..32`,
/// which covers every `p` that 31 bits give (down to `2^-33`, `z` about 6.2).
const OCTAVES: usize = 32;
/// The degree of the polynomial of each octave.
const DEGREE: usize = 6;

// The upper-tail quantile z(p) (P(Z > z) = p) on each octave of p, as a polynomial in
// w = m - 1.5, m in [1, 2) being the mantissa of p: QUANTILE[k][s] is the coefficient of w^k
// in octave s. Fitted by Chebyshev interpolation at 400 points of scipy's ndtri, written in
// powers of w and rounded to f32; evaluated in f32 as in `octave_polynomial` (Estrin's scheme
// with fused multiply-adds) the error in z is below 1.2e-6 and the error in z times the
// density (the distribution function's) below 2.5e-7 everywhere (degree 7 gives 6e-8 for one
// more coefficient per draw; both are far below any Monte Carlo error), which
// `quantile_polynomials_are_accurate` re-checks against `norm_quantile`.
#[rustfmt::skip]
const QUANTILE: [[f32; OCTAVES]; DEGREE + 1] = [
    [0.31863928, 0.8871465, 1.3180108, 1.6759397, 1.9874278, 2.2662268, 2.520502, 2.7555487, 2.9750206, 3.1815596, 3.3771458, 3.5633078, 3.7412524, 3.911953, 4.0762067, 4.2346754, 4.387918, 4.536408, 4.680553, 4.820706, 4.957175, 5.090231, 5.220113, 5.3470345, 5.4711857, 5.592737, 5.7118435, 5.8286448, 5.943267, 6.0558267, 6.1664295, 6.2751727],
    [-0.6592981, -0.46441594, -0.37341762, -0.31905463, -0.2822418, -0.25533462, -0.2346282, -0.21809147, -0.20451008, -0.19310942, -0.18337011, -0.17492957, -0.16752633, -0.16096656, -0.1551033, -0.14982282, -0.14503565, -0.1406703, -0.13666888, -0.132984, -0.12957643, -0.12641336, -0.12346716, -0.12071435, -0.11813485, -0.115711346, -0.11342886, -0.11127433, -0.10923633, -0.107304804, -0.10547084, -0.10372658],
    [0.06925981, 0.09567681, 0.09189725, 0.08530636, 0.07916378, 0.073878005, 0.06938089, 0.06553568, 0.06221738, 0.059325222, 0.056780513, 0.054522056, 0.05250197, 0.05068243, 0.049033254, 0.04753009, 0.04615307, 0.044885848, 0.043714847, 0.042628694, 0.041617773, 0.040673923, 0.039790142, 0.03896041, 0.038179494, 0.03744286, 0.036746513, 0.036086958, 0.035461098, 0.034866188, 0.034299783, 0.033759702],
    [-0.057235252, -0.042768963, -0.038640447, -0.035644703, -0.03318335, -0.031115174, -0.02935543, -0.027840996, -0.0265237, -0.025366606, -0.024341203, -0.023425266, -0.022601284, -0.021855304, -0.021176083, -0.020554466, -0.01998293, -0.01945523, -0.018966142, -0.018511258, -0.018086836, -0.017689673, -0.017317016, -0.016966475, -0.016635979, -0.01632371, -0.01602807, -0.015747655, -0.015481214, -0.015227634, -0.014985926, -0.0147552],
    [0.018906986, 0.01998719, 0.018446364, 0.017112432, 0.015992988, 0.015045342, 0.014234108, 0.013531972, 0.012918015, 0.012376154, 0.011893914, 0.011461519, 0.011071216, 0.010716792, 0.010393213, 0.010096354, 0.009822814, 0.00956975, 0.009334778, 0.0091158785, 0.008911328, 0.008719651, 0.008539569, 0.008369975, 0.008209903, 0.008058505, 0.007915034, 0.00777883, 0.0076493057, 0.007525939, 0.0074082618, 0.0072958535],
    [-0.014107623, -0.012007609, -0.01108078, -0.010315021, -0.009670805, -0.009122663, -0.008650971, -0.0082407035, -0.007880351, -0.00756103, -0.0072758202, -0.0070192665, -0.0067870216, -0.0065755825, -0.0063820966, -0.0062042177, -0.0060399994, -0.005887813, -0.0057462845, -0.0056142467, -0.005490701, -0.0053747892, -0.005265767, -0.0051629874, -0.0050658844, -0.00497396, -0.0048867757, -0.004803942, -0.004725113, -0.004649979, -0.0045782635, -0.004509717],
    [0.006967597, 0.0066945283, 0.006198508, 0.0057832273, 0.0054326486, 0.0051333155, 0.004874865, 0.0046493723, 0.0044507566, 0.0042743143, 0.004116366, 0.0039740023, 0.003844897, 0.0037271685, 0.00361928, 0.0035199644, 0.003428167, 0.0033430036, 0.0032637261, 0.0031896979, 0.0031203735, 0.0030552824, 0.002994017, 0.0029362217, 0.002881585, 0.0028298327, 0.002780723, 0.0027340406, 0.0026895942, 0.002647213, 0.0026067428, 0.0025680463],
];

/// The octave (0..32) and `w = m - 1.5` of the tail probability carried by 32 random bits
/// `x`, both exact. The draw is `+z(p)` when the top bit is set and `-z(p)` otherwise, with
/// `p = (2k + 1) / 2^33` where `k` is the low 31 bits, complemented for the upper half so
/// that the draw grows with `x` (it is then about `Phi^-1((x + 1/2) / 2^32)`: a normal and a
/// [`uniform`] of the same bits are comonotone). `v = 2k + 1` has `lz` leading zeros, `p`
/// lies in octave `lz`, and the bits below its leading one are `p`'s mantissa.
#[inline(always)]
fn octave_and_w(x: u32) -> (usize, f32) {
    // k = the low 31 bits, complemented when the top bit is set (XOR with the sign spread
    // over the word; the top bit itself leaves with the shift).
    let v = ((x ^ (x as i32 >> 31) as u32) << 1) | 1;
    let lz = v.leading_zeros();
    // The leading one lands on bit 23, the lowest exponent bit: OR-ing the exponent of 0.5
    // makes the number 1.m in [1, 2).
    let m = f32::from_bits(((v << lz) >> 8) | 0x3f00_0000);
    (lz as usize, m - 1.5)
}

/// The polynomial of octave `s` at `w`, by Estrin's scheme (pairs of coefficients, then pairs
/// of pairs with w^2 and w^4: a short chain of dependent operations) with fused
/// multiply-adds `fma(a, b, c) = a * b + c` rounded once: the processor's instruction
/// ([`f32::mul_add`] where the `fma` feature is enabled) or `libm::fmaf` (pure Rust, the same
/// on every platform), which give the same bits because both are correctly rounded. The
/// vector code in [`normal_run`] performs the same operations.
#[inline(always)]
fn octave_polynomial(s: usize, w: f32, fma: impl Fn(f32, f32, f32) -> f32) -> f32 {
    const _: () = assert!(DEGREE == 6, "the scheme below is written for degree 6");
    let c = |k: usize| QUANTILE[k][s];
    let w2 = w * w;
    let w4 = w2 * w2;
    let (p01, p23, p45) = (fma(c(1), w, c(0)), fma(c(3), w, c(2)), fma(c(5), w, c(4)));
    fma(fma(c(6), w2, p45), w4, fma(p23, w2, p01))
}

/// A standard normal draw as a pure function of 32 random bits (e.g. from [`draw_bits`]).
///
/// Inversion by a degree-6 polynomial per octave of the tail probability (its exponent picks
/// the octave, its mantissa is the variable), computed in `f32`: no branch, no `log` or
/// `sqrt`, no table beyond 224 constants, so [`normal_run`] computes sixteen at a time with
/// vector instructions. Increasing in `x`; about `Phi^-1((x + 1/2) / 2^32)`, within 2.5e-7 in
/// the distribution function (400 times below the Monte Carlo error of 10^8 draws); draws reach
/// 6.2 in absolute value (the truncation beyond has probability 6e-10).
#[inline]
pub fn std_normal(x: u32) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the feature the function is compiled for is present.
            return unsafe { std_normal_fma(x) };
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        // The fused multiply-add is part of the base instruction set.
        return normal_of(x, f32::mul_add);
    }
    #[allow(unreachable_code)]
    normal_of(x, libm::fmaf)
}

/// [`std_normal`] with the processor's fused multiply-add.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn std_normal_fma(x: u32) -> f64 {
    normal_of(x, f32::mul_add)
}

/// The body of [`std_normal`], with a correctly rounded fused multiply-add `fma`.
#[inline(always)]
fn normal_of(x: u32, fma: impl Fn(f32, f32, f32) -> f32) -> f64 {
    let (octave, w) = octave_and_w(x);
    // Not below zero (a guard: next to p = 1/2 the polynomial is within 5e-7 of zero, and a
    // sign change there would break monotonicity across the middle); then the sign by XOR,
    // positive for the upper half.
    let z = octave_polynomial(octave, w, fma).max(0.0);
    f64::from(f32::from_bits(z.to_bits() ^ (!x & 0x8000_0000)))
}

/// A run of standard normals of one key: `out[i] = std_normal(draw_bits(key, first + i))`,
/// bit for bit whatever the instruction set. With AVX-512 (detected at run time) sixteen
/// draws from eight mixes at a time, the counters made in registers; otherwise one by one.
pub fn normal_run(key: u64, first: u64, out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if avx512::available() {
            // SAFETY: the features the function is compiled for are present.
            unsafe { avx512::normal_run(key, first, out) };
            return;
        }
    }
    for (i, z) in out.iter_mut().enumerate() {
        *z = std_normal(draw_bits(key, first.wrapping_add(i as u64)));
    }
}

/// A run of uniforms of one key: `out[i] = uniform(draw_bits(key, first + i))` (the same bits
/// as [`normal_run`], so a uniform and a normal of one draw are comonotone).
pub fn uniform_run(key: u64, first: u64, out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if avx512::available() {
            // SAFETY: the features the function is compiled for are present.
            unsafe { avx512::uniform_run(key, first, out) };
            return;
        }
    }
    for (i, u) in out.iter_mut().enumerate() {
        *u = uniform(draw_bits(key, first.wrapping_add(i as u64)));
    }
}

/// [`std_normal`] of [`mix`] sixteen lanes at a time, with the same operations in the same
/// order (integer operations, exact conversions, correctly rounded adds, multiplies and fused
/// multiply-adds), so every lane gives the bits of the scalar function. The coefficients of
/// the first 16 octaves sit in one register each and are read with one permute per
/// coefficient (a two-register table for all 32 octaves needs a copy per read and more
/// registers than the kernel can spare); the 1 draw in 65,536 beyond reads the whole table.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use super::*;
    use std::arch::x86_64::*;

    /// True when the processor has what the functions below are compiled for.
    #[inline]
    pub(crate) fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512cd")
            && std::arch::is_x86_feature_detected!("fma")
    }

    /// Draws `first..first + out.len()` of `key` in rounds of sixteen (eight counters), `each`
    /// turning the mixed bits of a round into sixteen values; the ends one at a time by
    /// `single`. A round starts at an even draw, so its counters are whole.
    #[inline(always)]
    unsafe fn rounds(
        k: &Normals,
        key: u64,
        first: u64,
        out: &mut [f64],
        single: impl Fn(u32) -> f64,
        each: impl Fn(__m512i, &mut [f64]),
    ) {
        let mut i = 0usize;
        if first & 1 == 1 && !out.is_empty() {
            out[0] = single(draw_bits(key, first));
            i = 1;
        }
        // SAFETY: the caller is compiled with AVX-512.
        let mut counter = unsafe { Normals::counters(key, first + i as u64) };
        while i + 16 <= out.len() {
            each(k.mix(counter), &mut out[i..i + 16]);
            counter = k.next(counter);
            i += 16;
        }
        for (j, v) in out[i..].iter_mut().enumerate() {
            *v = single(draw_bits(key, first + (i + j) as u64));
        }
    }

    /// The constants of the vector normal: the coefficient tables and the bit masks.
    #[derive(Clone, Copy)]
    pub(crate) struct Normals {
        /// The first 16 octaves of each coefficient (one register each, read with a
        /// single-source permute); the deeper octaves (1 draw in 65,536) read the whole
        /// table from memory.
        tables: [__m512; DEGREE + 1],
        last_octave: __m512i,
        one: __m512i,
        half_bits: __m512i,
        sign: __m512i,
        one_and_half: __m512,
        c1: __m512i,
        c2: __m512i,
        step: __m512i,
    }

    impl Normals {
        #[inline]
        #[target_feature(enable = "avx512f,avx512dq,avx512cd,fma")]
        pub(crate) fn new() -> Normals {
            let tables: [__m512; DEGREE + 1] = std::array::from_fn(|k| {
                // SAFETY: the first 16 of 32 values.
                unsafe { _mm512_loadu_ps(QUANTILE[k].as_ptr()) }
            });
            Normals {
                tables,
                last_octave: _mm512_set1_epi32(15),
                one: _mm512_set1_epi32(1),
                half_bits: _mm512_set1_epi32(0x3f00_0000),
                sign: _mm512_set1_epi32(0x8000_0000_u32 as i32),
                one_and_half: _mm512_set1_ps(1.5),
                c1: _mm512_set1_epi64(0xbf58_476d_1ce4_e5b9_u64 as i64),
                c2: _mm512_set1_epi64(0x94d0_49bb_1331_11eb_u64 as i64),
                step: _mm512_set1_epi64(8u64.wrapping_mul(GOLDEN) as i64),
            }
        }

        /// The counters of draws `first..first + 16` of `key` (`first` even): eight words,
        /// one per mix.
        #[inline]
        #[target_feature(enable = "avx512f,avx512dq,avx512cd,fma")]
        pub(crate) fn counters(key: u64, first: u64) -> __m512i {
            let start = key.wrapping_add((first >> 1).wrapping_mul(GOLDEN));
            let lanes: [u64; 8] =
                std::array::from_fn(|j| start.wrapping_add((j as u64).wrapping_mul(GOLDEN)));
            // SAFETY: 8 words.
            unsafe { _mm512_loadu_si512(lanes.as_ptr() as *const _) }
        }

        /// The counters sixteen draws further on.
        #[inline(always)]
        pub(crate) fn next(&self, counters: __m512i) -> __m512i {
            // SAFETY: only called from functions compiled with AVX-512.
            unsafe { _mm512_add_epi64(counters, self.step) }
        }

        /// [`mix`] of eight counters.
        #[inline(always)]
        pub(crate) fn mix(&self, x: __m512i) -> __m512i {
            // SAFETY: only called from functions compiled with AVX-512.
            unsafe {
                let x = _mm512_mullo_epi64(_mm512_xor_si512(x, _mm512_srli_epi64(x, 30)), self.c1);
                let x = _mm512_mullo_epi64(_mm512_xor_si512(x, _mm512_srli_epi64(x, 27)), self.c2);
                _mm512_xor_si512(x, _mm512_srli_epi64(x, 31))
            }
        }

        /// The sixteen normals of sixteen 32-bit draws `x` (the halves of eight mixes, low
        /// then high), as two vectors of eight `f64`: draws 0..8 and 8..16.
        #[inline(always)]
        pub(crate) fn normals(&self, x: __m512i) -> (__m512d, __m512d) {
            // SAFETY: only called from functions compiled with AVX-512 (F, DQ, CD) and FMA.
            unsafe {
                let v = _mm512_or_si512(
                    _mm512_slli_epi32(_mm512_xor_si512(x, _mm512_srai_epi32(x, 31)), 1),
                    self.one,
                );
                let lz = _mm512_lzcnt_epi32(v);
                let m = _mm512_or_si512(
                    _mm512_srli_epi32(_mm512_sllv_epi32(v, lz), 8),
                    self.half_bits,
                );
                let w = _mm512_sub_ps(_mm512_castsi512_ps(m), self.one_and_half);
                let t = &self.tables;
                let w2 = _mm512_mul_ps(w, w);
                let w4 = _mm512_mul_ps(w2, w2);
                // octave_polynomial, the coefficient j read by `$c(j)`.
                macro_rules! polynomial {
                    ($c:expr) => {{
                        let c = $c;
                        let p01 = _mm512_fmadd_ps(c(1), w, c(0));
                        let p23 = _mm512_fmadd_ps(c(3), w, c(2));
                        let p45 = _mm512_fmadd_ps(c(5), w, c(4));
                        _mm512_fmadd_ps(
                            _mm512_fmadd_ps(c(6), w2, p45),
                            w4,
                            _mm512_fmadd_ps(p23, w2, p01),
                        )
                    }};
                }
                let mut z = polynomial!(|j: usize| _mm512_permutexvar_ps(lz, t[j]));
                let deep = _mm512_cmpgt_epu32_mask(lz, self.last_octave);
                if deep != 0 {
                    // Octaves 16 and beyond (1 draw in 65,536): the whole table, in place (a
                    // call here would make the kernels save their registers every round).
                    let whole = polynomial!(|j: usize| _mm512_permutex2var_ps(
                        t[j],
                        lz,
                        _mm512_loadu_ps(QUANTILE[j].as_ptr().add(16))
                    ));
                    z = _mm512_mask_blend_ps(deep, z, whole);
                }
                let z = _mm512_max_ps(z, _mm512_setzero_ps());
                let z = _mm512_castsi512_ps(_mm512_xor_si512(
                    _mm512_castps_si512(z),
                    _mm512_andnot_si512(x, self.sign),
                ));
                (
                    _mm512_cvtps_pd(_mm512_castps512_ps256(z)),
                    _mm512_cvtps_pd(_mm512_extractf32x8_ps::<1>(z)),
                )
            }
        }
    }

    /// [`super::normal_run`].
    #[target_feature(enable = "avx512f,avx512dq,avx512cd,fma")]
    pub(super) unsafe fn normal_run(key: u64, first: u64, out: &mut [f64]) {
        let k = Normals::new();
        // SAFETY (the closure): the features are enabled for this function, and the slice
        // holds 16 values.
        let each = |x: __m512i, out: &mut [f64]| unsafe {
            let (low, high) = k.normals(x);
            let ptr = out.as_mut_ptr();
            _mm512_storeu_pd(ptr, low);
            _mm512_storeu_pd(ptr.add(8), high);
        };
        // SAFETY: the features are enabled for this function.
        unsafe { rounds(&k, key, first, out, |x| std_normal_fma(x), each) }
    }

    /// [`super::uniform_run`].
    #[target_feature(enable = "avx512f,avx512dq,avx512cd,fma")]
    pub(super) unsafe fn uniform_run(key: u64, first: u64, out: &mut [f64]) {
        let half = _mm512_set1_pd(0.5);
        let scale = _mm512_set1_pd(1.0 / 4_294_967_296.0);
        // SAFETY (the closure): the features are enabled for this function, and the slice
        // holds 16 values.
        let each = |x: __m512i, out: &mut [f64]| unsafe {
            let ptr = out.as_mut_ptr();
            let low = _mm512_cvtepu32_pd(_mm512_castsi512_si256(x));
            let high = _mm512_cvtepu32_pd(_mm512_extracti64x4_epi64::<1>(x));
            _mm512_storeu_pd(ptr, _mm512_mul_pd(_mm512_add_pd(low, half), scale));
            _mm512_storeu_pd(ptr.add(8), _mm512_mul_pd(_mm512_add_pd(high, half), scale));
        };
        // SAFETY: the features are enabled for this function.
        unsafe { rounds(&Normals::new(), key, first, out, uniform, each) }
    }
}

/// The standard normal cumulative distribution function, via `erfc` (accurate in both tails).
pub fn norm_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z * std::f64::consts::FRAC_1_SQRT_2)
}

/// The standard normal quantile (inverse CDF) for `p` in (0, 1), to about 1e-15 relative.
///
/// Acklam's rational approximation (relative error 1.2e-9) refined by one Halley step on
/// [`norm_cdf`]. Returns `-inf` for `p <= 0`, `+inf` for `p >= 1` and NaN for NaN.
pub fn norm_quantile(p: f64) -> f64 {
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p > 0.5 {
        // 1 - p is exact for p in (0.5, 1), and the lower half is where the refinement
        // keeps full relative accuracy.
        return -lower_quantile(1.0 - p);
    }
    lower_quantile(p)
}

/// The quantile for p in (0, 0.5].
fn lower_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.02425;
    let x = if p < P_LOW {
        let q = libm::sqrt(-2.0 * libm::log(p));
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    // One Halley step: error in p divided by the density, with the curvature correction.
    let density = gauss(x) / (2.0 * std::f64::consts::PI).sqrt();
    if density <= 0.0 {
        return x;
    }
    let u = (norm_cdf(x) - p) / density;
    x - u / (1.0 + 0.5 * x * u)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sample sizes: smaller in debug builds, with tolerances derived from the standard error
    /// of whatever size is used.
    fn draws(release: usize) -> usize {
        if cfg!(debug_assertions) {
            release / 5
        } else {
            release
        }
    }

    fn within(label: &str, got: f64, expected: f64, se: f64) {
        assert!(
            (got - expected).abs() <= 4.0 * se,
            "{label}: got {got}, expected {expected} within 4 standard errors of {se}"
        );
    }

    /// `n` normals of one key, as the engine draws them (runs of 128 draws).
    fn normals(key: u64, n: usize) -> Vec<f64> {
        let mut out = vec![0.0; n];
        for (i, run) in out.chunks_mut(128).enumerate() {
            normal_run(key, (i * 128) as u64, run);
        }
        out
    }

    #[test]
    fn stream_ids_are_stable_and_distinct() {
        // Pinned values: a change here breaks every saved seed.
        assert_eq!(stream_id(""), mix(0xcbf2_9ce4_8422_2325));
        assert_eq!(stream_id("growth/cloud"), stream_id("growth/cloud"));
        assert_ne!(stream_id("growth/cloud"), stream_id("growth/clouds"));
        assert_ne!(stream_id("a"), stream_id("b"));
        assert_eq!(mix(0), 0);
        assert_eq!(mix(1), 0x5692_161d_100b_05e5);
    }

    #[test]
    fn keys_split_into_stream_and_path() {
        for (seed, stream, path) in [
            (0, 0, 0),
            (42, stream_id("margin/x"), 123_456),
            (u64::MAX, 7, u64::MAX),
        ] {
            assert_eq!(
                key(seed, stream, path),
                path_key(stream_key(seed, stream), path)
            );
        }
        assert_ne!(key(1, 2, 3), key(1, 2, 4));
        assert_ne!(key(1, 2, 3), key(1, 3, 3));
        assert_ne!(key(1, 2, 3), key(2, 2, 3));
        // Two draws per mix: the low half, then the high half.
        let k = key(5, 6, 7);
        assert_eq!(draw_bits(k, 10), bits(k, 5) as u32);
        assert_eq!(draw_bits(k, 11), (bits(k, 5) >> 32) as u32);
    }

    #[test]
    fn uniforms_are_open_and_have_the_right_moments() {
        assert!(uniform(0) > 0.0 && uniform(u32::MAX) < 1.0);
        let n = draws(1_000_000);
        let k = key(7, stream_id("u"), 0);
        let (mut sum, mut sum2) = (0.0, 0.0);
        for i in 0..n as u64 {
            let u = uniform(draw_bits(k, i));
            sum += u;
            sum2 += u * u;
        }
        let mean = sum / n as f64;
        let var = sum2 / n as f64 - mean * mean;
        within("uniform mean", mean, 0.5, (1.0 / 12.0 / n as f64).sqrt());
        // Var of (U - 1/2)^2 is 1/80 - 1/144 = 1/180.
        within(
            "uniform variance",
            var,
            1.0 / 12.0,
            (1.0 / 180.0 / n as f64).sqrt(),
        );
    }

    #[test]
    fn every_output_bit_is_balanced() {
        let n = draws(200_000);
        let mut ones = [0u64; 64];
        for path in 0..n as u64 {
            let b = bits(key(3, 9, path), path % 11);
            for (i, count) in ones.iter_mut().enumerate() {
                *count += (b >> i) & 1;
            }
        }
        // Four standard errors for each bit, and a bit would need a bias to fail.
        for (i, count) in ones.iter().enumerate() {
            within(
                &format!("bit {i}"),
                *count as f64 / n as f64,
                0.5,
                (0.25 / n as f64).sqrt(),
            );
        }
    }

    /// The correlation of uniforms from pairs of draws, over `n` pairs.
    fn correlation(n: usize, pair: impl Fn(u64) -> (u32, u32)) -> f64 {
        let pairs: Vec<(f64, f64)> = (0..n as u64)
            .map(pair)
            .map(|(a, b)| (uniform(a), uniform(b)))
            .collect();
        pair_correlation(&pairs)
    }

    #[test]
    fn neighbouring_draws_paths_and_streams_are_uncorrelated() {
        let n = draws(500_000);
        // Under independence the sample correlation has standard error 1/sqrt(n).
        let se = 1.0 / (n as f64).sqrt();
        let s = stream_key(11, stream_id("growth/cloud"));
        let t = stream_key(11, stream_id("growth/cloud2"));
        let halves = correlation(n, |i| (draw_bits(s, 2 * i), draw_bits(s, 2 * i + 1)));
        let neighbours = correlation(n, |i| (draw_bits(s, 2 * i + 1), draw_bits(s, 2 * i + 2)));
        let years = correlation(n, |i| {
            (draw_bits(path_key(s, 3), i), draw_bits(path_key(s, 4), i))
        });
        let streams = correlation(n, |i| (draw_bits(s, i), draw_bits(t, i)));
        let seeds = correlation(n, |i| {
            (draw_bits(key(1, 5, 0), i), draw_bits(key(2, 5, 0), i))
        });
        for (label, r) in [
            ("halves of one mix", halves),
            ("neighbours", neighbours),
            ("years", years),
            ("streams", streams),
            ("seeds", seeds),
        ] {
            within(label, r, 0.0, se);
        }
    }

    #[test]
    fn quantile_polynomials_are_accurate() {
        // Against the exact quantile on a fine grid of every octave, ends included: the error
        // in z times the density (the error in the distribution function) below 2.5e-7, and the
        // relative error in the tail probability below 2e-5.
        let mut worst = 0.0f64;
        for s in 0..OCTAVES {
            for i in 0..=4000 {
                let w = (-0.5 + i as f64 / 4000.0 * (1.0 - f64::EPSILON)) as f32;
                let p = (1.5 + f64::from(w)) * 2f64.powi(-(s as i32) - 2);
                let exact = -norm_quantile(p);
                let z = f64::from(octave_polynomial(s, w, libm::fmaf));
                let density = gauss(exact) / (2.0 * std::f64::consts::PI).sqrt();
                let cdf_error = (z - exact).abs() * density;
                worst = worst.max(cdf_error);
                assert!(
                    cdf_error < 2.5e-7,
                    "octave {s}, w = {w}: z = {z}, exact {exact}"
                );
                assert!(
                    cdf_error / p < 2e-5,
                    "octave {s}, w = {w}: relative tail error {}",
                    cdf_error / p
                );
            }
        }
        assert!(worst > 1e-10, "the check ran: worst {worst}");
        // The bits reach the octaves as documented: the ends and the middle.
        let (lowest, highest) = (std_normal(0), std_normal(u32::MAX));
        assert_eq!(lowest, -highest);
        assert!(
            (highest + norm_quantile(0.5 / 4_294_967_296.0)).abs() < 2e-5,
            "{highest}"
        );
        assert!(std_normal(0x7fff_ffff) <= 0.0 && std_normal(0x8000_0000) >= 0.0);
        assert!(std_normal(0x8000_0000) < 1e-6 && std_normal(0x8001_0000) > 0.0);
        // About the normal quantile of the uniform of the same bits.
        for i in 0..draws(100_000) as u64 {
            let x = draw_bits(7, i);
            let (z, exact) = (std_normal(x), norm_quantile(uniform(x)));
            assert!(
                (z - exact).abs() < 2e-6 * exact.abs().max(1.0),
                "x = {x:#x}: {z} vs {exact}"
            );
        }
    }

    #[test]
    fn normals_grow_with_their_bits() {
        // A sweep of the whole range and every octave boundary: a draw never decreases as the
        // bits grow, so a normal and a uniform of the same bits are comonotone.
        let mut xs: Vec<u32> = (0..=u32::MAX).step_by(4099).collect();
        for k in 0..32 {
            for x in [
                1u32 << k,
                (1u32 << k).wrapping_sub(1),
                !(1u32 << k),
                !((1u32 << k).wrapping_sub(1)),
            ] {
                xs.extend([x.wrapping_sub(1), x, x.wrapping_add(1)]);
            }
        }
        xs.sort_unstable();
        xs.dedup();
        for pair in xs.windows(2) {
            assert!(
                std_normal(pair[0]) <= std_normal(pair[1]),
                "{:#x} -> {}, {:#x} -> {}",
                pair[0],
                std_normal(pair[0]),
                pair[1],
                std_normal(pair[1])
            );
        }
    }

    #[test]
    fn normal_moments_and_tails_match() {
        let n = draws(10_000_000);
        let z = normals(key(2024, stream_id("normal test"), 0), n);
        let (mut s1, mut s2, mut s3, mut s4) = (0.0, 0.0, 0.0, 0.0);
        let (mut above2, mut above3, mut above4, mut below4) = (0u64, 0u64, 0u64, 0u64);
        for &z in &z {
            let z2 = z * z;
            s1 += z;
            s2 += z2;
            s3 += z2 * z;
            s4 += z2 * z2;
            above2 += (z > 2.0) as u64;
            above3 += (z > 3.0) as u64;
            above4 += (z > 4.0) as u64;
            below4 += (z < -4.0) as u64;
        }
        let nf = n as f64;
        within("mean", s1 / nf, 0.0, (1.0 / nf).sqrt());
        within("variance", s2 / nf, 1.0, (2.0 / nf).sqrt());
        within("skewness", s3 / nf, 0.0, (15.0 / nf).sqrt());
        within("kurtosis", s4 / nf, 3.0, (96.0 / nf).sqrt());
        for (label, count, t) in [
            ("P(Z>2)", above2, 2.0),
            ("P(Z>3)", above3, 3.0),
            ("P(Z>4)", above4, 4.0),
            ("P(Z<-4)", below4, 4.0),
        ] {
            let p = norm_cdf(-t);
            within(label, count as f64 / nf, p, (p * (1.0 - p) / nf).sqrt());
        }
    }

    #[test]
    fn normal_passes_kolmogorov_smirnov_and_chi_square() {
        let n = draws(1_000_000);
        let mut z = normals(key(99, stream_id("ks"), 5), n);
        z.sort_unstable_by(f64::total_cmp);
        let nf = n as f64;
        let d = z.iter().enumerate().map(|(i, &x)| {
            let f = norm_cdf(x);
            (f - i as f64 / nf)
                .abs()
                .max(((i + 1) as f64 / nf - f).abs())
        });
        let d = d.fold(0.0, f64::max);
        // sqrt(n) D exceeds 1.95 with probability 0.1% under the null.
        assert!(
            d * nf.sqrt() < 1.95,
            "KS statistic sqrt(n) D = {}",
            d * nf.sqrt()
        );
        // Chi-square over 200 equiprobable cells: 199 degrees of freedom, sd sqrt(398).
        let cells = 200;
        let mut counts = vec![0u64; cells];
        for &x in &z {
            counts[((norm_cdf(x) * cells as f64) as usize).min(cells - 1)] += 1;
        }
        let expected = nf / cells as f64;
        let chi2: f64 = counts
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        let dof = (cells - 1) as f64;
        assert!(
            chi2 < dof + 4.0 * (2.0 * dof).sqrt(),
            "chi-square {chi2} with {dof} degrees of freedom"
        );
    }

    #[test]
    fn runs_match_the_scalar_functions() {
        let k = stream_key(5, stream_id("batch"));
        for (first, len) in [
            (0u64, 0usize),
            (0, 1),
            (1, 1),
            (0, 15),
            (0, 16),
            (1, 16),
            (3, 17),
            (128, 128),
            (7, 100),
            (1 << 40, 33),
            (u64::MAX - 40, 40),
        ] {
            let (mut z, mut u) = (vec![f64::NAN; len + 3], vec![f64::NAN; len + 3]);
            normal_run(k, first, &mut z[..len]);
            uniform_run(k, first, &mut u[..len]);
            for i in 0..len {
                let x = draw_bits(k, first.wrapping_add(i as u64));
                assert_eq!(
                    z[i].to_bits(),
                    std_normal(x).to_bits(),
                    "normal {i} of {len} from {first}"
                );
                assert_eq!(
                    u[i].to_bits(),
                    uniform(x).to_bits(),
                    "uniform {i} of {len} from {first}"
                );
            }
            assert!(
                z[len..].iter().chain(&u[len..]).all(|x| x.is_nan()),
                "values past the run are left alone"
            );
        }
        // Many draws, so that every octave goes through the vector code: the same bits.
        let n = draws(1_000_000);
        let z = normals(k, n);
        for (i, &z) in z.iter().enumerate() {
            assert_eq!(
                z.to_bits(),
                std_normal(draw_bits(k, i as u64)).to_bits(),
                "draw {i}"
            );
        }
        assert!(z.iter().any(|z| z.abs() > 4.0), "the tails were reached");
    }

    /// Sample correlation of pairs.
    fn pair_correlation(pairs: &[(f64, f64)]) -> f64 {
        let n = pairs.len() as f64;
        let (mx, my) = (
            pairs.iter().map(|p| p.0).sum::<f64>() / n,
            pairs.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
        for &(x, y) in pairs {
            sxy += (x - mx) * (y - my);
            sxx += (x - mx) * (x - mx);
            syy += (y - my) * (y - my);
        }
        sxy / (sxx * syy).sqrt()
    }

    #[test]
    fn normals_of_neighbouring_draws_and_keys_are_independent() {
        // Correlations of the draws and of their squares (dependence in size), between
        // neighbouring draws of a run (the two halves of one mix among them) and between the
        // same draw of neighbouring keys: each has standard error 1/sqrt(n).
        let n = draws(400_000);
        let base = stream_key(17, stream_id("neighbours"));
        let (a, b) = (normals(path_key(base, 0), n), normals(path_key(base, 1), n));
        let draws_pairs: Vec<(f64, f64)> = a.windows(2).map(|w| (w[0], w[1])).collect();
        let key_pairs: Vec<(f64, f64)> = a.iter().copied().zip(b.iter().copied()).collect();
        let squares = |pairs: &[(f64, f64)]| {
            pairs
                .iter()
                .map(|&(x, y)| (x * x, y * y))
                .collect::<Vec<_>>()
        };
        for (label, pairs) in [("draws", &draws_pairs), ("keys", &key_pairs)] {
            let se = 1.0 / (pairs.len() as f64).sqrt();
            within(
                &format!("correlation of neighbouring {label}"),
                pair_correlation(pairs),
                0.0,
                se,
            );
            within(
                &format!("correlation of squares of neighbouring {label}"),
                pair_correlation(&squares(pairs)),
                0.0,
                se,
            );
        }
    }

    /// The distribution at 10^8 draws, as the engine draws them (a few seconds in release). Run with
    /// `cargo test --release -p holdco-scenario --lib -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn normal_statistics_at_1e8() {
        let runs = 781_250; // x 128 = 10^8
        let cells = 2000;
        let thresholds = [1.0, 2.0, 3.0, 4.0, 5.0];
        let (mut s1, mut s2, mut s3, mut s4) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        let (mut above, mut below) = ([0u64; 5], [0u64; 5]);
        let mut counts = vec![0u64; cells];
        let mut largest = 0.0f64;
        let mut out = vec![0.0; 128];
        for run in 0..runs {
            normal_run(
                path_key(stream_key(2026, 1), run / 1000),
                (run % 1000) * 128,
                &mut out,
            );
            // Sums per run first, so that the running sums do not lose digits.
            let (mut b1, mut b2, mut b3, mut b4) = (0.0, 0.0, 0.0, 0.0);
            for &z in &out {
                let z2 = z * z;
                b1 += z;
                b2 += z2;
                b3 += z2 * z;
                b4 += z2 * z2;
                for (i, &t) in thresholds.iter().enumerate() {
                    above[i] += (z > t) as u64;
                    below[i] += (z < -t) as u64;
                }
                counts[((norm_cdf(z) * cells as f64) as usize).min(cells - 1)] += 1;
                largest = largest.max(z.abs());
            }
            (s1, s2, s3, s4) = (s1 + b1, s2 + b2, s3 + b3, s4 + b4);
        }
        let nf = (runs * 128) as f64;
        within("mean", s1 / nf, 0.0, (1.0 / nf).sqrt());
        within("variance", s2 / nf, 1.0, (2.0 / nf).sqrt());
        within("skewness", s3 / nf, 0.0, (15.0 / nf).sqrt());
        within("kurtosis", s4 / nf, 3.0, (96.0 / nf).sqrt());
        for (i, &t) in thresholds.iter().enumerate() {
            let p = norm_cdf(-t);
            let se = (p * (1.0 - p) / nf).sqrt();
            within(&format!("P(Z>{t:.2})"), above[i] as f64 / nf, p, se);
            within(&format!("P(Z<-{t:.2})"), below[i] as f64 / nf, p, se);
            println!(
                "P(Z>{t:.2}) = {:.4e} and P(Z<-{t:.2}) = {:.4e}, expected {p:.4e} (se {se:.1e})",
                above[i] as f64 / nf,
                below[i] as f64 / nf
            );
        }
        // Kolmogorov-Smirnov on the cell edges (a lower bound of the statistic over all points,
        // and the cells are 5e-4 wide) and chi-square over the equiprobable cells.
        let (mut cumulative, mut d) = (0u64, 0.0f64);
        for (i, &c) in counts.iter().enumerate() {
            cumulative += c;
            d = d.max((cumulative as f64 / nf - (i + 1) as f64 / cells as f64).abs());
        }
        let expected = nf / cells as f64;
        let chi2: f64 = counts
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        let dof = (cells - 1) as f64;
        println!("10^8 draws: mean {:.2e}, variance {:.6}, KS sqrt(n) D = {:.3}, chi-square {chi2:.0} on {dof} degrees of freedom, largest |z| {largest:.2}", s1 / nf, s2 / nf, d * nf.sqrt());
        assert!(
            d * nf.sqrt() < 1.95,
            "KS statistic sqrt(n) D = {}",
            d * nf.sqrt()
        );
        assert!(
            chi2 < dof + 4.0 * (2.0 * dof).sqrt(),
            "chi-square {chi2} with {dof} degrees of freedom"
        );
    }

    #[test]
    fn fused_multiply_add_is_the_same_in_software() {
        // The pure-Rust fmaf against the processor's (where it has one) and against the C
        // library's (`mul_add` in a function compiled without the fma feature).
        for i in 0..draws(400_000) as u64 {
            let x = draw_bits(key(8, 1, 0), i);
            let software = normal_of(x, libm::fmaf).to_bits();
            assert_eq!(software, std_normal(x).to_bits(), "bits {x:#x}");
            assert_eq!(
                software,
                normal_of(x, f32::mul_add).to_bits(),
                "bits {x:#x}"
            );
        }
    }

    #[test]
    fn quantile_inverts_the_cdf() {
        let known = [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_054),
            (0.999, 3.090_232_306_167_813),
            (1e-10, -6.361_340_902_404_056),
        ];
        for (p, z) in known {
            assert!(
                (norm_quantile(p) - z).abs() <= 1e-12 * z.abs().max(1.0),
                "quantile({p}) = {} vs {z}",
                norm_quantile(p)
            );
        }
        for i in 1..2000 {
            let p = i as f64 / 2000.0;
            let z = norm_quantile(p);
            assert!(
                (norm_cdf(z) - p).abs() <= 1e-14 * p.min(1.0 - p).max(1e-3),
                "p = {p}"
            );
        }
        for e in 3..300 {
            let p = 10f64.powi(-e);
            let z = norm_quantile(p);
            assert!(((norm_cdf(z) - p) / p).abs() < 1e-12, "p = 1e-{e}: z = {z}");
            assert_eq!(
                norm_quantile(1.0 - p.max(1e-16)),
                -norm_quantile(1.0 - (1.0 - p.max(1e-16)))
            );
        }
        assert_eq!(norm_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(norm_quantile(1.0), f64::INFINITY);
        assert!(norm_quantile(f64::NAN).is_nan());
        assert!((norm_cdf(0.0) - 0.5).abs() < 1e-16);
    }

    /// CPU time of this thread in seconds, where Linux tells it (`/proc/thread-self/stat`,
    /// in clock ticks of 1/100 s): on a shared machine wall time also counts other processes.
    fn thread_cpu_seconds() -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(ticks / 100.0)
    }

    /// Runs of 128 draws as the engine makes them, best of three: nanoseconds of CPU per
    /// draw for normals, uniforms and the mixing alone. Run with
    /// `cargo test --release -p holdco-scenario --lib -- --ignored --nocapture timing`.
    #[test]
    #[ignore]
    fn timing_runs() {
        let runs = 4_000_000u64;
        let mut out = vec![0.0; 128];
        let n = (runs * 128) as f64;
        let time = |label: &str, fill: &dyn Fn(u64, &mut [f64])| {
            let mut out = out.clone();
            let (mut best, mut check) = (f64::INFINITY, 0.0);
            for _ in 0..3 {
                let cpu = thread_cpu_seconds();
                for run in 0..runs {
                    fill(run, &mut out);
                    check += out[run as usize % 128];
                }
                best = best.min(
                    cpu.zip(thread_cpu_seconds())
                        .map(|(a, b)| (b - a) * 1e9 / n)
                        .unwrap_or(f64::NAN),
                );
            }
            println!("{label}: {best:.3} ns CPU per draw, best of 3 (check {check:.1})");
        };
        time("normal_run", &|run, out| {
            normal_run(path_key(1, run / 64), (run % 64) * 128, out)
        });
        time("uniform_run", &|run, out| {
            uniform_run(path_key(1, run / 64), (run % 64) * 128, out)
        });
        out.fill(0.0);
    }
}

//! Counter-based random numbers: every draw is a pure function of (seed, variable stream,
//! path index, step), so a run gives bit-identical results on any number of threads, and two
//! scenarios that share a variable see the same draws on the same path (common random
//! numbers, which makes their comparison paired).
//!
//! There is no generator state to carry around. The engine derives a key once per
//! (seed, stream, path) with [`key`] (or [`stream_key`] then [`path_key`], to hoist the first
//! part out of the path loop) and asks [`bits`] for the 64 random bits of each step; [`uniform`]
//! and [`std_normal`] turn those bits into numbers.
//!
//! **Stability.** [`stream_id`], [`mix`], [`key`], [`bits`], [`uniform`], [`std_normal`] and
//! [`fill_normals`] are part of the file format in all but name: a seed written in a scenario
//! must give the same numbers on every platform, instruction set and thread count, and in every
//! release. They use only integer arithmetic, IEEE-754 operations that are correctly rounded
//! everywhere (add, subtract, multiply, fused multiply-add, exact conversions), constant tables
//! written in this file, and for the rare far tail `exp`/`log`/`erfc` from the pure-Rust `libm` crate (the same
//! code on every platform, unlike the system's). Any change to them is a breaking change for
//! saved seeds. (The normals changed once, from a ziggurat to the inversion below, so that
//! they vectorise.)
//!
//! **Speed.** [`std_normal`] inverts the distribution function with a degree-9 polynomial per
//! octave of the tail probability (no branch, no `log` or `sqrt`; the far tail, 1 draw in
//! 65,536, is exact). [`fill_normals`] computes a batch of keys x steps eight at a time with
//! AVX-512 where the processor has it (detected at run time), giving the same bits as the
//! scalar function. Measured on the development machine (release build, the `timing_*` tests
//! below, AMD EPYC Zen 5, 2 shared cores, CPU time): `fill_normals` about 1.0 ns per normal
//! (up to 2 ns when the machine is loaded), of which about 0.55 ns is mixing the bits; one
//! [`std_normal`] at a time 3.3 to 5.7 ns. Draw in batches where speed matters.

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

/// 64 well-mixed random bits for step `step` of the path whose key is `key`.
///
/// This is the SplitMix64 generator seeded with the key and read at position `step`, so each
/// key gives a sequence with SplitMix64's statistical quality (it passes BigCrush); keys are
/// themselves mixed, so different paths and streams give unrelated sequences.
#[inline(always)]
pub fn bits(key: u64, step: u64) -> u64 {
    mix(key.wrapping_add(step.wrapping_mul(GOLDEN)))
}

/// A uniform number in the open interval (0, 1): the midpoint `(2k + 1) / 2^53` of one of
/// 2^52 equal cells, `k` being the top 52 bits. The smallest value is 2^-53 and the largest
/// 1 - 2^-53, never 0 or 1, so `ln(u)` and quantile functions stay finite.
#[inline(always)]
pub fn uniform(bits: u64) -> f64 {
    const SCALE: f64 = 1.0 / (1u64 << 52) as f64;
    // Through i64: the value fits in 52 bits, and a signed conversion is one instruction.
    ((bits >> 12) as i64 as f64 + 0.5) * SCALE
}

/// The unnormalised normal density, with libm's `exp` (the same code on every platform).
fn gauss(x: f64) -> f64 {
    libm::exp(-0.5 * x * x)
}

/// The octaves of the tail probability covered by [`QUANTILE`]: `p` in `[2^-(s+2), 2^-(s+1))`
/// for `s` in `0..16`, so down to `p = 2^-17` (`z` about 4.34); below it the exact tail.
const OCTAVES: usize = 16;
/// The degree of the polynomial of each octave.
const DEGREE: usize = 9;
/// The biased IEEE exponent of `p` in the first octave `[1/4, 1/2)`; octave `s` has `1021 - s`.
const FIRST_EXPONENT: u64 = 1021;
/// The low 52 bits: the tail probability's bits (and an IEEE mantissa).
const LOW52: u64 = (1 << 52) - 1;
/// The IEEE bits of 1.0: OR-ed onto a mantissa, they make a number in `[1, 2)`.
const ONE_BITS: u64 = 0x3ff0_0000_0000_0000;
/// The IEEE sign bit, which is also where the draw's sign comes from (bit 63 of the bits).
const SIGN: u64 = 1 << 63;
/// From the 52-bit integer (plus one half) to the tail probability in (0, 1/2).
const P_SCALE: f64 = 1.0 / (1u64 << 53) as f64;

// The upper-tail quantile z(p) (P(Z > z) = p) on each octave of p, as a polynomial in
// w = m - 1.5, m in [1, 2) being the mantissa of p: QUANTILE[k][s] is the coefficient of w^k
// in octave s. Fitted (Chebyshev interpolation at 200 points from a 40-digit erfinv, then
// written in powers of w) so that, evaluated as in `std_normal` (Estrin's scheme with fused
// multiply-adds), the error in z times the density is below 7e-10 everywhere: the distribution function
// of the draws is within 1e-9 of the normal's, which `quantile_polynomials_are_accurate`
// re-checks against `norm_quantile`.
#[rustfmt::skip]
const QUANTILE: [[f64; OCTAVES]; DEGREE + 1] = [
    [0.31863936564199785, 0.8871465605779081, 1.3180108987560293, 1.6759397241361955, 1.9874278872161897, 2.266226810430065, 2.5205022183533994, 2.755548874566012, 2.9750207301498124, 3.181559609763208, 3.3771459072726815, 3.56330774045737, 3.7412524646947536, 3.911952994785351, 4.076206516909875, 4.23467563785062],
    [-0.659290978030497, -0.46440953915905436, -0.3734116632192071, -0.31904906541362593, -0.28223654888501715, -0.25532967157061365, -0.23462349911978034, -0.21808698597964457, -0.20450577067643608, -0.19310529615716118, -0.18336613651572695, -0.1749257340040357, -0.16752260577795008, -0.16096295350066137, -0.1550997910739526, -0.14981941028424195],
    [0.06925029156372889, 0.0956678974694726, 0.09188897189191607, 0.08529861245889085, 0.07915648108145285, 0.07387109152107225, 0.06937430532518758, 0.06552939359031411, 0.06221135264278656, 0.0593194251473695, 0.056774926444465024, 0.054516657001300886, 0.052496738358680566, 0.050677356158125034, 0.04902832475493517, 0.047525288241897036],
    [-0.05745988650313052, -0.04297008901353685, -0.03882698349382014, -0.03581903082829969, -0.03334734630503826, -0.03127032352492974, -0.02950292246719592, -0.027981793030659837, -0.026658586629744494, -0.02549623282218736, -0.02446611252281463, -0.02354591807020587, -0.02271807042740461, -0.02196856040687274, -0.021286100476317314, -0.020661500441797598],
    [0.019097342839268092, 0.02016537451096383, 0.01861193611128869, 0.017267417133082573, 0.01613899032869881, 0.0151836333051996, 0.014365708511728314, 0.013657707997555946, 0.013038564278618736, 0.012492078109299597, 0.012005684937086867, 0.011569534818843154, 0.011175818321737552, 0.010818274228795131, 0.010491828520700608, 0.010192327536869071],
    [-0.01238086237477205, -0.010462898149251032, -0.009648316208642881, -0.008976473478542602, -0.008411729194296669, -0.007931609173605383, -0.007518785525800453, -0.007159990165784081, -0.006845061246706407, -0.006566163399681811, -0.006317195148990251, -0.006093352134587704, -0.005890808252384083, -0.005706482671117818, -0.005537868542337066, -0.005382905904638947],
    [0.005749315050888981, 0.005554149702675205, 0.005138849185914297, 0.004791318216962281, 0.0044982328236073945, 0.004248249434022001, 0.004032621668579851, 0.003844661815969632, 0.003679241774807451, 0.0035323973385402497, 0.0034010317807656072, 0.0032826985651809087, 0.003175442876931813, 0.0030776857034538804, 0.002988138405703466, 0.0029057391432957044],
    [-0.0034647915712412206, -0.0030898087772584415, -0.0028638708507060084, -0.002674957543592881, -0.002515208816714675, -0.002378568761480438, -0.0022603901498484914, -0.0021571208165028105, -0.00206603276811279, -0.0019850120512387554, -0.0019124026813358355, -0.0018468926018670115, -0.0017874305447634243, -0.0017331651114574239, -0.0016833996931040931, -0.0016375590124596334],
    [0.0024365643883356835, 0.0022807574823673358, 0.0021193179145484473, 0.0019838177511701366, 0.0018688311280129716, 0.0017701321557979106, 0.0016844866433530122, 0.0016094207778223795, 0.0015430300571097184, 0.001483833875499841, 0.0014306682951428233, 0.0013826078493366372, 0.0013389084908340015, 0.001298965671412589, 0.0012622832799024767, 0.0012284504380659204],
    [-0.0014998337854194694, -0.0013718696987780282, -0.001276586941094138, -0.001196467703994131, -0.0011283323308816766, -0.0010697257230276595, -0.001018771067811031, -0.0009740317807882097, -0.0009344001048702924, -0.0008990130568236058, -0.0008671907855386965, -0.0008383916023376517, -0.0008121790875975424, -0.0007881979110152318, -0.000766156055760803, -0.0007458111554115023],
];

/// The tail probability `p` in (0, 1/2) carried by the low 52 bits: the midpoint
/// `(k + 1/2) / 2^53` of one of 2^52 equal cells, so never 0 (through i64: the value fits in
/// 52 bits, and a signed conversion is one instruction).
#[inline(always)]
fn tail_probability(bits: u64) -> f64 {
    ((bits & LOW52) as i64 as f64 + 0.5) * P_SCALE
}

/// The octave of `p` (0..16) from its biased exponent, and `w = m - 1.5` from its mantissa.
/// Both exact. The octave is meaningful only for `exponent > FIRST_EXPONENT - OCTAVES`.
#[inline(always)]
fn octave_and_w(p: f64) -> (u64, f64) {
    let pb = p.to_bits();
    (FIRST_EXPONENT.wrapping_sub(pb >> 52), f64::from_bits((pb & LOW52) | ONE_BITS) - 1.5)
}

/// The polynomial of octave `s` at `w`, by Estrin's scheme (pairs of coefficients, then pairs
/// of pairs with w^2, w^4 and w^8: a short chain of dependent operations) with fused
/// multiply-adds `fma(a, b, c) = a * b + c` rounded once: the processor's instruction
/// ([`f64::mul_add`] where the `fma` feature is enabled) or `libm::fma` (pure Rust, the same on
/// every platform), which give the same bits because both are correctly rounded. The vector
/// code in [`fill_normals`] performs the same operations.
#[inline(always)]
fn octave_polynomial(s: usize, w: f64, fma: impl Fn(f64, f64, f64) -> f64) -> f64 {
    const _: () = assert!(DEGREE == 9, "the scheme below is written for degree 9");
    let c = |k: usize| QUANTILE[k][s];
    let w2 = w * w;
    let w4 = w2 * w2;
    let w8 = w4 * w4;
    let (p01, p23, p45, p67, p89) = (fma(c(1), w, c(0)), fma(c(3), w, c(2)), fma(c(5), w, c(4)), fma(c(7), w, c(6)), fma(c(9), w, c(8)));
    let (q03, q47) = (fma(p23, w2, p01), fma(p67, w2, p45));
    fma(p89, w8, fma(q47, w4, q03))
}

/// The upper-tail quantile beyond the polynomials (p < 2^-17, about 1.5e-5 of the draws, or
/// 1 in 65,536): [`norm_quantile`], accurate to about 1e-15 and made of the same pure-Rust
/// `libm` code on every platform. The smallest `p` is 2^-54, so draws reach 8.3 in absolute
/// value: the truncation beyond has probability 1e-16.
#[cold]
#[inline(never)]
fn tail_quantile(p: f64) -> f64 {
    -norm_quantile(p)
}

/// A standard normal draw as a pure function of 64 random bits (e.g. from [`bits`]).
///
/// Inversion: bit 63 is the sign, the low 52 bits the upper-tail probability `p` in (0, 1/2)
/// (the midpoint of one of 2^52 cells), and the draw is `±z(p)` with `P(Z > z) = p`. For
/// `p >= 2^-17` (all but 1 in 65,536 draws) `z` is a degree-9 polynomial chosen by the octave
/// of `p` (its exponent) in its mantissa: no branch, no table in memory beyond 160 constants,
/// no `log` or `sqrt`, so [`fill_normals`] computes eight at a time with vector instructions.
/// Its distribution function is within 1e-9 of the normal's (10^4 below the Monte Carlo
/// error of 10^8 draws). Below 2^-17 the exact quantile [`norm_quantile`] (draws up to 8.3).
/// Monotone in the low 52 bits for a given sign. [`fill_normals`] gives the same bits.
#[inline]
pub fn std_normal(bits: u64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the feature the function is compiled for is present.
            return unsafe { std_normal_fma(bits) };
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        // The fused multiply-add is part of the base instruction set.
        return normal_of(bits, f64::mul_add);
    }
    #[allow(unreachable_code)]
    normal_of(bits, libm::fma)
}

/// [`std_normal`] with the processor's fused multiply-add.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn std_normal_fma(bits: u64) -> f64 {
    normal_of(bits, f64::mul_add)
}

/// The body of [`std_normal`], with a correctly rounded fused multiply-add `fma`.
#[inline(always)]
fn normal_of(bits: u64, fma: impl Fn(f64, f64, f64) -> f64) -> f64 {
    let p = tail_probability(bits);
    let (octave, w) = octave_and_w(p);
    let z = if octave < OCTAVES as u64 { octave_polynomial(octave as usize, w, fma) } else { tail_quantile(p) };
    // The sign by XOR (symmetric even where the polynomial crosses zero by 1e-10).
    f64::from_bits(z.to_bits() ^ (bits & SIGN))
}

/// Standard normals for a batch of keys: `out[k * steps + t]` is the normal of step `t` of key
/// `keys[k]`, equal to `std_normal(bits(keys[k], t))` bit for bit (whatever the batch size,
/// the position of the key in it, or the instruction set). Fills the first
/// `keys.len() * steps` values of `out`, which must hold at least that many; the rest is left
/// alone. With AVX-512 (detected at run time) eight draws at a time; otherwise one by one.
pub fn fill_normals(keys: &[u64], steps: usize, out: &mut [f64]) {
    let n = keys.len() * steps;
    assert!(out.len() >= n, "fill_normals: out holds {} values, {} keys x {} steps need {}", out.len(), keys.len(), steps, n);
    let out = &mut out[..n];
    if steps == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512cd")
            && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the features the function is compiled for are present.
            unsafe { avx512::fill(keys, steps, out) };
            return;
        }
    }
    write_counters(keys, steps, out);
    for z in out.iter_mut() {
        *z = std_normal(mix(z.to_bits()));
    }
}

/// Writes the counters `key + step * GOLDEN` (what [`bits`] mixes) of the batch into the output
/// slots, as bits: a block of 16 precomputed offsets added to each key, which vectorises.
#[inline(always)]
fn write_counters(keys: &[u64], steps: usize, out: &mut [f64]) {
    const BLOCK: usize = 16;
    let offsets: [u64; BLOCK] = std::array::from_fn(|t| (t as u64).wrapping_mul(GOLDEN));
    for (row, &key) in out.chunks_exact_mut(steps).zip(keys) {
        let mut base = key;
        for block in row.chunks_mut(BLOCK) {
            for (z, &offset) in block.iter_mut().zip(&offsets) {
                *z = f64::from_bits(base.wrapping_add(offset));
            }
            base = base.wrapping_add((BLOCK as u64).wrapping_mul(GOLDEN));
        }
    }
}

/// [`std_normal`] of [`mix`] eight lanes at a time, with the same operations in the same order
/// (integer operations, exact conversions, correctly rounded adds, multiplies and fused
/// multiply-adds), so every lane gives the bits of the scalar function. The coefficient tables
/// of the 16 octaves sit in two registers each and are read with one permute per coefficient.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::*;
    use std::arch::x86_64::*;

    /// The leading zeros of `2 (bits & LOW52) + 1` in the first octave.
    const LZ_OFFSET: usize = 11;

    /// [`fill_normals`] once `out` has been cut to the batch and `steps` is not 0.
    #[target_feature(enable = "avx512f,avx512dq,avx512cd,fma")]
    pub(super) unsafe fn fill(keys: &[u64], steps: usize, out: &mut [f64]) {
        write_counters(keys, steps, out);
        // Each row of coefficients rotated so that octave s sits at (s + LZ_OFFSET) mod 16.
        let tables: [(__m512d, __m512d); DEGREE + 1] = std::array::from_fn(|k| {
            let rotated: [f64; OCTAVES] = std::array::from_fn(|i| QUANTILE[k][(i + OCTAVES - LZ_OFFSET % OCTAVES) % OCTAVES]);
            // SAFETY: 16 values, read as two unaligned vectors of 8.
            unsafe { (_mm512_loadu_pd(rotated.as_ptr()), _mm512_loadu_pd(rotated.as_ptr().add(8))) }
        });
        let k = Constants {
            tables,
            c1: _mm512_set1_epi64(0xbf58_476d_1ce4_e5b9_u64 as i64),
            c2: _mm512_set1_epi64(0x94d0_49bb_1331_11eb_u64 as i64),
            low53: _mm512_set1_epi64((LOW52 << 1 | 1) as i64),
            one: _mm512_set1_epi64(1),
            one_bits: _mm512_set1_epi64(ONE_BITS as i64),
            sign: _mm512_set1_epi64(SIGN as i64),
            last_lz: _mm512_set1_epi64((LZ_OFFSET + OCTAVES - 1) as i64),
            one_and_half: _mm512_set1_pd(1.5),
        };
        // Two vectors per round, so that two independent chains of operations overlap.
        let mut rounds = out.chunks_exact_mut(16);
        for round in &mut rounds {
            let (a, b) = round.split_at_mut(8);
            eight(&k, a.try_into().unwrap());
            eight(&k, b.try_into().unwrap());
        }
        let mut rest = rounds.into_remainder().chunks_exact_mut(8);
        for chunk in &mut rest {
            eight(&k, chunk.try_into().unwrap());
        }
        // The last few one at a time (a padded vector was tried: the extra inlined copy made
        // the whole loop about 50% slower).
        for z in rest.into_remainder() {
            *z = std_normal(mix(z.to_bits()));
        }
    }

    /// What the vector code needs in registers.
    struct Constants {
        tables: [(__m512d, __m512d); DEGREE + 1],
        c1: __m512i,
        c2: __m512i,
        low53: __m512i,
        one: __m512i,
        one_bits: __m512i,
        sign: __m512i,
        last_lz: __m512i,
        one_and_half: __m512d,
    }

    /// Eight counters (as bits) to their normals, in place.
    #[inline(always)]
    unsafe fn eight(k: &Constants, chunk: &mut [f64; 8]) {
        let ptr = chunk.as_mut_ptr();
        // SAFETY: the chunk holds 8 values.
        let x = unsafe { _mm512_loadu_si512(ptr as *const _) };
        // mix
        let x = _mm512_mullo_epi64(_mm512_xor_si512(x, _mm512_srli_epi64(x, 30)), k.c1);
        let x = _mm512_mullo_epi64(_mm512_xor_si512(x, _mm512_srli_epi64(x, 27)), k.c2);
        let b = _mm512_xor_si512(x, _mm512_srli_epi64(x, 31));
        // tail_probability and octave_and_w, in integers: p = v / 2^54 with v = 2 (b & LOW52) + 1
        // (below 2^53, so p is exact), whose leading zeros give the exponent of p (the octave
        // is lz - 11, and the tables are rotated to be read at lz mod 16) and whose bits
        // shifted up to bit 52 are the mantissa.
        let v = _mm512_or_si512(_mm512_and_si512(_mm512_slli_epi64(b, 1), k.low53), k.one);
        let lz = _mm512_lzcnt_epi64(v);
        let w = _mm512_sub_pd(_mm512_castsi512_pd(_mm512_or_si512(_mm512_srli_epi64(_mm512_sllv_epi64(v, lz), 11), k.one_bits)), k.one_and_half);
        // octave_polynomial (the same operations), the coefficients picked by the octave.
        let t = &k.tables;
        let c = |j: usize| _mm512_permutex2var_pd(t[j].0, lz, t[j].1);
        let w2 = _mm512_mul_pd(w, w);
        let w4 = _mm512_mul_pd(w2, w2);
        let w8 = _mm512_mul_pd(w4, w4);
        let p01 = _mm512_fmadd_pd(c(1), w, c(0));
        let p23 = _mm512_fmadd_pd(c(3), w, c(2));
        let p45 = _mm512_fmadd_pd(c(5), w, c(4));
        let p67 = _mm512_fmadd_pd(c(7), w, c(6));
        let p89 = _mm512_fmadd_pd(c(9), w, c(8));
        let q03 = _mm512_fmadd_pd(p23, w2, p01);
        let q47 = _mm512_fmadd_pd(p67, w2, p45);
        let z = _mm512_fmadd_pd(p89, w8, _mm512_fmadd_pd(q47, w4, q03));
        let z = _mm512_xor_si512(_mm512_castpd_si512(z), _mm512_and_si512(b, k.sign));
        // SAFETY: as above.
        unsafe { _mm512_storeu_si512(ptr as *mut _, z) };
        let tail = _mm512_cmpgt_epu64_mask(lz, k.last_lz);
        if tail != 0 {
            let mut words = [0u64; 8];
            // SAFETY: 8 words.
            unsafe { _mm512_storeu_si512(words.as_mut_ptr() as *mut _, b) };
            for (i, (z, &b)) in chunk.iter_mut().zip(&words).enumerate() {
                if tail & (1 << i) != 0 {
                    *z = std_normal(b);
                }
            }
        }
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
    const A: [f64; 6] = [-3.969_683_028_665_376e1, 2.209_460_984_245_205e2, -2.759_285_104_469_687e2, 1.383_577_518_672_69e2, -3.066_479_806_614_716e1, 2.506_628_277_459_239];
    const B: [f64; 5] = [-5.447_609_879_822_406e1, 1.615_858_368_580_409e2, -1.556_989_798_598_866e2, 6.680_131_188_771_972e1, -1.328_068_155_288_572e1];
    const C: [f64; 6] = [-7.784_894_002_430_293e-3, -3.223_964_580_411_365e-1, -2.400_758_277_161_838, -2.549_732_539_343_734, 4.374_664_141_464_968, 2.938_163_982_698_783];
    const D: [f64; 4] = [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    const P_LOW: f64 = 0.02425;
    let x = if p < P_LOW {
        let q = libm::sqrt(-2.0 * libm::log(p));
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
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
        assert!((got - expected).abs() <= 4.0 * se, "{label}: got {got}, expected {expected} within 4 standard errors of {se}");
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
        for (seed, stream, path) in [(0, 0, 0), (42, stream_id("margin/x"), 123_456), (u64::MAX, 7, u64::MAX)] {
            assert_eq!(key(seed, stream, path), path_key(stream_key(seed, stream), path));
        }
        assert_ne!(key(1, 2, 3), key(1, 2, 4));
        assert_ne!(key(1, 2, 3), key(1, 3, 3));
        assert_ne!(key(1, 2, 3), key(2, 2, 3));
    }

    #[test]
    fn uniforms_are_open_and_have_the_right_moments() {
        assert!(uniform(0) > 0.0 && uniform(u64::MAX) < 1.0);
        let n = draws(1_000_000);
        let k = key(7, stream_id("u"), 0);
        let (mut sum, mut sum2) = (0.0, 0.0);
        for step in 0..n as u64 {
            let u = uniform(bits(k, step));
            sum += u;
            sum2 += u * u;
        }
        let mean = sum / n as f64;
        let var = sum2 / n as f64 - mean * mean;
        within("uniform mean", mean, 0.5, (1.0 / 12.0 / n as f64).sqrt());
        // Var of (U - 1/2)^2 is 1/80 - 1/144 = 1/180.
        within("uniform variance", var, 1.0 / 12.0, (1.0 / 180.0 / n as f64).sqrt());
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
            within(&format!("bit {i}"), *count as f64 / n as f64, 0.5, (0.25 / n as f64).sqrt());
        }
    }

    /// The correlation of uniforms from pairs of draws, over `n` pairs.
    fn correlation(n: usize, pair: impl Fn(u64) -> (u64, u64)) -> f64 {
        let (mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 0..n as u64 {
            let (a, b) = pair(i);
            let (x, y) = (uniform(a), uniform(b));
            sx += x;
            sy += y;
            sxx += x * x;
            syy += y * y;
            sxy += x * y;
        }
        let n = n as f64;
        let cov = sxy / n - sx / n * sy / n;
        cov / ((sxx / n - (sx / n).powi(2)) * (syy / n - (sy / n).powi(2))).sqrt()
    }

    #[test]
    fn neighbouring_steps_paths_and_streams_are_uncorrelated() {
        let n = draws(500_000);
        // Under independence the sample correlation has standard error 1/sqrt(n).
        let se = 1.0 / (n as f64).sqrt();
        let s = stream_key(11, stream_id("growth/cloud"));
        let t = stream_key(11, stream_id("growth/cloud2"));
        let steps = correlation(n, |i| (bits(path_key(s, i / 8), i % 8), bits(path_key(s, i / 8), i % 8 + 1)));
        let paths = correlation(n, |i| (bits(path_key(s, i), 3), bits(path_key(s, i + 1), 3)));
        let streams = correlation(n, |i| (bits(path_key(s, i), 0), bits(path_key(t, i), 0)));
        let seeds = correlation(n, |i| (bits(key(1, 5, i), 0), bits(key(2, 5, i), 0)));
        for (label, r) in [("steps", steps), ("paths", paths), ("streams", streams), ("seeds", seeds)] {
            within(label, r, 0.0, se);
        }
    }

    #[test]
    fn quantile_polynomials_are_accurate() {
        // Against the exact quantile on a fine grid of every octave, ends included: the error
        // in z times the density (the error in the distribution function) below 1e-9, and the
        // relative error in the tail probability below 1e-7.
        let mut worst = 0.0f64;
        for s in 0..OCTAVES {
            for i in 0..=4000 {
                let w = -0.5 + i as f64 / 4000.0 * (1.0 - f64::EPSILON);
                let p = (1.5 + w) * 2f64.powi(-(s as i32) - 2);
                let exact = -norm_quantile(p);
                let z = octave_polynomial(s, w, libm::fma);
                let density = gauss(exact) / (2.0 * std::f64::consts::PI).sqrt();
                let cdf_error = (z - exact).abs() * density;
                worst = worst.max(cdf_error);
                assert!(cdf_error < 1e-9, "octave {s}, w = {w}: z = {z}, exact {exact}");
                assert!(cdf_error / p < 1e-7, "octave {s}, w = {w}: relative tail error {}", cdf_error / p);
            }
        }
        assert!(worst > 1e-12, "the check ran: worst {worst}");
        // The bits reach the octaves and the tail as documented.
        let with_p = |k: u64, negative: bool| k | if negative { SIGN } else { 0 };
        assert_eq!(std_normal(with_p(0, false)), -norm_quantile(0.5 * P_SCALE));
        assert_eq!(std_normal(with_p(0, true)), norm_quantile(0.5 * P_SCALE));
        assert!(std_normal(with_p(0, false)) > 8.0);
        assert!(std_normal(with_p(LOW52, false)).abs() < 3e-9);
        let edge = 1u64 << 36; // p = (2^36 + 1/2) / 2^53, just above 2^-17: the last octave
        assert_eq!(tail_probability(edge).to_bits() >> 52, FIRST_EXPONENT - 15);
        assert!((std_normal(edge) + norm_quantile(tail_probability(edge))).abs() < 5e-9, "{} vs {}", std_normal(edge), -norm_quantile(tail_probability(edge)));
        assert_eq!(std_normal(edge - 1), -norm_quantile(tail_probability(edge - 1)), "the exact tail");
    }

    #[test]
    fn normal_moments_and_tails_match() {
        let n = draws(10_000_000);
        let k = key(2024, stream_id("normal test"), 0);
        let (mut s1, mut s2, mut s3, mut s4) = (0.0, 0.0, 0.0, 0.0);
        // Beyond the polynomials' last octave (p < 2^-17): the exact tail.
        let tail_edge = -norm_quantile(2f64.powi(-17));
        let (mut above2, mut above3, mut beyond_edge, mut above4, mut below4) = (0u64, 0u64, 0u64, 0u64, 0u64);
        for step in 0..n as u64 {
            let z = std_normal(bits(k, step));
            let z2 = z * z;
            s1 += z;
            s2 += z2;
            s3 += z2 * z;
            s4 += z2 * z2;
            above2 += (z > 2.0) as u64;
            above3 += (z > 3.0) as u64;
            beyond_edge += (z.abs() > tail_edge) as u64;
            above4 += (z > 4.0) as u64;
            below4 += (z < -4.0) as u64;
        }
        let nf = n as f64;
        within("mean", s1 / nf, 0.0, (1.0 / nf).sqrt());
        within("variance", s2 / nf, 1.0, (2.0 / nf).sqrt());
        within("skewness", s3 / nf, 0.0, (15.0 / nf).sqrt());
        within("kurtosis", s4 / nf, 3.0, (96.0 / nf).sqrt());
        for (label, count, t, two_sided) in
            [("P(Z>2)", above2, 2.0, false), ("P(Z>3)", above3, 3.0, false), ("P(|Z|>4.34)", beyond_edge, tail_edge, true), ("P(Z>4)", above4, 4.0, false), ("P(Z<-4)", below4, 4.0, false)]
        {
            let p = norm_cdf(-t) * if two_sided { 2.0 } else { 1.0 };
            within(label, count as f64 / nf, p, (p * (1.0 - p) / nf).sqrt());
        }
    }

    #[test]
    fn normal_passes_kolmogorov_smirnov_and_chi_square() {
        let n = draws(1_000_000);
        let k = key(99, stream_id("ks"), 5);
        let mut z: Vec<f64> = (0..n as u64).map(|s| std_normal(bits(k, s))).collect();
        z.sort_unstable_by(f64::total_cmp);
        let nf = n as f64;
        let d = z.iter().enumerate().map(|(i, &x)| {
            let f = norm_cdf(x);
            (f - i as f64 / nf).abs().max(((i + 1) as f64 / nf - f).abs())
        });
        let d = d.fold(0.0, f64::max);
        // sqrt(n) D exceeds 1.95 with probability 0.1% under the null.
        assert!(d * nf.sqrt() < 1.95, "KS statistic sqrt(n) D = {}", d * nf.sqrt());
        // Chi-square over 200 equiprobable cells: 199 degrees of freedom, sd sqrt(398).
        let cells = 200;
        let mut counts = vec![0u64; cells];
        for &x in &z {
            counts[((norm_cdf(x) * cells as f64) as usize).min(cells - 1)] += 1;
        }
        let expected = nf / cells as f64;
        let chi2: f64 = counts.iter().map(|&c| (c as f64 - expected).powi(2) / expected).sum();
        let dof = (cells - 1) as f64;
        assert!(chi2 < dof + 4.0 * (2.0 * dof).sqrt(), "chi-square {chi2} with {dof} degrees of freedom");
    }

    #[test]
    fn fill_normals_matches_std_normal() {
        let s = stream_key(5, stream_id("batch"));
        for (count, steps) in [(0, 10), (1, 1), (3, 0), (50, 10), (7, 13), (1, 37), (64, 3)] {
            let keys: Vec<u64> = (0..count as u64).map(|p| path_key(s, p * 31 + 7)).collect();
            let mut out = vec![f64::NAN; count * steps + 3];
            fill_normals(&keys, steps, &mut out);
            for (k, &key) in keys.iter().enumerate() {
                for t in 0..steps {
                    assert_eq!(out[k * steps + t].to_bits(), std_normal(bits(key, t as u64)).to_bits(), "key {k} step {t} of {count} x {steps}");
                }
            }
            assert!(out[count * steps..].iter().all(|x| x.is_nan()), "values past the batch are left alone");
        }
        // Many draws, so that every octave and the far tail (1 in 65,536) go through the vector
        // code: the same bits as the scalar function.
        let mut tails = 0;
        engine_batches(3, draws(10_000), |out| {
            for &z in out {
                tails += (z.abs() > 4.3) as usize;
            }
        });
        let base = stream_key(3, stream_id("batch statistics"));
        let mut call = 0;
        engine_batches(3, draws(10_000), |out| {
            for (i, &z) in out.iter().enumerate() {
                let b = bits(path_key(base, (call * 50 + i / 10) as u64), (i % 10) as u64);
                assert_eq!(z.to_bits(), std_normal(b).to_bits(), "call {call}, draw {i}");
            }
            call += 1;
        });
        assert!(tails > 10, "the far tail was reached {tails} times");
    }

    /// Normals as the engine draws them: `calls` batches of 50 consecutive path keys x 10 steps.
    fn engine_batches(seed: u64, calls: usize, mut each: impl FnMut(&[f64])) {
        let base = stream_key(seed, stream_id("batch statistics"));
        let (keys_per_call, steps) = (50usize, 10usize);
        let mut keys = vec![0u64; keys_per_call];
        let mut out = vec![0.0; keys_per_call * steps];
        for call in 0..calls {
            for (i, k) in keys.iter_mut().enumerate() {
                *k = path_key(base, (call * keys_per_call + i) as u64);
            }
            fill_normals(&keys, steps, &mut out);
            each(&out);
        }
    }

    /// Sample correlation of pairs.
    fn pair_correlation(pairs: &[(f64, f64)]) -> f64 {
        let n = pairs.len() as f64;
        let (mx, my) = (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
        let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
        for &(x, y) in pairs {
            sxy += (x - mx) * (y - my);
            sxx += (x - mx) * (x - mx);
            syy += (y - my) * (y - my);
        }
        sxy / (sxx * syy).sqrt()
    }

    #[test]
    fn normals_of_neighbouring_steps_and_keys_are_independent() {
        // Correlations of the draws and of their squares (dependence in size), between adjacent
        // steps of a key and between adjacent keys at a step: each has standard error 1/sqrt(n).
        let (mut steps, mut keys) = (Vec::new(), Vec::new());
        engine_batches(17, draws(1000), |out| {
            for row in 0..50 {
                for t in 0..10 {
                    let z = out[row * 10 + t];
                    if t + 1 < 10 {
                        steps.push((z, out[row * 10 + t + 1]));
                    }
                    if row + 1 < 50 {
                        keys.push((z, out[(row + 1) * 10 + t]));
                    }
                }
            }
        });
        let squares = |pairs: &[(f64, f64)]| pairs.iter().map(|&(x, y)| (x * x, y * y)).collect::<Vec<_>>();
        for (label, pairs) in [("steps", &steps), ("keys", &keys)] {
            let se = 1.0 / (pairs.len() as f64).sqrt();
            within(&format!("correlation of adjacent {label}"), pair_correlation(pairs), 0.0, se);
            within(&format!("correlation of squares of adjacent {label}"), pair_correlation(&squares(pairs)), 0.0, se);
        }
    }

    /// The distribution at 10^8 draws, as the engine draws them (a few seconds in release). Run with
    /// `cargo test --release -p holdco-scenario --lib -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn normal_statistics_at_1e8() {
        let calls = 200_000; // x 500 = 10^8
        let cells = 2000;
        let tail_edge = -norm_quantile(2f64.powi(-17));
        let thresholds = [1.0, 2.0, 3.0, 4.0, tail_edge, 5.0];
        let (mut s1, mut s2, mut s3, mut s4) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        let (mut above, mut below) = ([0u64; 6], [0u64; 6]);
        let mut counts = vec![0u64; cells];
        let mut largest = 0.0f64;
        engine_batches(2026, calls, |out| {
            // Sums per batch first, so that the running sums do not lose digits.
            let (mut b1, mut b2, mut b3, mut b4) = (0.0, 0.0, 0.0, 0.0);
            for &z in out {
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
        });
        let nf = (calls * 500) as f64;
        within("mean", s1 / nf, 0.0, (1.0 / nf).sqrt());
        within("variance", s2 / nf, 1.0, (2.0 / nf).sqrt());
        within("skewness", s3 / nf, 0.0, (15.0 / nf).sqrt());
        within("kurtosis", s4 / nf, 3.0, (96.0 / nf).sqrt());
        for (i, &t) in thresholds.iter().enumerate() {
            let p = norm_cdf(-t);
            let se = (p * (1.0 - p) / nf).sqrt();
            within(&format!("P(Z>{t:.2})"), above[i] as f64 / nf, p, se);
            within(&format!("P(Z<-{t:.2})"), below[i] as f64 / nf, p, se);
            println!("P(Z>{t:.2}) = {:.4e} and P(Z<-{t:.2}) = {:.4e}, expected {p:.4e} (se {se:.1e})", above[i] as f64 / nf, below[i] as f64 / nf);
        }
        // Kolmogorov-Smirnov on the cell edges (a lower bound of the statistic over all points,
        // and the cells are 5e-4 wide) and chi-square over the equiprobable cells.
        let (mut cumulative, mut d) = (0u64, 0.0f64);
        for (i, &c) in counts.iter().enumerate() {
            cumulative += c;
            d = d.max((cumulative as f64 / nf - (i + 1) as f64 / cells as f64).abs());
        }
        let expected = nf / cells as f64;
        let chi2: f64 = counts.iter().map(|&c| (c as f64 - expected).powi(2) / expected).sum();
        let dof = (cells - 1) as f64;
        println!("10^8 draws: mean {:.2e}, variance {:.6}, KS sqrt(n) D = {:.3}, chi-square {chi2:.0} on {dof} degrees of freedom, largest |z| {largest:.2}", s1 / nf, s2 / nf, d * nf.sqrt());
        assert!(d * nf.sqrt() < 1.95, "KS statistic sqrt(n) D = {}", d * nf.sqrt());
        assert!(chi2 < dof + 4.0 * (2.0 * dof).sqrt(), "chi-square {chi2} with {dof} degrees of freedom");
    }

    #[test]
    fn fused_multiply_add_is_the_same_in_software() {
        // The pure-Rust fma against the processor's (where it has one) and against the C
        // library's (`mul_add` in a function compiled without the fma feature).
        for i in 0..draws(200_000) as u64 {
            let b = bits(key(8, 1, i / 16), i % 16);
            let software = normal_of(b, libm::fma).to_bits();
            assert_eq!(software, std_normal(b).to_bits(), "bits {b:#x}");
            assert_eq!(software, normal_of(b, f64::mul_add).to_bits(), "bits {b:#x}");
        }
    }

    #[test]
    fn normal_is_deterministic() {
        for b in [0, 1, 0xff, 0x100, u64::MAX, 12345] {
            assert_eq!(std_normal(b).to_bits(), std_normal(b).to_bits());
            assert!(std_normal(b).is_finite());
        }
    }

    #[test]
    fn quantile_inverts_the_cdf() {
        let known = [(0.5, 0.0), (0.975, 1.959_963_984_540_054), (0.999, 3.090_232_306_167_813), (1e-10, -6.361_340_902_404_056)];
        for (p, z) in known {
            assert!((norm_quantile(p) - z).abs() <= 1e-12 * z.abs().max(1.0), "quantile({p}) = {} vs {z}", norm_quantile(p));
        }
        for i in 1..2000 {
            let p = i as f64 / 2000.0;
            let z = norm_quantile(p);
            assert!((norm_cdf(z) - p).abs() <= 1e-14 * p.min(1.0 - p).max(1e-3), "p = {p}");
        }
        for e in 3..300 {
            let p = 10f64.powi(-e);
            let z = norm_quantile(p);
            assert!(((norm_cdf(z) - p) / p).abs() < 1e-12, "p = 1e-{e}: z = {z}");
            assert_eq!(norm_quantile(1.0 - p.max(1e-16)), -norm_quantile(1.0 - (1.0 - p.max(1e-16))));
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
        let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(ticks / 100.0)
    }

    /// Times `draw` over `n` draws and prints wall and CPU nanoseconds per draw.
    fn time_draws(label: &str, n: u64, draw: impl Fn(u64) -> f64) {
        let (wall, cpu) = (std::time::Instant::now(), thread_cpu_seconds());
        // Four sums, so the additions do not form one long dependency chain.
        let mut sums = [0.0; 4];
        for i in (0..n).step_by(4) {
            for (j, sum) in sums.iter_mut().enumerate() {
                *sum += draw(i + j as u64);
            }
        }
        let wall = wall.elapsed().as_secs_f64() * 1e9 / n as f64;
        let cpu = cpu.zip(thread_cpu_seconds()).map(|(a, b)| format!("{:.2}", (b - a) * 1e9 / n as f64)).unwrap_or_else(|| "?".into());
        println!("{label}: {wall:.2} ns per draw wall, {cpu} ns CPU (check {:.1})", sums.iter().sum::<f64>());
    }

    /// Run with `cargo test --release -p holdco-scenario -- --ignored --nocapture`.
    /// Measured on the development machine (AMD EPYC Zen 5, shared, release build): std_normal
    /// (one at a time: the polynomial with the processor's fused multiply-add) 3.3 to 5.7 ns of
    /// CPU per draw including bits, depending on the load; uniform 0.8 to 1.0 ns. (The
    /// ziggurat it replaced took about 1.9 ns one at a time, but did not vectorise.)
    #[test]
    #[ignore]
    fn timing_std_normal() {
        let n = 400_000_000u64;
        let k = key(1, stream_id("timing"), 0);
        time_draws("std_normal(bits(key, step))", n, |step| std_normal(bits(k, step)));
        // As the engine draws: a row of 10 steps for each successive (stream, path) key.
        let base = stream_key(1, stream_id("timing"));
        let (wall, cpu) = (std::time::Instant::now(), thread_cpu_seconds());
        let mut sums = [0.0; 10];
        for path in 0..n / 10 {
            let k = path_key(base, path);
            for (step, sum) in sums.iter_mut().enumerate() {
                *sum += std_normal(bits(k, step as u64));
            }
        }
        let wall = wall.elapsed().as_secs_f64() * 1e9 / n as f64;
        let cpu = cpu.zip(thread_cpu_seconds()).map(|(a, b)| format!("{:.2}", (b - a) * 1e9 / n as f64)).unwrap_or_else(|| "?".into());
        println!("std_normal, a row of 10 steps per path key: {wall:.2} ns per draw wall, {cpu} ns CPU (check {:.1})", sums.iter().sum::<f64>());
        time_draws("uniform(bits(key, step))", n, |step| uniform(bits(k, step)));
    }

    /// The batch as the engine calls it: 50 keys x 10 steps per call, the keys from `path_key`
    /// (included). Three runs, the fastest reported: on the shared machine the time of vector
    /// code depends on what the other hyperthread of the core is doing. Run as above.
    /// Measured (AMD EPYC Zen 5, AVX-512, 2 shared cores, CPU time, release build): about 1.0 ns
    /// per normal, up to 2 ns when the machine is loaded; the mixing of the bits alone (the same
    /// loop without the normal) 0.55 to 0.6 ns at a time it gave 1.4 ns.
    #[test]
    #[ignore]
    fn timing_fill_normals() {
        let (keys_per_call, steps, calls) = (50usize, 10usize, 400_000u64);
        let base = stream_key(1, stream_id("timing"));
        let mut keys = vec![0u64; keys_per_call];
        let mut out = vec![0.0; keys_per_call * steps];
        let n = (calls * (keys_per_call * steps) as u64) as f64;
        let mut best = (f64::INFINITY, f64::INFINITY);
        let mut sum = 0.0;
        for run in 0..3u64 {
            let (wall, cpu) = (std::time::Instant::now(), thread_cpu_seconds());
            for call in 0..calls {
                for (i, k) in keys.iter_mut().enumerate() {
                    *k = path_key(base, (run * calls + call) * keys_per_call as u64 + i as u64);
                }
                fill_normals(&keys, steps, &mut out);
                sum += out[call as usize % out.len()];
            }
            let wall = wall.elapsed().as_secs_f64() * 1e9 / n;
            let cpu = cpu.zip(thread_cpu_seconds()).map(|(a, b)| (b - a) * 1e9 / n).unwrap_or(f64::NAN);
            best = (best.0.min(wall), best.1.min(cpu));
        }
        println!("fill_normals, {keys_per_call} keys x {steps} steps per call (path_key included), best of 3: {:.3} ns per normal wall, {:.3} ns CPU (check {sum:.1})", best.0, best.1);
    }
}

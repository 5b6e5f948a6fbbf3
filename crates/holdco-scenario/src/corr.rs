//! Correlation matrices between the normal scores of units: is a stated matrix valid
//! ([`check`]), the nearest valid one when it is not ([`nearest_correlation`], offered to the
//! user, never applied silently), and a factor `L` with `L L^T = C` ([`factor`]) that turns
//! independent normal draws `e` into correlated scores `z = L e`.
//!
//! Matrices are `&[Vec<f64>]`, row by row; they are small (one row per unit, n up to a few
//! hundred), so the dense O(n^3) methods below are fast enough.

use std::fmt;

/// Tolerance for symmetry and the unit diagonal.
const ENTRY_TOLERANCE: f64 = 1e-12;
/// Smallest eigenvalue accepted as "positive semidefinite" (rounding in stated matrices).
const EIGEN_TOLERANCE: f64 = -1e-10;
/// Decimals of the suggested matrix printed in error messages.
const SUGGESTION_DECIMALS: i32 = 4;

/// Why a matrix is not a valid correlation matrix. Indices count from 0; messages count
/// from 1 ("row 2, column 3").
#[derive(Debug, Clone, PartialEq)]
pub enum CorrError {
    /// Row `row` has `len` entries but the matrix has `expected` rows.
    NotSquare {
        /// The row at fault.
        row: usize,
        /// Its number of entries.
        len: usize,
        /// The number of rows (and so of entries each row needs).
        expected: usize,
    },
    /// An entry is NaN or infinite.
    NotFinite {
        /// Row of the entry.
        row: usize,
        /// Column of the entry.
        col: usize,
    },
    /// A diagonal entry is not 1.
    Diagonal {
        /// Row and column of the entry.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// `m[row][col] != m[col][row]`.
    NotSymmetric {
        /// Row of the entry.
        row: usize,
        /// Column of the entry.
        col: usize,
        /// `m[row][col]`.
        value: f64,
        /// `m[col][row]`.
        mirror: f64,
    },
    /// An entry outside [-1, 1].
    OutOfRange {
        /// Row of the entry.
        row: usize,
        /// Column of the entry.
        col: usize,
        /// Its value.
        value: f64,
    },
    /// The correlations contradict each other: the matrix has a negative eigenvalue.
    NotPositiveSemidefinite {
        /// The smallest eigenvalue (below -1e-10).
        smallest_eigenvalue: f64,
        /// The nearest valid correlation matrix in the Frobenius norm (Higham 2002).
        nearest: Vec<Vec<f64>>,
        /// A valid matrix close to `nearest` rounded to four decimals, safe to paste back
        /// into a file (rounding `nearest` itself can make it invalid again).
        suggestion: Vec<Vec<f64>>,
    },
}

impl fmt::Display for CorrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorrError::NotSquare { row, len, expected } => {
                write!(f, "the correlation matrix must be square: row {} has {len} entries but there are {expected} rows", row + 1)
            }
            CorrError::NotFinite { row, col } => write!(f, "the correlation at row {}, column {} is not a finite number", row + 1, col + 1),
            CorrError::Diagonal { index, value } => {
                write!(f, "the diagonal of a correlation matrix must be 1 (each variable with itself), but row {0}, column {0} is {value}", index + 1)
            }
            CorrError::NotSymmetric { row, col, value, mirror } => write!(
                f,
                "the correlation matrix must be symmetric: row {}, column {} is {value} but row {}, column {} is {mirror}",
                row + 1,
                col + 1,
                col + 1,
                row + 1
            ),
            CorrError::OutOfRange { row, col, value } => {
                write!(f, "correlations must lie between -1 and 1, but row {}, column {} is {value}", row + 1, col + 1)
            }
            CorrError::NotPositiveSemidefinite { smallest_eigenvalue, suggestion, .. } => {
                let smallest = if smallest_eigenvalue.abs() < 1e-3 { format!("{smallest_eigenvalue:.2e}") } else { format!("{smallest_eigenvalue:.4}") };
                write!(
                    f,
                    "the correlations contradict each other (the matrix is not positive semidefinite: smallest eigenvalue {smallest}); the nearest valid correlation matrix is {}",
                    format_matrix(suggestion)
                )
            }
        }
    }
}

impl std::error::Error for CorrError {}

/// `[[1, 0.7607, 0.1573], [0.7607, 1, 0.7607], ...]`, entries with at most four decimals.
fn format_matrix(m: &[Vec<f64>]) -> String {
    let rows: Vec<String> = m
        .iter()
        .map(|row| {
            let entries: Vec<String> = row
                .iter()
                .map(|v| {
                    let text = format!("{v:.4}");
                    let text = text.trim_end_matches('0').trim_end_matches('.');
                    if text == "-0" {
                        "0".to_string()
                    } else {
                        text.to_string()
                    }
                })
                .collect();
            format!("[{}]", entries.join(", "))
        })
        .collect();
    format!("[{}]", rows.join(", "))
}

/// Checks that `m` is a valid correlation matrix: square, finite, unit diagonal, symmetric
/// (to 1e-12), entries in [-1, 1] and positive semidefinite (smallest eigenvalue >= -1e-10).
/// For a matrix that is not positive semidefinite the error carries the nearest valid one.
/// An empty matrix is valid.
pub fn check(m: &[Vec<f64>]) -> Result<(), CorrError> {
    let n = m.len();
    if let Some((row, r)) = m.iter().enumerate().find(|(_, r)| r.len() != n) {
        return Err(CorrError::NotSquare {
            row,
            len: r.len(),
            expected: n,
        });
    }
    for (row, r) in m.iter().enumerate() {
        if let Some(col) = r.iter().position(|v| !v.is_finite()) {
            return Err(CorrError::NotFinite { row, col });
        }
    }
    for (index, r) in m.iter().enumerate() {
        if (r[index] - 1.0).abs() > ENTRY_TOLERANCE {
            return Err(CorrError::Diagonal {
                index,
                value: r[index],
            });
        }
    }
    for (row, r) in m.iter().enumerate() {
        for (col, &value) in r.iter().enumerate().skip(row + 1) {
            let mirror = m[col][row];
            if (value - mirror).abs() > ENTRY_TOLERANCE {
                return Err(CorrError::NotSymmetric {
                    row,
                    col,
                    value,
                    mirror,
                });
            }
            if value.abs() > 1.0 {
                return Err(CorrError::OutOfRange { row, col, value });
            }
        }
    }
    let smallest = eigenvalues_symmetric(m).first().copied().unwrap_or(0.0);
    if smallest < EIGEN_TOLERANCE {
        return Err(CorrError::NotPositiveSemidefinite {
            smallest_eigenvalue: smallest,
            nearest: nearest_correlation(m),
            suggestion: suggestion(m),
        });
    }
    Ok(())
}

/// A square, symmetric, finite copy of `m` as a flat row-major array: n is the number of
/// rows, missing or non-finite entries count as 0, and `(m + m^T) / 2` is taken.
fn symmetric_flat(m: &[Vec<f64>]) -> (Vec<f64>, usize) {
    let n = m.len();
    let entry = |i: usize, j: usize| {
        m[i].get(j)
            .copied()
            .filter(|v| v.is_finite())
            .unwrap_or(0.0)
    };
    let mut flat = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            flat[i * n + j] = 0.5 * (entry(i, j) + entry(j, i));
        }
    }
    (flat, n)
}

fn to_rows(flat: &[f64], n: usize) -> Vec<Vec<f64>> {
    flat.chunks(n.max(1))
        .take(n)
        .map(|row| row.to_vec())
        .collect()
}

/// Eigenvalues and (optionally) eigenvectors of a symmetric matrix by the cyclic Jacobi
/// method. Returns the eigenvalues (in the order of the diagonal) and the eigenvectors as the
/// columns of a row-major n x n array (empty when not asked for).
fn jacobi(mut a: Vec<f64>, n: usize, want_vectors: bool) -> (Vec<f64>, Vec<f64>) {
    let mut v = if want_vectors {
        let mut v = vec![0.0; n * n];
        (0..n).for_each(|i| v[i * n + i] = 1.0);
        v
    } else {
        Vec::new()
    };
    let total: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |j| *j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum();
        if off <= 1e-30 * total || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = if theta.abs() > 1e150 {
                    0.5 / theta
                } else {
                    theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt())
                };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // A <- J^T A J: columns p and q, then rows p and q.
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                a[p * n + q] = 0.0;
                a[q * n + p] = 0.0;
                if want_vectors {
                    for k in 0..n {
                        let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                        v[k * n + p] = c * vkp - s * vkq;
                        v[k * n + q] = s * vkp + c * vkq;
                    }
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

/// The eigenvalues of a symmetric matrix in ascending order (cyclic Jacobi; fine up to a few
/// hundred rows). The matrix is read as in [`nearest_correlation`].
pub fn eigenvalues_symmetric(m: &[Vec<f64>]) -> Vec<f64> {
    let (flat, n) = symmetric_flat(m);
    let (mut values, _) = jacobi(flat, n, false);
    values.sort_unstable_by(f64::total_cmp);
    values
}

/// The projection onto the symmetric matrices with eigenvalues >= `floor`.
fn project_eigenvalues(a: &[f64], n: usize, floor: f64) -> Vec<f64> {
    let (values, vectors) = jacobi(a.to_vec(), n, true);
    let clipped: Vec<f64> = values.iter().map(|v| v.max(floor)).collect();
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in i..n {
            let sum: f64 = (0..n)
                .map(|k| vectors[i * n + k] * clipped[k] * vectors[j * n + k])
                .sum();
            out[i * n + j] = sum;
            out[j * n + i] = sum;
        }
    }
    out
}

/// Rescales a positive semidefinite matrix to unit diagonal (`D^-1/2 A D^-1/2`), which keeps
/// it positive semidefinite; a zero diagonal entry gets an independent variable.
fn unit_diagonal(a: &mut [f64], n: usize) {
    let scale: Vec<f64> = (0..n)
        .map(|i| a[i * n + i])
        .map(|d| if d > 0.0 { 1.0 / d.sqrt() } else { 0.0 })
        .collect();
    for i in 0..n {
        for j in 0..n {
            a[i * n + j] = if i == j {
                1.0
            } else {
                (a[i * n + j] * scale[i] * scale[j]).clamp(-1.0, 1.0)
            };
        }
    }
}

/// Higham's alternating projections with Dykstra's correction, onto the matrices with
/// eigenvalues >= `floor` and those with unit diagonal, to 1e-10; the result is then made
/// exactly unit-diagonal and positive semidefinite.
fn higham(m: &[Vec<f64>], floor: f64) -> Vec<f64> {
    let (a, n) = symmetric_flat(m);
    let mut y = a;
    let mut correction = vec![0.0; n * n];
    for _ in 0..10_000 {
        let r: Vec<f64> = y.iter().zip(&correction).map(|(y, c)| y - c).collect();
        let x = project_eigenvalues(&r, n, floor);
        correction = x.iter().zip(&r).map(|(x, r)| x - r).collect();
        let mut next = x.clone();
        (0..n).for_each(|i| next[i * n + i] = 1.0);
        let change: f64 = next
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        let gap: f64 = next
            .iter()
            .zip(&x)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        let size: f64 = next.iter().map(|v| v * v).sum::<f64>().sqrt().max(1.0);
        y = next;
        if change <= 1e-10 * size && gap <= 1e-10 * size {
            break;
        }
    }
    // The last iterate has a unit diagonal and is PSD to within the tolerance; make the
    // latter exact, then restore the diagonal by a scaling (which keeps it PSD).
    let mut result = project_eigenvalues(&y, n, floor.max(0.0));
    unit_diagonal(&mut result, n);
    result
}

/// The nearest correlation matrix to `m` in the Frobenius norm (Higham 2002: alternating
/// projections with Dykstra's correction, to 1e-10): symmetric, unit diagonal, positive
/// semidefinite. `m` is read as an n x n matrix with n its number of rows: missing or
/// non-finite entries count as 0 and `(m + m^T) / 2` is used, so this never fails. A valid
/// correlation matrix comes back unchanged (up to rounding).
pub fn nearest_correlation(m: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = m.len();
    to_rows(&higham(m, 0.0), n)
}

/// A valid matrix with entries of at most four decimals close to the nearest: the nearest
/// matrix is computed with a growing floor on its eigenvalues until the rounded result passes
/// [`check`] (rounding moves eigenvalues by up to n * 0.5e-4).
fn suggestion(m: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = m.len();
    let unit = 10f64.powi(SUGGESTION_DECIMALS);
    let mut floor = 0.0;
    for _ in 0..8 {
        let rounded: Vec<Vec<f64>> = to_rows(&higham(m, floor), n)
            .into_iter()
            .map(|row| row.into_iter().map(|v| (v * unit).round() / unit).collect())
            .collect();
        let valid = eigenvalues_symmetric(&rounded)
            .first()
            .is_none_or(|v| *v >= EIGEN_TOLERANCE);
        if valid {
            return rounded;
        }
        floor = if floor == 0.0 {
            0.5 * n as f64 / unit
        } else {
            floor * 2.0
        };
    }
    // Independence is always valid.
    (0..n)
        .map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect())
        .collect()
}

/// A lower-triangular `L` with `L L^T = m`, for correlating normal scores: `z = L e` has
/// correlation `m` when `e` are independent standard normals. Also for positive
/// *semi*definite matrices (perfectly correlated or redundant variables). A well-conditioned
/// matrix (every Cholesky pivot at least 1e-6 of its diagonal entry) takes the Cholesky
/// factorisation; otherwise a small pivot would be divided by (an error of 1e-16 in it
/// grows to 1e-8 in `L L^T` and more), so `L` comes from the eigen-decomposition instead:
/// `B = V diag(sqrt(max(lambda, 0)))` and `L = R^T` from the QR factorisation of `B^T`,
/// accurate to about 1e-14 whatever the rank. `m` should pass [`check`]; it is read as in
/// [`nearest_correlation`] and never causes a panic.
pub fn factor(m: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let (a, n) = symmetric_flat(m);
    let l = cholesky(&a, n).unwrap_or_else(|| semidefinite_factor(a, n));
    to_rows(&l, n)
}

/// The Cholesky factor (row-major), or `None` when a pivot falls below 1e-6 of its
/// diagonal entry.
fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for j in 0..n {
        let diagonal = a[j * n + j];
        let pivot = diagonal - (0..j).map(|k| l[j * n + k] * l[j * n + k]).sum::<f64>();
        if pivot.is_nan() || pivot < 1e-6 * diagonal.abs().max(1.0) {
            return None;
        }
        let root = pivot.sqrt();
        l[j * n + j] = root;
        for i in j + 1..n {
            let sum: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            l[i * n + j] = (a[i * n + j] - sum) / root;
        }
    }
    Some(l)
}

/// A lower-triangular factor of a symmetric positive semidefinite matrix (row-major): with
/// `B = V diag(sqrt(max(lambda, 0)))` from the eigen-decomposition, `B B^T` is the matrix
/// (negative eigenvalues from rounding clipped), and Householder QR of `B^T = Q R` gives
/// `B B^T = R^T R`, so `L = R^T` (rows of `R` negated where needed so the diagonal is
/// not negative).
fn semidefinite_factor(a: Vec<f64>, n: usize) -> Vec<f64> {
    let (values, vectors) = jacobi(a, n, true);
    // c = B^T: c[k][i] = V[i][k] sqrt(lambda_k).
    let mut c = vec![0.0; n * n];
    for k in 0..n {
        let scale = values[k].max(0.0).sqrt();
        for i in 0..n {
            c[k * n + i] = vectors[i * n + k] * scale;
        }
    }
    for j in 0..n {
        let norm = (j..n)
            .map(|i| c[i * n + j] * c[i * n + j])
            .sum::<f64>()
            .sqrt();
        if norm == 0.0 {
            continue;
        }
        let alpha = if c[j * n + j] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = (j..n).map(|i| c[i * n + j]).collect();
        v[0] -= alpha;
        let v_norm2: f64 = v.iter().map(|x| x * x).sum();
        if v_norm2 == 0.0 {
            continue;
        }
        for col in j..n {
            let dot: f64 = v
                .iter()
                .enumerate()
                .map(|(r, vr)| vr * c[(j + r) * n + col])
                .sum();
            let f = 2.0 * dot / v_norm2;
            for (r, vr) in v.iter().enumerate() {
                c[(j + r) * n + col] -= f * vr;
            }
        }
    }
    let mut l = vec![0.0; n * n];
    for j in 0..n {
        let sign = if c[j * n + j] < 0.0 { -1.0 } else { 1.0 };
        for i in j..n {
            l[i * n + j] = sign * c[j * n + i];
        }
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn product(l: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let n = l.len();
        (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| (0..n).map(|k| l[i][k] * l[j][k]).sum())
                    .collect()
            })
            .collect()
    }

    fn distance(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
        a.iter()
            .flatten()
            .zip(b.iter().flatten())
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f64>()
            .sqrt()
    }

    fn assert_reproduces(m: &[Vec<f64>], tolerance: f64) {
        let l = factor(m);
        for (i, row) in l.iter().enumerate() {
            assert!(
                row[i + 1..].iter().all(|v| *v == 0.0),
                "L is lower triangular"
            );
        }
        let d = distance(&product(&l), m);
        assert!(d <= tolerance, "L L^T differs from m by {d}");
    }

    #[test]
    fn valid_matrices_pass() {
        assert!(check(&[]).is_ok());
        assert!(check(&[vec![1.0]]).is_ok());
        let m = vec![
            vec![1.0, 0.5, 0.2],
            vec![0.5, 1.0, 0.3],
            vec![0.2, 0.3, 1.0],
        ];
        assert!(check(&m).is_ok());
        assert_reproduces(&m, 1e-14);
        // Perfect correlation (rank one) is valid and factors.
        let ones = vec![vec![1.0; 3]; 3];
        assert!(check(&ones).is_ok());
        assert_reproduces(&ones, 1e-14);
        let signs = vec![
            vec![1.0, -1.0, 1.0],
            vec![-1.0, 1.0, -1.0],
            vec![1.0, -1.0, 1.0],
        ];
        assert!(check(&signs).is_ok());
        assert_reproduces(&signs, 1e-14);
        // A common factor: corr 0.6 everywhere, n = 50.
        let common: Vec<Vec<f64>> = (0..50)
            .map(|i| (0..50).map(|j| if i == j { 1.0 } else { 0.6 }).collect())
            .collect();
        assert!(check(&common).is_ok());
        assert_reproduces(&common, 1e-12);
        let values = eigenvalues_symmetric(&common);
        assert!((values[0] - 0.4).abs() < 1e-10 && (values[49] - (1.0 + 49.0 * 0.6)).abs() < 1e-9);
    }

    #[test]
    fn each_invalid_form_is_named() {
        assert!(matches!(
            check(&[vec![1.0, 0.2], vec![0.2]]),
            Err(CorrError::NotSquare {
                row: 1,
                len: 1,
                expected: 2
            })
        ));
        assert!(matches!(
            check(&[vec![1.0, f64::NAN], vec![0.2, 1.0]]),
            Err(CorrError::NotFinite { row: 0, col: 1 })
        ));
        assert!(matches!(
            check(&[vec![1.0, 0.2], vec![0.2, 0.9]]),
            Err(CorrError::Diagonal { index: 1, .. })
        ));
        assert!(matches!(
            check(&[vec![1.0, 0.2], vec![0.3, 1.0]]),
            Err(CorrError::NotSymmetric { row: 0, col: 1, .. })
        ));
        assert!(matches!(
            check(&[vec![1.0, 1.2], vec![1.2, 1.0]]),
            Err(CorrError::OutOfRange { row: 0, col: 1, .. })
        ));
        let message = check(&[vec![1.0, 0.2], vec![0.3, 1.0]])
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("row 1, column 2 is 0.2 but row 2, column 1 is 0.3"),
            "{message}"
        );
    }

    #[test]
    fn contradictory_correlations_get_the_nearest_valid_matrix() {
        // Higham (2002), section 4: the nearest correlation matrix to this one has
        // off-diagonal entries 0.7607 and 0.1573.
        let m = vec![
            vec![1.0, 1.0, 0.0],
            vec![1.0, 1.0, 1.0],
            vec![0.0, 1.0, 1.0],
        ];
        let Err(CorrError::NotPositiveSemidefinite {
            smallest_eigenvalue,
            nearest,
            suggestion,
        }) = check(&m)
        else {
            panic!("accepted")
        };
        assert!((smallest_eigenvalue - (1.0 - 2f64.sqrt())).abs() < 1e-12);
        assert!(
            (nearest[0][1] - 0.7607).abs() < 5e-5 && (nearest[0][2] - 0.1573).abs() < 5e-5,
            "{nearest:?}"
        );
        assert!(check(&nearest).is_ok());
        assert!(check(&suggestion).is_ok());
        let message = check(&m).unwrap_err().to_string();
        assert!(
            message.contains("nearest valid correlation matrix is [[1, 0.76"),
            "{message}"
        );

        // A strongly contradictory case: a and b, b and c close, a and c opposite.
        let m = vec![
            vec![1.0, 0.9, -0.9],
            vec![0.9, 1.0, 0.9],
            vec![-0.9, 0.9, 1.0],
        ];
        let nearest = nearest_correlation(&m);
        assert!(check(&nearest).is_ok());
        assert!(eigenvalues_symmetric(&m)[0] < 0.0);
        // Closer than two trivial fixes: clipping the eigenvalues then rescaling the diagonal,
        // and shrinking towards independence just enough.
        let mut clipped = project_eigenvalues(&symmetric_flat(&m).0, 3, 0.0);
        unit_diagonal(&mut clipped, 3);
        let clipped = to_rows(&clipped, 3);
        let shrink = (0..=1000).map(|k| 1.0 - k as f64 / 1000.0).find(|w| {
            let s: Vec<Vec<f64>> = (0..3)
                .map(|i| {
                    (0..3)
                        .map(|j| if i == j { 1.0 } else { w * m[i][j] })
                        .collect()
                })
                .collect();
            eigenvalues_symmetric(&s)[0] >= 0.0
        });
        let w = shrink.unwrap_or(0.0);
        let shrunk: Vec<Vec<f64>> = (0..3)
            .map(|i| {
                (0..3)
                    .map(|j| if i == j { 1.0 } else { w * m[i][j] })
                    .collect()
            })
            .collect();
        let d = distance(&nearest, &m);
        assert!(
            d <= distance(&clipped, &m) + 1e-9 && d <= distance(&shrunk, &m) + 1e-9,
            "{d} vs {} and {}",
            distance(&clipped, &m),
            distance(&shrunk, &m)
        );
        assert_reproduces(&nearest, 1e-9);
    }

    #[test]
    fn nearest_leaves_valid_matrices_alone() {
        let m = vec![
            vec![1.0, 0.5, 0.2],
            vec![0.5, 1.0, 0.3],
            vec![0.2, 0.3, 1.0],
        ];
        assert!(distance(&nearest_correlation(&m), &m) < 1e-10);
        // Garbage in does not panic.
        let odd = vec![vec![2.0, f64::NAN, 5.0], vec![0.1], vec![]];
        assert!(check(&nearest_correlation(&odd)).is_ok());
        assert_eq!(factor(&odd).len(), 3);
        assert!(nearest_correlation(&[]).is_empty() && factor(&[]).is_empty());
    }

    proptest! {
        #[test]
        fn normalised_gram_matrices_are_valid_and_factor(n in 1usize..8, k in 1usize..8, entries in proptest::collection::vec(-1.0f64..1.0, 64)) {
            // A is n x k; C = D^-1/2 A A^T D^-1/2 is a correlation matrix of rank <= k.
            let a: Vec<Vec<f64>> = (0..n).map(|i| (0..k).map(|j| entries[i * 8 + j]).collect()).collect();
            let gram: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| (0..k).map(|t| a[i][t] * a[j][t]).sum()).collect()).collect();
            prop_assume!((0..n).all(|i| gram[i][i] > 1e-6));
            let c: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| if i == j { 1.0 } else { (gram[i][j] / (gram[i][i] * gram[j][j]).sqrt()).clamp(-1.0, 1.0) }).collect()).collect();
            let symmetric: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| if i <= j { c[i][j] } else { c[j][i] }).collect()).collect();
            prop_assert!(check(&symmetric).is_ok(), "{:?}", check(&symmetric));
            let l = factor(&symmetric);
            prop_assert!(l.iter().enumerate().all(|(i, row)| row[i + 1..].iter().all(|v| *v == 0.0)), "L is lower triangular");
            prop_assert!(distance(&product(&l), &symmetric) < 1e-8);
        }
    }
}

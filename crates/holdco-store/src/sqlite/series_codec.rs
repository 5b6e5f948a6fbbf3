//! The arrays of a series row (migration 0008): `periods` and `figures` as little-endian
//! binary, read without parsing text.
//!
//! - `periods`: a BLOB of 4-byte little-endian two's-complement integers, the period starts
//!   (month indexes) in ascending order;
//! - `figures`: a BLOB of 8-byte little-endian IEEE 754 doubles, one per period.
//!
//! Rows written before migration 0008 hold both as JSON text arrays; a reader tells the two
//! apart by the value's SQLite type, so older stores read as before and one store may hold
//! rows of both kinds (a store upgraded in place keeps its old rows as they are). `extras`,
//! `annotations` and `superseded` stay JSON. SQL users read both kinds through the
//! `current_facts` view, which decodes the binary arrays with core SQL only.

use super::{corrupt, fact_series::numbers};
use crate::StoreError;
use rusqlite::types::ValueRef;

/// The binary form of a series' period starts.
pub(super) fn encode_starts(starts: &[i32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(starts.len() * 4);
    for start in starts {
        bytes.extend_from_slice(&start.to_le_bytes());
    }
    bytes
}

/// The binary form of a series' figures (finite doubles: checked before any write).
pub(super) fn encode_values(values: &[f64]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(values.len() * 8);
    for value in values {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

/// A series array as read from a row, before it is decoded.
#[derive(Clone, Copy)]
pub(super) enum Array<'a> {
    /// JSON text (rows written before migration 0008).
    Text(&'a str),
    /// Little-endian binary.
    Binary(&'a [u8]),
}

impl<'a> Array<'a> {
    /// The `periods` or `figures` column of a row.
    pub fn of(value: ValueRef<'a>) -> Result<Self, StoreError> {
        match value {
            ValueRef::Blob(bytes) => Ok(Array::Binary(bytes)),
            ValueRef::Text(bytes) => std::str::from_utf8(bytes)
                .map(Array::Text)
                .map_err(|error| corrupt(error.to_string())),
            other => Err(corrupt(format!(
                "a series array is {:?}, not text or a blob",
                other.data_type()
            ))),
        }
    }

    /// The number of periods of a `periods` array, without decoding it.
    pub fn count_starts(self) -> usize {
        match self {
            Array::Binary(bytes) => bytes.len() / 4,
            Array::Text(list) => {
                if list.bytes().any(|b| b.is_ascii_digit()) {
                    1 + list.bytes().filter(|b| *b == b',').count()
                } else {
                    0
                }
            }
        }
    }

    /// The period starts of a `periods` array.
    pub fn starts(self) -> Result<Vec<i32>, StoreError> {
        match self {
            Array::Text(text) => numbers(text),
            Array::Binary(bytes) => {
                let words = bytes.chunks_exact(4);
                if !words.remainder().is_empty() {
                    return Err(corrupt(format!(
                        "a binary periods array of {} bytes (not a multiple of 4)",
                        bytes.len()
                    )));
                }
                Ok(words
                    .map(|word| i32::from_le_bytes([word[0], word[1], word[2], word[3]]))
                    .collect())
            }
        }
    }

    /// The figures of a `figures` array.
    pub fn values(self) -> Result<Vec<f64>, StoreError> {
        match self {
            Array::Text(text) => numbers(text),
            Array::Binary(bytes) => {
                let words = bytes.chunks_exact(8);
                if !words.remainder().is_empty() {
                    return Err(corrupt(format!(
                        "a binary figures array of {} bytes (not a multiple of 8)",
                        bytes.len()
                    )));
                }
                let values: Vec<f64> = words
                    .map(|word| {
                        let mut eight = [0u8; 8];
                        eight.copy_from_slice(word);
                        f64::from_le_bytes(eight)
                    })
                    .collect();
                if let Some(bad) = values.iter().find(|value| !value.is_finite()) {
                    return Err(corrupt(format!("a stored figure is {bad}")));
                }
                Ok(values)
            }
        }
    }
}

/// Column `index` of a series row as an [`Array`].
pub(super) fn column<'row>(
    row: &'row rusqlite::Row<'_>,
    index: usize,
) -> Result<Array<'row>, StoreError> {
    Array::of(
        row.get_ref(index)
            .map_err(super::database("reading facts"))?,
    )
}

/// An owned copy of an [`Array`], to decode on another thread.
pub(super) enum OwnedArray {
    Text(String),
    Binary(Vec<u8>),
}

impl OwnedArray {
    pub fn of(array: Array<'_>) -> Self {
        match array {
            Array::Text(text) => OwnedArray::Text(text.to_string()),
            Array::Binary(bytes) => OwnedArray::Binary(bytes.to_vec()),
        }
    }

    pub fn borrow(&self) -> Array<'_> {
        match self {
            OwnedArray::Text(text) => Array::Text(text),
            OwnedArray::Binary(bytes) => Array::Binary(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_arrays_round_trip_and_text_still_reads() {
        let starts = [i32::MIN, -1, 0, 1, 24_276, i32::MAX];
        let values = [
            0.0,
            -0.0,
            0.1,
            -1.5e300,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
        ];
        let (s, v) = (encode_starts(&starts), encode_values(&values));
        assert_eq!(Array::Binary(&s).starts().unwrap(), starts);
        assert_eq!(Array::Binary(&s).count_starts(), starts.len());
        let back = Array::Binary(&v).values().unwrap();
        assert!(back
            .iter()
            .zip(values)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        assert_eq!(Array::Text("[3,4,5]").starts().unwrap(), [3, 4, 5]);
        assert_eq!(Array::Text("[3,4,5]").count_starts(), 3);
        assert_eq!(Array::Text("[]").count_starts(), 0);
        assert_eq!(Array::Text("[0.1,2.0]").values().unwrap(), [0.1, 2.0]);
        // A truncated or non-finite array is a corrupt store, not a panic.
        assert!(Array::Binary(&s[..5]).starts().is_err());
        assert!(Array::Binary(&v[..9]).values().is_err());
        assert!(Array::Binary(&encode_values(&[f64::NAN])).values().is_err());
    }
}

//! Identifiers that can only exist in a valid form: unit ids, metric ids and currency codes.
//!
//! Parse, don't validate: the constructors are the only way in, so past the import boundary
//! an invalid id cannot exist. Ids are shared strings: a million changes naming the same unit
//! clone a pointer, not the text.

use serde::{Deserialize, Serialize};
use std::fmt;

fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

macro_rules! slug_id {
    ($name:ident, $what:literal) => {
        #[doc = concat!("A stable ", $what, " id: ASCII letters, digits, `_`, `-` or `.`, at most 64 characters.")]
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(std::sync::Arc<str>);

        impl $name {
            /// Parses an id, explaining what is expected when the text does not fit.
            pub fn parse(text: &str) -> Result<Self, String> {
                let trimmed = text.trim();
                if is_slug(trimmed) {
                    Ok(Self(std::sync::Arc::from(trimmed)))
                } else {
                    Err(format!(
                        "`{}` is not a valid {} id (expected ASCII letters, digits, `_`, `-` or `.`, 1 to 64 characters)",
                        text, $what
                    ))
                }
            }
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, String> {
                Self::parse(&value)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0.to_string()
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slug_id!(UnitId, "unit");
slug_id!(MetricId, "metric");

/// An ISO 4217-style currency code: three upper-case ASCII letters (e.g. `CNY`, `USD`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    /// Parses a currency code; lower case is accepted and upper-cased.
    pub fn parse(text: &str) -> Result<Self, String> {
        let code = text.trim().to_ascii_uppercase();
        if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(Self(code))
        } else {
            Err(format!(
                "`{text}` is not a currency code (expected three letters such as CNY or USD)"
            ))
        }
    }
    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}
impl From<Currency> for String {
    fn from(value: Currency) -> String {
        value.0
    }
}
impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_slugs_and_reject_the_rest() {
        assert!(UnitId::parse("cloud_intelligence").is_ok());
        assert!(UnitId::parse("1688").is_ok());
        assert!(UnitId::parse("").is_err());
        assert!(UnitId::parse("阿里").is_err());
        assert!(UnitId::parse("a b").is_err());
        assert_eq!(Currency::parse("cny").unwrap().as_str(), "CNY");
        assert!(Currency::parse("RMBX").is_err());
    }
}

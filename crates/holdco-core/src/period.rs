//! Periods: months, quarters and years of a calendar with a fiscal year end.
//!
//! A period is stored as its first month (counted from year 0) and its length in months, so
//! `2023Q3` and Alibaba's `FY2024Q2` (fiscal year ending 31 March) are the same value. Labels
//! are parsed in both calendar and fiscal forms and printed in the group's preferred form.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The month in which a group's fiscal year ends (1 = January ... 12 = December).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FiscalCalendar {
    /// Month of the fiscal year end, 1 to 12. Alibaba: 3 (31 March).
    pub year_end_month: u8,
}

impl FiscalCalendar {
    /// A calendar whose fiscal year ends in `year_end_month` (1 to 12).
    pub fn new(year_end_month: u8) -> Result<Self, String> {
        if (1..=12).contains(&year_end_month) {
            Ok(Self { year_end_month })
        } else {
            Err(format!(
                "fiscal year end month {year_end_month} is not between 1 and 12"
            ))
        }
    }

    /// The calendar year: the fiscal year is the calendar year.
    pub fn calendar() -> Self {
        Self { year_end_month: 12 }
    }

    /// First month index of fiscal year `fy` (the fiscal year that ends in calendar year `fy`).
    fn fiscal_year_start(&self, fy: i32) -> i32 {
        fy * 12 + i32::from(self.year_end_month) - 1 - 11
    }

    /// The fiscal year a month index belongs to.
    fn fiscal_year_of(&self, month_index: i32) -> i32 {
        // The fiscal year ending in calendar year Y covers months up to Y*12 + end - 1.
        let end_offset = i32::from(self.year_end_month) - 1;
        (month_index - end_offset + 11).div_euclid(12)
    }

    /// True when fiscal years are calendar years.
    pub fn is_calendar(&self) -> bool {
        self.year_end_month == 12
    }
}

/// The length of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Granularity {
    /// One calendar month.
    Month,
    /// Three consecutive months.
    Quarter,
    /// Twelve consecutive months.
    Year,
}

impl Granularity {
    /// Number of months in a period of this granularity.
    pub fn months(self) -> i32 {
        match self {
            Granularity::Month => 1,
            Granularity::Quarter => 3,
            Granularity::Year => 12,
        }
    }
}

/// A month, quarter or year: its first month (year * 12 + month - 1) and its granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Period {
    /// Index of the first month: calendar year * 12 + (month - 1).
    pub start: i32,
    /// Month, quarter or year.
    pub granularity: Granularity,
}

fn month_index(year: i32, month: u32) -> i32 {
    year * 12 + month as i32 - 1
}

fn month_first_day(index: i32) -> NaiveDate {
    let year = index.div_euclid(12);
    let month = index.rem_euclid(12) as u32 + 1;
    NaiveDate::from_ymd_opt(year, month, 1).expect("month index within chrono's range")
}

impl Period {
    /// A period of `granularity` starting at month index `start`.
    pub fn new(start: i32, granularity: Granularity) -> Self {
        Self { start, granularity }
    }

    /// Parses `2023`, `2023Q3`, `2023-09`, `FY2024`, `FY2024Q2` (case-insensitive); every
    /// number is plain ASCII digits (no sign, no padding beyond the form).
    pub fn parse(label: &str, calendar: FiscalCalendar) -> Result<Self, String> {
        let text = label.trim().to_ascii_uppercase();
        let expected = "expected a period such as 2023, 2023Q3, 2023-09, FY2024 or FY2024Q2";
        let bad = || format!("`{}` is not a period ({expected})", label.trim());
        let year_of = |digits: &str| -> Result<i32, String> {
            if digits.len() == 4 && digits.chars().all(|c| c.is_ascii_digit()) {
                let year: i32 = digits.parse().map_err(|_| bad())?;
                if (1900..=2200).contains(&year) {
                    return Ok(year);
                }
            }
            Err(bad())
        };
        if let Some(rest) = text.strip_prefix("FY") {
            let (year_text, quarter) = match rest.split_once('Q') {
                Some((y, q)) => (y, Some(q)),
                None => (rest, None),
            };
            let fy = year_of(year_text)?;
            let start = calendar.fiscal_year_start(fy);
            return match quarter {
                None => Ok(Self::new(start, Granularity::Year)),
                Some(q) => match q {
                    "1" | "2" | "3" | "4" => {
                        let q: i32 = q.parse().map_err(|_| bad())?;
                        Ok(Self::new(start + 3 * (q - 1), Granularity::Quarter))
                    }
                    _ => Err(bad()),
                },
            };
        }
        if let Some((year_text, quarter)) = text.split_once('Q') {
            let year = year_of(year_text)?;
            return match quarter {
                "1" | "2" | "3" | "4" => {
                    let q: i32 = quarter.parse().map_err(|_| bad())?;
                    Ok(Self::new(year * 12 + 3 * (q - 1), Granularity::Quarter))
                }
                _ => Err(bad()),
            };
        }
        if let Some((year_text, month)) = text.split_once('-') {
            let year = year_of(year_text)?;
            let month: u32 = if month.len() == 2 && month.bytes().all(|b| b.is_ascii_digit()) {
                month.parse().map_err(|_| bad())?
            } else {
                0
            };
            if !(1..=12).contains(&month) {
                return Err(bad());
            }
            return Ok(Self::new(month_index(year, month), Granularity::Month));
        }
        let year = year_of(&text)?;
        Ok(Self::new(year * 12, Granularity::Year))
    }

    /// The label in the group's preferred form: fiscal labels where the period is aligned
    /// with the fiscal calendar, calendar labels otherwise.
    pub fn label(&self, calendar: FiscalCalendar) -> String {
        let year = self.start.div_euclid(12);
        let month = self.start.rem_euclid(12) + 1;
        match self.granularity {
            Granularity::Month => format!("{year}-{month:02}"),
            Granularity::Quarter | Granularity::Year => {
                let fy = calendar.fiscal_year_of(self.start);
                let offset = self.start - calendar.fiscal_year_start(fy);
                let fiscal_aligned = offset % self.granularity.months() == 0;
                if calendar.is_calendar() || !fiscal_aligned {
                    if self.granularity == Granularity::Year {
                        if month == 1 {
                            format!("{year}")
                        } else {
                            format!("{year}-{month:02}+12M")
                        }
                    } else if (month - 1) % 3 == 0 {
                        format!("{year}Q{}", (month - 1) / 3 + 1)
                    } else {
                        format!("{year}-{month:02}+3M")
                    }
                } else if self.granularity == Granularity::Year {
                    format!("FY{fy}")
                } else {
                    format!("FY{fy}Q{}", offset / 3 + 1)
                }
            }
        }
    }

    /// Number of months covered.
    pub fn months(&self) -> i32 {
        self.granularity.months()
    }

    /// Month index one past the last month.
    pub fn end_exclusive(&self) -> i32 {
        self.start + self.months()
    }

    /// The first day of the period.
    pub fn first_day(&self) -> NaiveDate {
        month_first_day(self.start)
    }

    /// The last day of the period (e.g. 2024-03-31 for FY2024 of a March year end).
    pub fn last_day(&self) -> NaiveDate {
        month_first_day(self.end_exclusive())
            .pred_opt()
            .expect("date in range")
    }

    /// True when `other` lies entirely within this period.
    pub fn contains(&self, other: &Period) -> bool {
        other.start >= self.start && other.end_exclusive() <= self.end_exclusive()
    }

    /// The periods one step finer that make up this one (a year's four quarters, a
    /// quarter's three months); empty for a month.
    pub fn children(&self) -> Vec<Period> {
        match self.granularity {
            Granularity::Year => (0..4)
                .map(|q| Period::new(self.start + 3 * q, Granularity::Quarter))
                .collect(),
            Granularity::Quarter => (0..3)
                .map(|m| Period::new(self.start + m, Granularity::Month))
                .collect(),
            Granularity::Month => Vec::new(),
        }
    }

    /// The same kind of period shifted by `steps` of its own length.
    pub fn shift(&self, steps: i32) -> Period {
        Period::new(self.start + steps * self.months(), self.granularity)
    }

    /// The period of this granularity that contains `date`, aligned with the fiscal calendar.
    pub fn containing(
        date: NaiveDate,
        granularity: Granularity,
        calendar: FiscalCalendar,
    ) -> Period {
        let index = month_index(date.year(), date.month());
        match granularity {
            Granularity::Month => Period::new(index, granularity),
            Granularity::Quarter | Granularity::Year => {
                let fy_start = calendar.fiscal_year_start(calendar.fiscal_year_of(index));
                let len = granularity.months();
                let offset = (index - fy_start).div_euclid(len) * len;
                Period::new(fy_start + offset, granularity)
            }
        }
    }
}

/// A period in the context of its calendar, for printing.
pub struct PeriodLabel<'a>(pub &'a Period, pub FiscalCalendar);

impl fmt::Display for PeriodLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.label(self.1))
    }
}

/// Parses `A..B` (inclusive) or a single label into the list of periods, stepping by the
/// granularity of `A`. Both ends must have the same granularity.
pub fn parse_range(text: &str, calendar: FiscalCalendar) -> Result<Vec<Period>, String> {
    match text.split_once("..") {
        None => Period::parse(text, calendar)
            .map(|p| vec![p])
            .map_err(|error| {
                // `FY2024-FY2026` or `2023Q1-2023Q4`: a range written with a dash.
                let dashed = text
                    .match_indices('-')
                    .map(|(i, _)| (&text[..i], &text[i + 1..]))
                    .find(|(a, b)| {
                        Period::parse(a, calendar).is_ok() && Period::parse(b, calendar).is_ok()
                    });
                match dashed {
                    Some((a, b)) => {
                        format!("`{text}` is not a period; a range is written {a}..{b}")
                    }
                    None => error,
                }
            }),
        Some((a, b)) => {
            let first = Period::parse(a, calendar)?;
            let last = Period::parse(b, calendar)?;
            if first.granularity != last.granularity {
                return Err(format!("`{text}`: both ends of a range must be of the same length (month, quarter or year)"));
            }
            if last.start < first.start {
                return Err(format!("`{text}`: the range ends before it starts"));
            }
            if (last.start - first.start) % first.months() != 0 {
                return Err(format!(
                    "`{text}`: the ends are not a whole number of periods apart"
                ));
            }
            let count = (last.start - first.start) / first.months() + 1;
            if count > 1200 {
                return Err(format!("`{text}`: a range may hold at most 1200 periods"));
            }
            Ok((0..count).map(|k| first.shift(k)).collect())
        }
    }
}

/// Parses a date written exactly as `YYYY-MM-DD` (ten ASCII characters): chrono's
/// `%Y-%m-%d` alone also takes `+2024-1-5`, which a model file must not mean.
pub fn parse_iso_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if shaped {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {

    /// Issue 16 item 11 and its siblings: signs, single digits and spaces inside numbers
    /// of dates and period labels are refused.
    #[test]
    fn dates_and_months_are_parsed_strictly() {
        assert_eq!(
            parse_iso_date("2024-01-05"),
            NaiveDate::from_ymd_opt(2024, 1, 5)
        );
        for text in [
            "2024-1-5",
            "+2024-01-05",
            "2024-01-5",
            " 2024-01-05",
            "2024-02-30",
            "2024-+1-05",
            "20240105",
        ] {
            assert_eq!(parse_iso_date(text), None, "{text}");
        }
        let calendar = FiscalCalendar::new(3).unwrap();
        for text in ["2023-+3", "2023- 3", "2023-3"] {
            assert!(Period::parse(text, calendar).is_err(), "{text}");
        }
        assert!(Period::parse("2023-03", calendar).is_ok());
    }
    use super::*;

    const ALIBABA: FiscalCalendar = FiscalCalendar { year_end_month: 3 };

    #[test]
    fn fiscal_and_calendar_labels_meet() {
        let fiscal = Period::parse("FY2024Q2", ALIBABA).unwrap();
        let calendar = Period::parse("2023Q3", ALIBABA).unwrap();
        assert_eq!(fiscal, calendar);
        assert_eq!(fiscal.label(ALIBABA), "FY2024Q2");
        let fy = Period::parse("fy2025", ALIBABA).unwrap();
        assert_eq!(fy.first_day().to_string(), "2024-04-01");
        assert_eq!(fy.last_day().to_string(), "2025-03-31");
        assert_eq!(fy.label(ALIBABA), "FY2025");
        assert_eq!(
            Period::parse("2023", ALIBABA).unwrap().label(ALIBABA),
            "2023"
        );
        assert_eq!(
            Period::parse("2023-09", ALIBABA).unwrap().label(ALIBABA),
            "2023-09"
        );
        let cal = FiscalCalendar::calendar();
        assert_eq!(
            Period::parse("FY2023", cal).unwrap(),
            Period::parse("2023", cal).unwrap()
        );
        assert_eq!(Period::parse("2023Q4", cal).unwrap().label(cal), "2023Q4");
    }

    #[test]
    fn bad_labels_are_refused_with_the_expected_form() {
        for bad in [
            "", "2023Q5", "FY23", "2023-13", "20x3", "FY2024Q0", "2023-9",
        ] {
            let err = Period::parse(bad, ALIBABA).unwrap_err();
            assert!(err.contains("expected a period"), "{bad}: {err}");
        }
    }

    #[test]
    fn containing_aligns_with_the_fiscal_year() {
        let date = NaiveDate::from_ymd_opt(2024, 2, 10).unwrap();
        assert_eq!(
            Period::containing(date, Granularity::Year, ALIBABA).label(ALIBABA),
            "FY2024"
        );
        assert_eq!(
            Period::containing(date, Granularity::Quarter, ALIBABA).label(ALIBABA),
            "FY2024Q4"
        );
        let range = parse_range("FY2023..FY2025", ALIBABA).unwrap();
        assert_eq!(range.len(), 3);
        assert_eq!(
            Period::parse("FY2024", ALIBABA).unwrap().children()[1].label(ALIBABA),
            "FY2024Q2"
        );
    }
}

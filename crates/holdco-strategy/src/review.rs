//! Review dates of units in a class with a funding cycle (strategic innovation's 3 to 5
//! years): when the cycle that began with the unit's classification is to be reviewed, and
//! whether that review is due or past on a date (docs/semantics.md, rule 6.17).

use crate::strategy::Strategy;
use chrono::{Months, NaiveDate};
use holdco_core::timeline::Timeline;
use holdco_core::{ChangeKind, UnitId};
use serde::Serialize;

/// How far ahead a review counts as due (about six months).
pub const DUE_WITHIN_DAYS: i64 = 182;

/// One unit's review dates on a date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    /// Unit id.
    pub unit: String,
    /// Its name on the date.
    pub name: String,
    /// The class recorded for it (a `classify` decision on or before the date).
    pub class: String,
    /// The decision's date: the cycle's start.
    pub classified: NaiveDate,
    /// The cycle's shortest and longest length in years (the class policy's `cycle_years`).
    pub cycle_years: (u32, u32),
    /// Start plus the shortest cycle: the earliest review.
    pub earliest: NaiveDate,
    /// Start plus the longest cycle: the cycle's end.
    pub latest: NaiveDate,
    /// The next review: the class policy's `review` date when it falls in the cycle
    /// (from the start to `latest`), else `earliest`.
    pub next: NaiveDate,
    /// `scheduled`, `due` (the next review is past or within [`DUE_WITHIN_DAYS`]) or `past`
    /// (the cycle ended before the date).
    pub status: String,
}

/// Review dates on `date` of every unit whose latest recorded class (a `classify` change
/// on or before the date) has a `cycle_years` policy, alive on the date, by unit id.
pub fn reviews(strategy: &Strategy, timeline: &Timeline, date: NaiveDate) -> Vec<Review> {
    let mut latest: std::collections::BTreeMap<&UnitId, (NaiveDate, &str)> = Default::default();
    for change in timeline.changes.iter().filter(|c| c.date <= date) {
        if let ChangeKind::Classify { unit, class } = &change.kind {
            latest.insert(unit, (change.date, class.as_str()));
        }
    }
    let mut out = Vec::new();
    for (unit, (classified, class)) in latest {
        let Some(policy) = strategy.class(class).map(|c| &c.policy) else {
            continue;
        };
        let Some((shortest, longest)) = policy.cycle_years else {
            continue;
        };
        let Some(index) = timeline.unit(unit) else {
            continue;
        };
        let record = timeline.record(index);
        if !record.alive_on(date) {
            continue;
        }
        let add = |years: u32| {
            classified
                .checked_add_months(Months::new(years * 12))
                .unwrap_or(NaiveDate::MAX)
        };
        let (earliest, end) = (add(shortest), add(longest));
        let next = policy
            .review
            .filter(|r| *r >= classified && *r <= end)
            .unwrap_or(earliest);
        let status = if date > end {
            "past"
        } else if (next - date).num_days() <= DUE_WITHIN_DAYS {
            "due"
        } else {
            "scheduled"
        };
        out.push(Review {
            unit: unit.to_string(),
            name: record.name_on(date).to_string(),
            class: class.to_string(),
            classified,
            cycle_years: (shortest, longest),
            earliest,
            latest: end,
            next,
            status: status.to_string(),
        });
    }
    out
}

//! Fuzz target: period labels and dates.
#![no_main]

use holdco_core::{FiscalCalendar, Period};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let (Some(month), Ok(text)) = (
        data.first(),
        std::str::from_utf8(data.get(1..).unwrap_or_default()),
    ) {
        if let Ok(calendar) = FiscalCalendar::new(month % 12 + 1) {
            let _ = Period::parse(text, calendar);
        }
        let _ = holdco_core::period::parse_iso_date(text);
    }
});

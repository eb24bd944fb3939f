//! Times as the paper forms write them, in Beijing time (UTC+8):
//! "2026年12月4日9时30分".

use chrono::{Datelike, FixedOffset, TimeZone, Timelike};
use fieldloop_core::Millis;

/// Beijing time's offset from UTC, in seconds.
pub const BEIJING_OFFSET_SECONDS: i32 = 8 * 3600;

/// A moment in Beijing time, broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// `ms` in Beijing time; `None` out of range.
pub fn beijing(ms: Millis) -> Option<Civil> {
    let zone = FixedOffset::east_opt(BEIJING_OFFSET_SECONDS)?;
    let t = zone.timestamp_millis_opt(ms).single()?;
    Some(Civil {
        year: t.year(),
        month: t.month(),
        day: t.day(),
        hour: t.hour(),
        minute: t.minute(),
        second: t.second(),
    })
}

/// "2026年12月4日".
pub fn date_text(ms: Millis) -> String {
    beijing(ms).map_or_else(String::new, |t| {
        format!("{}年{}月{}日", t.year, t.month, t.day)
    })
}

/// "2026年12月4日9时30分".
pub fn date_time_text(ms: Millis) -> String {
    beijing(ms).map_or_else(String::new, |t| {
        format!(
            "{}年{}月{}日{}时{:02}分",
            t.year, t.month, t.day, t.hour, t.minute
        )
    })
}

/// 检查时间 "2026年12月4日9时30分至10时15分" (the date once when both
/// ends fall on one day); a missing end is a blank to fill in by hand.
pub fn span_text(from: Option<Millis>, to: Option<Millis>) -> String {
    const BLANK: &str = "____年__月__日__时__分";
    let from_text = from.map_or_else(|| BLANK.to_owned(), date_time_text);
    let to_text = match (from.and_then(beijing), to.and_then(beijing)) {
        (Some(a), Some(b)) if (a.year, a.month, a.day) == (b.year, b.month, b.day) => {
            format!("{}时{:02}分", b.hour, b.minute)
        }
        (_, Some(_)) => to.map(date_time_text).unwrap_or_default(),
        (_, None) => "__时__分".to_owned(),
    };
    format!("{from_text}至{to_text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-12-04 09:30 in Beijing is 01:30 UTC.
    const NINE_THIRTY: Millis = 1_796_347_800_000;

    #[test]
    fn times_are_written_in_beijing_time() {
        assert_eq!(date_time_text(NINE_THIRTY), "2026年12月4日9时30分");
        assert_eq!(date_text(NINE_THIRTY), "2026年12月4日");
        assert_eq!(
            span_text(Some(NINE_THIRTY), Some(NINE_THIRTY + 45 * 60_000)),
            "2026年12月4日9时30分至10时15分"
        );
        assert_eq!(
            span_text(Some(NINE_THIRTY), Some(NINE_THIRTY + 24 * 3_600_000)),
            "2026年12月4日9时30分至2026年12月5日9时30分"
        );
        assert_eq!(span_text(None, None), "____年__月__日__时__分至__时__分");
    }
}

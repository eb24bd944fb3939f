//! What the camera recorded in the EXIF: when and where the photo was
//! taken, and its orientation.

use std::fmt;
use std::io::Cursor;

/// When the photo was taken, as the camera's EXIF says (the camera's clock,
/// in its local time; the UTC offset only when the camera recorded one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TakenAt {
    /// Year, e.g. 2026.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of month, 1–31.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–60.
    pub second: u8,
    /// Offset of the local time from UTC in minutes (EXIF OffsetTimeOriginal).
    pub offset_minutes: Option<i16>,
}

impl TakenAt {
    /// The naive local time, `YYYY-MM-DDTHH:MM:SS`.
    pub fn naive_local(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

impl fmt::Display for TakenAt {
    /// ISO 8601: the naive local time, followed by `±HH:MM` when the offset
    /// is known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.naive_local())?;
        if let Some(offset) = self.offset_minutes {
            let sign = if offset < 0 { '-' } else { '+' };
            let abs = offset.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", abs / 60, abs % 60)?;
        }
        Ok(())
    }
}

/// Where the photo was taken, as the camera's EXIF GPS says (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GpsPosition {
    /// Degrees, north positive.
    pub latitude: f64,
    /// Degrees, east positive.
    pub longitude: f64,
    /// Metres above sea level, negative below.
    pub altitude_m: Option<f64>,
}

pub(super) fn read_exif(bytes: &[u8]) -> Option<exif::Exif> {
    // A photo with damaged EXIF is still evidence: read what is there.
    match exif::Reader::new()
        .continue_on_error(true)
        .read_from_container(&mut Cursor::new(bytes))
    {
        Ok(exif) => Some(exif),
        Err(err) => err.distill_partial_result(|_| ()).ok(),
    }
}

fn field(exif: &exif::Exif, tag: exif::Tag) -> Option<&exif::Value> {
    exif.get_field(tag, exif::In::PRIMARY).map(|f| &f.value)
}

fn ascii(exif: &exif::Exif, tag: exif::Tag) -> Option<&[u8]> {
    match field(exif, tag)? {
        exif::Value::Ascii(values) => values.first().map(Vec::as_slice),
        _ => None,
    }
}

pub(super) fn orientation(exif: &exif::Exif) -> Option<u8> {
    let value = field(exif, exif::Tag::Orientation)?.get_uint(0)?;
    u8::try_from(value).ok().filter(|v| (1..=8).contains(v))
}

pub(super) fn taken_at(exif: &exif::Exif) -> Option<TakenAt> {
    use exif::Tag;
    [
        (Tag::DateTimeOriginal, Tag::OffsetTimeOriginal),
        (Tag::DateTimeDigitized, Tag::OffsetTimeDigitized),
    ]
    .into_iter()
    .find_map(|(time_tag, offset_tag)| {
        let mut dt = exif::DateTime::from_ascii(ascii(exif, time_tag)?).ok()?;
        if let Some(offset) = ascii(exif, offset_tag) {
            // A malformed offset leaves it unknown; the time stays valid.
            let _ = dt.parse_offset(offset);
        }
        // A real calendar day and time of day (no 31 February); a leap second counts.
        let valid = (1..=9999).contains(&dt.year)
            && chrono::NaiveDate::from_ymd_opt(
                i32::from(dt.year),
                u32::from(dt.month),
                u32::from(dt.day),
            )
            .is_some()
            && chrono::NaiveTime::from_hms_opt(
                u32::from(dt.hour),
                u32::from(dt.minute),
                u32::from(dt.second.min(59)),
            )
            .is_some()
            && dt.second <= 60;
        valid.then_some(TakenAt {
            year: dt.year,
            month: dt.month,
            day: dt.day,
            hour: dt.hour,
            minute: dt.minute,
            second: dt.second,
            offset_minutes: dt.offset.filter(|o| o.abs() <= 18 * 60),
        })
    })
}

/// Degrees from an EXIF degrees/minutes/seconds triple (or fewer parts).
fn degrees(value: &exif::Value) -> Option<f64> {
    let exif::Value::Rational(parts) = value else {
        return None;
    };
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|r| r.denom == 0) {
        return None;
    }
    let total = parts
        .iter()
        .zip([1.0, 60.0, 3600.0])
        .map(|(r, unit)| r.to_f64() / unit)
        .sum::<f64>();
    total.is_finite().then_some(total)
}

pub(super) fn gps(exif: &exif::Exif) -> Option<GpsPosition> {
    use exif::Tag;
    let signed = |value_tag, ref_tag, positive: u8, negative: u8, max: f64| -> Option<f64> {
        let magnitude = degrees(field(exif, value_tag)?)?;
        // Without its reference the hemisphere is unknown: no position.
        let sign = match ascii(exif, ref_tag)?.first()?.to_ascii_uppercase() {
            r if r == positive => 1.0,
            r if r == negative => -1.0,
            _ => return None,
        };
        (magnitude <= max).then_some(sign * magnitude)
    };
    let latitude = signed(Tag::GPSLatitude, Tag::GPSLatitudeRef, b'N', b'S', 90.0)?;
    let longitude = signed(Tag::GPSLongitude, Tag::GPSLongitudeRef, b'E', b'W', 180.0)?;
    let altitude_m = field(exif, Tag::GPSAltitude).and_then(|v| match v {
        exif::Value::Rational(r) if r.first().is_some_and(|r| r.denom != 0) => {
            let metres = r[0].to_f64();
            let below = field(exif, Tag::GPSAltitudeRef).and_then(|v| v.get_uint(0)) == Some(1);
            Some(if below { -metres } else { metres })
        }
        _ => None,
    });
    Some(GpsPosition {
        latitude,
        longitude,
        altitude_m,
    })
}

/// The camera's EXIF time in milliseconds since the epoch. Without a
/// recorded offset the camera is taken to be on China Standard Time (UTC+8).
pub fn camera_time_millis(t: TakenAt) -> Option<fieldloop_core::Millis> {
    let date = chrono::NaiveDate::from_ymd_opt(t.year.into(), t.month.into(), t.day.into())?;
    let local = date.and_hms_opt(t.hour.into(), t.minute.into(), t.second.min(59).into())?;
    let offset_minutes = i64::from(t.offset_minutes.unwrap_or(8 * 60));
    Some((local.and_utc().timestamp() - offset_minutes * 60) * 1000)
}

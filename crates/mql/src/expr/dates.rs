//! Date operators: the date-part operators (`$year`, `$isoWeek`, ...) and
//! `$dateToString`, over the proleptic Gregorian calendar.
//!
//! Time zones are UTC or fixed offsets (`"+05:30"`, `"-0800"`); Olson names
//! (`"America/New_York"`) need a time-zone database this pure crate does not
//! carry, and fail with mongod's unrecognised-zone error (40485).

use bson::Bson;

use super::ast::DatePart;
use super::value::{is_nullish, type_name};
use crate::{Error, Result};

type Out = Result<Option<Bson>>;

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 to (year, month, day).
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) to days since 1970-01-01.
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Every calendar field of one instant.
struct Parts {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    millis: i64,
    /// 1 (Sunday) to 7.
    day_of_week: i64,
    /// 1 to 366.
    day_of_year: i64,
    /// 0 to 53, weeks starting on Sunday (strftime's `%U`).
    week: i64,
    iso_year: i64,
    iso_week: i64,
    /// 1 (Monday) to 7.
    iso_day: i64,
}

fn parts(millis: i64) -> Parts {
    let days = millis.div_euclid(MILLIS_PER_DAY);
    let in_day = millis.rem_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let day_of_year = days - days_from_civil(year, 1, 1) + 1;
    // 1970-01-01 was a Thursday.
    let weekday_from_sunday = (days + 4).rem_euclid(7);
    let iso_day = (days + 3).rem_euclid(7) + 1;
    let thursday = days - (iso_day - 1) + 3;
    let (iso_year, _, _) = civil_from_days(thursday);
    let iso_week = (thursday - days_from_civil(iso_year, 1, 1)) / 7 + 1;
    Parts {
        year,
        month,
        day,
        hour: in_day / 3_600_000,
        minute: in_day / 60_000 % 60,
        second: in_day / 1000 % 60,
        millis: in_day % 1000,
        day_of_week: weekday_from_sunday + 1,
        day_of_year,
        week: (day_of_year - 1 + 7 - weekday_from_sunday) / 7,
        iso_year,
        iso_week,
        iso_day,
    }
}

/// Milliseconds since the epoch of a date-like value; `None` for nullish.
pub(crate) fn millis_of(op: &str, value: Option<&Bson>) -> Result<Option<i64>> {
    match value {
        v if is_nullish(v) => Ok(None),
        Some(Bson::DateTime(d)) => Ok(Some(d.timestamp_millis())),
        Some(Bson::Timestamp(t)) => Ok(Some(i64::from(t.time) * 1000)),
        Some(Bson::ObjectId(oid)) => Ok(Some(oid.timestamp().timestamp_millis())),
        other => Err(Error::location(
            16006,
            format!(
                "can't convert from BSON type {} to Date ({op})",
                type_name(other)
            ),
        )),
    }
}

/// A time zone's offset from UTC in minutes; `None` for a nullish zone.
pub(crate) fn offset_minutes(timezone: Option<Option<Bson>>) -> Result<Option<i64>> {
    let zone = match timezone {
        None => return Ok(Some(0)),
        Some(v) if is_nullish(v.as_ref()) => return Ok(None),
        Some(Some(Bson::String(zone))) => zone,
        Some(other) => {
            return Err(Error::location(
                40517,
                format!(
                    "timezone must evaluate to a string, found {}",
                    type_name(other.as_ref())
                ),
            ));
        }
    };
    parse_offset(&zone).map(Some).ok_or_else(|| {
        Error::location(
            40485,
            format!("unrecognized time zone identifier: \"{zone}\""),
        )
    })
}

pub(crate) fn parse_offset(zone: &str) -> Option<i64> {
    if matches!(zone, "UTC" | "GMT" | "Z" | "Etc/UTC" | "Etc/GMT") {
        return Some(0);
    }
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = zone.get(1..)?.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = match digits.len() {
        2 => (digits.parse::<i64>().ok()?, 0),
        4 => (
            digits.get(..2)?.parse::<i64>().ok()?,
            digits.get(2..)?.parse::<i64>().ok()?,
        ),
        _ => return None,
    };
    (hours <= 23 && minutes <= 59).then_some(sign * (hours * 60 + minutes))
}

pub(super) fn date_part(part: DatePart, date: Option<Bson>, timezone: Option<Option<Bson>>) -> Out {
    let Some(millis) = millis_of("date part", date.as_ref())? else {
        return Ok(Some(Bson::Null));
    };
    let Some(offset) = offset_minutes(timezone)? else {
        return Ok(Some(Bson::Null));
    };
    let p = parts(millis.saturating_add(offset * 60_000));
    let value = match part {
        DatePart::Year => p.year,
        DatePart::Month => p.month,
        DatePart::DayOfMonth => p.day,
        DatePart::Hour => p.hour,
        DatePart::Minute => p.minute,
        DatePart::Second => p.second,
        DatePart::Millisecond => p.millis,
        DatePart::DayOfWeek => p.day_of_week,
        DatePart::DayOfYear => p.day_of_year,
        DatePart::Week => p.week,
        DatePart::IsoWeekYear => p.iso_year,
        DatePart::IsoWeek => p.iso_week,
        DatePart::IsoDayOfWeek => p.iso_day,
    };
    Ok(Some(match i32::try_from(value) {
        Ok(v) => Bson::Int32(v),
        Err(_) => Bson::Int64(value),
    }))
}

/// `$dateToString`'s default format.
const DEFAULT_FORMAT: &str = "%Y-%m-%dT%H:%M:%S.%LZ";

pub(super) fn date_to_string(
    format: Option<Option<Bson>>,
    date: Option<Bson>,
    timezone: Option<Option<Bson>>,
    on_null: Option<Option<Bson>>,
) -> Out {
    let format = match format {
        None => DEFAULT_FORMAT.to_string(),
        Some(v) if is_nullish(v.as_ref()) => return Ok(Some(Bson::Null)),
        Some(Some(Bson::String(f))) => f,
        Some(other) => {
            return Err(Error::location(
                18533,
                format!(
                    "$dateToString requires that 'format' be a string, found: {}",
                    type_name(other.as_ref())
                ),
            ));
        }
    };
    validate_format(&format)?;
    let Some(offset) = offset_minutes(timezone)? else {
        return Ok(Some(Bson::Null));
    };
    let Some(millis) = millis_of("$dateToString", date.as_ref())? else {
        return Ok(on_null.unwrap_or(Some(Bson::Null)));
    };
    let p = parts(millis.saturating_add(offset * 60_000));
    let mut out = String::with_capacity(format.len() + 16);
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let spec = chars.next().unwrap_or('%');
        let text = match spec {
            'd' => format!("{:02}", p.day),
            'G' => format!("{:04}", p.iso_year),
            'H' => format!("{:02}", p.hour),
            'j' => format!("{:03}", p.day_of_year),
            'L' => format!("{:03}", p.millis),
            'm' => format!("{:02}", p.month),
            'M' => format!("{:02}", p.minute),
            'S' => format!("{:02}", p.second),
            'w' => p.day_of_week.to_string(),
            'u' => p.iso_day.to_string(),
            'U' => format!("{:02}", p.week),
            'V' => format!("{:02}", p.iso_week),
            'Y' => format!("{:04}", p.year),
            'z' => {
                let sign = if offset < 0 { '-' } else { '+' };
                format!("{sign}{:02}{:02}", offset.abs() / 60, offset.abs() % 60)
            }
            'Z' => offset.to_string(),
            _ => "%".to_string(),
        };
        out.push_str(&text);
    }
    Ok(Some(Bson::String(out)))
}

fn validate_format(format: &str) -> Result<()> {
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        match chars.next() {
            None => {
                return Err(Error::location(
                    18535,
                    "Unmatched '%' at end of format string",
                ));
            }
            Some(
                'd' | 'G' | 'H' | 'j' | 'L' | 'm' | 'M' | 'S' | 'w' | 'u' | 'U' | 'V' | 'Y' | 'z'
                | 'Z' | '%',
            ) => {}
            Some(other) => {
                return Err(Error::location(
                    18536,
                    format!("Invalid format character '%{other}' in format string"),
                ));
            }
        }
    }
    Ok(())
}

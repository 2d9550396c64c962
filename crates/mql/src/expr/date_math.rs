//! `$dateAdd`, `$dateSubtract` and `$dateDiff`: calendar arithmetic in UTC
//! or a fixed-offset time zone.
//!
//! Units up to `week` are fixed durations; `month`, `quarter` and `year`
//! move the calendar date and clamp the day to the target month's length
//! (Jan 31 + 1 month = Feb 28/29), keeping the time of day. `$dateDiff`
//! counts unit boundaries crossed between the two instants in the zone,
//! weeks starting on `startOfWeek` (Sunday by default).

use bson::{Bson, DateTime};

use super::arith::as_exact_i64;
use super::dates::{civil_from_days, days_from_civil, millis_of, offset_minutes};
use super::value::{is_nullish, type_name};
use crate::{Code, Error, Result};

type Out = Result<Option<Bson>>;

const MILLIS_PER_DAY: i64 = 86_400_000;

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    fn parse(op: &str, value: Option<&Bson>) -> Result<Option<Unit>> {
        let name = match value {
            v if is_nullish(v) => return Ok(None),
            Some(Bson::String(name)) => name.as_str(),
            other => {
                return Err(Error::location(
                    5439013,
                    format!(
                        "{op} requires 'unit' to be a string, but got {}",
                        type_name(other)
                    ),
                ));
            }
        };
        Ok(Some(match name {
            "millisecond" => Unit::Millisecond,
            "second" => Unit::Second,
            "minute" => Unit::Minute,
            "hour" => Unit::Hour,
            "day" => Unit::Day,
            "week" => Unit::Week,
            "month" => Unit::Month,
            "quarter" => Unit::Quarter,
            "year" => Unit::Year,
            _ => {
                return Err(Error::bad_value(format!(
                    "{op} parameter 'unit' value cannot be recognized as a time unit: {name}"
                )));
            }
        }))
    }

    /// The fixed length of a unit in milliseconds, for units that have one.
    fn millis(self) -> Option<i64> {
        Some(match self {
            Unit::Millisecond => 1,
            Unit::Second => 1000,
            Unit::Minute => 60_000,
            Unit::Hour => 3_600_000,
            Unit::Day => MILLIS_PER_DAY,
            Unit::Week => 7 * MILLIS_PER_DAY,
            _ => return None,
        })
    }

    fn months(self) -> i64 {
        match self {
            Unit::Quarter => 3,
            Unit::Year => 12,
            _ => 1,
        }
    }
}

/// mongod's error for a `$dateAdd` or `$dateSubtract` past the dates a
/// BSON date holds; it names `dateAdd` for both (a subtraction adds).
fn overflow() -> Error {
    Error::location(5166406, "dateAdd overflowed")
}

fn date(millis: i64) -> Option<Bson> {
    Some(Bson::DateTime(DateTime::from_millis(millis)))
}

/// `$dateAdd` (or `$dateSubtract` when `negate`).
pub(super) fn add(
    negate: bool,
    start: Option<Bson>,
    unit: Option<Bson>,
    amount: Option<Bson>,
    timezone: Option<Option<Bson>>,
) -> Out {
    let op = if negate { "$dateSubtract" } else { "$dateAdd" };
    let Some(start) = millis_of(op, start.as_ref())? else {
        return Ok(Some(Bson::Null));
    };
    let Some(unit) = Unit::parse(op, unit.as_ref())? else {
        return Ok(Some(Bson::Null));
    };
    let amount = match amount {
        v if is_nullish(v.as_ref()) => return Ok(Some(Bson::Null)),
        Some(v) => as_exact_i64(&v).ok_or_else(|| {
            Error::location(
                5166403,
                format!("{op} expects integer amount of time units, found: {v}"),
            )
        })?,
        None => return Ok(Some(Bson::Null)),
    };
    let Some(offset) = offset_minutes(timezone)? else {
        return Ok(Some(Bson::Null));
    };
    let amount = if negate {
        amount.checked_neg().ok_or_else(overflow)?
    } else {
        amount
    };
    if let Some(unit_millis) = unit.millis() {
        let delta = amount.checked_mul(unit_millis).ok_or_else(overflow)?;
        return start.checked_add(delta).map(date).ok_or_else(overflow);
    }
    let months = amount.checked_mul(unit.months()).ok_or_else(overflow)?;
    let local = start.checked_add(offset * 60_000).ok_or_else(overflow)?;
    let days = local.div_euclid(MILLIS_PER_DAY);
    let time_of_day = local.rem_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let total = (year * 12 + month - 1)
        .checked_add(months)
        .ok_or_else(overflow)?;
    let (new_year, new_month) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    if !(-300_000..=300_000).contains(&new_year) {
        return Err(overflow());
    }
    let day = day.min(days_in_month(new_year, new_month));
    let local = days_from_civil(new_year, new_month, day) * MILLIS_PER_DAY + time_of_day;
    Ok(date(local - offset * 60_000))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    days_from_civil(next_year, next_month, 1) - days_from_civil(year, month, 1)
}

/// Sunday is 0 ... Saturday 6, from mongod's accepted day names.
fn start_of_week(value: Option<Option<Bson>>) -> Result<Option<i64>> {
    let name = match value {
        None => return Ok(Some(0)),
        Some(v) if is_nullish(v.as_ref()) => return Ok(None),
        Some(Some(Bson::String(name))) => name.to_ascii_lowercase(),
        Some(other) => {
            return Err(Error::location(
                5439015,
                format!(
                    "$dateDiff requires 'startOfWeek' to be a string, but got {}",
                    type_name(other.as_ref())
                ),
            ));
        }
    };
    let day = match name.as_str() {
        "sunday" | "sun" => 0,
        "monday" | "mon" => 1,
        "tuesday" | "tue" => 2,
        "wednesday" | "wed" => 3,
        "thursday" | "thu" => 4,
        "friday" | "fri" => 5,
        "saturday" | "sat" => 6,
        _ => {
            return Err(Error::location(
                5439016,
                format!(
                    "$dateDiff parameter 'startOfWeek' value cannot be recognized as a day of a week: {name}"
                ),
            ));
        }
    };
    Ok(Some(day))
}

/// `$dateDiff`: unit boundaries crossed from `start` to `end`, as a long.
pub(super) fn diff(
    start: Option<Bson>,
    end: Option<Bson>,
    unit: Option<Bson>,
    timezone: Option<Option<Bson>>,
    week_start: Option<Option<Bson>>,
) -> Out {
    let op = "$dateDiff";
    let (Some(start), Some(end)) = (millis_of(op, start.as_ref())?, millis_of(op, end.as_ref())?)
    else {
        return Ok(Some(Bson::Null));
    };
    let Some(unit) = Unit::parse(op, unit.as_ref())? else {
        return Ok(Some(Bson::Null));
    };
    let Some(offset) = offset_minutes(timezone)? else {
        return Ok(Some(Bson::Null));
    };
    let Some(week_start) = start_of_week(week_start)? else {
        return Ok(Some(Bson::Null));
    };
    let local = |m: i64| m.saturating_add(offset * 60_000);
    let (a, b) = (local(start), local(end));
    let count = match unit {
        Unit::Week => {
            // Days since a week start: 1970-01-01 was a Thursday (4).
            let week_of = |m: i64| (m.div_euclid(MILLIS_PER_DAY) + 4 - week_start).div_euclid(7);
            week_of(b) - week_of(a)
        }
        Unit::Month | Unit::Quarter | Unit::Year => {
            let months = |m: i64| {
                let (y, mo, _) = civil_from_days(m.div_euclid(MILLIS_PER_DAY));
                y * 12 + mo - 1
            };
            months(b).div_euclid(unit.months()) - months(a).div_euclid(unit.months())
        }
        _ => {
            let size = unit.millis().unwrap_or(1);
            // Only milliseconds can overflow: dates span the whole i64.
            b.div_euclid(size)
                .checked_sub(a.div_euclid(size))
                .ok_or_else(|| Error::new(Code(5166308), "dateDiff overflowed"))?
        }
    };
    Ok(Some(Bson::Int64(count)))
}

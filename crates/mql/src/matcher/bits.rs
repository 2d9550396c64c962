//! The bitwise query operators (`$bitsAllSet`, `$bitsAllClear`,
//! `$bitsAnySet`, `$bitsAnyClear`).
//!
//! A number is tested as a 64-bit two's complement integer, sign-extended
//! past bit 63 (so high positions of a negative number are set); doubles
//! must hold an integer exactly or they never match. BinData is tested as a
//! little-endian bit string, zero past its end. Other values never match.

use bson::Bson;

use crate::order::{Number, decimal_to_f64};
use crate::{Error, Result};

/// Which bits must be set or clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BitTest {
    AllSet,
    AllClear,
    AnySet,
    AnyClear,
}

/// The bit positions an operator names.
#[derive(Debug, Clone)]
pub(super) enum Mask {
    Positions(Vec<u32>),
    /// A bitmask as little-endian bytes (from a number or BinData).
    Bytes(Vec<u8>),
}

/// A bitwise test, parsed.
#[derive(Debug, Clone)]
pub(super) struct Bits {
    test: BitTest,
    mask: Mask,
}

impl Bits {
    pub(super) fn parse(operator: &str, name: &str, arg: &Bson) -> Result<Option<Bits>> {
        let test = match operator {
            "$bitsAllSet" => BitTest::AllSet,
            "$bitsAllClear" => BitTest::AllClear,
            "$bitsAnySet" => BitTest::AnySet,
            "$bitsAnyClear" => BitTest::AnyClear,
            _ => return Ok(None),
        };
        let mask = match arg {
            Bson::Array(items) => Mask::Positions(
                items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| position(index, item))
                    .collect::<Result<_>>()?,
            ),
            Bson::Binary(binary) => Mask::Bytes(binary.bytes.clone()),
            _ if Number::of(arg).is_some() => {
                Mask::Bytes(integer_mask(operator, arg)?.to_le_bytes().to_vec())
            }
            _ => {
                return Err(Error::bad_value(format!(
                    "{name} takes an Array, a number, or a BinData but received: {operator}: {arg}"
                )));
            }
        };
        Ok(Some(Bits { test, mask }))
    }

    pub(super) fn matches(&self, value: &Bson) -> bool {
        let Some(subject) = Subject::of(value) else {
            return false;
        };
        match &self.mask {
            Mask::Positions(positions) => self
                .test
                .holds(positions.iter().map(|p| subject.bit(u64::from(*p)))),
            Mask::Bytes(bytes) => self.test.holds(set_bits(bytes).map(|p| subject.bit(p))),
        }
    }
}

impl BitTest {
    fn holds(self, mut bits: impl Iterator<Item = bool>) -> bool {
        match self {
            BitTest::AllSet => bits.all(|bit| bit),
            BitTest::AllClear => bits.all(|bit| !bit),
            BitTest::AnySet => bits.any(|bit| bit),
            BitTest::AnyClear => bits.any(|bit| !bit),
        }
    }
}

/// The positions of the set bits of a little-endian bitmask.
fn set_bits(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes.iter().enumerate().flat_map(|(index, byte)| {
        (0..8u64)
            .filter(move |bit| byte & (1 << bit) != 0)
            .map(move |bit| index as u64 * 8 + bit)
    })
}

/// The value under test.
enum Subject<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl Subject<'_> {
    fn of(value: &Bson) -> Option<Subject<'_>> {
        // 2^63 as a double: the first value past i64's range.
        const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
        let whole = |d: f64| {
            (d.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&d)).then_some(d as i64)
        };
        match value {
            Bson::Int32(i) => Some(Subject::Int(i64::from(*i))),
            Bson::Int64(i) => Some(Subject::Int(*i)),
            Bson::Double(d) => whole(*d).map(Subject::Int),
            Bson::Decimal128(d) => whole(decimal_to_f64(d)).map(Subject::Int),
            Bson::Binary(binary) => Some(Subject::Bytes(&binary.bytes)),
            _ => None,
        }
    }

    fn bit(&self, position: u64) -> bool {
        match self {
            Subject::Int(value) if position >= 64 => *value < 0,
            Subject::Int(value) => (value >> position) & 1 == 1,
            Subject::Bytes(bytes) => usize::try_from(position / 8)
                .ok()
                .and_then(|index| bytes.get(index))
                .is_some_and(|byte| byte & (1 << (position % 8)) != 0),
        }
    }
}

/// One bit position of the array form, with mongod's messages.
fn position(index: usize, item: &Bson) -> Result<u32> {
    let shown = format!("{index}: {item}");
    let Some(number) = Number::of(item) else {
        return Err(Error::bad_value(format!(
            "bit positions must be an integer but got: {shown}"
        )));
    };
    let value = match number {
        Number::Int(i) => i,
        Number::Double(d) if d.is_nan() => {
            return Err(Error::bad_value(format!(
                "bit positions cannot take a NaN: {shown}"
            )));
        }
        Number::Double(d) if d.fract() != 0.0 && d.abs() <= f64::from(i32::MAX) => {
            return Err(Error::bad_value(format!(
                "bit positions must be an integer but got: {shown}"
            )));
        }
        Number::Double(d) => d.clamp(i64::MIN as f64, i64::MAX as f64) as i64,
    };
    let value = i32::try_from(value).map_err(|_| {
        Error::bad_value(format!(
            "bit positions cannot be represented as a 32-bit signed integer: {shown}"
        ))
    })?;
    u32::try_from(value)
        .map_err(|_| Error::bad_value(format!("bit positions must be >= 0 but got: {shown}")))
}

/// The number form: a non-negative integer bitmask.
fn integer_mask(operator: &str, arg: &Bson) -> Result<u64> {
    let shown = format!("{operator}: {arg}");
    let value = match Number::of(arg) {
        Some(Number::Int(i)) => i,
        Some(Number::Double(d)) if d.is_nan() => {
            return Err(Error::failed_to_parse(format!(
                "Expected an integer, but found NaN in: {shown}"
            )));
        }
        Some(Number::Double(d))
            if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&d) =>
        {
            return Err(Error::failed_to_parse(format!(
                "Cannot represent as a 64-bit integer: {shown}"
            )));
        }
        Some(Number::Double(d)) if d.fract() != 0.0 => {
            return Err(Error::failed_to_parse(format!(
                "Expected an integer: {shown}"
            )));
        }
        Some(Number::Double(d)) => d as i64,
        None => {
            return Err(Error::failed_to_parse(format!(
                "Expected a number in: {shown}"
            )));
        }
    };
    u64::try_from(value)
        .map_err(|_| Error::failed_to_parse(format!("Expected a positive number in: {shown}")))
}

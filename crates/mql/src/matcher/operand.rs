//! The operands of single query operators: comparisons, `$regex` with
//! `$options`, `$in`, `$type`, `$size`, `$mod`, `$exists`, each checked with
//! mongod's codes and messages.

use bson::{Bson, Document};

use super::parse::is_operator_document;
use super::pred::{Cmp, InSet, Pred, TypeSet};
use super::regex::Pattern;
use crate::order::Number;
use crate::{Code, Error, Result};

/// The operators a field's operator document may hold (mongod's path-accepting
/// keywords, including those refused here), for `$all`'s check.
const FIELD_OPERATORS: [&str; 27] = [
    "$eq",
    "$ne",
    "$lt",
    "$lte",
    "$gt",
    "$gte",
    "$in",
    "$nin",
    "$exists",
    "$type",
    "$all",
    "$elemMatch",
    "$size",
    "$mod",
    "$regex",
    "$options",
    "$not",
    "$near",
    "$nearSphere",
    "$geoNear",
    "$within",
    "$geoWithin",
    "$geoIntersects",
    "$bitsAllSet",
    "$bitsAllClear",
    "$bitsAnySet",
    "$bitsAnyClear",
];

pub(super) fn is_field_operator(name: &str) -> bool {
    FIELD_OPERATORS.contains(&name)
}

/// A comparison with a literal; `name` is the field, for mongod's message.
pub(super) fn comparison(name: &str, cmp: Cmp, arg: &Bson) -> Result<Pred> {
    match arg {
        Bson::Undefined => Err(Error::bad_value("cannot compare to undefined")),
        Bson::RegularExpression(_) if cmp != Cmp::Eq => Err(Error::bad_value(format!(
            "Can't have RegEx as arg to predicate over field '{name}'."
        ))),
        _ => Ok(Pred::Compare(cmp, arg.clone())),
    }
}

/// Reads `$regex` with its `$options`, wherever they sit in the document.
/// Options given twice are refused with the code mongod uses for whichever
/// came second.
pub(super) fn regex(doc: &Document) -> Result<Option<Pattern>> {
    let mut source = None;
    let mut options: Option<&str> = None;
    for (key, value) in doc {
        match (key.as_str(), value) {
            ("$regex", Bson::String(pattern)) => source = Some(pattern.as_str()),
            ("$regex", Bson::RegularExpression(regex)) => {
                source = Some(regex.pattern.as_str());
                let own = regex.options.as_str();
                if !own.is_empty() {
                    if options.is_some_and(|o| !o.is_empty()) {
                        return Err(both_options(51074));
                    }
                    options = Some(own);
                }
            }
            ("$regex", _) => return Err(Error::bad_value("$regex has to be a string")),
            ("$options", Bson::String(given)) => {
                if options.is_some_and(|o| !o.is_empty()) {
                    return Err(both_options(51075));
                }
                options = Some(given.as_str());
            }
            ("$options", _) => return Err(Error::bad_value("$options has to be a string")),
            _ => {}
        }
    }
    match (source, options) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(Error::bad_value("$options needs a $regex")),
        (Some(source), options) => Pattern::new(source, options.unwrap_or("")).map(Some),
    }
}

fn both_options(code: i32) -> Error {
    Error::location(code, "options set in both $regex and $options")
}

pub(super) fn in_set(name: &str, arg: &Bson) -> Result<Pred> {
    let Bson::Array(items) = arg else {
        return Err(Error::bad_value(format!("{name} needs an array")));
    };
    let mut values = Vec::with_capacity(items.len());
    let mut patterns = Vec::new();
    for item in items {
        match item {
            Bson::RegularExpression(regex) => {
                patterns.push(Pattern::new(
                    regex.pattern.as_str(),
                    regex.options.as_str(),
                )?);
            }
            Bson::Document(doc) if is_operator_document(doc) => {
                return Err(Error::bad_value("cannot nest $ under $in"));
            }
            Bson::Undefined => {
                return Err(Error::bad_value(
                    "InMatchExpression equality cannot be undefined",
                ));
            }
            _ => values.push(item.clone()),
        }
    }
    Ok(Pred::In(InSet::new(values, patterns)))
}

/// mongod's truthiness of an operand (`$exists: 0` is false).
pub(super) fn truthy(arg: &Bson) -> bool {
    match arg {
        Bson::Boolean(b) => *b,
        Bson::Null | Bson::Undefined => false,
        _ => Number::of(arg).is_none_or(|n| n.as_f64() != 0.0),
    }
}

/// `$type`: one type or an array of them, by code or alias.
pub(super) fn type_set(name: &str, arg: &Bson) -> Result<TypeSet> {
    let mut types = TypeSet::default();
    match arg {
        Bson::Array(items) if items.is_empty() => {
            return Err(Error::failed_to_parse(format!(
                "{name} must match at least one type"
            )));
        }
        Bson::Array(items) => {
            for item in items {
                add_type(&mut types, item)?;
            }
        }
        _ => add_type(&mut types, arg)?,
    }
    Ok(types)
}

fn add_type(types: &mut TypeSet, arg: &Bson) -> Result<()> {
    if let Bson::String(alias) = arg {
        return match types.insert_alias(alias) {
            true => Ok(()),
            false => Err(Error::bad_value(format!(
                "Unknown type name alias: {alias}"
            ))),
        };
    }
    if Number::of(arg).is_none() {
        return Err(Error::type_mismatch(
            "type must be represented as a number or a string",
        ));
    }
    let invalid = || Error::bad_value(format!("Invalid numerical type code: {arg}"));
    let code = integer(arg).ok_or_else(invalid)?;
    match types.insert_code(code) {
        true => Ok(()),
        false => Err(invalid()),
    }
}

/// The value as an integer, if it is a number holding one exactly.
pub(super) fn integer(value: &Bson) -> Option<i64> {
    match Number::of(value)? {
        Number::Int(i) => Some(i),
        Number::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e18 => Some(d as i64),
        Number::Double(_) => None,
    }
}

/// `$size`: a 32-bit whole number, not negative.
pub(super) fn size(arg: &Bson) -> Result<usize> {
    let size = match arg {
        Bson::Int32(n) => i64::from(*n),
        Bson::Int64(n) => i32::try_from(*n)
            .map(i64::from)
            .map_err(|_| Error::bad_value("$size must be representable as a 32-bit integer"))?,
        Bson::Double(d) if d.fract() == 0.0 && d.abs() <= f64::from(i32::MAX) => *d as i64,
        Bson::Double(_) => return Err(Error::bad_value("$size must be a whole number")),
        _ => return Err(Error::bad_value("$size needs a number")),
    };
    usize::try_from(size).map_err(|_| Error::bad_value("$size may not be negative"))
}

/// `$mod: [divisor, remainder]`.
pub(super) fn modulo(arg: &Bson) -> Result<Pred> {
    let Bson::Array(items) = arg else {
        return Err(Error::bad_value("malformed mod, needs to be an array"));
    };
    let (divisor, remainder) = match items.as_slice() {
        [divisor, remainder] => (divisor, remainder),
        [] | [_] => {
            return Err(Error::bad_value("malformed mod, not enough elements"));
        }
        _ => return Err(Error::bad_value("malformed mod, too many elements")),
    };
    let divisor = mod_operand(divisor, "divisor")?;
    let remainder = mod_operand(remainder, "remainder")?;
    if divisor == 0 {
        return Err(Error::new(Code::BAD_VALUE, "divisor cannot be 0"));
    }
    Ok(Pred::Mod { divisor, remainder })
}

/// A `$mod` operand truncated towards zero, as mongod takes it.
fn mod_operand(value: &Bson, role: &str) -> Result<i64> {
    match Number::of(value) {
        None => Err(Error::bad_value(format!(
            "malformed mod, {role} not a number"
        ))),
        Some(Number::Int(i)) => Ok(i),
        Some(Number::Double(d)) if d.is_finite() => Ok(d as i64),
        Some(Number::Double(_)) => Err(Error::bad_value(format!(
            "malformed mod, {role} value is invalid"
        ))),
    }
}

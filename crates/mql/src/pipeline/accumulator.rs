//! `$group` accumulators: `$sum`, `$avg`, `$min`, `$max`, `$first`, `$last`,
//! `$push`, `$addToSet`, `$count`, `$mergeObjects`, `$stdDevPop`,
//! `$stdDevSamp`.
//!
//! Each group keeps one [`State`] per accumulator; a state only grows by
//! values it is fed, and its size is reported so `$group` can enforce its
//! memory limit. `$sum` ignores non-numbers; `$min`/`$max` ignore null and
//! missing; `$avg` of no numbers is null.

use bson::{Bson, Document};

use crate::expr::{Expr, type_name};
use crate::{Error, Result, order};

/// Which accumulator a `$group` field uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Sum,
    Avg,
    Min,
    Max,
    First,
    Last,
    Push,
    AddToSet,
    Count,
    MergeObjects,
    StdDevPop,
    StdDevSamp,
}

impl Kind {
    pub fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "$sum" => Kind::Sum,
            "$avg" => Kind::Avg,
            "$min" => Kind::Min,
            "$max" => Kind::Max,
            "$first" => Kind::First,
            "$last" => Kind::Last,
            "$push" => Kind::Push,
            "$addToSet" => Kind::AddToSet,
            "$count" => Kind::Count,
            "$mergeObjects" => Kind::MergeObjects,
            "$stdDevPop" => Kind::StdDevPop,
            "$stdDevSamp" => Kind::StdDevSamp,
            _ => return None,
        })
    }
}

/// One accumulator of a `$group`: the output field, the kind, the argument.
#[derive(Debug, Clone)]
pub struct Accumulator {
    pub field: String,
    pub kind: Kind,
    pub arg: Expr,
}

impl Accumulator {
    /// Parses `field: {$op: <expr>}`.
    pub fn parse(field: &str, spec: &Bson) -> Result<Accumulator> {
        // mongod's checks, in mongod's order.
        let spec = match spec {
            Bson::Document(spec) if spec.keys().next().is_some_and(|k| k.starts_with('$')) => spec,
            _ => {
                return Err(Error::location(
                    40234,
                    format!("The field '{field}' must be an accumulator object"),
                ));
            }
        };
        if field.contains('.') {
            return Err(Error::location(
                40235,
                format!("The field name '{field}' cannot contain '.'"),
            ));
        }
        if field.starts_with('$') {
            return Err(Error::location(
                40236,
                format!("The field name '{field}' cannot be an operator name"),
            ));
        }
        let mut entries = spec.iter();
        let (Some((name, arg)), None) = (entries.next(), entries.next()) else {
            return Err(Error::location(
                40238,
                format!("The field '{field}' must specify one accumulator"),
            ));
        };
        if matches!(arg, Bson::Array(_)) {
            return Err(Error::location(
                40237,
                format!("The {name} accumulator is a unary operator"),
            ));
        }
        let kind = Kind::from_name(name)
            .ok_or_else(|| Error::location(15952, format!("unknown group operator '{name}'")))?;
        let arg = match kind {
            Kind::Count => match arg {
                Bson::Document(d) if d.is_empty() => Expr::Literal(Bson::Int32(1)),
                _ => {
                    return Err(Error::type_mismatch(
                        "$count takes no arguments, i.e. $count:{}",
                    ));
                }
            },
            _ => Expr::parse(arg)?,
        };
        Ok(Accumulator {
            field: field.to_string(),
            kind,
            arg,
        })
    }

    pub fn start(&self) -> State {
        match self.kind {
            Kind::Sum | Kind::Count | Kind::Avg => State::Sum(Sum::default(), 0),
            Kind::Min | Kind::Max | Kind::First | Kind::Last => State::One(None, false),
            Kind::Push | Kind::AddToSet => State::Many(Vec::new()),
            Kind::MergeObjects => State::Merged(Document::new()),
            Kind::StdDevPop | Kind::StdDevSamp => State::Moments(0, 0.0, 0.0),
        }
    }
}

/// A numeric running sum that keeps mongod's result type.
#[derive(Debug, Clone, Default)]
pub struct Sum {
    ints: i128,
    doubles: f64,
    rank: u8,
}

impl Sum {
    fn add(&mut self, value: &Bson) -> bool {
        match value {
            Bson::Int32(i) => self.ints += i128::from(*i),
            Bson::Int64(i) => {
                self.ints += i128::from(*i);
                self.rank = self.rank.max(1);
            }
            Bson::Double(d) => {
                self.doubles += d;
                self.rank = self.rank.max(2);
            }
            Bson::Decimal128(d) => {
                self.doubles += order::decimal_to_f64(d);
                self.rank = 3;
            }
            _ => return false,
        }
        true
    }

    fn total(&self) -> f64 {
        self.ints as f64 + self.doubles
    }

    fn result(&self) -> Bson {
        match self.rank {
            0 => match i32::try_from(self.ints) {
                Ok(i) => Bson::Int32(i),
                Err(_) => i64::try_from(self.ints).map_or(Bson::Double(self.total()), Bson::Int64),
            },
            1 => i64::try_from(self.ints).map_or(Bson::Double(self.total()), Bson::Int64),
            2 => Bson::Double(self.total()),
            _ => crate::expr::decimal_value(self.total()),
        }
    }
}

/// The running state of one accumulator in one group.
#[derive(Debug, Clone)]
pub enum State {
    /// `$sum`, `$count`, `$avg`: the sum and how many numbers it holds.
    Sum(Sum, u64),
    /// `$min`, `$max`, `$first`, `$last`: the value, and whether one was seen.
    One(Option<Bson>, bool),
    /// `$push`, `$addToSet`.
    Many(Vec<Bson>),
    /// `$mergeObjects`.
    Merged(Document),
    /// `$stdDevPop`/`$stdDevSamp`: count, mean, sum of squared deviations.
    Moments(u64, f64, f64),
}

impl State {
    /// Feeds one evaluated value (`None`: missing); returns the bytes the
    /// state grew by (a replaced value is not counted again).
    pub fn feed(&mut self, kind: Kind, value: Option<Bson>) -> Result<usize> {
        let added = value.as_ref().map_or(0, crate::expr::approx_size);
        match self {
            State::Sum(sum, n) => {
                if value.as_ref().is_some_and(|v| sum.add(v)) {
                    *n += 1;
                }
                Ok(0)
            }
            State::One(slot, seen) => {
                let before = slot.as_ref().map_or(0, crate::expr::approx_size);
                feed_one(kind, slot, seen, value);
                let after = slot.as_ref().map_or(0, crate::expr::approx_size);
                Ok(after.saturating_sub(before))
            }
            State::Many(items) => {
                let Some(value) = value else { return Ok(0) };
                if kind == Kind::AddToSet && items.iter().any(|v| order::equal(v, &value)) {
                    return Ok(0);
                }
                items.push(value);
                Ok(added)
            }
            State::Merged(doc) => match value {
                None | Some(Bson::Null | Bson::Undefined) => Ok(0),
                Some(Bson::Document(d)) => {
                    for (k, v) in d {
                        doc.insert(k, v);
                    }
                    Ok(added)
                }
                Some(other) => Err(Error::location(
                    40400,
                    format!(
                        "$mergeObjects requires object inputs, but input {other} is of type {}",
                        type_name(Some(&other))
                    ),
                )),
            },
            State::Moments(n, mean, m2) => {
                if let Some(x) = value.as_ref().and_then(crate::order::Number::of) {
                    let x = x.as_f64();
                    *n += 1;
                    let delta = x - *mean;
                    *mean += delta / *n as f64;
                    *m2 += delta * (x - *mean);
                }
                Ok(0)
            }
        }
    }

    /// The accumulator's output for the group.
    pub fn finish(self, kind: Kind) -> Bson {
        match self {
            State::Sum(_, 0) if kind == Kind::Avg => Bson::Null,
            State::Sum(sum, n) if kind == Kind::Avg => {
                let mean = sum.total() / n as f64;
                if sum.rank == 3 {
                    crate::expr::decimal_value(mean)
                } else {
                    Bson::Double(mean)
                }
            }
            State::Sum(sum, _) => sum.result(),
            State::One(value, _) => value.unwrap_or(Bson::Null),
            State::Many(items) => Bson::Array(items),
            State::Merged(doc) => Bson::Document(doc),
            State::Moments(n, _, m2) => {
                let denominator = if kind == Kind::StdDevSamp {
                    n.saturating_sub(1)
                } else {
                    n
                };
                if denominator == 0 {
                    Bson::Null
                } else {
                    Bson::Double((m2 / denominator as f64).sqrt())
                }
            }
        }
    }
}

fn feed_one(kind: Kind, slot: &mut Option<Bson>, seen: &mut bool, value: Option<Bson>) {
    match kind {
        Kind::First => {
            if !*seen {
                *slot = value;
                *seen = true;
            }
        }
        Kind::Last => *slot = value,
        _ => {
            let Some(value) = value.filter(|v| !matches!(v, Bson::Null | Bson::Undefined)) else {
                return;
            };
            let better = match slot {
                None => true,
                Some(current) => {
                    let ord = order::compare(&value, current);
                    if kind == Kind::Min {
                        ord.is_lt()
                    } else {
                        ord.is_gt()
                    }
                }
            };
            if better {
                *slot = Some(value);
            }
        }
    }
}

//! The parsed form of an aggregation expression.
//!
//! Every operator that takes a plain argument list is an [`Op`] applied to
//! [`Expr::Op`]'s arguments; operators with named arguments or that bind
//! variables have their own variants, so evaluation never re-reads the
//! original BSON.

use bson::Bson;

use super::regex::{Compiled, RegexOp};

/// A parsed aggregation expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A constant, from a scalar or `$literal`.
    Literal(Bson),
    /// `$rand`: a double drawn uniformly from [0, 1) at each evaluation.
    Rand,
    /// `"$a.b"` (variable [`Var::Current`]), `"$$ROOT.a"`, `"$$x.y"`.
    Path { var: Var, fields: Vec<String> },
    /// `{a: <expr>, b: <expr>}`: an object literal, fields in order.
    Object(Vec<(String, Expr)>),
    /// `[<expr>, ...]`: missing elements become null.
    Array(Vec<Expr>),
    /// An operator over an argument list, arity already checked.
    Op { op: Op, args: Vec<Expr> },
    /// `$let`: `vars` are bound, in order, for `body`.
    Let {
        vars: Vec<(String, Expr)>,
        body: Box<Expr>,
    },
    /// `$filter`: keep elements of `input` for which `cond` is truthy.
    Filter {
        input: Box<Expr>,
        var: String,
        cond: Box<Expr>,
        limit: Option<Box<Expr>>,
    },
    /// `$map`: `body` evaluated for every element of `input`.
    Map {
        input: Box<Expr>,
        var: String,
        body: Box<Expr>,
    },
    /// `$reduce`: folds `input` with `$$value` and `$$this`.
    Reduce {
        input: Box<Expr>,
        initial: Box<Expr>,
        body: Box<Expr>,
    },
    /// `$switch`: the first branch whose case is truthy.
    Switch {
        branches: Vec<(Expr, Expr)>,
        default: Option<Box<Expr>>,
    },
    /// `$trim`/`$ltrim`/`$rtrim`.
    Trim {
        input: Box<Expr>,
        chars: Option<Box<Expr>>,
        start: bool,
        end: bool,
    },
    /// `$year`, `$month`, ...: one part of a date, in a time zone.
    DatePart {
        part: DatePart,
        date: Box<Expr>,
        timezone: Option<Box<Expr>>,
    },
    /// `$dateAdd` / `$dateSubtract`.
    DateAdd {
        subtract: bool,
        start: Box<Expr>,
        unit: Box<Expr>,
        amount: Box<Expr>,
        timezone: Option<Box<Expr>>,
    },
    /// `$dateDiff`.
    DateDiff {
        start: Box<Expr>,
        end: Box<Expr>,
        unit: Box<Expr>,
        timezone: Option<Box<Expr>>,
        start_of_week: Option<Box<Expr>>,
    },
    /// `$dateToString`.
    DateToString {
        format: Option<Box<Expr>>,
        date: Box<Expr>,
        timezone: Option<Box<Expr>>,
        on_null: Option<Box<Expr>>,
    },
    /// `$regexMatch`, `$regexFind`, `$regexFindAll`; `compiled` holds the
    /// pattern when it and the options were constants.
    Regex {
        op: RegexOp,
        input: Box<Expr>,
        regex: Box<Expr>,
        options: Option<Box<Expr>>,
        compiled: Option<Compiled>,
    },
    /// `$convert`.
    Convert {
        input: Box<Expr>,
        to: Box<Expr>,
        on_error: Option<Box<Expr>>,
        on_null: Option<Box<Expr>>,
    },
}

/// The date-part operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePart {
    Year,
    Month,
    DayOfMonth,
    Hour,
    Minute,
    Second,
    Millisecond,
    DayOfWeek,
    DayOfYear,
    Week,
    IsoWeekYear,
    IsoWeek,
    IsoDayOfWeek,
}

impl DatePart {
    pub fn from_name(name: &str) -> Option<DatePart> {
        Some(match name {
            "$year" => DatePart::Year,
            "$month" => DatePart::Month,
            "$dayOfMonth" => DatePart::DayOfMonth,
            "$hour" => DatePart::Hour,
            "$minute" => DatePart::Minute,
            "$second" => DatePart::Second,
            "$millisecond" => DatePart::Millisecond,
            "$dayOfWeek" => DatePart::DayOfWeek,
            "$dayOfYear" => DatePart::DayOfYear,
            "$week" => DatePart::Week,
            "$isoWeekYear" => DatePart::IsoWeekYear,
            "$isoWeek" => DatePart::IsoWeek,
            "$isoDayOfWeek" => DatePart::IsoDayOfWeek,
            _ => return None,
        })
    }
}

/// The variable a path starts from.
#[derive(Debug, Clone, PartialEq)]
pub enum Var {
    /// `$$ROOT`: the document being evaluated.
    Root,
    /// `$$CURRENT` and every plain `"$a"` path; always the root here.
    Current,
    /// `$$REMOVE`: missing.
    Remove,
    /// A variable bound by `$let`, `$filter`, `$map` or `$reduce`.
    User(String),
}

macro_rules! ops {
    ($($variant:ident = $name:literal, $min:literal, $max:expr;)*) => {
        /// Operators that take an ordinary argument list.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Op { $($variant,)* }

        impl Op {
            /// Looks an operator up by its name without the `$`.
            pub fn from_name(name: &str) -> Option<Op> {
                match name {
                    $($name => Some(Op::$variant),)*
                    _ => None,
                }
            }

            /// The name mongod uses in messages, with the `$`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Op::$variant => concat!("$", $name),)*
                }
            }

            /// Fewest and most arguments (`None`: no upper bound).
            pub fn arity(self) -> (usize, Option<usize>) {
                match self {
                    $(Op::$variant => ($min, $max),)*
                }
            }
        }
    };
}

ops! {
    Add = "add", 0, None;
    Subtract = "subtract", 2, Some(2);
    Multiply = "multiply", 0, None;
    Divide = "divide", 2, Some(2);
    Mod = "mod", 2, Some(2);
    Abs = "abs", 1, Some(1);
    Ceil = "ceil", 1, Some(1);
    Floor = "floor", 1, Some(1);
    Round = "round", 1, Some(2);
    Trunc = "trunc", 1, Some(2);
    Pow = "pow", 2, Some(2);
    Sqrt = "sqrt", 1, Some(1);
    Exp = "exp", 1, Some(1);
    Ln = "ln", 1, Some(1);
    Log10 = "log10", 1, Some(1);
    Log = "log", 2, Some(2);
    Eq = "eq", 2, Some(2);
    Ne = "ne", 2, Some(2);
    Gt = "gt", 2, Some(2);
    Gte = "gte", 2, Some(2);
    Lt = "lt", 2, Some(2);
    Lte = "lte", 2, Some(2);
    Cmp = "cmp", 2, Some(2);
    And = "and", 0, None;
    Or = "or", 0, None;
    Not = "not", 1, Some(1);
    Cond = "cond", 3, Some(3);
    IfNull = "ifNull", 2, None;
    Concat = "concat", 0, None;
    Substr = "substr", 3, Some(3);
    SubstrBytes = "substrBytes", 3, Some(3);
    SubstrCP = "substrCP", 3, Some(3);
    ToLower = "toLower", 1, Some(1);
    ToUpper = "toUpper", 1, Some(1);
    StrLenBytes = "strLenBytes", 1, Some(1);
    StrLenCP = "strLenCP", 1, Some(1);
    Split = "split", 2, Some(2);
    IndexOfBytes = "indexOfBytes", 2, Some(4);
    IndexOfCP = "indexOfCP", 2, Some(4);
    Strcasecmp = "strcasecmp", 2, Some(2);
    Size = "size", 1, Some(1);
    ArrayElemAt = "arrayElemAt", 2, Some(2);
    First = "first", 1, Some(1);
    Last = "last", 1, Some(1);
    In = "in", 2, Some(2);
    ConcatArrays = "concatArrays", 0, None;
    IsArray = "isArray", 1, Some(1);
    Slice = "slice", 2, Some(3);
    ReverseArray = "reverseArray", 1, Some(1);
    Range = "range", 2, Some(3);
    IndexOfArray = "indexOfArray", 2, Some(4);
    AllElementsTrue = "allElementsTrue", 1, Some(1);
    AnyElementTrue = "anyElementTrue", 1, Some(1);
    ObjectToArray = "objectToArray", 1, Some(1);
    ArrayToObject = "arrayToObject", 1, Some(1);
    MergeObjects = "mergeObjects", 0, None;
    GetField = "getField", 2, Some(2);
    SetField = "setField", 3, Some(3);
    UnsetField = "unsetField", 2, Some(2);
    SetUnion = "setUnion", 0, None;
    SetIntersection = "setIntersection", 0, None;
    SetDifference = "setDifference", 2, Some(2);
    SetEquals = "setEquals", 2, None;
    SetIsSubset = "setIsSubset", 2, Some(2);
    Sum = "sum", 0, None;
    Avg = "avg", 0, None;
    Min = "min", 0, None;
    Max = "max", 0, None;
    Type = "type", 1, Some(1);
    IsNumber = "isNumber", 1, Some(1);
    ToString = "toString", 1, Some(1);
    ToInt = "toInt", 1, Some(1);
    ToLong = "toLong", 1, Some(1);
    ToDouble = "toDouble", 1, Some(1);
    ToDecimal = "toDecimal", 1, Some(1);
    ToBool = "toBool", 1, Some(1);
    ToObjectId = "toObjectId", 1, Some(1);
    ToDate = "toDate", 1, Some(1);
}

//! Parse errors, with mongod's codes and messages, and the depth limit.

use bson::{Bson, Document, doc};

use super::{check_error, regex};
use crate::Code;
use crate::matcher::{FILTER_DEPTH_MAX, Filter};

#[test]
fn unknown_operators_are_bad_values() {
    check_error(
        doc! {"$foo": 1},
        Code::BAD_VALUE,
        "unknown top level operator: $foo",
    );
    check_error(
        doc! {"$where": "true"},
        Code::BAD_VALUE,
        "unknown top level operator: $where",
    );
    check_error(
        doc! {"a": {"$foo": 1}},
        Code::BAD_VALUE,
        "unknown operator: $foo",
    );
    check_error(
        doc! {"a": {"$gt": 1, "b": 1}},
        Code::BAD_VALUE,
        "unknown operator: b",
    );
    check_error(
        doc! {"a": {"$near": [0, 0]}},
        Code::BAD_VALUE,
        "unknown operator: $near",
    );
}

#[test]
fn malformed_operands_are_refused_as_mongod_does() {
    let cases = [
        (
            doc! {"$and": []},
            Code::BAD_VALUE,
            "$and/$or/$nor must be a nonempty array",
        ),
        (doc! {"$or": 1}, Code::BAD_VALUE, "$or must be an array"),
        (
            doc! {"$nor": [1]},
            Code::BAD_VALUE,
            "entries need to be full objects",
        ),
        (
            doc! {"a": {"$in": 1}},
            Code::BAD_VALUE,
            "$in needs an array",
        ),
        (
            doc! {"a": {"$nin": {}}},
            Code::BAD_VALUE,
            "$nin needs an array",
        ),
        (
            doc! {"a": {"$in": [{"$gt": 1}]}},
            Code::BAD_VALUE,
            "cannot nest $ under $in",
        ),
        (
            doc! {"a": {"$all": 1}},
            Code::BAD_VALUE,
            "$all needs an array",
        ),
        (
            doc! {"a": {"$all": [{"$elemMatch": {}}, 1]}},
            Code::BAD_VALUE,
            "$all/$elemMatch has to be consistent",
        ),
        (
            doc! {"a": {"$all": [{"$gt": 1}]}},
            Code::BAD_VALUE,
            "no $ expressions in $all",
        ),
        (
            doc! {"a": {"$size": "3"}},
            Code::BAD_VALUE,
            "$size needs a number",
        ),
        (
            doc! {"a": {"$size": 2.5}},
            Code::BAD_VALUE,
            "$size must be a whole number",
        ),
        (
            doc! {"a": {"$size": -1}},
            Code::BAD_VALUE,
            "$size may not be negative",
        ),
        (
            doc! {"a": {"$mod": [4]}},
            Code::BAD_VALUE,
            "malformed mod, not enough elements",
        ),
        (
            doc! {"a": {"$mod": [4, 1, 2]}},
            Code::BAD_VALUE,
            "malformed mod, too many elements",
        ),
        (
            doc! {"a": {"$mod": 4}},
            Code::BAD_VALUE,
            "malformed mod, needs to be an array",
        ),
        (
            doc! {"a": {"$mod": ["4", 1]}},
            Code::BAD_VALUE,
            "malformed mod, divisor not a number",
        ),
        (
            doc! {"a": {"$mod": [0, 1]}},
            Code::BAD_VALUE,
            "divisor cannot be 0",
        ),
        (
            doc! {"a": {"$type": "strng"}},
            Code::BAD_VALUE,
            "Unknown type name alias: strng",
        ),
        (
            doc! {"a": {"$type": 42}},
            Code::BAD_VALUE,
            "Invalid numerical type code: 42",
        ),
        (
            doc! {"a": {"$type": {}}},
            Code::TYPE_MISMATCH,
            "type must be represented as a number or a string",
        ),
        (
            doc! {"a": {"$elemMatch": 1}},
            Code::BAD_VALUE,
            "$elemMatch needs an Object",
        ),
        (
            doc! {"a": {"$not": 1}},
            Code::BAD_VALUE,
            "$not needs a regex or a document",
        ),
        (
            doc! {"a": {"$not": {}}},
            Code::BAD_VALUE,
            "$not cannot be empty",
        ),
        (
            doc! {"a": {"$regex": 1}},
            Code::BAD_VALUE,
            "$regex has to be a string",
        ),
        (
            doc! {"a": {"$regex": "x", "$options": 1}},
            Code::BAD_VALUE,
            "$options has to be a string",
        ),
        (
            doc! {"a": {"$options": "i"}},
            Code::BAD_VALUE,
            "$options needs a $regex",
        ),
        (
            doc! {"a": {"$regex": regex("x", "i"), "$options": "m"}},
            Code(51075),
            "options set in both",
        ),
        (
            doc! {"a": {"$regex": "("}},
            Code(51091),
            "Regular expression is invalid",
        ),
        (
            doc! {"a": {"$regex": "x", "$options": "z"}},
            Code(51108),
            "invalid flag in regex options: z",
        ),
        (
            doc! {"a": {"$gt": Bson::Undefined}},
            Code::BAD_VALUE,
            "cannot compare to undefined",
        ),
        (
            doc! {"a": {"$ne": regex("x", "")}},
            Code::BAD_VALUE,
            "Can't have regex as arg to $ne.",
        ),
        (
            doc! {"a": {"$gt": regex("x", "")}},
            Code::BAD_VALUE,
            "Can't have RegEx as arg to predicate over field 'a'.",
        ),
        (
            doc! {"a": {"$options": "i", "$regex": regex("x", "m")}},
            Code(51074),
            "options set in both $regex and $options",
        ),
        (
            doc! {"a": {"$regex": regex("x", "m"), "$options": "i"}},
            Code(51075),
            "options set in both $regex and $options",
        ),
        (
            doc! {"a": {"$type": []}},
            Code::FAILED_TO_PARSE,
            "a must match at least one type",
        ),
        (
            doc! {"a": {"$size": 5_000_000_000_i64}},
            Code::BAD_VALUE,
            "$size must be representable as a 32-bit integer",
        ),
        (
            doc! {"a": {"$size": Bson::Null}},
            Code::BAD_VALUE,
            "$size needs a number",
        ),
        (
            doc! {"a": {"$where": "true"}},
            Code::BAD_VALUE,
            "$where cannot be applied to a field",
        ),
        (
            doc! {"a": {"$id": 1}},
            Code::BAD_VALUE,
            "unknown operator: $id",
        ),
        (
            doc! {"$alwaysTrue": 2},
            Code::FAILED_TO_PARSE,
            "$alwaysTrue must be an integer value of 1",
        ),
        (
            doc! {"a": {"$all": [{"$in": [1]}]}},
            Code::BAD_VALUE,
            "no $ expressions in $all",
        ),
        (
            doc! {"a": {"$bitsAllSet": [-1]}},
            Code::BAD_VALUE,
            "bit positions must be >= 0 but got: 0: -1",
        ),
        (
            doc! {"a": {"$bitsAllSet": [1.5]}},
            Code::BAD_VALUE,
            "bit positions must be an integer but got: 0: 1.5",
        ),
        (
            doc! {"a": {"$bitsAllSet": ["x"]}},
            Code::BAD_VALUE,
            "bit positions must be an integer",
        ),
        (
            doc! {"a": {"$bitsAllSet": [5_000_000_000_i64]}},
            Code::BAD_VALUE,
            "cannot be represented as a 32-bit signed integer",
        ),
        (
            doc! {"a": {"$bitsAnySet": -1}},
            Code::FAILED_TO_PARSE,
            "Expected a positive number in: $bitsAnySet: -1",
        ),
        (
            doc! {"a": {"$bitsAnySet": 1.5}},
            Code::FAILED_TO_PARSE,
            "Expected an integer: $bitsAnySet: 1.5",
        ),
        (
            doc! {"a": {"$bitsAnyClear": "x"}},
            Code::BAD_VALUE,
            "a takes an Array, a number, or a BinData but received: $bitsAnyClear: \"x\"",
        ),
    ];
    for (filter, code, message) in cases {
        check_error(filter, code, message);
    }
}

fn nested_or(levels: usize) -> Document {
    (0..levels).fold(doc! {"a": 1}, |inner, _| doc! {"$or": [inner]})
}

#[test]
fn nesting_beyond_the_limit_is_an_error_not_a_crash() {
    assert!(Filter::parse(&nested_or(FILTER_DEPTH_MAX - 1)).is_ok());
    check_error(
        nested_or(FILTER_DEPTH_MAX + 1),
        Code::BAD_VALUE,
        "exceeded depth limit",
    );
    let deep_not = (0..2 * FILTER_DEPTH_MAX).fold(doc! {"$eq": 1}, |inner, _| doc! {"$not": inner});
    check_error(
        doc! {"a": deep_not},
        Code::BAD_VALUE,
        "exceeded depth limit",
    );
    let deep_elem =
        (0..2 * FILTER_DEPTH_MAX).fold(doc! {"a": 1}, |inner, _| doc! {"a": {"$elemMatch": inner}});
    check_error(deep_elem, Code::BAD_VALUE, "exceeded depth limit");
}

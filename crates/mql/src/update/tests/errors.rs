//! Error cases with mongod's codes and messages. A failed update must also
//! leave the document exactly as it was (`check_error` checks that).

use bson::{Document, doc};

use super::{check, check_error, check_error_with, ctx};
use crate::Code;

const ARRAY_UPDATE_NEEDS_FILTERS: &[Document] = &[];

#[test]
fn parse_errors_name_the_bad_operator_or_argument() {
    let cases = [
        (
            doc! {"$foo": {"a": 1}},
            Code::FAILED_TO_PARSE,
            "Unknown modifier: $foo. Expected a valid update modifier or pipeline-style update specified as an array",
        ),
        (
            doc! {"$set": {"a": 1}, "b": 2},
            Code::FAILED_TO_PARSE,
            "Unknown modifier: b. Expected a valid update modifier or pipeline-style update specified as an array",
        ),
        (
            doc! {"$set": {"a": 1}, "$v": 1},
            Code::FAILED_TO_PARSE,
            "The $v update field is only recognized internally",
        ),
        (
            doc! {"$set": 1},
            Code::FAILED_TO_PARSE,
            "Modifiers operate on fields but we found type int instead. For example: {$mod: {<field>: ...}} not {$set: 1}",
        ),
        (
            doc! {"$inc": {"a": "x"}},
            Code::TYPE_MISMATCH,
            "Cannot increment with non-numeric argument: {a: \"x\"}",
        ),
        (
            doc! {"$mul": {"a": null}},
            Code::TYPE_MISMATCH,
            "Cannot multiply with non-numeric argument: {a: null}",
        ),
        (
            doc! {"$pop": {"a": "x"}},
            Code::FAILED_TO_PARSE,
            "Expected a number in: a: \"x\"",
        ),
        (
            doc! {"$pop": {"a": 5}},
            Code::FAILED_TO_PARSE,
            "$pop expects 1 or -1, found: 5",
        ),
        (
            doc! {"$rename": {"a": "a"}},
            Code::BAD_VALUE,
            "The source and target field for $rename must differ: a: \"a\"",
        ),
        (
            doc! {"$rename": {"a": "a.b"}},
            Code::BAD_VALUE,
            "The source and target field for $rename must not be on the same path: a: \"a.b\"",
        ),
        (
            doc! {"$rename": {"a": 1}},
            Code::BAD_VALUE,
            "The 'to' field for $rename must be a string: a: 1",
        ),
        (
            doc! {"$rename": {"a.$": "b"}},
            Code::BAD_VALUE,
            "The source field for $rename may not be dynamic: a.$",
        ),
        (
            doc! {"$pullAll": {"a": 1}},
            Code::BAD_VALUE,
            "$pullAll requires an array argument but was given a int",
        ),
        (
            doc! {"$push": {"a": {"$each": 1}}},
            Code::BAD_VALUE,
            "The argument to $each in $push must be an array but it was of type: int",
        ),
        (
            doc! {"$addToSet": {"a": {"$each": 1}}},
            Code::TYPE_MISMATCH,
            "The argument to $each in $addToSet must be an array but it was of type int",
        ),
        (
            doc! {"$addToSet": {"a": {"$each": [], "bad": 1}}},
            Code::BAD_VALUE,
            "Found unexpected fields after $each in $addToSet: { $each: [], bad: 1 }",
        ),
        (
            doc! {"$push": {"a": {"$each": [], "$foo": 1}}},
            Code::BAD_VALUE,
            "Unrecognized clause in $push: $foo",
        ),
        (
            doc! {"$push": {"a": {"$each": [], "$sort": 2}}},
            Code::BAD_VALUE,
            "The $sort element value must be either 1 or -1",
        ),
        (
            doc! {"$push": {"a": {"$each": [], "$slice": "x"}}},
            Code::BAD_VALUE,
            "The value for $slice must be an integer value but was given type: string",
        ),
        (
            doc! {"$currentDate": {"a": 1}},
            Code::BAD_VALUE,
            "int is not valid type for $currentDate. Please use a boolean ('true') or a $type expression ({$type: 'timestamp/date'}).",
        ),
        (
            doc! {"$currentDate": {"a": {"$type": "x"}}},
            Code::BAD_VALUE,
            "The '$type' string field is required to be 'date' or 'timestamp': {$currentDate: {field : {$type: 'date'}}}",
        ),
        (
            doc! {"$bit": {"a": 5}},
            Code::BAD_VALUE,
            "The $bit modifier is not compatible with a int. You must pass in an embedded document: {$bit: {field: {and/or/xor: #}}",
        ),
    ];
    for (update, code, message) in cases {
        check_error(doc! {"_id": 1}, update, code, message);
    }
}

#[test]
fn path_errors_follow_mongods_rules() {
    let cases = [
        (
            doc! {"$set": {"": 1}},
            Code::EMPTY_FIELD_NAME,
            "An empty update path is not valid.",
        ),
        (
            doc! {"$set": {"a..b": 1}},
            Code::EMPTY_FIELD_NAME,
            "The update path 'a..b' contains an empty field name, which is not allowed.",
        ),
        (
            doc! {"$set": {"a.$.b.$": 1}},
            Code::BAD_VALUE,
            "Too many positional (i.e. '$') elements found in path 'a.$.b.$'",
        ),
        (
            doc! {"$set": {"$.a": 1}},
            Code::BAD_VALUE,
            "Cannot have positional (i.e. '$') element in the first position in path '$.a'",
        ),
        (
            doc! {"$set": {"a.$[x]": 1}},
            Code::BAD_VALUE,
            "No array filter found for identifier 'x' in path 'a.$[x]'",
        ),
    ];
    for (update, code, message) in cases {
        check_error(doc! {"_id": 1}, update, code, message);
    }
}

#[test]
fn overlapping_paths_conflict_at_their_common_prefix() {
    let cases = [
        (
            doc! {"$set": {"a": 1}, "$inc": {"a.b": 1}},
            "Updating the path 'a.b' would create a conflict at 'a'",
        ),
        (
            doc! {"$set": {"a.b": 1, "a": 2}},
            "Updating the path 'a' would create a conflict at 'a'",
        ),
        (
            doc! {"$set": {"a": 1}, "$inc": {"a": 1}},
            "Updating the path 'a' would create a conflict at 'a'",
        ),
        (
            doc! {"$set": {"a.$[]": 1, "a.0": 2}},
            "Updating the path 'a.0' would create a conflict at 'a'",
        ),
        (
            doc! {"$rename": {"a": "b"}, "$set": {"b.c": 1}},
            "Updating the path 'b.c' would create a conflict at 'b'",
        ),
    ];
    for (update, message) in cases {
        check_error(
            doc! {"_id": 1, "a": [1]},
            update,
            Code::CONFLICTING_UPDATE_OPERATORS,
            message,
        );
    }
    check_error_with(
        doc! {"_id": 0, "a": [0]},
        doc! {"$set": {"a.$[i]": 0, "a.$": 0}},
        &[doc! {"i": 0}],
        ctx(),
        Code::CONFLICTING_UPDATE_OPERATORS,
        "Updating the path 'a.$' would create a conflict at 'a'",
    );
}

#[test]
fn two_filters_selecting_one_element_conflict_at_run_time() {
    check_error_with(
        doc! {"_id": 0, "a": [0]},
        doc! {"$set": {"a.$[i]": 1, "a.$[j]": 2}},
        &[doc! {"i": 0}, doc! {"j": 0}],
        ctx(),
        Code::CONFLICTING_UPDATE_OPERATORS,
        "Update created a conflict at 'a.0'",
    );
}

#[test]
fn array_filter_errors_name_the_identifier() {
    check_error_with(
        doc! {"_id": 1},
        doc! {"$set": {"a": 1}},
        &[doc! {"x": 1}],
        ctx(),
        Code::FAILED_TO_PARSE,
        "The array filter for identifier 'x' was not used in the update { $set: { a: 1 } }",
    );
    check_error_with(
        doc! {"_id": 1},
        doc! {"$set": {"a.$[x]": 1}},
        &[doc! {"x": 1}, doc! {"x": 2}],
        ctx(),
        Code::FAILED_TO_PARSE,
        "Found multiple array filters with the same top-level field name x",
    );
    check_error_with(
        doc! {"_id": 1},
        doc! {"$set": {"a.$[x]": 1}},
        &[doc! {}],
        ctx(),
        Code::FAILED_TO_PARSE,
        "Cannot use an expression without a top-level field name in arrayFilters",
    );
}

#[test]
fn apply_errors_quote_the_document_and_field() {
    let cases = [
        (
            doc! {"_id": 1, "a": "x"},
            doc! {"$inc": {"a": 1}},
            Code::TYPE_MISMATCH,
            "Cannot apply $inc to a value of non-numeric type. {_id: 1} has the field 'a' of non-numeric type string",
        ),
        (
            doc! {"_id": 1, "a": 1},
            doc! {"$set": {"a.b": 1}},
            Code::PATH_NOT_VIABLE,
            "Cannot create field 'b' in element {a: 1}",
        ),
        (
            doc! {"_id": 1, "a": [1, 2]},
            doc! {"$set": {"a.b": 1}},
            Code::PATH_NOT_VIABLE,
            "Cannot create field 'b' in element {a: [ 1, 2 ]}",
        ),
        (
            doc! {"_id": 1, "a": 1},
            doc! {"$push": {"a": 2}},
            Code::BAD_VALUE,
            "The field 'a' must be an array but is of type int in document {_id: 1}",
        ),
        (
            doc! {"_id": 1, "a": 1},
            doc! {"$addToSet": {"a": 2}},
            Code::BAD_VALUE,
            "Cannot apply $addToSet to non-array field. Field named 'a' has non-array type int",
        ),
        (
            doc! {"_id": 1, "a": 1},
            doc! {"$pop": {"a": 1}},
            Code::TYPE_MISMATCH,
            "Path 'a' contains an element of non-array type 'int'",
        ),
        (
            doc! {"_id": 1, "a": 1},
            doc! {"$pull": {"a": 1}},
            Code::BAD_VALUE,
            "Cannot apply $pull to a non-array value",
        ),
        (
            doc! {"_id": 1, "a": 1},
            doc! {"$pullAll": {"a": [1]}},
            Code::BAD_VALUE,
            "Cannot apply $pull to a non-array value",
        ),
        (
            doc! {"_id": 1, "a": "s"},
            doc! {"$bit": {"a": {"and": 1}}},
            Code::BAD_VALUE,
            "Cannot apply $bit to a value of non-integral type._id: 1 has the field a of non-integer type string",
        ),
        (
            doc! {"_id": 1, "a": 1},
            doc! {"$pull": {"a.b": 1}},
            Code::PATH_NOT_VIABLE,
            "Cannot use the part (b) of (a.b) to traverse the element ({a: 1})",
        ),
        (
            doc! {"_id": 1, "a": {"b": [1]}},
            doc! {"$pop": {"a.b.c": 1}},
            Code::PATH_NOT_VIABLE,
            "Cannot use the part (c) of (a.b.c) to traverse the element ({b: [ 1 ]})",
        ),
        (
            doc! {"_id": 1, "a": [{"a": 1}, {"b": 2}]},
            doc! {"$rename": {"a.a": "b"}},
            Code::PATH_NOT_VIABLE,
            "cannot use the part (a of a.a) to traverse the element ({a: [ { a: 1 }, { b: 2 } ]})",
        ),
        (
            doc! {"_id": 1, "v": [{"foo": [{"bar": "hello"}]}]},
            doc! {"$rename": {"v.0.foo.0.bar.z": "f"}},
            Code::PATH_NOT_VIABLE,
            "cannot use the part (bar of v.0.foo.0.bar.z) to traverse the element ({bar: \"hello\"})",
        ),
        (
            doc! {"_id": 1, "a": [{"b": 1}]},
            doc! {"$rename": {"a.0.b": "c"}},
            Code::BAD_VALUE,
            "The source field cannot be an array element, 'a.0.b' in doc with _id: 1 has an array field called 'a'",
        ),
        (
            doc! {"_id": 1, "a": i64::MAX},
            doc! {"$inc": {"a": 1}},
            Code::BAD_VALUE,
            "Failed to apply $inc operations to current value ((NumberLong)9223372036854775807) for document {_id: 1}",
        ),
        (
            doc! {"_id": 1, "a": 42},
            doc! {"$inc": {"a": i64::MAX}},
            Code::BAD_VALUE,
            "Failed to apply $inc operations to current value ((NumberInt)42) for document {_id: 1}",
        ),
        (
            doc! {"_id": "x", "a": 1_i64 << 62},
            doc! {"$mul": {"a": 4}},
            Code::BAD_VALUE,
            "Failed to apply $mul operations to current value ((NumberLong)4611686018427387904) for document {_id: \"x\"}",
        ),
        (
            doc! {"_id": 1, "v": [{"foo": [{"bar": "hello"}]}]},
            doc! {"$inc": {"v.0.foo.0.bar": 1}},
            Code::TYPE_MISMATCH,
            "Cannot apply $inc to a value of non-numeric type. {_id: 1} has the field 'bar' of non-numeric type string",
        ),
        (
            doc! {"_id": 1, "v": [{"foo": [{"bar": "hello"}]}]},
            doc! {"$max": {"v.foo": 1}},
            Code::PATH_NOT_VIABLE,
            "Cannot create field 'foo' in element {v: [ { foo: [ { bar: \"hello\" } ] } ]}",
        ),
        (
            doc! {"_id": 1},
            doc! {"$set": {"$x": 1}},
            Code::DOLLAR_PREFIXED_FIELD_NAME,
            "The dollar ($) prefixed field '$x' in '$x' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.",
        ),
    ];
    for (start, update, code, message) in cases {
        check_error(start, update, code, message);
    }
}

#[test]
fn array_updates_need_an_existing_array() {
    check_error_with(
        doc! {"_id": 1},
        doc! {"$set": {"a.$[]": 1}},
        ARRAY_UPDATE_NEEDS_FILTERS,
        ctx(),
        Code::BAD_VALUE,
        "The path 'a' must exist in the document in order to apply array updates.",
    );
    check_error(
        doc! {"_id": 1, "a": 5},
        doc! {"$set": {"a.$[]": 1}},
        Code::BAD_VALUE,
        "Cannot apply array updates to non-array element a: 5",
    );
    check_error(
        doc! {"_id": 1, "a": [1]},
        doc! {"$set": {"a.$": 1}},
        Code::BAD_VALUE,
        "The positional operator did not find the match needed from the query.",
    );
}

#[test]
fn id_is_immutable_under_operators_and_replacement() {
    let performing =
        "Performing an update on the path '_id' would modify the immutable field '_id'";
    check_error(
        doc! {"_id": 1, "a": 1},
        doc! {"$set": {"_id": 2}},
        Code::IMMUTABLE_FIELD,
        performing,
    );
    check_error(
        doc! {"_id": 1, "a": 1},
        doc! {"$unset": {"_id": 1}},
        Code::IMMUTABLE_FIELD,
        performing,
    );
    check_error(
        doc! {"_id": 1, "a": 1},
        doc! {"$inc": {"_id": 1}},
        Code::IMMUTABLE_FIELD,
        performing,
    );
    check_error(
        doc! {"_id": {"x": 1}},
        doc! {"$set": {"_id.x": 2}},
        Code::IMMUTABLE_FIELD,
        "Performing an update on the path '_id.x' would modify the immutable field '_id'",
    );
    check_error(
        doc! {"_id": 1},
        doc! {"$rename": {"_id": "b"}},
        Code::IMMUTABLE_FIELD,
        "Unsetting the path '_id' using $rename would modify the immutable field '_id'",
    );
    check_error(
        doc! {"_id": 1, "a": 1},
        doc! {"_id": 2, "a": 1},
        Code::IMMUTABLE_FIELD,
        "After applying the update, the (immutable) field '_id' was found to have been altered to _id: 2",
    );
    check(
        doc! {"_id": 1, "a": 1},
        doc! {"$set": {"_id": 1}},
        doc! {"_id": 1, "a": 1},
        false,
    );
}

#[test]
fn replacement_refuses_top_level_dollar_fields_and_bad_id_types() {
    check_error(
        doc! {"_id": 1},
        doc! {"b": 2, "$set": {"a": 1}},
        Code::DOLLAR_PREFIXED_FIELD_NAME,
        "The dollar ($) prefixed field '$set' in '$set' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.",
    );
    check_error(
        doc! {},
        doc! {"_id": [1]},
        Code::INVALID_ID_FIELD,
        "The '_id' value cannot be of type array",
    );
    check_error(
        doc! {},
        doc! {"$set": {"_id": [1]}},
        Code::INVALID_ID_FIELD,
        "The '_id' value cannot be of type array",
    );
}

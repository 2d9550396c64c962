//! Tests of the update language against mongod's documented behaviour:
//! the manual's examples for each operator, its error cases with codes, and
//! properties that must hold for any update.

mod arrays;
mod errors;
mod operators;
mod positional;
mod properties;
mod upsert;

use bson::{Document, doc};

use super::{ApplyContext, UpdateSpec};
use crate::Code;

pub(super) fn ctx() -> ApplyContext {
    ApplyContext::new(
        bson::DateTime::from_millis(1_700_000_000_000),
        bson::Timestamp {
            time: 1_700_000_000,
            increment: 1,
        },
    )
}

/// Applies `update` to `doc` and checks the result document and whether it
/// counts as modified.
pub(super) fn check(doc: Document, update: Document, expected: Document, modified: bool) {
    check_with(doc, update, &[], ctx(), expected, modified);
}

pub(super) fn check_with(
    mut doc: Document,
    update: Document,
    array_filters: &[Document],
    ctx: ApplyContext,
    expected: Document,
    modified: bool,
) {
    let spec =
        UpdateSpec::parse(&update, array_filters).unwrap_or_else(|e| panic!("parse {update}: {e}"));
    let changed = spec
        .apply(&mut doc, &ctx)
        .unwrap_or_else(|e| panic!("apply {update}: {e}"));
    assert_eq!(
        format!("{doc}"),
        format!("{expected}"),
        "update {update} (field order matters)"
    );
    assert_eq!(changed, modified, "modified flag for {update}");
}

/// Checks that parsing or applying `update` to `doc` fails with `code` and
/// exactly `message`, and leaves `doc` as it was.
pub(super) fn check_error(doc: Document, update: Document, code: Code, message: &str) {
    check_error_with(doc, update, &[], ctx(), code, message);
}

pub(super) fn check_error_with(
    doc: Document,
    update: Document,
    array_filters: &[Document],
    ctx: ApplyContext,
    code: Code,
    message: &str,
) {
    let mut target = doc.clone();
    let result =
        UpdateSpec::parse(&update, array_filters).and_then(|spec| spec.apply(&mut target, &ctx));
    let error = match result {
        Ok(changed) => panic!("{update} succeeded (changed: {changed}) giving {target}"),
        Err(e) => e,
    };
    assert_eq!(
        (error.code, error.message.as_str()),
        (code, message),
        "update {update}"
    );
    assert_eq!(
        format!("{target}"),
        format!("{doc}"),
        "failed update left doc changed"
    );
}

#[test]
fn empty_update_is_a_replacement_with_the_empty_document() {
    check(doc! {"_id": 1, "a": 1}, doc! {}, doc! {"_id": 1}, true);
}

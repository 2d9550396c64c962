//! Collation parsing and string order, against MongoDB's documented
//! behaviour of each option.

use std::cmp::Ordering;

use bson::{Bson, Document, doc};

use super::Collation;
use crate::order::compare_collated;

fn collation(spec: Document) -> Collation {
    match Collation::parse(&spec) {
        Ok(Some(collation)) => collation,
        other => panic!("{spec} should be a non-simple collation, got {other:?}"),
    }
}

/// `a` compares to `b` as `expected` under `spec`.
fn check(spec: Document, a: &str, b: &str, expected: Ordering) {
    let c = collation(spec.clone());
    assert_eq!(c.compare_str(a, b), expected, "{a:?} vs {b:?} under {spec}");
    assert_eq!(
        c.compare_str(b, a),
        expected.reverse(),
        "{b:?} vs {a:?} under {spec}"
    );
}

fn check_error(spec: Document, code: i32, message: &str) {
    match Collation::parse(&spec) {
        Err(error) => {
            assert_eq!(error.code.0, code, "{spec}: {error:?}");
            assert_eq!(error.message, message, "{spec}");
        }
        Ok(other) => panic!("{spec} should be refused, got {other:?}"),
    }
}

#[test]
fn strength_one_ignores_case_and_accents() {
    let primary = || doc! {"locale": "en", "strength": 1};
    check(primary(), "cafe", "CAFÉ", Ordering::Equal);
    check(primary(), "resume", "résumé", Ordering::Equal);
    check(primary(), "a", "b", Ordering::Less);
}

#[test]
fn strength_two_ignores_case_but_not_accents() {
    let secondary = || doc! {"locale": "en_US", "strength": 2};
    check(secondary(), "PING", "ping", Ordering::Equal);
    check(secondary(), "pINg", "Ping", Ordering::Equal);
    check(secondary(), "cafe", "café", Ordering::Less);
    check(secondary(), "ping", "pong", Ordering::Less);
}

#[test]
fn strength_three_is_the_default_and_orders_lower_case_first() {
    check(doc! {"locale": "en"}, "a", "A", Ordering::Less);
    check(
        doc! {"locale": "en", "strength": 3},
        "a",
        "A",
        Ordering::Less,
    );
    // Unlike the binary order, case does not outrank the letter.
    check(doc! {"locale": "en"}, "B", "a", Ordering::Greater);
}

#[test]
fn case_first_upper_puts_capitals_first() {
    check(
        doc! {"locale": "en", "caseFirst": "upper"},
        "A",
        "a",
        Ordering::Less,
    );
}

#[test]
fn case_level_distinguishes_case_at_strength_one() {
    check(
        doc! {"locale": "en", "strength": 1, "caseLevel": true},
        "a",
        "A",
        Ordering::Less,
    );
    check(
        doc! {"locale": "en", "strength": 1, "caseLevel": true},
        "a",
        "á",
        Ordering::Equal,
    );
}

#[test]
fn numeric_ordering_compares_digits_as_numbers() {
    check(
        doc! {"locale": "en", "numericOrdering": true},
        "10",
        "9",
        Ordering::Greater,
    );
    check(doc! {"locale": "en"}, "10", "9", Ordering::Less);
}

#[test]
fn alternate_shifted_ignores_punctuation_and_spaces() {
    check(
        doc! {"locale": "en", "alternate": "shifted", "strength": 1},
        "black-bird",
        "blackbird",
        Ordering::Equal,
    );
    check(
        doc! {"locale": "en", "alternate": "shifted", "maxVariable": "space", "strength": 1},
        "black bird",
        "blackbird",
        Ordering::Equal,
    );
    check(
        doc! {"locale": "en", "strength": 1},
        "black-bird",
        "blackbird",
        Ordering::Less,
    );
}

#[test]
fn locale_variants_and_tailorings_are_honoured() {
    // Swedish sorts "ö" after "z"; English sorts it with "o".
    check(doc! {"locale": "sv"}, "ö", "z", Ordering::Greater);
    check(doc! {"locale": "en"}, "ö", "z", Ordering::Less);
    // German phonebook order spells "ä" as "ae".
    check(
        doc! {"locale": "de@collation=phonebook", "strength": 1},
        "Mädchen",
        "Maedchen",
        Ordering::Equal,
    );
    check(
        doc! {"locale": "de", "strength": 1},
        "Mädchen",
        "Maedchen",
        Ordering::Less,
    );
    collation(doc! {"locale": "fr_CA", "backwards": true});
}

#[test]
fn simple_locale_is_no_collation() {
    assert!(matches!(
        Collation::parse(&doc! {"locale": "simple"}),
        Ok(None)
    ));
}

#[test]
fn collated_compare_reaches_strings_inside_values_only() {
    let ci = collation(doc! {"locale": "en", "strength": 2});
    let check = |a: Bson, b: Bson, expected: Ordering| {
        assert_eq!(compare_collated(&a, &b, Some(&ci)), expected, "{a} vs {b}");
    };
    check(Bson::from("A"), Bson::from("a"), Ordering::Equal);
    check(
        Bson::Array(vec!["X".into(), 1.into()]),
        Bson::Array(vec!["x".into(), 1.into()]),
        Ordering::Equal,
    );
    check(
        Bson::Document(doc! {"k": "V"}),
        Bson::Document(doc! {"k": "v"}),
        Ordering::Equal,
    );
    // Field names compare byte-wise, whatever the collation.
    check(
        Bson::Document(doc! {"K": 1}),
        Bson::Document(doc! {"k": 1}),
        Ordering::Less,
    );
    // Types keep their order: a string is above any number.
    check(Bson::from("0"), Bson::Int32(9), Ordering::Greater);
}

#[test]
fn malformed_collations_are_refused_with_mongods_errors() {
    let cases: &[(Document, i32, &str)] = &[
        (
            doc! {"locale": "zz_nope"},
            2,
            "Field 'locale' is invalid in: { locale: \"zz_nope\" }",
        ),
        (
            doc! {"locale": "en", "strength": 6},
            51024,
            "BSON field 'strength' value must be <= 5, actual value '6'",
        ),
        (
            doc! {"locale": "en", "strength": 0},
            51024,
            "BSON field 'strength' value must be >= 1, actual value '0'",
        ),
        (
            doc! {"strength": 2},
            40414,
            "BSON field 'collation.locale' is missing but a required field",
        ),
        (
            doc! {"locale": 1},
            14,
            "BSON field 'collation.locale' is the wrong type 'int', expected type 'string'",
        ),
        (
            doc! {"locale": "en", "caseFirst": "sideways"},
            2,
            "Enumeration value 'sideways' for field 'collation.caseFirst' is not a valid value.",
        ),
        (
            doc! {"locale": "en", "caseLevel": "yes"},
            14,
            "BSON field 'collation.caseLevel' is the wrong type 'string', expected type 'bool'",
        ),
        (
            doc! {"locale": "en", "colour": 1},
            40415,
            "BSON field 'collation.colour' is an unknown field.",
        ),
        (
            doc! {"locale": "en", "backwards": true},
            2,
            "collation option 'backwards: true' is not supported for locale 'en'",
        ),
    ];
    for (spec, code, message) in cases {
        check_error(spec.clone(), *code, message);
    }
}

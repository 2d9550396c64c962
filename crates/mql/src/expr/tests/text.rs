//! String and regex operators.

use bson::{Bson, bson, doc};

use super::*;

#[test]
fn string_operators_match_the_manual() {
    let d = sample();
    check_all(
        &d,
        vec![
            (bson!({"$concat": ["$item", " - ", "x"]}), bson!("abc - x")),
            (bson!({"$concat": ["$item", "$missing"]}), Bson::Null),
            (bson!({"$substr": ["$item", 0, 2]}), bson!("ab")),
            (bson!({"$substrBytes": ["$str", 6, -1]}), bson!("World")),
            (bson!({"$substrBytes": ["$str", 20, 2]}), bson!("")),
            (bson!({"$substrCP": ["cafétéria", 0, 5]}), bson!("cafét")),
            (bson!({"$substrCP": ["cafétéria", 5, 4]}), bson!("éria")),
            (bson!({"$toLower": "$str"}), bson!("hello world")),
            (bson!({"$toUpper": "$str"}), bson!("HELLO WORLD")),
            (bson!({"$toUpper": "$missing"}), bson!("")),
            (bson!({"$toLower": 12}), bson!("12")),
            (bson!({"$strLenBytes": "cafétéria"}), bson!(11)),
            (bson!({"$strLenCP": "cafétéria"}), bson!(9)),
            (
                bson!({"$split": ["June-15-2013", "-"]}),
                bson!(["June", "15", "2013"]),
            ),
            (bson!({"$split": ["a", "-"]}), bson!(["a"])),
            (bson!({"$split": [null, "-"]}), Bson::Null),
            (bson!({"$trim": {"input": "  ggr ooo  "}}), bson!("ggr ooo")),
            (bson!({"$ltrim": {"input": "  x  "}}), bson!("x  ")),
            (bson!({"$rtrim": {"input": "  x  "}}), bson!("  x")),
            (
                bson!({"$trim": {"input": "xxaxx", "chars": "x"}}),
                bson!("a"),
            ),
            (bson!({"$trim": {"input": null}}), Bson::Null),
            (bson!({"$indexOfBytes": ["cafeteria", "e"]}), bson!(3)),
            (bson!({"$indexOfBytes": ["cafétéria", "é"]}), bson!(3)),
            (bson!({"$indexOfBytes": ["cafétéria", "t"]}), bson!(5)),
            (bson!({"$indexOfCP": ["cafétéria", "t"]}), bson!(4)),
            (bson!({"$indexOfBytes": ["foo.bar.fi", ".", 5]}), bson!(7)),
            (bson!({"$indexOfBytes": ["vanilla", "ll", 0, 2]}), bson!(-1)),
            (bson!({"$indexOfBytes": ["vanilla", "nilla", 3]}), bson!(-1)),
            (bson!({"$indexOfBytes": [null, "a"]}), Bson::Null),
            (bson!({"$indexOfBytes": ["abc", ""]}), bson!(0)),
            (bson!({"$strcasecmp": ["ABC", "abc"]}), bson!(0)),
            (bson!({"$strcasecmp": ["abd", "ABC"]}), bson!(1)),
        ],
    );
    for (expr, code) in [
        (bson!({"$concat": ["a", 1]}), 16702),
        (bson!({"$strLenBytes": 1}), 34473),
        (bson!({"$strLenCP": "$missing"}), 34471),
        (bson!({"$split": [1, "-"]}), 40085),
        (bson!({"$split": ["a", ""]}), 40087),
        (bson!({"$substrBytes": ["cafétéria", 4, 1]}), 28656),
        (bson!({"$substrBytes": ["cafétéria", 0, 4]}), 28657),
        (bson!({"$substrCP": ["abc", -1, 1]}), 34455),
        (bson!({"$substrCP": ["abc", 0, "a"]}), 34452),
        (bson!({"$trim": {"input": 1}}), 50699),
        (bson!({"$trim": {"chars": "a"}}), 50695),
        (bson!({"$toUpper": [[1]]}), 16007),
        (bson!({"$indexOfBytes": [1, "a"]}), 40091),
        (bson!({"$indexOfBytes": ["a", "a", -1]}), 40097),
    ] {
        check_error(&d, expr, code);
    }
}

#[test]
fn regex_operators_match_the_manual() {
    let d = doc! {"description": "Single LINE description.", "cafe": "cafétéria"};
    let re = |pattern: &str, options: &str| {
        Bson::RegularExpression(bson::Regex {
            pattern: pattern.try_into().expect("no NUL in test patterns"),
            options: options.try_into().expect("no NUL in test options"),
        })
    };
    check_all(
        &d,
        vec![
            (
                bson!({"$regexMatch": {"input": "$description", "regex": "line"}}),
                bson!(false),
            ),
            (
                bson!({"$regexMatch": {"input": "$description", "regex": "line", "options": "i"}}),
                bson!(true),
            ),
            (
                bson!({"$regexMatch": {"input": "$description", "regex": re("line", "i")}}),
                bson!(true),
            ),
            (
                bson!({"$regexMatch": {"input": "$missing", "regex": "x"}}),
                bson!(false),
            ),
            (
                bson!({"$regexFind": {"input": "$description", "regex": re("line", "i")}}),
                bson!({"match": "LINE", "idx": 7, "captures": []}),
            ),
            (
                bson!({"$regexFind": {"input": "$cafe", "regex": "t(é)"}}),
                bson!({"match": "té", "idx": 4, "captures": ["é"]}),
            ),
            (
                bson!({"$regexFind": {"input": "$description", "regex": "zzz"}}),
                Bson::Null,
            ),
            (
                bson!({"$regexFindAll": {"input": "abc abc", "regex": "(b)(x)?"}}),
                bson!([
                    {"match": "b", "idx": 1, "captures": ["b", null]},
                    {"match": "b", "idx": 5, "captures": ["b", null]},
                ]),
            ),
            (
                bson!({"$regexFindAll": {"input": "$missing", "regex": "a"}}),
                bson!([]),
            ),
            (
                bson!({"$regexMatch": {"input": "A", "regex": {"$concat": ["a", ""]}, "options": {"$literal": "i"}}}),
                bson!(true),
            ),
        ],
    );
    for (expr, code) in [
        (bson!({"$regexMatch": "x"}), 51103),
        (bson!({"$regexMatch": {"input": 1, "regex": "a"}}), 51104),
        (bson!({"$regexMatch": {"input": "a", "regex": 1}}), 51105),
        (
            bson!({"$regexMatch": {"input": "a", "regex": "a", "options": "q"}}),
            51108,
        ),
        (bson!({"$regexMatch": {"input": "a", "regex": "("}}), 51111),
        (
            bson!({"$regexMatch": {"input": "a", "regex": re("a", "i"), "options": "m"}}),
            51107,
        ),
        (bson!({"$regexMatch": {"regex": "a"}}), 31022),
    ] {
        check_error(&d, expr, code);
    }
}

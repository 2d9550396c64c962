//! Type conversion, missing versus null, and date operators.

use bson::{Bson, DateTime, bson, doc};

use super::*;
use crate::expr::Expr;

#[test]
fn type_operators_convert_as_mongod() {
    let d = sample();
    check_all(
        &d,
        vec![
            (bson!({"$type": "$item"}), bson!("string")),
            (bson!({"$type": "$missing"}), bson!("missing")),
            (bson!({"$type": "$price"}), bson!("int")),
            (bson!({"$type": "$long"}), bson!("long")),
            (bson!({"$type": "$a"}), bson!("object")),
            (bson!({"$type": [[1]]}), bson!("array")),
            (bson!({"$toString": 2.5}), bson!("2.5")),
            (bson!({"$toString": 1.0}), bson!("1")),
            (bson!({"$toString": true}), bson!("true")),
            (
                bson!({"$toString": "$date"}),
                bson!("2014-03-03T00:00:00.000Z"),
            ),
            (bson!({"$toInt": 2.5}), bson!(2)),
            (bson!({"$toInt": "100"}), bson!(100)),
            (bson!({"$toInt": true}), bson!(1)),
            (bson!({"$toLong": "$date"}), bson!(1_393_804_800_000_i64)),
            (bson!({"$toDouble": "5.5"}), bson!(5.5)),
            (bson!({"$toDouble": false}), bson!(0.0)),
            (bson!({"$toBool": 0}), bson!(false)),
            (bson!({"$toBool": "false"}), bson!(true)),
            (bson!({"$toBool": "$missing"}), Bson::Null),
            (
                bson!({"$toDate": "2018-03-03"}),
                Bson::DateTime(DateTime::from_millis(1_520_035_200_000)),
            ),
            (
                bson!({"$toDate": "2018-03-20T11:00:06.123Z"}),
                Bson::DateTime(DateTime::from_millis(1_521_543_606_123)),
            ),
            (
                bson!({"$toDate": "2018-03-20T16:30:06.123+05:30"}),
                Bson::DateTime(DateTime::from_millis(1_521_543_606_123)),
            ),
            (
                bson!({"$toDate": "2018-03-20T03:00:06.123-0800"}),
                Bson::DateTime(DateTime::from_millis(1_521_543_606_123)),
            ),
            (
                bson!({"$toDate": Bson::Int64(120_000_000_000)}),
                Bson::DateTime(DateTime::from_millis(120_000_000_000)),
            ),
            (bson!({"$isNumber": "5"}), bson!(false)),
            (
                bson!({"$convert": {"input": "abc", "to": "int", "onError": "bad"}}),
                bson!("bad"),
            ),
            (
                bson!({"$convert": {"input": null, "to": "int", "onNull": 0}}),
                bson!(0),
            ),
            (bson!({"$convert": {"input": "12", "to": 16}}), bson!(12)),
            (bson!({"$convert": {"input": 5, "to": "bool"}}), bson!(true)),
        ],
    );
    for (expr, code) in [
        (bson!({"$toInt": "abc"}), 241),
        (bson!({"$toInt": "1.5"}), 241),
        (bson!({"$toInt": Bson::Int64(i64::MAX)}), 241),
        (bson!({"$toInt": "$date"}), 241),
        (bson!({"$convert": {"input": 1, "to": "foo"}}), 2),
        (bson!({"$convert": {"input": 1}}), 9),
        (bson!({"$toObjectId": "xyz"}), 241),
    ] {
        check_error(&d, expr, code);
    }
}

#[test]
fn missing_is_distinct_from_null_until_reported() {
    let d = sample();
    let removed = Expr::parse(&bson!("$$REMOVE")).and_then(|e| e.eval_optional(&d));
    assert_eq!(removed, Ok(None));
    let cond =
        Expr::parse(&bson!({"$cond": [false, 1, "$$REMOVE"]})).and_then(|e| e.eval_optional(&d));
    assert_eq!(cond, Ok(None));
    assert_eq!(
        Expr::parse(&bson!("$missing")).and_then(|e| e.eval(&d)),
        Ok(Bson::Null)
    );
}

#[test]
fn date_operators_match_the_manual() {
    let d = doc! {
        "date": DateTime::from_millis(1_388_564_139_736), // 2014-01-01T08:15:39.736Z
        "newYear2016": DateTime::from_millis(1_451_606_400_000), // 2016-01-01T00:00:00Z
    };
    check_all(
        &d,
        vec![
            (bson!({"$year": "$date"}), bson!(2014)),
            (bson!({"$month": "$date"}), bson!(1)),
            (bson!({"$dayOfMonth": "$date"}), bson!(1)),
            (bson!({"$hour": "$date"}), bson!(8)),
            (bson!({"$minute": "$date"}), bson!(15)),
            (bson!({"$second": "$date"}), bson!(39)),
            (bson!({"$millisecond": "$date"}), bson!(736)),
            (bson!({"$dayOfYear": "$date"}), bson!(1)),
            (bson!({"$dayOfWeek": "$date"}), bson!(4)),
            (bson!({"$week": "$date"}), bson!(0)),
            (bson!({"$isoDayOfWeek": "$date"}), bson!(3)),
            (bson!({"$isoWeek": "$date"}), bson!(1)),
            (bson!({"$isoWeek": "$newYear2016"}), bson!(53)),
            (bson!({"$isoWeekYear": "$newYear2016"}), bson!(2015)),
            (bson!({"$year": ["$date"]}), bson!(2014)),
            (
                bson!({"$hour": {"date": "$date", "timezone": "+04:30"}}),
                bson!(12),
            ),
            (
                bson!({"$minute": {"date": "$date", "timezone": "+0430"}}),
                bson!(45),
            ),
            (
                bson!({"$dayOfMonth": {"date": "$date", "timezone": "-09"}}),
                bson!(31),
            ),
            (bson!({"$year": "$missing"}), Bson::Null),
            (
                bson!({"$dateToString": {"format": "%Y-%m-%d", "date": "$date"}}),
                bson!("2014-01-01"),
            ),
            (
                bson!({"$dateToString": {"format": "%H:%M:%S:%L%z", "date": "$date"}}),
                bson!("08:15:39:736+0000"),
            ),
            (
                bson!({"$dateToString": {"format": "%H:%M %z", "date": "$date", "timezone": "-05:00"}}),
                bson!("03:15 -0500"),
            ),
            (
                bson!({"$dateToString": {"date": "$date"}}),
                bson!("2014-01-01T08:15:39.736Z"),
            ),
            (
                bson!({"$dateToString": {"format": "%j %w %u %U %V %G %%", "date": "$date"}}),
                bson!("001 4 3 00 01 2014 %"),
            ),
            (
                bson!({"$dateToString": {"date": "$missing", "onNull": "none"}}),
                bson!("none"),
            ),
        ],
    );
    for (expr, code) in [
        (bson!({"$year": "$$ROOT"}), 16006),
        (bson!({"$year": {"date": "$date", "x": 1}}), 40535),
        (bson!({"$year": {"timezone": "UTC"}}), 40539),
        (
            bson!({"$hour": {"date": "$date", "timezone": "America/New_York"}}),
            40485,
        ),
        (
            bson!({"$dateToString": {"format": "%Q", "date": "$date"}}),
            18536,
        ),
        (
            bson!({"$dateToString": {"format": "%", "date": "$date"}}),
            18535,
        ),
        (bson!({"$dateToString": {"format": "%Y"}}), 18628),
    ] {
        check_error(&d, expr, code);
    }
}

#[test]
fn date_arithmetic_clamps_months_and_counts_boundaries() {
    let at = |millis: i64| Bson::DateTime(DateTime::from_millis(millis));
    let d = doc! {
        "oct31": at(1_604_146_205_000), "jan1": at(1_609_459_200_000), "mar31": at(1_617_148_800_000),
        "nye": at(1_609_459_140_000), "newYear": at(1_609_459_260_000),
        "jan1late": at(1_609_542_000_000), "jan2early": at(1_609_549_200_000),
        "sat": at(1_609_588_800_000), "sun": at(1_609_675_200_000),
        "jan31": at(1_580_428_800_000), "feb1": at(1_580_515_200_000),
        "q1end": at(1_585_612_800_000), "q2start": at(1_585_699_200_000), "leapJan31": at(1_706_659_200_000),
    };
    check_all(
        &d,
        vec![
            (
                bson!({"$dateAdd": {"startDate": "$oct31", "unit": "month", "amount": 1}}),
                at(1_606_738_205_000),
            ),
            (
                bson!({"$dateAdd": {"startDate": "$jan1", "unit": "day", "amount": 3}}),
                at(1_609_718_400_000),
            ),
            (
                bson!({"$dateAdd": {"startDate": "$leapJan31", "unit": "month", "amount": 1}}),
                at(1_709_164_800_000),
            ),
            (
                bson!({"$dateAdd": {"startDate": "$jan1", "unit": "hour", "amount": -24}}),
                at(1_609_372_800_000),
            ),
            (
                bson!({"$dateSubtract": {"startDate": "$mar31", "unit": "month", "amount": 1}}),
                at(1_614_470_400_000),
            ),
            (
                bson!({"$dateAdd": {"startDate": "$missing", "unit": "day", "amount": 1}}),
                Bson::Null,
            ),
            (
                bson!({"$dateDiff": {"startDate": "$nye", "endDate": "$newYear", "unit": "year"}}),
                bson!(1_i64),
            ),
            (
                bson!({"$dateDiff": {"startDate": "$nye", "endDate": "$newYear", "unit": "minute"}}),
                bson!(2_i64),
            ),
            (
                bson!({"$dateDiff": {"startDate": "$jan1late", "endDate": "$jan2early", "unit": "day"}}),
                bson!(1_i64),
            ),
            (
                bson!({"$dateDiff": {"startDate": "$jan2early", "endDate": "$jan1late", "unit": "hour"}}),
                bson!(-2_i64),
            ),
            (
                bson!({"$dateDiff": {"startDate": "$sat", "endDate": "$sun", "unit": "week"}}),
                bson!(1_i64),
            ),
            (
                bson!({"$dateDiff": {"startDate": "$sat", "endDate": "$sun", "unit": "week", "startOfWeek": "monday"}}),
                bson!(0_i64),
            ),
            (
                bson!({"$dateDiff": {"startDate": "$jan31", "endDate": "$feb1", "unit": "month"}}),
                bson!(1_i64),
            ),
            (
                bson!({"$dateDiff": {"startDate": "$q1end", "endDate": "$q2start", "unit": "quarter"}}),
                bson!(1_i64),
            ),
            (
                bson!({"$dateDiff": {"startDate": "$jan1late", "endDate": "$jan2early", "unit": "day", "timezone": "+02:00"}}),
                bson!(0_i64),
            ),
        ],
    );
    for (expr, code) in [
        (
            bson!({"$dateAdd": {"startDate": "$jan1", "unit": "day"}}),
            5166402,
        ),
        (
            bson!({"$dateAdd": {"startDate": "$jan1", "unit": "fortnight", "amount": 1}}),
            2,
        ),
        (
            bson!({"$dateAdd": {"startDate": "$jan1", "unit": "day", "amount": 1.5}}),
            5166403,
        ),
        (
            bson!({"$dateAdd": {"startDate": 1, "unit": "day", "amount": 1}}),
            16006,
        ),
        (
            bson!({"$dateDiff": {"startDate": "$jan1", "unit": "day"}}),
            5166304,
        ),
    ] {
        check_error(&d, expr, code);
    }
}

#[test]
fn rand_draws_a_fresh_double_in_the_unit_interval_each_time() {
    let d = sample();
    let rand = Expr::parse(&bson!({"$rand": {}})).expect("$rand parses");
    let draws: Vec<f64> = (0..1000)
        .map(|_| match rand.eval(&d) {
            Ok(Bson::Double(x)) => x,
            other => panic!("$rand gave {other:?}"),
        })
        .collect();
    assert!(draws.iter().all(|x| (0.0..1.0).contains(x)), "{draws:?}");
    // Uniform on [0, 1): a thousand draws straddle the middle and differ.
    assert!(draws.iter().any(|x| *x < 0.5) && draws.iter().any(|x| *x >= 0.5));
    let mut distinct = draws.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    assert!(distinct.len() > 990, "{} distinct of 1000", distinct.len());
    check(&d, bson!({"$type": {"$rand": {}}}), bson!("double"));
    for bad in [
        bson!({"$rand": {"seed": 1}}),
        bson!({"$rand": 1}),
        bson!({"$rand": []}),
    ] {
        check_error(&d, bad, 3040500);
    }
}

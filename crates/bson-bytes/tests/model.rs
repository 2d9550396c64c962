//! `bson_bytes` against `bson` itself as the model: for arbitrary
//! documents, every type and nesting, the same bytes or the same refusal.

use bson::oid::ObjectId;
use bson::spec::BinarySubtype;
use bson::{
    Binary, Bson, DateTime, Decimal128, Document, JavaScriptCodeWithScope, Regex, Timestamp,
};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    // Mostly plain names; now and then one with a NUL, which both refuse.
    prop_oneof![
        20 => "[a-z$._]{0,6}",
        1 => "[a-z]{0,2}\u{0}[a-z]{0,2}",
        2 => "\\PC{0,4}",
    ]
}

fn subtype() -> impl Strategy<Value = BinarySubtype> {
    prop_oneof![
        Just(BinarySubtype::Generic),
        Just(BinarySubtype::Function),
        Just(BinarySubtype::BinaryOld),
        Just(BinarySubtype::Uuid),
        Just(BinarySubtype::Md5),
        Just(BinarySubtype::UserDefined(0x80)),
    ]
}

fn leaf() -> impl Strategy<Value = Bson> {
    prop_oneof![
        any::<f64>().prop_map(Bson::Double),
        "\\PC{0,8}".prop_map(Bson::String),
        (subtype(), proptest::collection::vec(any::<u8>(), 0..20))
            .prop_map(|(subtype, bytes)| Bson::Binary(Binary { subtype, bytes })),
        Just(Bson::Undefined),
        any::<[u8; 12]>().prop_map(|b| Bson::ObjectId(ObjectId::from_bytes(b))),
        any::<bool>().prop_map(Bson::Boolean),
        any::<i64>().prop_map(|ms| Bson::DateTime(DateTime::from_millis(ms))),
        Just(Bson::Null),
        ("[a-z.*]{0,5}", "[imsx]{0,3}").prop_map(|(pattern, options)| Bson::RegularExpression(
            Regex {
                pattern: pattern.try_into().expect("no NUL"),
                options: options.try_into().expect("no NUL"),
            }
        )),
        "[a-z ]{0,8}".prop_map(Bson::JavaScriptCode),
        "[a-z]{0,8}".prop_map(Bson::Symbol),
        any::<i32>().prop_map(Bson::Int32),
        (any::<u32>(), any::<u32>())
            .prop_map(|(time, increment)| Bson::Timestamp(Timestamp { time, increment })),
        any::<i64>().prop_map(Bson::Int64),
        any::<[u8; 16]>().prop_map(|b| Bson::Decimal128(Decimal128::from_bytes(b))),
        Just(Bson::MinKey),
        Just(Bson::MaxKey),
    ]
}

fn value() -> impl Strategy<Value = Bson> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..14).prop_map(Bson::Array),
            document_of(inner.clone()).prop_map(Bson::Document),
            ("[a-z ]{0,6}", document_of(inner)).prop_map(|(code, scope)| {
                Bson::JavaScriptCodeWithScope(JavaScriptCodeWithScope { code, scope })
            }),
        ]
    })
}

fn document_of(values: impl Strategy<Value = Bson>) -> impl Strategy<Value = Document> {
    proptest::collection::vec((name(), values), 0..6)
        .prop_map(|fields| fields.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn encodes_as_bson_does(doc in document_of(value())) {
        let ours = bson_bytes::to_vec(&doc);
        match doc.to_vec() {
            Ok(model) => prop_assert_eq!(ours.expect("bson encodes it"), model),
            Err(_) => prop_assert!(ours.is_err(), "bson refused {:?}", doc),
        }
    }
}

#[test]
fn db_pointers_are_written_as_bson_writes_them() {
    // A DBPointer can only be made by decoding one.
    let mut bytes = vec![];
    let body: &[u8] = &[
        0x0C, b'p', 0, // DBPointer "p"
        2, 0, 0, 0, b'n', 0, // namespace "n"
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, // ObjectId
    ];
    bytes.extend_from_slice(&((4 + body.len() + 1) as i32).to_le_bytes());
    bytes.extend_from_slice(body);
    bytes.push(0);
    let doc = Document::from_reader(bytes.as_slice()).expect("a DBPointer document");
    let nested = bson::doc! {"a": 1, "d": doc.clone(), "l": [doc.get("p").cloned()]};
    assert_eq!(bson_bytes::to_vec(&doc).expect("encodes"), bytes);
    assert_eq!(
        bson_bytes::to_vec(&nested).expect("encodes"),
        nested.to_vec().expect("encodes")
    );
}

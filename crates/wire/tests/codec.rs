//! Round trips and refusals through the public codec, with frames built by
//! hand from the wire protocol specification rather than by the encoder.

use bson::{Document, doc};
use wire::{
    Compressor, Decoded, DocumentSequence, Error, HEADER_LEN, Message, MsgFlags, OpCode, OpMsg,
    OpQuery, OpReply, decode, encode, limits,
};

fn bson_bytes(document: &Document) -> Vec<u8> {
    document.to_vec().unwrap()
}

/// Builds a frame from a header and raw body bytes, as a client would.
fn raw_frame(op_code: i32, body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&((HEADER_LEN + body.len()) as i32).to_le_bytes());
    frame.extend_from_slice(&7i32.to_le_bytes());
    frame.extend_from_slice(&0i32.to_le_bytes());
    frame.extend_from_slice(&op_code.to_le_bytes());
    frame.extend_from_slice(body);
    frame
}

fn op_msg_body(flags: u32, sections: &[u8]) -> Vec<u8> {
    let mut body = flags.to_le_bytes().to_vec();
    body.extend_from_slice(sections);
    body
}

fn body_section(document: &Document) -> Vec<u8> {
    let mut section = vec![0u8];
    section.extend(bson_bytes(document));
    section
}

fn sequence_section(identifier: &str, documents: &[Document]) -> Vec<u8> {
    let mut payload = identifier.as_bytes().to_vec();
    payload.push(0);
    for document in documents {
        payload.extend(bson_bytes(document));
    }
    let mut section = vec![1u8];
    section.extend_from_slice(&((payload.len() + 4) as i32).to_le_bytes());
    section.extend(payload);
    section
}

fn check_error(frame: &[u8], expected: Error) {
    assert_eq!(decode(frame), Err(expected));
}

fn check_round_trip(message: Message, compressor: Option<Compressor>) {
    let frame = encode(42, 17, &message, compressor).unwrap();
    let decoded = decode(&frame).unwrap();
    assert_eq!(decoded.message, message);
    assert_eq!(decoded.compressor, compressor);
    assert_eq!(decoded.header.request_id, 42);
    assert_eq!(decoded.header.response_to, 17);
    assert_eq!(decoded.header.message_length, frame.len());
}

fn sample_msg(flags: u32) -> OpMsg {
    OpMsg {
        flags: MsgFlags(flags),
        body: doc! {"insert": "c", "$db": "test", "ordered": true},
        body_tail: Vec::new(),
        sequences: vec![DocumentSequence {
            identifier: "documents".to_owned(),
            documents: vec![doc! {"_id": 1}, doc! {"_id": 2, "x": [1, {"y": "z"}]}],
        }],
    }
}

#[test]
fn op_msg_hand_built_body_and_sequence_decode_into_command() {
    let mut sections = body_section(&doc! {"insert": "c", "$db": "test"});
    sections.extend(sequence_section(
        "documents",
        &[doc! {"_id": 1}, doc! {"_id": 2}],
    ));
    let decoded = decode(&raw_frame(2013, &op_msg_body(0, &sections))).unwrap();
    let Message::Msg(msg) = decoded.message else {
        panic!("expected OP_MSG, got {:?}", decoded.message)
    };
    assert_eq!(
        msg.into_command().unwrap(),
        doc! {"insert": "c", "$db": "test", "documents": [{"_id": 1}, {"_id": 2}]}
    );
}

#[test]
fn op_msg_round_trips_in_every_compression() {
    for compressor in [
        None,
        Some(Compressor::Noop),
        Some(Compressor::Snappy),
        Some(Compressor::Zlib),
        Some(Compressor::Zstd),
    ] {
        check_round_trip(Message::Msg(sample_msg(0)), compressor);
        check_round_trip(
            Message::Msg(sample_msg(MsgFlags::CHECKSUM_PRESENT)),
            compressor,
        );
    }
}

#[test]
fn legacy_messages_round_trip() {
    let query = OpQuery {
        flags: 0,
        full_collection_name: "admin.$cmd".to_owned(),
        number_to_skip: 0,
        number_to_return: -1,
        query: doc! {"isMaster": 1, "helloOk": true},
        return_fields_selector: None,
    };
    check_round_trip(Message::Query(query.clone()), None);
    check_round_trip(Message::Query(query), Some(Compressor::Zlib));
    check_round_trip(
        Message::Reply(OpReply::command_reply(doc! {"ok": 1.0})),
        None,
    );
}

#[test]
fn op_query_command_db_and_wrapped_command_are_found() {
    let mut query = OpQuery {
        flags: 0,
        full_collection_name: "admin.$cmd".to_owned(),
        number_to_skip: 0,
        number_to_return: -1,
        query: doc! {"$query": {"isMaster": 1}, "$readPreference": {"mode": "primary"}},
        return_fields_selector: None,
    };
    assert_eq!(query.command_db(), Some("admin"));
    assert_eq!(query.command(), &doc! {"isMaster": 1});
    query.full_collection_name = "test.users".to_owned();
    assert_eq!(query.command_db(), None);
}

#[test]
fn op_msg_checksum_is_crc32c_of_the_whole_message() {
    let sections = body_section(&doc! {"ping": 1, "$db": "admin"});
    let mut frame = raw_frame(
        2013,
        &op_msg_body(MsgFlags::CHECKSUM_PRESENT, &[sections, vec![0; 4]].concat()),
    );
    let covered = frame.len() - 4;
    let checksum = crc32c::crc32c(&frame[..covered]);
    frame[covered..].copy_from_slice(&checksum.to_le_bytes());
    assert!(decode(&frame).is_ok());
    let last = frame.len() - 1;
    frame[last] ^= 0xff;
    assert!(matches!(
        decode(&frame),
        Err(Error::ChecksumMismatch { .. })
    ));
}

#[test]
fn op_msg_flags_are_reported() {
    let flags = MsgFlags(MsgFlags::MORE_TO_COME | MsgFlags::EXHAUST_ALLOWED);
    assert!(flags.more_to_come());
    assert!(flags.exhaust_allowed());
    assert!(!flags.checksum_present());
}

#[test]
fn malformed_frames_are_refused_with_typed_errors() {
    let ping = body_section(&doc! {"ping": 1});
    check_error(
        &[1, 2, 3],
        Error::Truncated {
            what: "message header",
        },
    );
    check_error(
        &raw_frame(2013, &[])[..15],
        Error::Truncated {
            what: "message header",
        },
    );
    let mut short = raw_frame(2013, &op_msg_body(0, &ping));
    short[0..4].copy_from_slice(&8i32.to_le_bytes());
    check_error(
        &short,
        Error::BadMessageLength {
            length: 8,
            max: limits::MESSAGE_SIZE_BYTES_MAX,
        },
    );
    let mut huge = raw_frame(2013, &op_msg_body(0, &ping));
    huge[0..4].copy_from_slice(&48_000_001i32.to_le_bytes());
    check_error(
        &huge,
        Error::BadMessageLength {
            length: 48_000_001,
            max: limits::MESSAGE_SIZE_BYTES_MAX,
        },
    );
    check_error(&raw_frame(2010, &[]), Error::UnsupportedOpCode(2010));
    check_error(
        &raw_frame(2013, &op_msg_body(1 << 2, &ping)),
        Error::UnknownRequiredFlags(1 << 2),
    );
    check_error(
        &raw_frame(2013, &op_msg_body(0, &[2])),
        Error::UnknownSectionKind(2),
    );
    check_error(&raw_frame(2013, &op_msg_body(0, &[])), Error::BodyCount(0));
    check_error(
        &raw_frame(
            2013,
            &op_msg_body(0, &[ping.clone(), ping.clone()].concat()),
        ),
        Error::BodyCount(2),
    );
    let mut truncated = ping.clone();
    truncated.pop();
    check_error(
        &raw_frame(2013, &op_msg_body(0, &truncated)),
        Error::Truncated {
            what: "OP_MSG body",
        },
    );
}

#[test]
fn op_msg_high_flag_bits_are_optional() {
    let ping = body_section(&doc! {"ping": 1});
    assert!(decode(&raw_frame(2013, &op_msg_body(1 << 20, &ping))).is_ok());
}

#[test]
fn op_msg_sequence_may_not_repeat_a_field() {
    let mut sections = body_section(&doc! {"insert": "c", "documents": []});
    sections.extend(sequence_section("documents", &[doc! {"_id": 1}]));
    let Decoded {
        message: Message::Msg(msg),
        ..
    } = decode(&raw_frame(2013, &op_msg_body(0, &sections))).unwrap()
    else {
        panic!("expected OP_MSG")
    };
    assert_eq!(
        msg.into_command(),
        Err(Error::DuplicateField("documents".to_owned()))
    );
    let mut twice = body_section(&doc! {"insert": "c"});
    twice.extend(sequence_section("documents", &[]));
    twice.extend(sequence_section("documents", &[]));
    check_error(
        &raw_frame(2013, &op_msg_body(0, &twice)),
        Error::DuplicateField("documents".to_owned()),
    );
}

#[test]
fn bson_nested_past_the_depth_limit_is_refused() {
    let mut nested = doc! {"leaf": 1};
    for _ in 0..limits::BSON_DEPTH_MAX {
        nested = doc! {"a": nested};
    }
    let frame = raw_frame(2013, &op_msg_body(0, &body_section(&nested)));
    check_error(
        &frame,
        Error::BsonTooDeep {
            what: "OP_MSG body",
            max: limits::BSON_DEPTH_MAX,
        },
    );
}

#[test]
fn bson_over_the_wire_size_limit_is_refused_before_parsing() {
    let mut sections = vec![0u8];
    let size = limits::BSON_WIRE_OBJECT_SIZE_BYTES_MAX + 1;
    sections.extend_from_slice(&(size as i32).to_le_bytes());
    sections.resize(size + 1, 0);
    let frame = raw_frame(2013, &op_msg_body(0, &sections));
    check_error(
        &frame,
        Error::BsonTooLarge {
            what: "OP_MSG body",
            size,
            max: limits::BSON_WIRE_OBJECT_SIZE_BYTES_MAX,
        },
    );
}

#[test]
fn compressed_frames_with_lying_sizes_are_refused() {
    let inner = op_msg_body(0, &body_section(&doc! {"ping": 1}));
    for compressor in [Compressor::Snappy, Compressor::Zlib, Compressor::Zstd] {
        let compressed = compressor.compress(&inner).unwrap();
        let mut body = 2013i32.to_le_bytes().to_vec();
        body.extend_from_slice(&((inner.len() - 1) as i32).to_le_bytes());
        body.push(compressor.id());
        body.extend(&compressed);
        let result = decode(&raw_frame(2012, &body));
        assert!(
            matches!(
                result,
                Err(Error::UncompressedSizeMismatch { .. } | Error::Decompression { .. })
            ),
            "{compressor}: {result:?}"
        );
    }
}

#[test]
fn compressed_frames_may_not_nest_or_use_unknown_compressors() {
    let mut nested = 2012i32.to_le_bytes().to_vec();
    nested.extend_from_slice(&0i32.to_le_bytes());
    nested.push(0);
    check_error(&raw_frame(2012, &nested), Error::BadCompressedOpCode(2012));
    let mut unknown = 2013i32.to_le_bytes().to_vec();
    unknown.extend_from_slice(&0i32.to_le_bytes());
    unknown.push(9);
    check_error(&raw_frame(2012, &unknown), Error::UnknownCompressor(9));
}

#[test]
fn compressors_are_named_as_in_hello() {
    for (name, compressor) in [
        ("snappy", Some(Compressor::Snappy)),
        ("zlib", Some(Compressor::Zlib)),
        ("zstd", Some(Compressor::Zstd)),
        ("noop", None),
        ("lz4", None),
    ] {
        assert_eq!(Compressor::from_name(name), compressor, "{name}");
    }
}

#[test]
fn header_reports_its_fields() {
    let frame = raw_frame(2004, &[]);
    let header = wire::Header::parse(&frame).unwrap();
    assert_eq!(header.op_code, OpCode::Query);
    assert_eq!(header.request_id, 7);
    assert_eq!(header.message_length, HEADER_LEN);
}

#[test]
fn decompression_stops_at_the_declared_size() {
    // 8 MiB of zeros compresses to a few KiB: a bomb if decoded unbounded.
    let bomb = vec![0u8; 8 * 1024 * 1024];
    for compressor in [Compressor::Snappy, Compressor::Zlib, Compressor::Zstd] {
        let compressed = compressor.compress(&bomb).unwrap();
        let mut body = 2013i32.to_le_bytes().to_vec();
        body.extend_from_slice(&100i32.to_le_bytes());
        body.push(compressor.id());
        body.extend(&compressed);
        let result = decode(&raw_frame(2012, &body));
        assert!(
            matches!(
                result,
                Err(Error::UncompressedSizeMismatch { .. } | Error::Decompression { .. })
            ),
            "{compressor}: {result:?}"
        );
    }
}

//! Decoding must turn every byte string into a message or a typed error,
//! never a panic: frames come straight from untrusted sockets.

use bson::doc;
use proptest::prelude::*;
use wire::{Compressor, DocumentSequence, Message, MsgFlags, OpMsg, OpQuery, decode, encode};

/// Valid frames of every kind to mutate, so mutations reach past the
/// header checks into each decoder, compressed ones included.
fn seed_frames() -> Vec<Vec<u8>> {
    let body = doc! {"find": "c", "filter": {"a": {"$gt": 1}}, "$db": "test"};
    let plain = Message::Msg(OpMsg::new(body.clone()));
    let checksummed = Message::Msg(OpMsg {
        flags: MsgFlags(MsgFlags::CHECKSUM_PRESENT),
        body: body.clone(),
        body_tail: Vec::new(),
        sequences: vec![DocumentSequence {
            identifier: "documents".to_owned(),
            documents: vec![doc! {"_id": 1}],
        }],
    });
    let query = Message::Query(OpQuery {
        flags: 0,
        full_collection_name: "admin.$cmd".to_owned(),
        number_to_skip: 0,
        number_to_return: -1,
        query: doc! {"isMaster": 1},
        return_fields_selector: None,
    });
    let mut frames = vec![
        encode(1, 0, &plain, None).unwrap(),
        encode(2, 0, &checksummed, None).unwrap(),
        encode(3, 0, &query, None).unwrap(),
    ];
    for compressor in [Compressor::Snappy, Compressor::Zlib, Compressor::Zstd] {
        frames.push(encode(4, 0, &plain, Some(compressor)).unwrap());
    }
    frames
}

proptest! {
    #[test]
    fn decode_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn decode_mutated_frames_never_panics(seed in any::<prop::sample::Index>(), edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let seeds = seed_frames();
        let mut frame = seed.get(&seeds).clone();
        for (at, byte) in edits {
            let len = frame.len();
            frame[at % len] = byte;
        }
        let _ = decode(&frame);
    }

    #[test]
    fn op_msg_round_trips(key in "[a-z]{1,8}", value in any::<i64>(), checksum in any::<bool>()) {
        let flags = if checksum { MsgFlags::CHECKSUM_PRESENT } else { 0 };
        let message = Message::Msg(OpMsg { flags: MsgFlags(flags), body: doc! {key: value}, body_tail: Vec::new(), sequences: Vec::new() });
        let frame = encode(3, 4, &message, None).unwrap();
        prop_assert_eq!(decode(&frame).unwrap().message, message);
    }
}

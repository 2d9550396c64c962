//! Decoding must turn every byte string into a message or a typed error,
//! never a panic: frames come straight from untrusted sockets.

use bson::doc;
use proptest::prelude::*;
use wire::{Message, MsgFlags, OpMsg, decode, encode};

/// A valid frame to mutate, so mutations reach past the header checks.
fn seed_frame() -> Vec<u8> {
    let msg = OpMsg {
        flags: MsgFlags(0),
        body: doc! {"find": "c", "filter": {"a": {"$gt": 1}}, "$db": "test"},
        sequences: Vec::new(),
    };
    encode(1, 0, &Message::Msg(msg), None).unwrap()
}

proptest! {
    #[test]
    fn decode_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn decode_mutated_frames_never_panics(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let mut frame = seed_frame();
        for (at, byte) in edits {
            let len = frame.len();
            frame[at % len] = byte;
        }
        let _ = decode(&frame);
    }

    #[test]
    fn op_msg_round_trips(key in "[a-z]{1,8}", value in any::<i64>(), checksum in any::<bool>()) {
        let flags = if checksum { MsgFlags::CHECKSUM_PRESENT } else { 0 };
        let message = Message::Msg(OpMsg { flags: MsgFlags(flags), body: doc! {key: value}, sequences: Vec::new() });
        let frame = encode(3, 4, &message, None).unwrap();
        prop_assert_eq!(decode(&frame).unwrap().message, message);
    }
}

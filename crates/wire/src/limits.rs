//! Size and depth limits the codec enforces, with mongod's values.
//!
//! Drivers read `maxBsonObjectSize` and `maxMessageSizeBytes` from `hello`
//! and split their batches to fit, so these numbers are part of the
//! protocol, not tuning knobs.

/// Largest whole message, header included (mongod's `maxMessageSizeBytes`).
pub const MESSAGE_SIZE_BYTES_MAX: usize = 48_000_000;

/// Largest user document (mongod's `maxBsonObjectSize`, 16 MiB).
pub const BSON_OBJECT_SIZE_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Largest document on the wire: a command wrapping a maximal user document
/// needs room for its own fields (mongod's `BSONObjMaxInternalSize`).
pub const BSON_WIRE_OBJECT_SIZE_BYTES_MAX: usize = BSON_OBJECT_SIZE_BYTES_MAX + 16 * 1024;

/// Deepest nesting accepted on the wire. mongod parses up to 200 levels and
/// stores at most 100; the storage limit is the engine's to enforce, this
/// one only keeps conversion recursion bounded.
pub const BSON_DEPTH_MAX: usize = 200;

/// Smallest possible BSON document: a length and the terminating NUL.
pub const BSON_OBJECT_SIZE_BYTES_MIN: usize = 5;

const _: () = assert!(BSON_WIRE_OBJECT_SIZE_BYTES_MAX < MESSAGE_SIZE_BYTES_MAX);
const _: () = assert!(MESSAGE_SIZE_BYTES_MAX <= i32::MAX as usize);

//! mongod's error codes and the error type of the document language.
//!
//! A [`Code`] is mongod's numeric code; its `codeName` comes from one table,
//! [`Code::name`], so a code and its name can never disagree. Codes mongod
//! raises from an assertion site without a symbolic name ("Location" codes)
//! are represented by their number and named `Location<n>`, exactly as mongod
//! names them in replies.

use std::fmt;

/// A mongod error code. Compare against the associated constants.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(pub i32);

macro_rules! codes {
    ($($konst:ident = $num:literal, $name:literal;)*) => {
        impl Code {
            $(pub const $konst: Code = Code($num);)*

            /// The `codeName` mongod puts beside this code in a reply.
            pub fn name(self) -> std::borrow::Cow<'static, str> {
                match self.0 {
                    $($num => std::borrow::Cow::Borrowed($name),)*
                    n => std::borrow::Cow::Owned(format!("Location{n}")),
                }
            }
        }
    };
}

codes! {
    INTERNAL_ERROR = 1, "InternalError";
    BAD_VALUE = 2, "BadValue";
    NO_SUCH_KEY = 4, "NoSuchKey";
    HOST_UNREACHABLE = 6, "HostUnreachable";
    HOST_NOT_FOUND = 7, "HostNotFound";
    UNKNOWN_ERROR = 8, "UnknownError";
    FAILED_TO_PARSE = 9, "FailedToParse";
    USER_NOT_FOUND = 11, "UserNotFound";
    UNAUTHORIZED = 13, "Unauthorized";
    TYPE_MISMATCH = 14, "TypeMismatch";
    OVERFLOW = 15, "Overflow";
    INVALID_LENGTH = 16, "InvalidLength";
    PROTOCOL_ERROR = 17, "ProtocolError";
    AUTHENTICATION_FAILED = 18, "AuthenticationFailed";
    ILLEGAL_OPERATION = 20, "IllegalOperation";
    INVALID_BSON = 22, "InvalidBSON";
    LOCK_TIMEOUT = 24, "LockTimeout";
    NAMESPACE_NOT_FOUND = 26, "NamespaceNotFound";
    INDEX_NOT_FOUND = 27, "IndexNotFound";
    PATH_NOT_VIABLE = 28, "PathNotViable";
    CONFLICTING_UPDATE_OPERATORS = 40, "ConflictingUpdateOperators";
    CURSOR_NOT_FOUND = 43, "CursorNotFound";
    NAMESPACE_EXISTS = 48, "NamespaceExists";
    MAX_TIME_MS_EXPIRED = 50, "MaxTimeMSExpired";
    DOLLAR_PREFIXED_FIELD_NAME = 52, "DollarPrefixedFieldName";
    INVALID_ID_FIELD = 53, "InvalidIdField";
    NOT_SINGLE_VALUE_FIELD = 54, "NotSingleValueField";
    EMPTY_FIELD_NAME = 56, "EmptyFieldName";
    DOTTED_FIELD_NAME = 57, "DottedFieldName";
    COMMAND_NOT_FOUND = 59, "CommandNotFound";
    WRITE_CONCERN_FAILED = 64, "WriteConcernFailed";
    IMMUTABLE_FIELD = 66, "ImmutableField";
    CANNOT_CREATE_INDEX = 67, "CannotCreateIndex";
    INDEX_ALREADY_EXISTS = 68, "IndexAlreadyExists";
    INVALID_OPTIONS = 72, "InvalidOptions";
    INVALID_NAMESPACE = 73, "InvalidNamespace";
    INDEX_OPTIONS_CONFLICT = 85, "IndexOptionsConflict";
    INDEX_KEY_SPECS_CONFLICT = 86, "IndexKeySpecsConflict";
    NETWORK_TIMEOUT = 89, "NetworkTimeout";
    SHUTDOWN_IN_PROGRESS = 91, "ShutdownInProgress";
    OPERATION_FAILED = 96, "OperationFailed";
    UNSATISFIABLE_WRITE_CONCERN = 100, "UnsatisfiableWriteConcern";
    WRITE_CONFLICT = 112, "WriteConflict";
    COMMAND_NOT_SUPPORTED = 115, "CommandNotSupported";
    CONFLICTING_OPERATION_IN_PROGRESS = 117, "ConflictingOperationInProgress";
    DOCUMENT_VALIDATION_FAILURE = 121, "DocumentValidationFailure";
    VIEW_DEPTH_LIMIT_EXCEEDED = 149, "ViewDepthLimitExceeded";
    GRAPH_CONTAINS_CYCLE = 150, "GraphContainsCycle";
    COMMAND_NOT_SUPPORTED_ON_VIEW = 166, "CommandNotSupportedOnView";
    OPTION_NOT_SUPPORTED_ON_VIEW = 167, "OptionNotSupportedOnView";
    INVALID_PIPELINE_OPERATOR = 168, "InvalidPipelineOperator";
    PRIMARY_STEPPED_DOWN = 189, "PrimarySteppedDown";
    NO_SUCH_SESSION = 206, "NoSuchSession";
    INVALID_UUID = 207, "InvalidUUID";
    QUERY_FEATURE_NOT_ALLOWED = 224, "QueryFeatureNotAllowed";
    TRANSACTION_TOO_OLD = 225, "TransactionTooOld";
    CURSOR_KILLED = 237, "CursorKilled";
    NOT_IMPLEMENTED = 238, "NotImplemented";
    SNAPSHOT_TOO_OLD = 239, "SnapshotTooOld";
    SNAPSHOT_UNAVAILABLE = 246, "SnapshotUnavailable";
    NO_SUCH_TRANSACTION = 251, "NoSuchTransaction";
    TRANSACTION_COMMITTED = 256, "TransactionCommitted";
    TRANSACTION_TOO_LARGE = 257, "TransactionTooLarge";
    TOO_MANY_LOGICAL_SESSIONS = 261, "TooManyLogicalSessions";
    EXCEEDED_TIME_LIMIT = 262, "ExceededTimeLimit";
    PREPARED_TRANSACTION_IN_PROGRESS = 267, "PreparedTransactionInProgress";
    STALE_CHUNK_HISTORY = 280, "StaleChunkHistory";
    MIGRATION_CONFLICT = 327, "MigrationConflict";
    OPERATION_NOT_SUPPORTED_IN_TRANSACTION = 263, "OperationNotSupportedInTransaction";
    TRANSACTION_EXCEEDED_LIFETIME_LIMIT_SECONDS = 290, "TransactionExceededLifetimeLimitSeconds";
    CANNOT_INDEX_PARALLEL_ARRAYS = 171, "CannotIndexParallelArrays";
    INVALID_INDEX_SPECIFICATION_OPTION = 197, "InvalidIndexSpecificationOption";
    QUERY_EXCEEDED_MEMORY_LIMIT = 292, "QueryExceededMemoryLimitNoDiskUseAllowed";
    API_STRICT_ERROR = 323, "APIStrictError";
    API_VERSION_ERROR = 322, "APIVersionError";
    DUPLICATE_KEY = 11000, "DuplicateKey";
    NOT_WRITABLE_PRIMARY = 10107, "NotWritablePrimary";
    BSON_OBJECT_TOO_LARGE = 10334, "BSONObjectTooLarge";
    INTERRUPTED_AT_SHUTDOWN = 11600, "InterruptedAtShutdown";
    INTERRUPTED = 11601, "Interrupted";
    INTERRUPTED_DUE_TO_REPL_STATE_CHANGE = 11602, "InterruptedDueToReplStateChange";
    NOT_PRIMARY_NO_SECONDARY_OK = 13435, "NotPrimaryNoSecondaryOk";
    NOT_PRIMARY_OR_SECONDARY = 13436, "NotPrimaryOrSecondary";
    SOCKET_EXCEPTION = 9001, "SocketException";
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// An error with mongod's code and a human message (mongod's `errmsg`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} ({code})")]
pub struct Error {
    pub code: Code,
    pub message: String,
}

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
        }
    }

    pub fn bad_value(message: impl Into<String>) -> Error {
        Error::new(Code::BAD_VALUE, message)
    }

    pub fn failed_to_parse(message: impl Into<String>) -> Error {
        Error::new(Code::FAILED_TO_PARSE, message)
    }

    pub fn type_mismatch(message: impl Into<String>) -> Error {
        Error::new(Code::TYPE_MISMATCH, message)
    }

    /// An error from a mongod assertion site that has only a number.
    pub fn location(code: i32, message: impl Into<String>) -> Error {
        Error::new(Code(code), message)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_codes_round_trip_and_location_codes_are_named_by_number() {
        assert_eq!(Code::WRITE_CONFLICT.name(), "WriteConflict");
        assert_eq!(Code(112), Code::WRITE_CONFLICT);
        assert_eq!(Code(40324).name(), "Location40324");
    }
}

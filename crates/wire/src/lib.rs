//! MongoDB's wire protocol. Pure encoding and decoding: no sockets here.

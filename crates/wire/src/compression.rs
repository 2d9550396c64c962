//! OP_COMPRESSED payload codecs: snappy (raw block format, as mongod uses),
//! zlib and zstd.
//!
//! Invariant: decompression never produces more than the declared size,
//! which the caller has already bounded by the message limit, so a small
//! hostile payload cannot expand into a large allocation.

use std::fmt;
use std::io::Read;

use crate::error::Error;

/// A compressor a client may negotiate in `hello`'s `compression` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compressor {
    /// Id 0: the payload is stored as is. Never negotiated, but valid on the wire.
    Noop,
    Snappy,
    Zlib,
    Zstd,
}

impl Compressor {
    /// The compressors this server offers, in its order of preference.
    pub const NEGOTIABLE: [Compressor; 3] =
        [Compressor::Zstd, Compressor::Snappy, Compressor::Zlib];

    pub fn from_id(id: u8) -> Result<Compressor, Error> {
        match id {
            0 => Ok(Compressor::Noop),
            1 => Ok(Compressor::Snappy),
            2 => Ok(Compressor::Zlib),
            3 => Ok(Compressor::Zstd),
            other => Err(Error::UnknownCompressor(other)),
        }
    }

    pub fn id(self) -> u8 {
        match self {
            Compressor::Noop => 0,
            Compressor::Snappy => 1,
            Compressor::Zlib => 2,
            Compressor::Zstd => 3,
        }
    }

    /// The name used in `hello`'s `compression` array.
    pub fn name(self) -> &'static str {
        match self {
            Compressor::Noop => "noop",
            Compressor::Snappy => "snappy",
            Compressor::Zlib => "zlib",
            Compressor::Zstd => "zstd",
        }
    }

    /// A negotiable compressor by its `hello` name.
    pub fn from_name(name: &str) -> Option<Compressor> {
        Compressor::NEGOTIABLE
            .into_iter()
            .find(|compressor| compressor.name() == name)
    }

    pub fn compress(self, input: &[u8]) -> Result<Vec<u8>, Error> {
        let failed = |message: String| Error::Compression {
            compressor: self,
            message,
        };
        match self {
            Compressor::Noop => Ok(input.to_vec()),
            Compressor::Snappy => snap::raw::Encoder::new()
                .compress_vec(input)
                .map_err(|error| failed(error.to_string())),
            Compressor::Zlib => {
                let mut encoder =
                    flate2::read::ZlibEncoder::new(input, flate2::Compression::default());
                let mut out = Vec::new();
                encoder
                    .read_to_end(&mut out)
                    .map_err(|error| failed(error.to_string()))?;
                Ok(out)
            }
            Compressor::Zstd => zstd::bulk::compress(input, zstd::DEFAULT_COMPRESSION_LEVEL)
                .map_err(|error| failed(error.to_string())),
        }
    }

    /// Decompresses a payload that must expand to exactly `expected_len` bytes.
    pub fn decompress(self, input: &[u8], expected_len: usize) -> Result<Vec<u8>, Error> {
        let failed = |message: String| Error::Decompression {
            compressor: self,
            message,
        };
        let out = match self {
            Compressor::Noop => input.to_vec(),
            Compressor::Snappy => {
                let len =
                    snap::raw::decompress_len(input).map_err(|error| failed(error.to_string()))?;
                check_len(expected_len, len)?;
                snap::raw::Decoder::new()
                    .decompress_vec(input)
                    .map_err(|error| failed(error.to_string()))?
            }
            Compressor::Zlib => {
                // One byte past the expectation is enough to detect a lie.
                let limit = u64::try_from(expected_len)
                    .unwrap_or(u64::MAX)
                    .saturating_add(1);
                let mut out = Vec::new();
                flate2::read::ZlibDecoder::new(input)
                    .take(limit)
                    .read_to_end(&mut out)
                    .map_err(|error| failed(error.to_string()))?;
                out
            }
            Compressor::Zstd => zstd::bulk::decompress(input, expected_len)
                .map_err(|error| failed(error.to_string()))?,
        };
        check_len(expected_len, out.len())?;
        Ok(out)
    }
}

fn check_len(expected_len: usize, actual: usize) -> Result<(), Error> {
    if actual != expected_len {
        return Err(Error::UncompressedSizeMismatch {
            declared: i64::try_from(expected_len).unwrap_or(i64::MAX),
            actual,
        });
    }
    Ok(())
}

impl fmt::Display for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

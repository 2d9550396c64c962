//! `$sample`: a uniformly random choice of `size` documents, in random order.
//!
//! Randomness comes from [`RunOptions::random_seed`](super::RunOptions)
//! through a small SplitMix64 generator, so a run is a function of its
//! inputs and a fixed seed replays it exactly.

use bson::{Bson, Document};

use crate::{Error, Result};

/// A parsed `$sample` stage.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    size: u64,
}

fn err(code: i32, message: impl Into<String>) -> Error {
    Error::location(code, message)
}

impl Sample {
    pub fn parse(spec: &Bson) -> Result<Sample> {
        let Bson::Document(options) = spec else {
            return Err(err(
                28745,
                "the $sample stage specification must be an object",
            ));
        };
        let mut size = None;
        for (key, value) in options {
            if key != "size" {
                return Err(err(28748, format!("unrecognized option to $sample: {key}")));
            }
            let n = crate::order::Number::of(value)
                .ok_or_else(|| err(28746, "size argument to $sample must be a number"))?
                .as_f64();
            if n < 0.0 {
                return Err(err(28747, "size argument to $sample must not be negative"));
            }
            // Saturating: a size past every input just takes all of them.
            size = Some(n as u64);
        }
        let size = size.ok_or_else(|| err(28749, "$sample stage must specify a size"))?;
        Ok(Sample { size })
    }

    pub fn run(&self, mut docs: Vec<Document>, seed: u64) -> Vec<Document> {
        let mut rng = SplitMix64(seed);
        let keep = usize::try_from(self.size)
            .unwrap_or(usize::MAX)
            .min(docs.len());
        // Partial Fisher-Yates: the first `keep` slots become the sample.
        for i in 0..keep {
            let remaining = (docs.len() - i) as u64;
            let j = i + usize::try_from(rng.next() % remaining).unwrap_or(0);
            docs.swap(i, j);
        }
        docs.truncate(keep);
        docs
    }
}

struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

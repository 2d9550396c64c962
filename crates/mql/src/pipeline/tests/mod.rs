//! Pipeline tests: (input, pipeline, expected output) tables, mostly the
//! MongoDB manual's examples for each stage, plus (pipeline, error code)
//! tables and a no-panic property over arbitrary stages.

use std::collections::HashMap;

use bson::{Document, doc};

use super::{Pipeline, RunOptions};

fn run_with(
    input: &[Document],
    stages: &[Document],
    collections: &HashMap<String, Vec<Document>>,
    memory: usize,
) -> crate::Result<Vec<Document>> {
    let pipeline = Pipeline::parse(stages)?;
    let mut options = RunOptions::new(collections);
    options.stage_memory_bytes = memory;
    pipeline.run(input.to_vec(), &options)
}

/// Runs `stages` over `input` and compares output exactly: order, field
/// order and BSON types.
fn check(input: &[Document], stages: Vec<Document>, expected: Vec<Document>) {
    let out = run_with(
        input,
        &stages,
        &HashMap::new(),
        crate::pipeline::STAGE_MEMORY_BYTES_MAX,
    )
    .unwrap_or_else(|e| panic!("{stages:?} failed: {e}"));
    assert_eq!(
        format!("{out:?}"),
        format!("{expected:?}"),
        "pipeline {stages:?}"
    );
}

fn check_error(input: &[Document], stages: Vec<Document>, code: i32) {
    match run_with(
        input,
        &stages,
        &HashMap::new(),
        crate::pipeline::STAGE_MEMORY_BYTES_MAX,
    ) {
        Err(e) => assert_eq!(e.code.0, code, "{stages:?}: wrong code for {e}"),
        Ok(out) => panic!("{stages:?}: expected error {code}, got {out:?}"),
    }
}

fn sales() -> Vec<Document> {
    vec![
        doc! {"_id": 1, "item": "abc", "price": 10, "quantity": 2},
        doc! {"_id": 2, "item": "jkl", "price": 20, "quantity": 1},
        doc! {"_id": 3, "item": "xyz", "price": 5, "quantity": 10},
        doc! {"_id": 4, "item": "xyz", "price": 5, "quantity": 20},
        doc! {"_id": 5, "item": "abc", "price": 10, "quantity": 10},
    ]
}

mod collated;
mod errors;
mod group;
mod joins;
mod order;
mod properties;
mod reshape;

//! `$unionWith`: the input documents followed by another collection's
//! documents, optionally passed through a pipeline of their own.

use bson::{Bson, Document};

use super::{Pipeline, RunOptions};
use crate::expr::type_name;
use crate::{Error, Result};

/// A parsed `$unionWith` stage.
#[derive(Debug, Clone)]
pub struct UnionWith {
    collection: String,
    pipeline: Option<Pipeline>,
}

fn wrong_type(field: &str, value: &Bson, expected: &str) -> Error {
    Error::type_mismatch(format!(
        "BSON field '$unionWith.{field}' is the wrong type '{}', expected type '{expected}'",
        type_name(Some(value))
    ))
}

impl UnionWith {
    /// Parses the stage; `depth` is how deeply its pipeline is nested.
    pub fn parse(spec: &Bson, depth: usize) -> Result<UnionWith> {
        let options = match spec {
            Bson::String(collection) => {
                return Ok(UnionWith {
                    collection: collection.clone(),
                    pipeline: None,
                });
            }
            Bson::Document(options) => options,
            other => {
                return Err(Error::failed_to_parse(format!(
                    "the $unionWith stage specification must be an object or string, but found {}",
                    type_name(Some(other))
                )));
            }
        };
        let mut collection = None;
        let mut pipeline = None;
        for (key, value) in options {
            match (key.as_str(), value) {
                ("coll", Bson::String(c)) => collection = Some(c.clone()),
                ("coll", other) => return Err(wrong_type("coll", other, "string")),
                ("pipeline", Bson::Array(stages)) => {
                    let stages = stages
                        .iter()
                        .map(|s| match s {
                            Bson::Document(d) => Ok(d.clone()),
                            other => Err(wrong_type("pipeline", other, "object")),
                        })
                        .collect::<Result<Vec<_>>>()?;
                    pipeline = Some(super::stage::parse_nested(&stages, depth + 1)?);
                }
                ("pipeline", other) => return Err(wrong_type("pipeline", other, "array")),
                _ => {
                    return Err(Error::location(
                        40415,
                        format!("BSON field '$unionWith.{key}' is an unknown field."),
                    ));
                }
            }
        }
        let collection = collection.ok_or_else(|| {
            Error::location(
                40414,
                "BSON field '$unionWith.coll' is missing but a required field",
            )
        })?;
        Ok(UnionWith {
            collection,
            pipeline,
        })
    }

    pub fn run(&self, mut input: Vec<Document>, options: &RunOptions<'_>) -> Result<Vec<Document>> {
        let other = options.collections.scan(&self.collection)?;
        let other = match &self.pipeline {
            Some(pipeline) => pipeline.run(other, options)?,
            None => other,
        };
        input.extend(other);
        Ok(input)
    }
}

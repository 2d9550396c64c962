//! User variables (`let`) bound into documents before they are parsed.
//!
//! A command's or `$lookup`'s `let` binds names to values; every
//! `"$$name"` (and `"$$name.path"`) in the filters, updates and pipelines it
//! governs is rewritten to the literal value. This differs from mongod's
//! scoped binding only where an inner `$let`/`$map` reuses the same name.

use bson::{Bson, Document, doc};

use crate::Result;
use crate::error::Error;
use crate::expr::Expr;

/// How deep [`bind`] rewrites; stage documents nest at most 100 levels.
const SUBSTITUTE_DEPTH_MAX: usize = 200;

/// Parses a `let` document into names and their expressions.
pub fn parse_lets(value: &Bson) -> Result<Vec<(String, Expr)>> {
    let Bson::Document(vars) = value else {
        return Err(Error::failed_to_parse(format!(
            "$lookup argument 'let' must be an object, is type {}",
            crate::expr::type_name(Some(value))
        )));
    };
    let mut lets = Vec::with_capacity(vars.len());
    for (name, definition) in vars {
        // Binding the name through $let validates it as mongod does.
        Expr::parse(&Bson::Document(
            doc! {"$let": {"vars": {name: null}, "in": null}},
        ))?;
        lets.push((name.clone(), Expr::parse(definition)?));
    }
    Ok(lets)
}

/// Binds variables into every stage of a pipeline.
pub fn bind_stages(stages: &[Document], values: &[(String, Bson)]) -> Vec<Document> {
    stages
        .iter()
        .map(
            |stage| match bind_depth(&Bson::Document(stage.clone()), values, 0) {
                Bson::Document(d) => d,
                _ => stage.clone(),
            },
        )
        .collect()
}

/// Binds variables into `value`.
pub fn bind(value: &Bson, values: &[(String, Bson)]) -> Bson {
    bind_depth(value, values, 0)
}

/// Binds variables into a document (a filter or an update).
pub fn bind_document(doc: &Document, values: &[(String, Bson)]) -> Document {
    match bind(&Bson::Document(doc.clone()), values) {
        Bson::Document(bound) => bound,
        _ => doc.clone(),
    }
}

/// Replaces `"$$name"` and `"$$name.path"` with the variable's value.
fn bind_depth(value: &Bson, values: &[(String, Bson)], depth: usize) -> Bson {
    if depth > SUBSTITUTE_DEPTH_MAX {
        return value.clone();
    }
    match value {
        Bson::String(s) => {
            let Some(rest) = s.strip_prefix("$$") else {
                return value.clone();
            };
            let name = rest.split('.').next().unwrap_or_default();
            match values.iter().find(|(n, _)| n == name) {
                Some((_, v)) if rest == name => Bson::Document(doc! {"$literal": v.clone()}),
                Some((_, v)) => Bson::Document(doc! {
                    "$let": {"vars": {name: {"$literal": v.clone()}}, "in": s.clone()}
                }),
                None => value.clone(),
            }
        }
        Bson::Array(items) => Bson::Array(
            items
                .iter()
                .map(|item| bind_depth(item, values, depth + 1))
                .collect(),
        ),
        Bson::Document(d) if !d.contains_key("$literal") => Bson::Document(
            d.iter()
                .map(|(k, v)| (k.clone(), bind_depth(v, values, depth + 1)))
                .collect(),
        ),
        other => other.clone(),
    }
}

//! Applies a find projection to query results.

use bson::Document;

use super::CommandError;
use crate::exec::Hit;

/// Projects every hit; without a projection, the documents as stored.
pub(super) fn project_all(
    projection: Option<&Document>,
    hits: Vec<Hit>,
) -> Result<Vec<Document>, CommandError> {
    match projection.filter(|p| !p.is_empty()) {
        None => Ok(hits
            .into_iter()
            .map(|hit| std::sync::Arc::unwrap_or_clone(hit.doc))
            .collect()),
        Some(spec) => {
            let projection = mql::projection::Projection::parse(spec)?;
            hits.iter()
                .map(|hit| {
                    projection
                        .apply(&hit.doc, Some(&hit.matched))
                        .map_err(CommandError::from)
                })
                .collect()
        }
    }
}

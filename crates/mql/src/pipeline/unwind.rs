//! `$unwind`: one output document per element of an array field.
//!
//! A value that is not an array (and not null, missing or empty) is treated
//! as a one-element array. With `preserveNullAndEmptyArrays`, documents whose
//! field is null, missing or an empty array pass through (an empty array
//! field is removed); `includeArrayIndex` records the element's index as a
//! long, or null for such pass-throughs.

use bson::{Bson, Document};

use crate::{Error, Result};

/// A parsed `$unwind` stage.
#[derive(Debug, Clone)]
pub struct Unwind {
    path: Vec<String>,
    index_field: Option<String>,
    preserve: bool,
}

fn err(code: i32, message: String) -> Error {
    Error::location(code, message)
}

fn type_of(value: &Bson) -> &'static str {
    crate::expr::type_name(Some(value))
}

impl Unwind {
    pub fn parse(spec: &Bson) -> Result<Unwind> {
        let (path, index_field, preserve) = match spec {
            Bson::String(path) => (path.as_str(), None, false),
            Bson::Document(options) => {
                let mut path = None;
                let mut index_field = None;
                let mut preserve = false;
                for (key, value) in options {
                    match (key.as_str(), value) {
                        ("path", Bson::String(p)) => path = Some(p.as_str()),
                        ("path", other) => {
                            return Err(err(
                                28808,
                                format!(
                                    "expected a string as the path for $unwind stage, got {}",
                                    type_of(other)
                                ),
                            ));
                        }
                        ("includeArrayIndex", Bson::String(f)) if !f.is_empty() => {
                            if f.starts_with('$') {
                                return Err(err(
                                    28822,
                                    format!(
                                        "includeArrayIndex option to $unwind stage should not be prefixed with a '$': {f}"
                                    ),
                                ));
                            }
                            index_field = Some(f.clone());
                        }
                        ("includeArrayIndex", other) => {
                            return Err(err(
                                28810,
                                format!(
                                    "expected a non-empty string for the includeArrayIndex  option to $unwind stage, got {}",
                                    type_of(other)
                                ),
                            ));
                        }
                        ("preserveNullAndEmptyArrays", Bson::Boolean(b)) => preserve = *b,
                        ("preserveNullAndEmptyArrays", other) => {
                            return Err(err(
                                28809,
                                format!(
                                    "expected a boolean for the preserveNullAndEmptyArrays option to $unwind stage, got {}",
                                    type_of(other)
                                ),
                            ));
                        }
                        _ => {
                            return Err(err(
                                28811,
                                format!("unrecognized option to $unwind stage: {key}"),
                            ));
                        }
                    }
                }
                let path =
                    path.ok_or_else(|| err(28812, "no path specified to $unwind stage".into()))?;
                (path, index_field, preserve)
            }
            other => {
                return Err(err(
                    15981,
                    format!(
                        "expected either a string or an object as specification for $unwind stage, got {}",
                        type_of(other)
                    ),
                ));
            }
        };
        let Some(dotted) = path.strip_prefix('$') else {
            return Err(err(
                28818,
                format!("path option to $unwind stage should be prefixed with a '$': {path}"),
            ));
        };
        let path = crate::expr::field_path_parts(dotted)?;
        Ok(Unwind {
            path,
            index_field,
            preserve,
        })
    }

    /// Unwinds one document, appending the results to `out`.
    pub fn apply(&self, doc: Document, out: &mut Vec<Document>) {
        let value = get_path(&doc, &self.path).cloned();
        match value {
            Some(Bson::Array(items)) if !items.is_empty() => {
                for (i, item) in items.into_iter().enumerate() {
                    let mut copy = doc.clone();
                    set_path(&mut copy, &self.path, item);
                    self.set_index(&mut copy, Bson::Int64(i64::try_from(i).unwrap_or(i64::MAX)));
                    out.push(copy);
                }
            }
            Some(Bson::Array(_)) | Some(Bson::Null) | None => {
                if self.preserve {
                    let mut doc = doc;
                    if matches!(value, Some(Bson::Array(_))) {
                        remove_path(&mut doc, &self.path);
                    }
                    self.set_index(&mut doc, Bson::Null);
                    out.push(doc);
                }
            }
            Some(_) => {
                let mut doc = doc;
                self.set_index(&mut doc, Bson::Null);
                out.push(doc);
            }
        }
    }

    fn set_index(&self, doc: &mut Document, index: Bson) {
        if let Some(field) = &self.index_field {
            let parts: Vec<String> = field.split('.').map(str::to_string).collect();
            set_path(doc, &parts, index);
        }
    }
}

/// The value at a dotted path through documents only (no array traversal).
fn get_path<'a>(doc: &'a Document, path: &[String]) -> Option<&'a Bson> {
    let (first, rest) = path.split_first()?;
    let value = doc.get(first)?;
    if rest.is_empty() {
        return Some(value);
    }
    match value {
        Bson::Document(sub) => get_path(sub, rest),
        _ => None,
    }
}

/// Sets a dotted path, creating (or replacing non-document) intermediates.
pub(crate) fn set_path(doc: &mut Document, path: &[String], value: Bson) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        doc.insert(first.clone(), value);
        return;
    }
    if !matches!(doc.get(first), Some(Bson::Document(_))) {
        doc.insert(first.clone(), Document::new());
    }
    if let Some(Bson::Document(sub)) = doc.get_mut(first) {
        set_path(sub, rest, value);
    }
}

fn remove_path(doc: &mut Document, path: &[String]) {
    match path.split_first() {
        Some((first, [])) => {
            doc.remove(first);
        }
        Some((first, rest)) => {
            if let Some(Bson::Document(sub)) = doc.get_mut(first) {
                remove_path(sub, rest);
            }
        }
        None => {}
    }
}

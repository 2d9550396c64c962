//! `$project`, `$addFields`/`$set` and `$unset`: reshaping documents.
//!
//! A specification becomes a tree of output paths. Applying it has two
//! phases, as in mongod: first inclusions (or exclusions) copy what survives
//! from the input, in the input's field order; then computed fields are set,
//! in specification order. Dotted paths through arrays apply to every element
//! that is a document; computed fields turn non-document elements into
//! documents holding just the computed fields.
//!
//! Invariant: a tree is either inclusion (with computed fields) or exclusion,
//! never both; `_id` is included unless excluded explicitly.

use bson::{Bson, Document};

use crate::expr::Expr;
use crate::{Error, Result};

#[derive(Debug, Clone)]
enum Node {
    Include,
    Exclude,
    Computed(Expr),
    Nested(Vec<(String, Node)>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Inclusion,
    Exclusion,
    /// `$addFields`: keep everything, set computed fields.
    AddFields,
}

/// A parsed `$project`, `$addFields` or `$unset`.
#[derive(Debug, Clone)]
pub struct Projection {
    mode: Mode,
    tree: Vec<(String, Node)>,
}

fn err(code: i32, message: impl Into<String>) -> Error {
    Error::location(code, message)
}

fn invalid(stage: &str, e: Error) -> Error {
    Error::new(
        e.code,
        format!("Invalid {stage} :: caused by :: {}", e.message),
    )
}

impl Projection {
    /// Parses a `$project` specification.
    pub fn project(spec: &Document) -> Result<Projection> {
        if spec.is_empty() {
            return Err(err(
                51272,
                "Invalid $project :: caused by :: projection specification must have at least one field",
            ));
        }
        let mut builder = Builder {
            add_fields: false,
            mode: None,
            tree: Vec::new(),
        };
        builder.spec(spec, "").map_err(|e| invalid("$project", e))?;
        let mut tree = builder.tree;
        // A specification of `_id` alone takes its mode from `_id`.
        let id_included = matches!(child(&tree, "_id"), Some(Node::Include));
        let mode = builder.mode.unwrap_or(if id_included {
            Mode::Inclusion
        } else {
            Mode::Exclusion
        });
        if mode == Mode::Inclusion && !tree.iter().any(|(k, _)| k == "_id") {
            tree.insert(0, ("_id".to_string(), Node::Include));
        }
        Ok(Projection { mode, tree })
    }

    /// Parses an `$addFields` / `$set` specification.
    pub fn add_fields(spec: &Document) -> Result<Projection> {
        let mut builder = Builder {
            add_fields: true,
            mode: Some(Mode::AddFields),
            tree: Vec::new(),
        };
        builder
            .spec(spec, "")
            .map_err(|e| invalid("$addFields", e))?;
        Ok(Projection {
            mode: Mode::AddFields,
            tree: builder.tree,
        })
    }

    /// Parses an `$unset` specification: a path or an array of paths.
    pub fn unset(spec: &Bson) -> Result<Projection> {
        let paths: Vec<&str> = match spec {
            Bson::String(path) => vec![path.as_str()],
            Bson::Array(items) if items.is_empty() => {
                return Err(err(31119, "$unset specification must be a string or an array with at least one field"));
            }
            Bson::Array(items) => items
                .iter()
                .map(|item| match item {
                    Bson::String(path) => Ok(path.as_str()),
                    _ => Err(err(31120, "$unset specification must be a string or an array containing only string values")),
                })
                .collect::<Result<_>>()?,
            _ => return Err(err(31002, "$unset specification must be a string or an array")),
        };
        let mut builder = Builder {
            add_fields: false,
            mode: Some(Mode::Exclusion),
            tree: Vec::new(),
        };
        for path in paths {
            builder
                .insert(path, Node::Exclude)
                .map_err(|e| invalid("$unset", e))?;
        }
        Ok(Projection {
            mode: Mode::Exclusion,
            tree: builder.tree,
        })
    }

    /// Applies the projection to one document.
    pub fn apply(&self, doc: &Document) -> Result<Document> {
        self.apply_with(doc, &[])
    }

    /// Applies the projection with system variables bound (`$$NOW`).
    pub fn apply_with(&self, doc: &Document, vars: &[(String, Bson)]) -> Result<Document> {
        match self.mode {
            Mode::Exclusion => Ok(exclude_document(doc, &self.tree)),
            Mode::Inclusion => {
                let mut out = include_document(doc, &self.tree);
                compute_into(&mut out, &self.tree, doc, vars)?;
                Ok(out)
            }
            Mode::AddFields => {
                let mut out = doc.clone();
                compute_into(&mut out, &self.tree, doc, vars)?;
                Ok(out)
            }
        }
    }
}

struct Builder {
    add_fields: bool,
    mode: Option<Mode>,
    tree: Vec<(String, Node)>,
}

fn is_expression_object(doc: &Document) -> bool {
    doc.keys().next().is_some_and(|k| k.starts_with('$'))
}

impl Builder {
    fn spec(&mut self, spec: &Document, prefix: &str) -> Result<()> {
        for (key, value) in spec {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                Bson::Document(sub) if !is_expression_object(sub) && !sub.is_empty() => {
                    self.spec(sub, &path)?;
                }
                Bson::Document(sub) if sub.is_empty() && !self.add_fields => {
                    return Err(err(
                        51270,
                        format!(
                            "An empty sub-projection is not a valid value. Found empty object at path {path}"
                        ),
                    ));
                }
                _ => {
                    let node = self.leaf(&path, value)?;
                    self.insert(&path, node)?;
                }
            }
        }
        Ok(())
    }

    fn leaf(&mut self, path: &str, value: &Bson) -> Result<Node> {
        if self.add_fields {
            return Ok(Node::Computed(Expr::parse(value)?));
        }
        let include = match value {
            Bson::Boolean(b) => Some(*b),
            Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => {
                Some(crate::expr::is_truthy(Some(value)))
            }
            _ => None,
        };
        let node = match include {
            Some(true) => Node::Include,
            Some(false) => Node::Exclude,
            None => Node::Computed(Expr::parse(value)?),
        };
        if path == "_id" && !matches!(node, Node::Computed(_)) {
            return Ok(node);
        }
        match (&node, self.mode) {
            (Node::Exclude, Some(Mode::Inclusion)) => Err(err(
                31254,
                format!("Cannot do exclusion on field {path} in inclusion projection"),
            )),
            (Node::Include, Some(Mode::Exclusion)) => Err(err(
                31253,
                format!("Cannot do inclusion on field {path} in exclusion projection"),
            )),
            (Node::Computed(_), Some(Mode::Exclusion)) => Err(err(
                31252,
                "Cannot use expression other than $meta in exclusion projection",
            )),
            (Node::Exclude, _) => {
                self.mode = Some(Mode::Exclusion);
                Ok(node)
            }
            _ => {
                self.mode = Some(Mode::Inclusion);
                Ok(node)
            }
        }
    }

    fn insert(&mut self, path: &str, node: Node) -> Result<()> {
        let parts = crate::expr::field_path_parts(path).map_err(|e| {
            if path.is_empty() {
                err(40352, "FieldPath cannot be constructed with empty string")
            } else {
                e
            }
        })?;
        let Some((last, init)) = parts.split_last() else {
            return Err(err(
                40352,
                "FieldPath cannot be constructed with empty string",
            ));
        };
        let mut level = &mut self.tree;
        for (depth, part) in init.iter().enumerate() {
            let index = match level.iter().position(|(k, _)| k == part) {
                Some(i) => i,
                None => {
                    level.push((part.clone(), Node::Nested(Vec::new())));
                    level.len() - 1
                }
            };
            level = match level.get_mut(index) {
                Some((_, Node::Nested(children))) => children,
                // An earlier path ends where this one goes on.
                _ => {
                    let remaining = parts.get(depth + 1..).unwrap_or_default().join(".");
                    return Err(err(
                        31249,
                        format!("Path collision at {path} remaining portion {remaining}"),
                    ));
                }
            };
        }
        if level.iter().any(|(k, _)| k == last) {
            return Err(err(31250, format!("Path collision at {path}")));
        }
        level.push((last.clone(), node));
        Ok(())
    }
}

fn child<'t>(tree: &'t [(String, Node)], key: &str) -> Option<&'t Node> {
    tree.iter().find(|(k, _)| k == key).map(|(_, n)| n)
}

fn include_document(doc: &Document, tree: &[(String, Node)]) -> Document {
    let mut out = Document::new();
    for (key, value) in doc {
        match child(tree, key) {
            Some(Node::Include) => {
                out.insert(key.clone(), value.clone());
            }
            Some(Node::Nested(sub)) => {
                if let Some(projected) = include_value(value, sub) {
                    out.insert(key.clone(), projected);
                }
            }
            _ => {}
        }
    }
    out
}

fn include_value(value: &Bson, tree: &[(String, Node)]) -> Option<Bson> {
    match value {
        Bson::Document(doc) => Some(Bson::Document(include_document(doc, tree))),
        Bson::Array(items) => Some(Bson::Array(
            items
                .iter()
                .filter_map(|item| include_value(item, tree))
                .collect(),
        )),
        _ => None,
    }
}

fn exclude_document(doc: &Document, tree: &[(String, Node)]) -> Document {
    let mut out = Document::new();
    for (key, value) in doc {
        match child(tree, key) {
            Some(Node::Exclude) => {}
            Some(Node::Nested(sub)) => {
                out.insert(key.clone(), exclude_value(value, sub));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    out
}

fn exclude_value(value: &Bson, tree: &[(String, Node)]) -> Bson {
    match value {
        Bson::Document(doc) => Bson::Document(exclude_document(doc, tree)),
        Bson::Array(items) => {
            Bson::Array(items.iter().map(|item| exclude_value(item, tree)).collect())
        }
        other => other.clone(),
    }
}

fn has_computed(tree: &[(String, Node)]) -> bool {
    tree.iter().any(|(_, node)| match node {
        Node::Computed(_) => true,
        Node::Nested(sub) => has_computed(sub),
        _ => false,
    })
}

/// Sets the computed fields of `tree` in `out`, evaluating against `root`.
fn compute_into(
    out: &mut Document,
    tree: &[(String, Node)],
    root: &Document,
    vars: &[(String, Bson)],
) -> Result<()> {
    for (key, node) in tree {
        match node {
            Node::Computed(expr) => match expr.eval_with(root, vars)? {
                Some(value) => {
                    out.insert(key.clone(), value);
                }
                None => {
                    out.remove(key);
                }
            },
            Node::Nested(sub) if has_computed(sub) => {
                let value = compute_value(out.get(key), sub, root, vars)?;
                out.insert(key.clone(), value);
            }
            _ => {}
        }
    }
    Ok(())
}

fn compute_value(
    existing: Option<&Bson>,
    tree: &[(String, Node)],
    root: &Document,
    vars: &[(String, Bson)],
) -> Result<Bson> {
    match existing {
        Some(Bson::Document(doc)) => {
            let mut doc = doc.clone();
            compute_into(&mut doc, tree, root, vars)?;
            Ok(Bson::Document(doc))
        }
        Some(Bson::Array(items)) => items
            .iter()
            .map(|item| compute_value(Some(item), tree, root, vars))
            .collect::<Result<_>>()
            .map(Bson::Array),
        _ => {
            let mut doc = Document::new();
            compute_into(&mut doc, tree, root, vars)?;
            Ok(Bson::Document(doc))
        }
    }
}

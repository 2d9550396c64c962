//! Parsing a find projection document, with mongod's checks and error codes.
//!
//! Nested specifications (`{a: {b: 1}}`) are read as dotted paths
//! (`{"a.b": 1}`). The mode is fixed by the first inclusion or exclusion
//! other than `_id: 0`; a projection of only `$slice` is an exclusion, one of
//! only `$elemMatch` an inclusion.

use bson::{Bson, Document};

use super::{ElemMatch, Mode, Node, Positional, Projection, Slice, Tree};
use crate::matcher::type_name;
use crate::order::Number;
use crate::{Code, Error, Result};

/// Documents nest at most 100 levels, so a deeper projection path can never
/// reach a field; refusing it also bounds recursion over the tree.
pub const PROJECTION_DEPTH_MAX: usize = 100;

/// What parsing has learned so far about the whole projection.
struct State {
    root: Tree,
    mode: Option<Mode>,
    id_specified: bool,
    has_slice: bool,
    has_elem_match: bool,
    positional: Option<Positional>,
}

pub(super) fn projection(spec: &Document) -> Result<Projection> {
    let mut state = State {
        root: Tree::default(),
        mode: None,
        id_specified: false,
        has_slice: false,
        has_elem_match: false,
        positional: None,
    };
    fields(&mut state, "", spec, 0)?;
    let mode = state
        .mode
        .unwrap_or(if state.has_elem_match && !state.has_slice {
            Mode::Inclusion
        } else {
            Mode::Exclusion
        });
    if mode == Mode::Inclusion && !state.id_specified {
        state
            .root
            .children
            .insert(0, ("_id".to_owned(), Node::Include));
    }
    Ok(Projection {
        mode,
        root: state.root,
        positional: state.positional,
    })
}

fn fields(state: &mut State, prefix: &str, spec: &Document, depth: usize) -> Result<()> {
    if depth > PROJECTION_DEPTH_MAX {
        return Err(too_deep());
    }
    for (key, value) in spec {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        field(state, &path, value, depth)?;
    }
    Ok(())
}

fn too_deep() -> Error {
    Error::bad_value(format!(
        "projection path is nested deeper than {PROJECTION_DEPTH_MAX} levels"
    ))
}

fn field(state: &mut State, path: &str, value: &Bson, depth: usize) -> Result<()> {
    state.id_specified |= path == "_id" || path.starts_with("_id.");
    let positional = positional_prefix(path);
    match value {
        Bson::Document(spec) => {
            if positional.is_some() {
                return Err(Error::location(
                    31271,
                    "positional projection cannot be used with an expression",
                ));
            }
            object(state, path, spec, depth)
        }
        Bson::Boolean(_)
        | Bson::Int32(_)
        | Bson::Int64(_)
        | Bson::Double(_)
        | Bson::Decimal128(_) => match (truthy(value), positional) {
            (true, Some(prefix)) => positional_field(state, path, prefix),
            (true, None) => include(state, path, Node::Include),
            (false, _) => exclude(state, path),
        },
        _ => match literal(value) {
            Some(literal) => computed(state, path, literal),
            None => Err(unsupported_expression(path)),
        },
    }
}

fn truthy(value: &Bson) -> bool {
    match value {
        Bson::Boolean(b) => *b,
        _ => Number::of(value).is_some_and(|n| n.as_f64() != 0.0),
    }
}

/// A value that is a constant as an aggregation expression, if it is one.
fn literal(value: &Bson) -> Option<Bson> {
    match value {
        Bson::String(text) if text.starts_with('$') => None,
        Bson::Document(_) => None,
        Bson::Array(items) => items
            .iter()
            .map(literal)
            .collect::<Option<Vec<_>>>()
            .map(Bson::Array),
        other => Some(other.clone()),
    }
}

fn unsupported_expression(path: &str) -> Error {
    Error::new(
        Code::NOT_IMPLEMENTED,
        format!("aggregation expressions in find projections are not supported yet (field {path})"),
    )
}

/// The path before the positional operator: `a.b` for `a.b.$` or `a.b.$.c`.
fn positional_prefix(path: &str) -> Option<&str> {
    if let Some(at) = path.find(".$.") {
        return Some(&path[..at]);
    }
    path.strip_suffix(".$").or((path == "$").then_some(""))
}

fn object(state: &mut State, path: &str, spec: &Document, depth: usize) -> Result<()> {
    let Some((first, arg)) = spec.iter().next() else {
        return Err(Error::location(
            51270,
            format!(
                "An empty sub-projection is not a valid value. Found empty object at path {path}"
            ),
        ));
    };
    match first.as_str() {
        "$slice" => slice(state, path, arg),
        "$elemMatch" => elem_match(state, path, arg),
        "$literal" => computed(state, path, arg.clone()),
        _ if first.starts_with('$') => Err(unsupported_expression(path)),
        _ => fields(state, path, spec, depth + 1),
    }
}

fn slice(state: &mut State, path: &str, arg: &Bson) -> Result<()> {
    let slice = match arg {
        Bson::Array(items) => {
            let [skip, limit] = items.as_slice() else {
                return Err(Error::location(
                    31272,
                    "$slice array argument should be of form [skip, limit]",
                ));
            };
            let skip = Number::of(skip).ok_or_else(|| {
                Error::location(
                    31257,
                    format!(
                        "$slice expects the skip argument to be a number, got {}",
                        type_name(skip)
                    ),
                )
            })?;
            let limit = Number::of(limit).ok_or_else(|| {
                Error::location(
                    31258,
                    format!(
                        "$slice expects the limit argument to be a number, got {}",
                        type_name(limit)
                    ),
                )
            })?;
            let limit = as_int(limit);
            if limit <= 0 {
                return Err(Error::location(
                    31259,
                    format!("$slice limit must be positive, got {limit}"),
                ));
            }
            Slice {
                skip: Some(as_int(skip)),
                limit,
            }
        }
        _ => match Number::of(arg) {
            Some(limit) => Slice {
                skip: None,
                limit: as_int(limit),
            },
            None => {
                return Err(Error::location(
                    31273,
                    "$slice only supports numbers and [skip, limit] arrays",
                ));
            }
        },
    };
    state.has_slice = true;
    add(&mut state.root, path, Node::Slice(slice))
}

/// mongod reads `$slice` operands as 32-bit integers, truncating.
fn as_int(number: Number) -> i64 {
    match number {
        Number::Int(i) => i.clamp(i64::from(i32::MIN), i64::from(i32::MAX)),
        Number::Double(d) if d.is_nan() => 0,
        Number::Double(d) => d.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i64,
    }
}

fn elem_match(state: &mut State, path: &str, arg: &Bson) -> Result<()> {
    if !matches!(arg, Bson::Document(_)) {
        return Err(Error::location(
            31274,
            format!(
                "elemMatch: Invalid argument, object required, but got {}",
                type_name(arg)
            ),
        ));
    }
    if state.positional.is_some() {
        return Err(Error::location(
            31255,
            "Cannot specify positional operator and $elemMatch.",
        ));
    }
    if path.contains('.') {
        return Err(Error::location(
            31275,
            "Cannot use $elemMatch projection on a nested field.",
        ));
    }
    let matcher = ElemMatch::parse(arg)?;
    state.has_elem_match = true;
    add(&mut state.root, path, Node::ElemMatch(matcher))
}

fn positional_field(state: &mut State, path: &str, prefix: &str) -> Result<()> {
    if state.positional.is_some() {
        return Err(Error::location(
            31276,
            "Cannot specify more than one positional projection per query.",
        ));
    }
    if state.has_elem_match {
        return Err(Error::location(
            31256,
            "Cannot specify positional operator and $elemMatch.",
        ));
    }
    if path.ends_with(".$.") {
        return Err(Error::location(31270, "Path cannot end with '.$.'"));
    }
    let after = &path[prefix.len()..];
    let rest = after.strip_prefix(".$").unwrap_or(after);
    if positional_prefix(rest).is_some() || rest.contains(".$.") || rest.ends_with(".$") {
        return Err(Error::location(
            31287,
            format!("Cannot use positional operator twice: {path}"),
        ));
    }
    let parts = validated_parts(prefix)?;
    include(state, path, Node::Positional)?;
    state.positional = Some(Positional {
        key: path.to_owned(),
        parts,
    });
    Ok(())
}

fn include(state: &mut State, path: &str, node: Node) -> Result<()> {
    if state.mode == Some(Mode::Exclusion) {
        return Err(Error::location(
            31253,
            format!("Cannot do inclusion on field {path} in exclusion projection"),
        ));
    }
    state.mode = Some(Mode::Inclusion);
    let target = match &node {
        Node::Positional => positional_prefix(path).unwrap_or(path),
        _ => path,
    };
    add(&mut state.root, target, node)
}

fn exclude(state: &mut State, path: &str) -> Result<()> {
    add(&mut state.root, path, Node::Exclude)?;
    if path != "_id" {
        if state.mode == Some(Mode::Inclusion) {
            return Err(Error::location(
                31254,
                format!("Cannot do exclusion on field {path} in inclusion projection"),
            ));
        }
        state.mode = Some(Mode::Exclusion);
    }
    Ok(())
}

fn computed(state: &mut State, path: &str, value: Bson) -> Result<()> {
    if state.mode == Some(Mode::Exclusion) {
        return Err(Error::location(
            31252,
            "Cannot use expression other than $meta in exclusion projection",
        ));
    }
    state.mode = Some(Mode::Inclusion);
    add(&mut state.root, path, Node::Literal(value))
}

/// Splits a projection path, refusing what mongod's FieldPath refuses.
fn validated_parts(path: &str) -> Result<Vec<String>> {
    if path.is_empty() {
        return Err(Error::location(
            40352,
            "FieldPath cannot be constructed with empty string",
        ));
    }
    if path.ends_with('.') {
        return Err(Error::location(40353, "FieldPath must not end with a '.'."));
    }
    let parts: Vec<String> = path.split('.').map(str::to_owned).collect();
    if parts.len() > PROJECTION_DEPTH_MAX {
        return Err(too_deep());
    }
    for part in &parts {
        if part.is_empty() {
            return Err(Error::location(
                15998,
                "FieldPath field names may not be empty strings.",
            ));
        }
        if part.starts_with('$') {
            return Err(Error::location(
                16410,
                "FieldPath field names may not start with '$'. Consider using $getField or $setField.",
            ));
        }
    }
    Ok(parts)
}

/// Adds a node at a dotted path, refusing collisions as mongod does.
fn add(root: &mut Tree, path: &str, node: Node) -> Result<()> {
    let parts = validated_parts(path)?;
    let mut tree = root;
    let last = parts.len() - 1;
    for (position, part) in parts.iter().enumerate() {
        let existing = tree.children.iter().position(|(key, _)| key == part);
        if position == last {
            if existing.is_some() {
                return Err(Error::location(31250, format!("Path collision at {path}")));
            }
            tree.children.push((part.clone(), node));
            return Ok(());
        }
        let slot = match existing {
            Some(slot) => slot,
            None => {
                tree.children
                    .push((part.clone(), Node::Tree(Tree::default())));
                tree.children.len() - 1
            }
        };
        tree = match tree.children.get_mut(slot) {
            Some((_, Node::Tree(child))) => child,
            _ => {
                let remaining = parts[1..].join(".");
                return Err(Error::location(
                    31249,
                    format!("Path collision at {path} remaining portion {remaining}"),
                ));
            }
        };
    }
    Ok(())
}

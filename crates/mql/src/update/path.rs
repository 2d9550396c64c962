//! Update paths: parsing `a.$.b.$[x]` into parts, and walking concrete paths
//! through a document to read, create or replace what they name.
//!
//! A *concrete* path is a list of plain components (field names, and decimal
//! indexes where the walk meets an array) with every positional part already
//! resolved; see `targets` for that resolution. Walking is iterative, so a
//! path of any length costs no stack.
//!
//! Invariant: the root handed to these functions is always a
//! `Bson::Document` (the update driver wraps the document it updates), so a
//! walk never fails at depth zero.

use bson::{Bson, Document};

use super::display;
use crate::{Code, Error, Result};

/// Padding an array with nulls past this many elements is refused, as mongod
/// refuses it: one small update must not be able to build a huge document.
pub(crate) const ARRAY_PADDING_MAX: usize = 1_500_000;

/// One component of a parsed update path, read from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part<'a> {
    Field(&'a str),
    /// `$`: the array index the query matched.
    Positional,
    /// `$[]`: every element of the array.
    AllElements,
    /// `$[id]`: the elements the array filter `id` accepts.
    Filtered(&'a str),
}

impl<'a> Part<'a> {
    /// Reads one component's text. Distinct texts give distinct parts.
    pub(crate) fn of(raw: &'a str) -> Part<'a> {
        if raw == "$" {
            Part::Positional
        } else if raw == "$[]" {
            Part::AllElements
        } else if let Some(id) = raw.strip_prefix("$[").and_then(|r| r.strip_suffix(']')) {
            Part::Filtered(id)
        } else {
            Part::Field(raw)
        }
    }

    /// Whether this part selects array elements by update-time rules, which
    /// makes its parent an array node in mongod's update tree.
    pub(crate) fn is_array_update(&self) -> bool {
        matches!(self, Part::AllElements | Part::Filtered(_))
    }

    pub(crate) fn text(&self) -> &'a str {
        match self {
            Part::Field(f) => f,
            Part::Positional => "$",
            Part::AllElements => "$[]",
            Part::Filtered(id) => id,
        }
    }
}

/// A parsed update path: its components' text as written (`a`, `$`,
/// `$[]`, `$[id]`), each read as a [`Part`] on demand. Kept as text, a
/// static path (fields only) is itself the one concrete path it names, and
/// its dotted form is the components joined, built only for messages.
#[derive(Debug, Clone)]
pub(crate) struct FieldPath {
    components: Vec<String>,
    /// Whether any part is resolved at apply time, read once at parse.
    dynamic: bool,
}

impl FieldPath {
    /// Parses a dotted path, checking what mongod's `isUpdatable` and the
    /// positional rules check.
    pub(crate) fn parse(dotted: &str) -> Result<FieldPath> {
        if dotted.is_empty() {
            return Err(Error::new(
                Code::EMPTY_FIELD_NAME,
                "An empty update path is not valid.",
            ));
        }
        let mut components = Vec::new();
        let mut positional_count = 0;
        let mut dynamic = false;
        for raw in dotted.split('.') {
            if raw.is_empty() {
                return Err(Error::new(
                    Code::EMPTY_FIELD_NAME,
                    format!(
                        "The update path '{dotted}' contains an empty field name, which is not allowed."
                    ),
                ));
            }
            let part = Part::of(raw);
            positional_count += usize::from(part == Part::Positional);
            dynamic |= !matches!(part, Part::Field(_));
            components.push(raw.to_string());
        }
        let path = FieldPath {
            components,
            dynamic,
        };
        path.check_positionals(positional_count)?;
        Ok(path)
    }

    fn check_positionals(&self, positional_count: usize) -> Result<()> {
        if positional_count > 1 {
            return Err(Error::bad_value(format!(
                "Too many positional (i.e. '$') elements found in path '{}'",
                self.dotted()
            )));
        }
        match self.parts().next() {
            Some(Part::Positional) => Err(Error::bad_value(format!(
                "Cannot have positional (i.e. '$') element in the first position in path '{}'",
                self.dotted()
            ))),
            Some(Part::AllElements | Part::Filtered(_)) => Err(Error::bad_value(format!(
                "Cannot have array filter identifier (i.e. '$[<id>]') element in the first position in path '{}'",
                self.dotted()
            ))),
            _ => Ok(()),
        }
    }

    /// The parts, in order.
    pub(crate) fn parts(&self) -> impl Iterator<Item = Part<'_>> + Clone {
        self.components.iter().map(|raw| Part::of(raw))
    }

    /// How many parts the path has.
    pub(crate) fn len(&self) -> usize {
        self.components.len()
    }

    /// The components' text; for a static path, the concrete path itself.
    pub(crate) fn components(&self) -> &[String] {
        &self.components
    }

    /// The path as written, dotted.
    pub(crate) fn dotted(&self) -> String {
        self.components.join(".")
    }

    /// Whether any part is resolved at apply time (`$`, `$[]`, `$[id]`).
    pub(crate) fn is_dynamic(&self) -> bool {
        self.dynamic
    }

    /// The components as text, the key mongod's update tree sorts by.
    pub(crate) fn sort_key(&self) -> Vec<&str> {
        self.parts().map(|part| part.text()).collect()
    }

    pub(crate) fn first_field(&self) -> Option<&str> {
        match self.parts().next() {
            Some(Part::Field(f)) => Some(f),
            _ => None,
        }
    }
}

/// mongod's order of sibling update paths: byte-wise, except that two
/// numeric components compare as numbers (`a.2` before `a.10`).
pub(crate) fn compare_components<S: AsRef<str>>(a: &[S], b: &[S]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x.as_ref(), y.as_ref());
        let ordering = match (array_index(x), array_index(y)) {
            (Some(m), Some(n)) => m.cmp(&n).then_with(|| x.cmp(y)),
            _ => x.as_bytes().cmp(y.as_bytes()),
        };
        if ordering != std::cmp::Ordering::Equal {
            return ordering;
        }
    }
    a.len().cmp(&b.len())
}

/// Parses an array index component: decimal digits only, as mongod's
/// `parseUnsignedBase10Integer`.
pub(crate) fn array_index(component: &str) -> Option<usize> {
    if component.is_empty() || !component.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    component.parse().ok()
}

/// The child of `value` named by `component`, if `value` has one.
pub(crate) fn child<'a>(value: &'a Bson, component: &str) -> Option<&'a Bson> {
    match value {
        Bson::Document(doc) => crate::path::field(doc, component),
        Bson::Array(items) => array_index(component).and_then(|i| items.get(i)),
        _ => None,
    }
}

pub(crate) fn child_mut<'a>(value: &'a mut Bson, component: &str) -> Option<&'a mut Bson> {
    match value {
        Bson::Document(doc) => crate::path::field_mut(doc, component),
        Bson::Array(items) => array_index(component).and_then(|i| items.get_mut(i)),
        _ => None,
    }
}

/// Where a concrete path leads in a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location {
    /// The whole path exists.
    Found,
    /// The first `depth` components exist and name a document or an array
    /// that lacks the next one, which can be created.
    Missing { depth: usize },
    /// The first `depth` components exist but name a value the next
    /// component cannot go into (a scalar, or an array and a field name).
    Blocked { depth: usize },
}

pub(crate) fn locate(root: &Bson, path: &[String]) -> Location {
    let mut current = root;
    for (depth, component) in path.iter().enumerate() {
        let viable = match current {
            Bson::Document(_) => true,
            Bson::Array(_) => array_index(component).is_some(),
            _ => false,
        };
        if !viable {
            return Location::Blocked { depth };
        }
        match child(current, component) {
            Some(next) => current = next,
            None => return Location::Missing { depth },
        }
    }
    Location::Found
}

pub(crate) fn get<'a>(root: &'a Bson, path: &[String]) -> Option<&'a Bson> {
    let mut current = root;
    for component in path {
        current = child(current, component)?;
    }
    Some(current)
}

pub(crate) fn get_mut<'a>(root: &'a mut Bson, path: &[String]) -> Option<&'a mut Bson> {
    let mut current = root;
    for component in path {
        current = child_mut(current, component)?;
    }
    Some(current)
}

/// mongod's PathNotViable error for a path blocked after `depth` components.
pub(crate) fn not_viable(root: &Bson, path: &[String], depth: usize) -> Error {
    let blocked_name = depth
        .checked_sub(1)
        .and_then(|i| path.get(i))
        .map_or("", String::as_str);
    let blocked_value = get(root, path.get(..depth).unwrap_or_default()).unwrap_or(&Bson::Null);
    let field = path.get(depth).map_or("", String::as_str);
    Error::new(
        Code::PATH_NOT_VIABLE,
        format!(
            "Cannot create field '{field}' in element {{{}}}",
            display::element(blocked_name, blocked_value)
        ),
    )
}

/// mongod's PathNotViable error for an operator that never creates its path
/// (`$pop`, `$pull`, `$pullAll`) finding it blocked after `depth` components.
pub(crate) fn not_traversable(root: &Bson, path: &[String], depth: usize) -> Error {
    let blocked_name = depth
        .checked_sub(1)
        .and_then(|i| path.get(i))
        .map_or("", String::as_str);
    let blocked_value = get(root, path.get(..depth).unwrap_or_default()).unwrap_or(&Bson::Null);
    let part = path.get(depth).map_or("", String::as_str);
    Error::new(
        Code::PATH_NOT_VIABLE,
        format!(
            "Cannot use the part ({part}) of ({}) to traverse the element ({{{}}})",
            path.join("."),
            display::element(blocked_name, blocked_value)
        ),
    )
}

/// Stores `value` at `path`, creating missing documents on the way and
/// padding arrays with nulls, or replacing what is there.
pub(crate) fn set(root: &mut Bson, path: &[String], value: Bson) -> Result<()> {
    // `get_mut` finds exactly the paths `locate` reports as found.
    if let Some(slot) = get_mut(root, path) {
        *slot = value;
        return Ok(());
    }
    match locate(root, path) {
        Location::Found => Ok(()),
        Location::Blocked { depth } => Err(not_viable(root, path, depth)),
        Location::Missing { depth } => create(root, path, depth, value),
    }
}

fn create(root: &mut Bson, path: &[String], depth: usize, value: Bson) -> Result<()> {
    let (Some(existing), Some(first_new), Some(rest)) =
        (path.get(..depth), path.get(depth), path.get(depth + 1..))
    else {
        return Ok(());
    };
    let mut nested = value;
    for component in rest.iter().rev() {
        let mut doc = Document::new();
        doc.insert(component.clone(), nested);
        nested = Bson::Document(doc);
    }
    match get_mut(root, existing) {
        Some(Bson::Document(doc)) => {
            doc.insert(first_new.clone(), nested);
            Ok(())
        }
        Some(Bson::Array(items)) => {
            let index = array_index(first_new).unwrap_or(items.len());
            if index > ARRAY_PADDING_MAX {
                return Err(Error::bad_value(format!(
                    "can't backfill array to larger than {ARRAY_PADDING_MAX} elements"
                )));
            }
            items.resize(index, Bson::Null);
            items.push(nested);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Removes what `path` names: a field is deleted, an array element becomes
/// null (arrays never shift under `$unset`). Returns whether anything was there.
pub(crate) fn unset(root: &mut Bson, path: &[String]) -> bool {
    let Some((last, parent_path)) = path.split_last() else {
        return false;
    };
    match get_mut(root, parent_path) {
        Some(Bson::Document(doc)) => doc.remove(last).is_some(),
        Some(Bson::Array(items)) => match array_index(last).and_then(|i| items.get_mut(i)) {
            Some(slot) => {
                *slot = Bson::Null;
                true
            }
            None => false,
        },
        _ => false,
    }
}

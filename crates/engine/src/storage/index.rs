//! Secondary indexes: ordered sets of `(index key, _id)` entries.
//!
//! Invariant (superset): for every version or intent of every record that a
//! reader might still see, every key it generates has an entry. Entries for
//! versions nobody can see any more linger until the garbage collector
//! finds them; readers therefore always re-check the full filter on the
//! document they fetch. Writers add entries after setting their intent;
//! aborts remove the entries that no committed version backs.
//!
//! The collector removes an entry only through [`Index::remove_unbacked`]:
//! it holds the entry set's write lock from the moment it checks that no
//! reachable version or intent generates the key until the entry is gone.
//! A writer's intent is set before its [`Index::add`], so either the check
//! sees the intent, or the add runs after the removal and puts the entry
//! back.
//!
//! Lock order: an index's entry lock is taken before any record lock, and
//! never while a record lock is held.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;

use bson::{Bson, Document, doc};
use mql::matcher::Filter;
use mql::{Code, Error};
use parking_lot::{Mutex, RwLock};

use super::key::{EntryOrd, IndexKey, Key, KeyPart, LeadingProbe};
use super::record::Doc;
use super::sweep::Sweep;

/// Keys generated from one document for one index, at most this many: a
/// multikey index over a huge array must not explode memory.
pub const INDEX_KEYS_PER_DOC_MAX: usize = 10_000;
/// Index key patterns have at most 32 fields, as in mongod.
pub const INDEX_FIELDS_MAX: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// A parsed index definition.
#[derive(Debug, Clone)]
pub struct IndexSpec {
    pub name: String,
    pub key: Document,
    pub fields: Vec<(String, Direction)>,
    pub unique: bool,
    pub sparse: bool,
    pub partial: Option<Filter>,
    /// The definition as `listIndexes` reports it.
    pub info: Document,
}

impl IndexSpec {
    /// The `_id_` index every collection has.
    pub fn id_index() -> IndexSpec {
        IndexSpec {
            name: "_id_".to_owned(),
            key: doc! {"_id": 1},
            fields: vec![("_id".to_owned(), Direction::Asc)],
            unique: true,
            sparse: false,
            partial: None,
            info: doc! {"v": 2, "key": {"_id": 1}, "name": "_id_"},
        }
    }

    /// Parses one entry of `createIndexes`' `indexes` array.
    pub fn parse(spec: &Document) -> Result<IndexSpec, Error> {
        let key = match spec.get("key") {
            Some(Bson::Document(key)) => key.clone(),
            Some(_) => return Err(Error::type_mismatch("The field 'key' must be an object")),
            None => {
                return Err(Error::failed_to_parse(
                    "The 'key' field is a required property of an index specification",
                ));
            }
        };
        if key.is_empty() {
            return Err(Error::new(
                Code::CANNOT_CREATE_INDEX,
                "Index keys cannot be empty.",
            ));
        }
        if key.len() > INDEX_FIELDS_MAX {
            return Err(Error::new(
                Code::CANNOT_CREATE_INDEX,
                format!("Index key pattern has more than {INDEX_FIELDS_MAX} fields"),
            ));
        }
        let fields = key
            .iter()
            .map(|(path, dir)| parse_field(path, dir))
            .collect::<Result<Vec<_>, _>>()?;
        let name = match spec.get("name") {
            Some(Bson::String(name)) if !name.is_empty() => name.clone(),
            Some(Bson::String(_)) => {
                return Err(Error::new(
                    Code::CANNOT_CREATE_INDEX,
                    "index name cannot be empty",
                ));
            }
            Some(_) => return Err(Error::type_mismatch("The field 'name' must be a string")),
            None => {
                return Err(Error::failed_to_parse(
                    "The 'name' field is a required property of an index specification",
                ));
            }
        };
        let unique = truthy(spec.get("unique"), "unique")?;
        let sparse = truthy(spec.get("sparse"), "sparse")?;
        let partial = match spec.get("partialFilterExpression") {
            None => None,
            Some(Bson::Document(filter)) => Some(Filter::parse(filter)?),
            Some(_) => {
                return Err(Error::type_mismatch(
                    "The field 'partialFilterExpression' must be an object",
                ));
            }
        };
        let mut info = doc! {"v": 2, "key": key.clone(), "name": name.clone()};
        for (field, value) in spec {
            match field.as_str() {
                "key" | "name" | "v" | "ns" | "background" => {}
                "unique"
                | "sparse"
                | "partialFilterExpression"
                | "expireAfterSeconds"
                | "collation"
                | "hidden"
                | "weights"
                | "default_language"
                | "language_override"
                | "textIndexVersion"
                | "2dsphereIndexVersion"
                | "bits"
                | "min"
                | "max"
                | "wildcardProjection"
                | "storageEngine" => {
                    info.insert(field.clone(), value.clone());
                }
                other => {
                    return Err(Error::new(
                        Code::INVALID_INDEX_SPECIFICATION_OPTION,
                        format!(
                            "The field '{other}' is not valid for an index specification. Specification: {spec}"
                        ),
                    ));
                }
            }
        }
        Ok(IndexSpec {
            name,
            key,
            fields,
            unique,
            sparse,
            partial,
            info,
        })
    }

    /// The index keys `doc` generates; empty if the document is not indexed
    /// (sparse with every field missing, or outside the partial filter).
    pub fn keys(&self, doc: &Document) -> Result<Vec<IndexKey>, Error> {
        if let Some(partial) = &self.partial
            && !partial.matches(doc)
        {
            return Ok(Vec::new());
        }
        if let [(path, direction)] = self.fields.as_slice()
            && !path.contains('.')
            && let Some(value) = mql::path::field(doc, path)
            && !matches!(value, Bson::Array(_))
        {
            // One plain field holding one value, the common case: one key.
            let part = match direction {
                Direction::Asc => KeyPart::Asc(value.clone()),
                Direction::Desc => KeyPart::Desc(value.clone()),
            };
            return Ok(vec![Box::new([part])]);
        }
        let mut per_field: Vec<Vec<Bson>> = Vec::with_capacity(self.fields.len());
        let mut present = false;
        for (path, _) in &self.fields {
            let mut values = Vec::new();
            present |= if path.contains('.') {
                let parts: Vec<&str> = path.split('.').collect();
                collect_from_document(doc, &parts, &mut values)
            } else {
                collect_from_document(doc, &[path.as_str()], &mut values)
            };
            dedup(&mut values);
            per_field.push(values);
        }
        if self.sparse && !present {
            return Ok(Vec::new());
        }
        if let ([values], [(_, direction)]) = (per_field.as_mut_slice(), self.fields.as_slice()) {
            // One field, the common case: its values are the keys.
            self.check_key_count(values.len())?;
            let part = |value| match direction {
                Direction::Asc => KeyPart::Asc(value),
                Direction::Desc => KeyPart::Desc(value),
            };
            let values = std::mem::take(values);
            return Ok(values
                .into_iter()
                .map(|v| Box::new([part(v)]) as IndexKey)
                .collect());
        }
        let multikey_fields = per_field.iter().filter(|v| v.len() > 1).count();
        if multikey_fields > 1 {
            return Err(Error::new(
                Code::CANNOT_INDEX_PARALLEL_ARRAYS,
                format!("cannot index parallel arrays in index {}", self.name),
            ));
        }
        let mut keys: Vec<IndexKey> = vec![Vec::new().into_boxed_slice()];
        for (values, (_, direction)) in per_field.iter().zip(&self.fields) {
            let mut next = Vec::with_capacity(keys.len() * values.len());
            for key in &keys {
                for value in values {
                    let mut parts = key.to_vec();
                    parts.push(match direction {
                        Direction::Asc => KeyPart::Asc(value.clone()),
                        Direction::Desc => KeyPart::Desc(value.clone()),
                    });
                    next.push(parts.into_boxed_slice());
                }
            }
            self.check_key_count(next.len())?;
            keys = next;
        }
        Ok(keys)
    }

    /// `docs` without each one whose indexed values equal the previous
    /// one's (the same document, or [`IndexSpec::same_keys`]): it generates
    /// exactly the previous one's keys. Walking a long history newest first
    /// for a key then computes keys only where the indexed values changed.
    pub fn docs_with_new_keys<'d>(
        &'d self,
        docs: impl Iterator<Item = &'d Doc>,
    ) -> impl Iterator<Item = &'d Doc> {
        let mut previous: Option<&Doc> = None;
        docs.filter(move |&doc| {
            let same = previous.is_some_and(|p| Arc::ptr_eq(p, doc) || self.same_keys(p, doc));
            previous = Some(doc);
            !same
        })
    }

    /// Whether `old` and `new` surely generate the same keys: judged only
    /// for plain (undotted) fields holding no array, without a partial
    /// filter, where a field's one key is its value. `false` means "not
    /// known", never "different".
    pub fn same_keys(&self, old: &Document, new: &Document) -> bool {
        let same_value = |a: &Bson, b: &Bson| match (a, b) {
            // The usual indexed values, compared directly.
            (Bson::String(x), Bson::String(y)) => x == y,
            (Bson::Int32(x), Bson::Int32(y)) => x == y,
            (Bson::Array(_), _) | (_, Bson::Array(_)) => false,
            _ => mql::order::compare(a, b).is_eq(),
        };
        self.partial.is_none()
            && self.fields.iter().all(|(path, _)| {
                !path.contains('.')
                    && match (mql::path::field(old, path), mql::path::field(new, path)) {
                        (None, None) => true,
                        (Some(a), Some(b)) => same_value(a, b),
                        _ => false,
                    }
            })
    }

    fn check_key_count(&self, count: usize) -> Result<(), Error> {
        if count > INDEX_KEYS_PER_DOC_MAX {
            return Err(Error::new(
                Code::CANNOT_CREATE_INDEX,
                format!(
                    "document generates more than {INDEX_KEYS_PER_DOC_MAX} keys for index {}",
                    self.name
                ),
            ));
        }
        Ok(())
    }

    /// `keyValue` for a duplicate key error: the key pattern's fields with the
    /// offending values.
    pub fn key_value(&self, key: &IndexKey) -> Document {
        self.fields
            .iter()
            .zip(key.iter())
            .map(|((path, _), part)| (path.clone(), part.value().clone()))
            .collect()
    }
}

fn parse_field(path: &str, direction: &Bson) -> Result<(String, Direction), Error> {
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(Error::new(
            Code::CANNOT_CREATE_INDEX,
            format!("Index key contains an illegal field name: '{path}'"),
        ));
    }
    let number = mql::order::Number::of(direction).map(mql::order::Number::as_f64);
    match (number, direction) {
        (Some(n), _) if n > 0.0 => Ok((path.to_owned(), Direction::Asc)),
        (Some(n), _) if n < 0.0 => Ok((path.to_owned(), Direction::Desc)),
        (_, Bson::String(kind)) => Err(Error::new(
            Code::CANNOT_CREATE_INDEX,
            format!("Rotor does not support '{kind}' indexes"),
        )),
        _ => Err(Error::new(
            Code::CANNOT_CREATE_INDEX,
            format!(
                "Values in the index key pattern can only be numbers or strings, not {direction}"
            ),
        )),
    }
}

fn truthy(value: Option<&Bson>, field: &str) -> Result<bool, Error> {
    match value {
        None => Ok(false),
        Some(Bson::Boolean(b)) => Ok(*b),
        Some(v) => match mql::order::Number::of(v) {
            Some(n) => Ok(n.as_f64() != 0.0),
            None => Err(Error::type_mismatch(format!(
                "The field '{field}' must be a boolean"
            ))),
        },
    }
}

/// Collects the values at `parts` as an index sees them: arrays along the way
/// are expanded, a missing field is `null`. Returns whether the field exists.
fn collect_values(value: &Bson, parts: &[&str], out: &mut Vec<Bson>) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        match value {
            Bson::Array(items) if items.is_empty() => out.push(Bson::Undefined),
            Bson::Array(items) => out.extend(items.iter().cloned()),
            other => out.push(other.clone()),
        }
        return true;
    };
    match value {
        Bson::Document(doc) => collect_from_document(doc, parts, out),
        Bson::Array(items) => {
            let mut present = false;
            if let Ok(position) = first.parse::<usize>()
                && let Some(item) = items.get(position)
            {
                present |= collect_values(item, rest, out);
            }
            for item in items {
                if let Bson::Document(_) = item {
                    present |= collect_values(item, parts, out);
                }
            }
            if !present {
                out.push(Bson::Null);
            }
            present
        }
        _ => {
            out.push(Bson::Null);
            false
        }
    }
}

fn collect_from_document(doc: &Document, parts: &[&str], out: &mut Vec<Bson>) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return false;
    };
    match doc.get(*first) {
        Some(inner) => collect_values(inner, rest, out),
        None => {
            out.push(Bson::Null);
            false
        }
    }
}

fn dedup(values: &mut Vec<Bson>) {
    values.sort_by(mql::order::compare);
    values.dedup_by(|a, b| mql::order::equal(a, b));
}

/// A built index.
#[derive(Debug)]
pub struct Index {
    pub spec: IndexSpec,
    entries: RwLock<BTreeSet<(IndexKey, Key)>>,
    /// The garbage collector's sweep of the entries.
    sweep: Mutex<Sweep<Entry>>,
}

/// One entry of an index: its key and the `_id` of the record it points to.
pub type Entry = (IndexKey, Key);

impl Index {
    pub fn new(spec: IndexSpec) -> Index {
        Index {
            spec,
            entries: RwLock::new(BTreeSet::new()),
            sweep: Mutex::new(Sweep::default()),
        }
    }

    pub fn entry_count(&self) -> usize {
        self.entries.read().len()
    }

    /// Up to `limit` entries after `after` (exclusive), in order.
    pub fn entries_after(&self, after: Option<&Entry>, limit: usize) -> Vec<Entry> {
        let entries = self.entries.read();
        let lower = match after {
            Some(entry) => Bound::Excluded(entry),
            None => Bound::Unbounded,
        };
        entries
            .range::<Entry, _>((lower, Bound::Unbounded))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Removes each of `suspects` that `backed` says no reachable version
    /// or intent generates, checking and removing under one hold of the
    /// write lock (see the module doc). `backed` may lock records: that is
    /// the lock order's index-then-record direction. Returns how many
    /// entries went.
    pub fn remove_unbacked(
        &self,
        suspects: &[Entry],
        mut backed: impl FnMut(&Entry) -> bool,
    ) -> usize {
        let mut entries = self.entries.write();
        suspects
            .iter()
            .filter(|entry| !backed(entry) && entries.remove(*entry))
            .count()
    }

    /// Runs `f` on the garbage collector's sweep of the entries. Two
    /// collectors (the reaper and an explicit round) take turns.
    pub fn with_sweep<T>(&self, f: impl FnOnce(&mut Sweep<Entry>) -> T) -> T {
        f(&mut self.sweep.lock())
    }

    pub fn insert(&self, key: IndexKey, id: Key) {
        self.entries.write().insert((key, id));
    }

    /// Adds the entry unless it is there already; returns it when it was
    /// not, so the caller can undo exactly what it added. A rewrite that
    /// keeps its indexed fields finds its entry present and takes only a
    /// read lock.
    pub fn add(&self, key: IndexKey, id: Key) -> Option<(IndexKey, Key)> {
        let entry = (key, id);
        if self.entries.read().contains(&entry) {
            return None;
        }
        self.entries.write().insert(entry.clone()).then_some(entry)
    }

    /// Whether the entry `(key, id)` is present.
    pub fn contains(&self, key: &IndexKey, id: &Key) -> bool {
        self.entries.read().contains(&(key.clone(), id.clone()))
    }

    pub fn remove(&self, key: &IndexKey, id: &Key) {
        self.entries.write().remove(&(key.clone(), id.clone()));
    }

    /// Runs `f` with the entry set locked for writing (unique checks).
    pub fn with_entries_mut<T>(&self, f: impl FnOnce(&mut BTreeSet<(IndexKey, Key)>) -> T) -> T {
        f(&mut self.entries.write())
    }

    /// The `_id`s whose entries have a leading key part within `bounds`
    /// (in value order), at most `limit` entries examined.
    pub fn scan_leading(&self, low: Bound<&Bson>, high: Bound<&Bson>) -> Vec<Key> {
        let direction = self
            .spec
            .fields
            .first()
            .map(|f| f.1)
            .unwrap_or(Direction::Asc);
        let entries = self.entries.read();
        let in_low = |v: &Bson| match low {
            Bound::Unbounded => true,
            Bound::Included(b) => mql::order::compare(v, b).is_ge(),
            Bound::Excluded(b) => mql::order::compare(v, b).is_gt(),
        };
        let in_high = |v: &Bson| match high {
            Bound::Unbounded => true,
            Bound::Included(b) => mql::order::compare(v, b).is_le(),
            Bound::Excluded(b) => mql::order::compare(v, b).is_lt(),
        };
        // Tree order runs from low to high values for ascending fields and
        // from high to low for descending ones.
        let start = match (direction, low, high) {
            (Direction::Asc, Bound::Included(b) | Bound::Excluded(b), _) => Some(LeadingProbe {
                descending: false,
                value: b,
            }),
            (Direction::Desc, _, Bound::Included(b) | Bound::Excluded(b)) => Some(LeadingProbe {
                descending: true,
                value: b,
            }),
            _ => None,
        };
        let iter = match &start {
            Some(probe) => entries.range::<dyn EntryOrd, _>((
                Bound::Included(probe as &dyn EntryOrd),
                Bound::Unbounded,
            )),
            None => entries.range::<dyn EntryOrd, _>(..),
        };
        let mut ids = Vec::new();
        for (key, id) in iter {
            let Some(first) = key.first() else { continue };
            let value = first.value();
            let past_end = match direction {
                Direction::Asc => !in_high(value),
                Direction::Desc => !in_low(value),
            };
            if past_end {
                break;
            }
            if in_low(value) && in_high(value) {
                ids.push(id.clone());
            }
        }
        ids
    }
}

/// The values at `parts` as `distinct` reports them: arrays along the path
/// and at its end are unwound one level; missing fields give nothing.
pub fn values_at(doc: &Document, parts: &[&str], out: &mut Vec<Bson>) {
    let Some((first, rest)) = parts.split_first() else {
        return;
    };
    let Some(value) = doc.get(*first) else { return };
    values_in(value, rest, out);
}

fn values_in(value: &Bson, rest: &[&str], out: &mut Vec<Bson>) {
    match (value, rest.is_empty()) {
        (Bson::Array(items), true) => out.extend(items.iter().cloned()),
        (value, true) => out.push(value.clone()),
        (Bson::Document(inner), false) => values_at(inner, rest, out),
        (Bson::Array(items), false) => {
            for item in items {
                if let Bson::Document(inner) = item {
                    values_at(inner, rest, out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `same_keys` of an index on `key`, between `old` and `new`.
    fn check(key: Document, old: Document, new: Document, expected: bool) {
        let spec = IndexSpec::parse(&doc! {"key": key.clone(), "name": "i"}).unwrap();
        assert_eq!(
            spec.same_keys(&old, &new),
            expected,
            "{key}: {old} -> {new}"
        );
        if expected {
            // Never "same" where the generated keys differ.
            assert_eq!(spec.keys(&old).unwrap(), spec.keys(&new).unwrap());
        }
    }

    #[test]
    fn same_keys_holds_only_where_the_keys_surely_match() {
        check(
            doc! {"a": 1},
            doc! {"a": 1, "b": 1},
            doc! {"a": 1, "b": 2},
            true,
        );
        check(doc! {"a": 1}, doc! {"a": 5}, doc! {"a": 5.0}, true);
        check(doc! {"a": -1}, doc! {"b": 1}, doc! {"b": 2}, true);
        check(doc! {"a": 1}, doc! {"a": 1}, doc! {"a": 2}, false);
        check(doc! {"a": 1}, doc! {"a": 1}, doc! {}, false);
        check(doc! {"a": 1}, doc! {"a": [1]}, doc! {"a": [1]}, false);
        check(
            doc! {"a.b": 1},
            doc! {"a": {"b": 1}},
            doc! {"a": {"b": 1}},
            false,
        );
        check(
            doc! {"a": 1, "b": 1},
            doc! {"a": 1, "b": 1},
            doc! {"a": 1, "b": 2},
            false,
        );
    }
}

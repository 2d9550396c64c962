//! The parsed form of a filter and its evaluation over a document.
//!
//! Logical nodes combine leaves; a leaf binds one predicate to one path and
//! holds when any candidate of the path satisfies it. Negations (`$ne`,
//! `$nin`, `$not`, `$nor`) negate whole leaves, so `{a: {$ne: 1}}` means "no
//! candidate of `a` equals 1", as in mongod.
//!
//! Evaluation records the position mongod calls the elemMatchKey: the index,
//! in the first array a matching leaf's path traversed, of the element that
//! matched. Like mongod, a later matching leaf overwrites an earlier one;
//! negated subtrees record nothing.

use bson::Document;

use super::pred::Pred;
use crate::collation::Collation;
use crate::path::{self, Candidate, FieldPath};

#[derive(Debug, Clone)]
pub(super) enum Node {
    /// The empty filter, or one made only of `$comment`.
    True,
    And(Vec<Node>),
    Or(Vec<Node>),
    Nor(Vec<Node>),
    Not(Box<Node>),
    Leaf {
        path: FieldPath,
        pred: Pred,
    },
    /// `$expr`: an aggregation expression, true when it evaluates truthy.
    /// An evaluation error does not match (mongod fails the query instead).
    Expr(Box<crate::expr::Expr>),
    /// `$jsonSchema`: the whole document against a schema.
    Schema(Box<super::schema::Schema>),
}

impl Node {
    /// Whether `doc` matches, comparing strings under `coll`; stores the
    /// elemMatchKey in `key`.
    pub(super) fn matches(
        &self,
        doc: &Document,
        key: &mut Option<usize>,
        coll: Option<&Collation>,
    ) -> bool {
        match self {
            Node::True => true,
            Node::And(children) => children.iter().all(|child| child.matches(doc, key, coll)),
            Node::Or(children) => children.iter().any(|child| child.matches(doc, key, coll)),
            Node::Nor(children) => !children
                .iter()
                .any(|child| child.matches(doc, &mut None, coll)),
            Node::Not(child) => !child.matches(doc, &mut None, coll),
            Node::Leaf { path, pred } => leaf_matches(path, pred, doc, key, coll),
            Node::Expr(expr) => expr.is_true(doc).unwrap_or(false),
            Node::Schema(schema) => schema.matches_document(doc),
        }
    }

    pub(super) fn filters_on_field(&self, field: &str) -> bool {
        match self {
            Node::True => false,
            Node::And(children) | Node::Or(children) | Node::Nor(children) => {
                children.iter().any(|child| child.filters_on_field(field))
            }
            Node::Not(child) => child.filters_on_field(field),
            Node::Leaf { path, .. } => path
                .parts()
                .first()
                .is_some_and(|part| part.name() == field),
            Node::Expr(_) | Node::Schema(_) => false,
        }
    }
}

fn leaf_matches(
    path: &FieldPath,
    pred: &Pred,
    doc: &Document,
    key: &mut Option<usize>,
    coll: Option<&Collation>,
) -> bool {
    let mut found = None;
    let hit = path::any_candidate(
        doc,
        path.parts(),
        pred.leaf_arrays(),
        &mut |candidate: Candidate<'_>| {
            let mut inner = None;
            if pred.test(candidate.value, &mut inner, coll) {
                found = candidate.array_index.or(inner);
                true
            } else {
                false
            }
        },
    );
    if found.is_some() {
        *key = found;
    }
    hit
}

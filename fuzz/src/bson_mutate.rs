//! Mutation and crossover of inputs that are BSON documents end to end.
//!
//! Every function here is deterministic in its `seed`, as libFuzzer needs
//! to replay a mutation. Nothing here judges the engine: it only makes
//! inputs. Documents are nested at most as deep as libFuzzer's input size
//! allows (a few hundred levels at the default 4 KiB), so recursion here
//! stays shallow.

use std::io::Cursor;

use bson::{Binary, Bson, Document, oid::ObjectId, spec::BinarySubtype};

/// At most this many documents per input, as the target runs at most as
/// many commands.
pub const DOCS_MAX: usize = 8;

/// How deep the nesting mutation wraps a value: around the engine's and
/// mql's depth limits (100 for documents and filters, 150 for expressions,
/// 200 on the wire) and past them.
const NESTING_LEVELS: [usize; 6] = [20, 99, 101, 149, 151, 250];

/// A small deterministic generator (xorshift64*): no dependency, and the
/// same seed replays the same mutation.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u32) -> Rng {
        Rng(u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        match n {
            0 => 0,
            n => (self.next() % n as u64) as usize,
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The documents at the start of `bytes`, up to the first that does not
/// decode.
pub fn decode(bytes: &[u8]) -> Vec<Document> {
    let mut reader = Cursor::new(bytes);
    let mut docs = Vec::new();
    while docs.len() < DOCS_MAX {
        match Document::from_reader(&mut reader) {
            Ok(doc) => docs.push(doc),
            Err(_) => break,
        }
    }
    docs
}

/// `docs` end to end, or `None` if they do not fit in `max` bytes.
pub fn encode(docs: &[Document], max: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for doc in docs {
        doc.to_writer(&mut out).ok()?;
    }
    (out.len() <= max).then_some(out)
}

/// Mutates the input in `data[..size]` in place; returns its new size, or
/// `None` when the caller should use libFuzzer's own mutation instead.
pub fn mutate(
    data: &mut [u8],
    size: usize,
    max_size: usize,
    seed: u32,
    words: &[&str],
) -> Option<usize> {
    let mut rng = Rng::new(seed);
    if rng.below(6) == 0 {
        return None;
    }
    let mut docs = decode(&data[..size]);
    if docs.is_empty() {
        let mut doc = Document::new();
        doc.insert(rng.pick(words).to_string(), "c");
        docs.push(doc);
    }
    for _ in 0..1 + rng.below(3) {
        mutate_docs(&mut docs, &mut rng, words);
    }
    let bytes = encode(&docs, max_size.min(data.len()))?;
    data[..bytes.len()].copy_from_slice(&bytes);
    Some(bytes.len())
}

/// Joins two inputs into `out`: their commands spliced, or a subtree of
/// the second grafted into the first. Returns the size written.
pub fn crossover(first: &[u8], second: &[u8], out: &mut [u8], seed: u32) -> usize {
    let mut rng = Rng::new(seed);
    let mut docs = decode(first);
    let donors = decode(second);
    if docs.is_empty() || donors.is_empty() {
        return 0;
    }
    if rng.below(2) == 0 {
        docs.truncate(1 + rng.below(docs.len()));
        let from = rng.below(donors.len());
        docs.extend(donors[from..].iter().cloned());
        docs.truncate(DOCS_MAX);
    } else {
        let donor = Bson::Document(rng.pick(&donors).clone());
        let graft = nth(&donor, rng.below(count(&donor))).clone();
        let at = rng.below(docs.len());
        let mut root = Bson::Document(std::mem::take(&mut docs[at]));
        let target = rng.below(count(&root));
        if let Some(node) = nth_mut(&mut root, target) {
            *node = graft;
        }
        docs[at] = into_document(root);
    }
    match encode(&docs, out.len()) {
        Some(bytes) => {
            out[..bytes.len()].copy_from_slice(&bytes);
            bytes.len()
        }
        None => 0,
    }
}

fn mutate_docs(docs: &mut Vec<Document>, rng: &mut Rng, words: &[&str]) {
    match rng.below(12) {
        0 if docs.len() > 1 => {
            let at = rng.below(docs.len());
            docs.remove(at);
        }
        1 if docs.len() < DOCS_MAX => {
            let at = rng.below(docs.len());
            docs.insert(at, docs[at].clone());
        }
        2 if docs.len() > 1 => {
            let (a, b) = (rng.below(docs.len()), rng.below(docs.len()));
            docs.swap(a, b);
        }
        _ => {
            let donor = Bson::Document(rng.pick(docs).clone());
            let at = rng.below(docs.len());
            let mut root = Bson::Document(std::mem::take(&mut docs[at]));
            let target = rng.below(count(&root));
            if let Some(node) = nth_mut(&mut root, target) {
                mutate_node(node, &donor, rng, words);
            }
            docs[at] = into_document(root);
        }
    }
}

fn into_document(root: Bson) -> Document {
    match root {
        Bson::Document(doc) => doc,
        other => {
            let mut doc = Document::new();
            doc.insert("x", other);
            doc
        }
    }
}

fn mutate_node(node: &mut Bson, donor: &Bson, rng: &mut Rng, words: &[&str]) {
    match rng.below(11) {
        0 => *node = value(rng, words, 2),
        10 => {
            let word = *rng.pick(words);
            let levels = *rng.pick(&NESTING_LEVELS);
            for _ in 0..levels {
                let inner = std::mem::replace(node, Bson::Null);
                *node = match rng.below(2) {
                    0 => Bson::Array(vec![inner]),
                    _ => Bson::Document(std::iter::once((word.to_string(), inner)).collect()),
                };
            }
        }
        1 => *node = nth(donor, rng.below(count(donor))).clone(),
        2 => {
            let inner = std::mem::replace(node, Bson::Null);
            let mut doc = Document::new();
            doc.insert(rng.pick(words).to_string(), inner);
            *node = Bson::Document(doc);
        }
        3 => *node = Bson::Array(vec![std::mem::replace(node, Bson::Null)]),
        _ => match node {
            Bson::Document(doc) => mutate_document(doc, donor, rng, words),
            Bson::Array(items) => mutate_array(items, donor, rng, words),
            leaf => tweak_leaf(leaf, rng, words),
        },
    }
}

fn mutate_document(doc: &mut Document, donor: &Bson, rng: &mut Rng, words: &[&str]) {
    let mut fields: Vec<(String, Bson)> = std::mem::take(doc).into_iter().collect();
    match rng.below(4) {
        0 if !fields.is_empty() => {
            let at = rng.below(fields.len());
            fields[at].0 = key(rng, words);
        }
        1 if !fields.is_empty() => {
            fields.remove(rng.below(fields.len()));
        }
        2 => {
            let graft = nth(donor, rng.below(count(donor))).clone();
            let at = rng.below(fields.len() + 1);
            fields.insert(at, (key(rng, words), graft));
        }
        _ => {
            let at = rng.below(fields.len() + 1);
            fields.insert(at, (key(rng, words), value(rng, words, 1)));
        }
    }
    *doc = fields.into_iter().collect();
}

fn mutate_array(items: &mut Vec<Bson>, donor: &Bson, rng: &mut Rng, words: &[&str]) {
    match rng.below(3) {
        0 if !items.is_empty() => {
            items.remove(rng.below(items.len()));
        }
        1 => {
            let graft = nth(donor, rng.below(count(donor))).clone();
            items.insert(rng.below(items.len() + 1), graft);
        }
        _ => items.insert(rng.below(items.len() + 1), value(rng, words, 1)),
    }
}

fn tweak_leaf(leaf: &mut Bson, rng: &mut Rng, words: &[&str]) {
    *leaf = match leaf {
        Bson::Int32(n) => match rng.below(4) {
            0 => Bson::Int32(n.wrapping_add(1)),
            1 => Bson::Int32(n.wrapping_neg()),
            2 => Bson::Int64(i64::from(*n)),
            _ => Bson::Double(f64::from(*n)),
        },
        Bson::Int64(n) => match rng.below(3) {
            0 => Bson::Int64(n.wrapping_sub(1)),
            1 => Bson::Int32(*n as i32),
            _ => Bson::Double(*n as f64),
        },
        Bson::Double(x) => match rng.below(3) {
            0 => Bson::Double(-*x),
            1 => Bson::Int64(*x as i64),
            _ => Bson::Double(*x * 1e10),
        },
        Bson::String(s) => match rng.below(4) {
            0 => Bson::String(format!("${s}")),
            1 => Bson::String(format!("{s}.{}", rng.pick(words))),
            2 => Bson::String(s.chars().rev().collect()),
            _ => Bson::String(rng.pick(words).to_string()),
        },
        Bson::Boolean(b) => Bson::Boolean(!*b),
        _ => value(rng, words, 1),
    };
}

fn key(rng: &mut Rng, words: &[&str]) -> String {
    match rng.below(8) {
        0 => rng.below(4).to_string(),
        1 => format!("a.{}", rng.pick(words)),
        _ => rng.pick(words).to_string(),
    }
}

/// A value of any BSON type, leaning towards the edges: limits of each
/// number type, NaN, empty and operator-named strings.
fn value(rng: &mut Rng, words: &[&str], depth: u32) -> Bson {
    let kinds = if depth == 0 { 16 } else { 18 };
    match rng.below(kinds) {
        0 => Bson::Null,
        1 => Bson::Boolean(rng.below(2) == 0),
        2 => Bson::Int32(*rng.pick(&[0, 1, -1, 2, 3, 100, i32::MAX, i32::MIN])),
        3 => Bson::Int64(*rng.pick(&[0, 1, -1, 1 << 53, i64::MAX, i64::MIN])),
        4 => Bson::Double(*rng.pick(&[
            0.5,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e308,
            9.3e18,
            -9.3e18,
            1e-300,
        ])),
        5 => Bson::Decimal128(
            rng.pick(&["1", "-0", "NaN", "Infinity", "1E+6144", "0.1"])
                .parse()
                .unwrap_or(bson::Decimal128::from_bytes([0; 16])),
        ),
        6 | 7 => Bson::String(rng.pick(words).to_string()),
        8 => Bson::String(
            rng.pick(&["", "a", "a.b", "$a", "$$ROOT", "a.$[x]", "x"])
                .to_string(),
        ),
        9 => Bson::ObjectId(ObjectId::from_bytes([1; 12])),
        10 => Bson::DateTime(bson::DateTime::from_millis(*rng.pick(&[
            0,
            -1,
            i64::MAX,
            i64::MIN,
            1_700_000_000_000,
        ]))),
        11 => Bson::Timestamp(bson::Timestamp {
            time: *rng.pick(&[0, 1, u32::MAX]),
            increment: *rng.pick(&[0, 1, u32::MAX]),
        }),
        12 => Bson::Binary(Binary {
            subtype: *rng.pick(&[BinarySubtype::Uuid, BinarySubtype::Generic]),
            bytes: vec![7; *rng.pick(&[0, 16])],
        }),
        13 => regex(
            *rng.pick(&["a", "^a.*", "(", ""]),
            *rng.pick(&["", "i", "imsx"]),
        ),
        14 => rng
            .pick(&[Bson::MinKey, Bson::MaxKey, Bson::Undefined])
            .clone(),
        15 => Bson::Array(Vec::new()),
        16 => {
            let mut doc = Document::new();
            doc.insert(key(rng, words), value(rng, words, depth - 1));
            Bson::Document(doc)
        }
        _ => Bson::Array(vec![
            value(rng, words, depth - 1),
            value(rng, words, depth - 1),
        ]),
    }
}

fn regex(pattern: &str, options: &str) -> Bson {
    match (pattern.try_into(), options.try_into()) {
        (Ok(pattern), Ok(options)) => Bson::RegularExpression(bson::Regex { pattern, options }),
        _ => Bson::Null,
    }
}

/// How many values `root` holds, itself included.
fn count(root: &Bson) -> usize {
    1 + match root {
        Bson::Document(doc) => doc.values().map(count).sum(),
        Bson::Array(items) => items.iter().map(count).sum(),
        _ => 0,
    }
}

/// The `n`th value of `root` in pre-order (`root` itself past the end).
fn nth(root: &Bson, n: usize) -> &Bson {
    if n == 0 {
        return root;
    }
    let mut left = n - 1;
    let children: Box<dyn Iterator<Item = &Bson>> = match root {
        Bson::Document(doc) => Box::new(doc.values()),
        Bson::Array(items) => Box::new(items.iter()),
        _ => return root,
    };
    for child in children {
        let size = count(child);
        if left < size {
            return nth(child, left);
        }
        left -= size;
    }
    root
}

fn nth_mut(root: &mut Bson, n: usize) -> Option<&mut Bson> {
    if n == 0 {
        return Some(root);
    }
    let mut left = n - 1;
    let children: Box<dyn Iterator<Item = &mut Bson>> = match root {
        Bson::Document(doc) => Box::new(doc.iter_mut().map(|(_, value)| value)),
        Bson::Array(items) => Box::new(items.iter_mut()),
        _ => return None,
    };
    for child in children {
        let size = count(child);
        if left < size {
            return nth_mut(child, left);
        }
        left -= size;
    }
    None
}

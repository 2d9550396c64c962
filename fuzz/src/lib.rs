//! Helpers shared by the fuzz targets: a structure-aware mutator for inputs
//! made of BSON documents laid end to end.
//!
//! libFuzzer's byte mutations rarely keep BSON's length prefixes right, so
//! on a command document nearly every mutation would yield bytes the target
//! skips. [`bson_mutate`] decodes the documents, changes their tree (values,
//! keys, whole subtrees taken from elsewhere in the input, operator names
//! from the target's dictionary) and encodes them again, so nearly every
//! mutation reaches the command layer. It falls back to libFuzzer's own
//! mutations now and then, which keep fixed-width changes (a number's
//! bytes, a string's letters) and use its comparison hints.

pub mod bson_mutate;

//! Aggregation expressions: `{$add: ["$a", 1]}`, `"$a.b"`, `{$cond: ...}`.
//!
//! An expression is parsed once ([`Expr::parse`]) into a tree whose operator
//! names, arities and variable references are already checked, then evaluated
//! many times against documents ([`Expr::eval`]). Evaluation distinguishes a
//! *missing* value (a path that leads nowhere, `$$REMOVE`) from `null`, as
//! mongod does; [`Expr::eval`] reports missing as `null`, and
//! [`Expr::eval_optional`] keeps the distinction for `$project`-like stages.
//!
//! Invariants: parsing bounds nesting depth ([`EXPR_DEPTH_MAX`]), so
//! evaluation recursion is bounded too; operators that can grow a value
//! check the result against [`VALUE_BYTES_MAX`]. Errors carry mongod's codes.
//!
//! `$$NOW` and `$$CLUSTER_TIME` are variables the caller binds
//! ([`Expr::eval_with`]); unbound, they are missing.
//!
//! Not here: time zones other than UTC and fixed offsets (Olson names),
//! PCRE-only regex syntax, collation-aware string comparison, `$function`
//! and `$accumulator` (JavaScript), and exact decimal128 arithmetic (decimal
//! inputs are computed in double precision and returned as decimal128).

mod arith;
mod arrays;
mod ast;
mod convert;
mod date_math;
mod dates;
mod eval;
mod parse;
mod regex;
mod sets;
mod strings;
mod value;

pub use ast::{DatePart, Expr, Op};
pub use regex::{Compiled as CompiledRegex, RegexOp};
pub use value::{is_truthy, type_name};

pub(crate) use arith::as_exact_i64 as exact_i64;
pub(crate) use arith::decimal as decimal_value;
pub(crate) use eval::lookup_document;
pub(crate) use parse::field_path as field_path_parts;
pub(crate) use value::{approx_document_size, approx_size};

/// Deepest expression tree accepted; documents nest at most 100 levels, and
/// this leaves room for operator wrappers around such documents.
pub const EXPR_DEPTH_MAX: usize = 150;

/// Largest value an operator may build (strings, arrays), mongod's 16 MiB
/// document limit: it stops `$concatArrays`/`$range` blowing up memory.
pub const VALUE_BYTES_MAX: usize = 16 * 1024 * 1024;

#[cfg(test)]
mod tests;

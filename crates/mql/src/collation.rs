//! Collations: MongoDB's `collation` option (`{locale: "en", strength: 2}`),
//! parsed with mongod's errors and compared through ICU4X's collator.
//!
//! [`Collation::parse`] returns `None` for the simple collation (`locale:
//! "simple"`), so callers keep the binary comparison path, and a shared
//! [`Collation`] otherwise. A collation only ever compares two strings; every
//! other value, and every field name, compares as without one
//! ([`crate::order::compare_collated`] applies it).
//!
//! Each option maps to ICU's attribute of the same meaning: `strength` 1-5 to
//! primary..identical, `caseLevel`, `caseFirst` (`kf`), `numericOrdering`
//! (`kn`), `alternate` and `maxVariable`. `normalization` is accepted either
//! way: ICU4X always compares in canonical equivalence, which is the result
//! `normalization: true` asks for and a superset of what `false` promises.
//! `backwards` (French secondary ordering) has no ICU4X option: it is
//! refused unless it names the locale's own default (false for every
//! locale but `fr_CA`).
//!
//! Locales are mongod's list of supported collation locales; ICU4X itself
//! would silently fall back to the root order for an unknown one.
//!
//! Not here: collation-aware sort keys for indexes (indexes use the simple
//! collation), and `version` checking (any string is accepted and ignored).

use std::cmp::Ordering;
use std::fmt;

use bson::{Bson, Document};
use icu_collator::options::{AlternateHandling, CaseLevel, CollatorOptions, MaxVariable, Strength};
use icu_collator::preferences::{CollationCaseFirst, CollationNumericOrdering};
use icu_collator::{Collator, CollatorBorrowed, CollatorPreferences};
use icu_locale_core::Locale;

use crate::order::type_name;
use crate::{Code, Error, Result};

/// The locale that means "no collation": strings compare byte-wise.
pub const SIMPLE_LOCALE: &str = "simple";

/// mongod's supported collation locales (the MongoDB manual's "Collation
/// Locales and Default Parameters"), before any `@collation=` variant.
const LOCALES: &[&str] = &[
    "af",
    "am",
    "ar",
    "as",
    "az",
    "be",
    "bg",
    "bn",
    "bo",
    "bs",
    "bs_Cyrl",
    "ca",
    "chr",
    "cs",
    "cy",
    "da",
    "de",
    "de_AT",
    "dsb",
    "dz",
    "ee",
    "el",
    "en",
    "en_US",
    "en_US_POSIX",
    "eo",
    "es",
    "et",
    "fa",
    "fa_AF",
    "fi",
    "fil",
    "fo",
    "fr",
    "fr_CA",
    "ga",
    "gl",
    "gu",
    "ha",
    "haw",
    "he",
    "hi",
    "hr",
    "hsb",
    "hu",
    "hy",
    "id",
    "ig",
    "is",
    "it",
    "ja",
    "ka",
    "kk",
    "kl",
    "km",
    "kn",
    "ko",
    "kok",
    "ky",
    "lb",
    "lkt",
    "ln",
    "lo",
    "lt",
    "lv",
    "mk",
    "ml",
    "mn",
    "mr",
    "ms",
    "mt",
    "my",
    "nb",
    "ne",
    "nl",
    "nn",
    "om",
    "or",
    "pa",
    "pl",
    "ps",
    "pt",
    "ro",
    "ru",
    "se",
    "si",
    "sk",
    "sl",
    "smn",
    "sq",
    "sr",
    "sr_Latn",
    "sv",
    "sw",
    "ta",
    "te",
    "th",
    "to",
    "tr",
    "ug",
    "uk",
    "ur",
    "vi",
    "wae",
    "yi",
    "yo",
    "zh",
    "zh_Hant",
    "zu",
];

/// The fields a collation document may carry.
const FIELDS: &[&str] = &[
    "locale",
    "caseLevel",
    "caseFirst",
    "strength",
    "numericOrdering",
    "alternate",
    "maxVariable",
    "normalization",
    "backwards",
    "version",
];

/// A non-simple collation, ready to compare strings. Shared (`Arc`) by the
/// filter, sort and command that use it; comparing needs no allocation.
pub struct Collation {
    /// The document as given, for equality and messages.
    spec: Document,
    collator: CollatorBorrowed<'static>,
}

impl fmt::Debug for Collation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Collation({})", self.spec)
    }
}

/// Two collations are the same when they were specified the same way.
impl PartialEq for Collation {
    fn eq(&self, other: &Collation) -> bool {
        self.spec == other.spec
    }
}

impl Collation {
    /// Parses a `collation` document; `Ok(None)` is the simple collation.
    ///
    /// ```
    /// use bson::doc;
    /// use mql::collation::Collation;
    ///
    /// let ci = Collation::parse(&doc! {"locale": "en", "strength": 2})?.unwrap();
    /// assert!(ci.compare_str("PING", "ping").is_eq());
    /// assert!(Collation::parse(&doc! {"locale": "simple"})?.is_none());
    /// # Ok::<(), mql::Error>(())
    /// ```
    pub fn parse(spec: &Document) -> Result<Option<Collation>> {
        let options = Options::read(spec)?;
        if options.locale == SIMPLE_LOCALE {
            return Ok(None);
        }
        let locale = icu_locale(options.locale).ok_or_else(|| invalid_locale(spec))?;
        let mut prefs = CollatorPreferences::from(&locale);
        if let Some(case_first) = options.case_first {
            prefs.case_first = Some(case_first);
        }
        if let Some(numeric) = options.numeric_ordering {
            prefs.numeric_ordering = Some(if numeric {
                CollationNumericOrdering::True
            } else {
                CollationNumericOrdering::False
            });
        }
        let mut icu = CollatorOptions::default();
        icu.strength = options.strength;
        icu.case_level = options
            .case_level
            .map(|on| if on { CaseLevel::On } else { CaseLevel::Off });
        icu.alternate_handling = options.alternate;
        icu.max_variable = options.max_variable;
        let collator = Collator::try_new(prefs, icu).map_err(|_| invalid_locale(spec))?;
        if let Some(backwards) = options.backwards
            && backwards != (options.locale == "fr_CA")
        {
            return Err(Error::bad_value(format!(
                "collation option 'backwards: {backwards}' is not supported for locale '{}'",
                options.locale
            )));
        }
        Ok(Some(Collation {
            spec: spec.clone(),
            collator,
        }))
    }

    /// Compares two strings under this collation.
    pub fn compare_str(&self, a: &str, b: &str) -> Ordering {
        self.collator.compare(a, b)
    }

    /// The collation document as it was given.
    pub fn spec(&self) -> &Document {
        &self.spec
    }
}

/// The typed fields of a collation document.
struct Options<'a> {
    locale: &'a str,
    strength: Option<Strength>,
    case_level: Option<bool>,
    case_first: Option<CollationCaseFirst>,
    numeric_ordering: Option<bool>,
    alternate: Option<AlternateHandling>,
    max_variable: Option<MaxVariable>,
    backwards: Option<bool>,
}

impl<'a> Options<'a> {
    fn read(spec: &'a Document) -> Result<Options<'a>> {
        if let Some(field) = spec.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(Error::location(
                40415,
                format!("BSON field 'collation.{field}' is an unknown field."),
            ));
        }
        let locale = match spec.get("locale") {
            Some(Bson::String(locale)) => locale.as_str(),
            Some(other) => return Err(wrong_type("locale", "string", other)),
            None => {
                return Err(Error::location(
                    40414,
                    "BSON field 'collation.locale' is missing but a required field",
                ));
            }
        };
        if let Some(version) = spec.get("version")
            && !matches!(version, Bson::String(_))
        {
            return Err(wrong_type("version", "string", version));
        }
        // `normalization` is checked for its type only (see the module doc).
        boolean(spec, "normalization")?;
        Ok(Options {
            locale,
            strength: strength(spec)?,
            case_level: boolean(spec, "caseLevel")?,
            case_first: enumerated(
                spec,
                "caseFirst",
                &[
                    ("upper", CollationCaseFirst::Upper),
                    ("lower", CollationCaseFirst::Lower),
                    ("off", CollationCaseFirst::False),
                ],
            )?,
            numeric_ordering: boolean(spec, "numericOrdering")?,
            alternate: enumerated(
                spec,
                "alternate",
                &[
                    ("non-ignorable", AlternateHandling::NonIgnorable),
                    ("shifted", AlternateHandling::Shifted),
                ],
            )?,
            max_variable: enumerated(
                spec,
                "maxVariable",
                &[
                    ("punct", MaxVariable::Punctuation),
                    ("space", MaxVariable::Space),
                ],
            )?,
            backwards: boolean(spec, "backwards")?,
        })
    }
}

fn wrong_type(field: &str, expected: &str, value: &Bson) -> Error {
    Error::type_mismatch(format!(
        "BSON field 'collation.{field}' is the wrong type '{}', expected type '{expected}'",
        type_name(value)
    ))
}

fn boolean(spec: &Document, field: &str) -> Result<Option<bool>> {
    match spec.get(field) {
        None => Ok(None),
        Some(Bson::Boolean(b)) => Ok(Some(*b)),
        Some(other) => Err(wrong_type(field, "bool", other)),
    }
}

fn strength(spec: &Document) -> Result<Option<Strength>> {
    let Some(value) = spec.get("strength") else {
        return Ok(None);
    };
    let level = match value {
        Bson::Int32(n) => i64::from(*n),
        Bson::Int64(n) => *n,
        Bson::Double(d) if d.fract() == 0.0 && d.is_finite() => *d as i64,
        Bson::Double(d) => {
            return Err(Error::bad_value(format!(
                "BSON field 'collation.strength' value '{d}' is not an integer"
            )));
        }
        other => return Err(wrong_type("strength", "int", other)),
    };
    match level {
        1 => Ok(Some(Strength::Primary)),
        2 => Ok(Some(Strength::Secondary)),
        3 => Ok(Some(Strength::Tertiary)),
        4 => Ok(Some(Strength::Quaternary)),
        5 => Ok(Some(Strength::Identical)),
        n if n > 5 => Err(Error::location(
            51024,
            format!("BSON field 'strength' value must be <= 5, actual value '{n}'"),
        )),
        n => Err(Error::location(
            51024,
            format!("BSON field 'strength' value must be >= 1, actual value '{n}'"),
        )),
    }
}

fn enumerated<T: Copy>(spec: &Document, field: &str, names: &[(&str, T)]) -> Result<Option<T>> {
    match spec.get(field) {
        None => Ok(None),
        Some(Bson::String(name)) => names
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| Some(*value))
            .ok_or_else(|| {
                Error::bad_value(format!(
                    "Enumeration value '{name}' for field 'collation.{field}' is not a valid value."
                ))
            }),
        Some(other) => Err(wrong_type(field, "string", other)),
    }
}

/// The ICU4X locale for one of mongod's locale names (`en_US`,
/// `zh@collation=unihan`), or `None` if mongod does not support it.
fn icu_locale(name: &str) -> Option<Locale> {
    let (base, variant) = match name.split_once("@collation=") {
        Some((base, variant)) => (base, Some(variant)),
        None => (name, None),
    };
    if !LOCALES.contains(&base) {
        return None;
    }
    let mut tag = base.replace('_', "-");
    // ICU's POSIX variant is the root order with `en_US`'s data; ICU4X names
    // it as a BCP-47 variant.
    if base == "en_US_POSIX" {
        tag = "en-US-posix".to_owned();
    }
    if let Some(variant) = variant {
        tag.push_str("-u-co-");
        tag.push_str(bcp47_collation_type(variant)?);
    }
    Locale::try_from_str(&tag).ok()
}

/// The BCP-47 `co` value of an ICU `@collation=` keyword value; ICU's long
/// legacy names have short BCP-47 forms.
fn bcp47_collation_type(variant: &str) -> Option<&str> {
    let short = match variant {
        "phonebook" => "phonebk",
        "traditional" => "trad",
        "dictionary" => "dict",
        "gb2312han" => "gb2312",
        other => other,
    };
    let well_formed =
        (3..=8).contains(&short.len()) && short.bytes().all(|b| b.is_ascii_alphanumeric());
    well_formed.then_some(short)
}

/// mongod's message for a locale it cannot load, quoting the whole spec.
fn invalid_locale(spec: &Document) -> Error {
    let fields: Vec<String> = spec.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    Error::new(
        Code::BAD_VALUE,
        format!("Field 'locale' is invalid in: {{ {} }}", fields.join(", ")),
    )
}

#[cfg(test)]
mod tests;

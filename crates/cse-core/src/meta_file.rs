//! The metadata file (`META.json`) that the `cse` CLI and the bindings' file helpers keep beside
//! a ciphertext: an object's metadata as OSS returns it on HEAD, a flat JSON object of header
//! name to string value.
//!
//! Written as pretty JSON, names in lower case, in the order given, with a final newline. Read
//! with the entries in file order and repeated names kept (the header decoder refuses them), a
//! non-string value refused on an envelope header and ignored elsewhere (legacy files carry such
//! entries, and other metadata is not the engine's to judge).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::meta::{DEFAULT_PREFIX, is_envelope_header};

/// The largest metadata file worth reading: OSS allows 8 KiB of user metadata, so anything near
/// this is not one.
pub const MAX_META_FILE_LEN: u64 = 1024 * 1024;

/// Why a metadata file was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetaFileError {
    /// The text is not a JSON object; `detail` is the JSON parser's account (line, column).
    NotAnObject {
        /// Where and why parsing stopped.
        detail: String,
    },
    /// An envelope header's value is not a JSON string.
    NotAString {
        /// The header name, as written.
        name: String,
    },
}

impl fmt::Display for MetaFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnObject { detail } => {
                write!(f, "not a JSON object of header names to strings: {detail}")
            }
            Self::NotAString { name } => write!(f, "the value of {name} must be a JSON string"),
        }
    }
}

impl core::error::Error for MetaFileError {}

/// The entries of a JSON object in order, repeated names kept.
struct Entries(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of header names to string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, serde_json::Value>()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// The header pairs of a metadata file's text, in file order.
///
/// ```
/// let pairs = cse_core::parse_meta_file(br#"{"x-oss-meta-a": "1", "size": 5}"#)?;
/// assert_eq!(pairs, [("x-oss-meta-a".to_owned(), "1".to_owned())]);
/// # Ok::<(), cse_core::MetaFileError>(())
/// ```
///
/// # Errors
/// [`MetaFileError::NotAnObject`] for text that is not one JSON object,
/// [`MetaFileError::NotAString`] for an envelope header whose value is not a string.
pub fn parse_meta_file(text: &[u8]) -> Result<Vec<(String, String)>, MetaFileError> {
    let entries: Entries =
        serde_json::from_slice(text).map_err(|e| MetaFileError::NotAnObject {
            detail: alloc::format!("{e}"),
        })?;
    let mut headers = Vec::with_capacity(entries.0.len());
    for (name, value) in entries.0 {
        match value {
            serde_json::Value::String(value) => headers.push((name, value)),
            _ if is_envelope_header(name.as_bytes(), DEFAULT_PREFIX) => {
                return Err(MetaFileError::NotAString { name });
            }
            _ => {}
        }
    }
    Ok(headers)
}

/// The metadata file's text for `headers`: pretty JSON, names in lower case, in this order, and
/// a final newline.
///
/// ```
/// let text = cse_core::meta_file_text(&[("B-Name".into(), "1".into()), ("a".into(), "2".into())]);
/// assert_eq!(text, "{\n  \"b-name\": \"1\",\n  \"a\": \"2\"\n}\n");
/// ```
#[must_use]
pub fn meta_file_text(headers: &[(String, String)]) -> String {
    struct Ordered<'a>(&'a [(String, String)]);
    impl Serialize for Ordered<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(Some(self.0.len()))?;
            for (name, value) in self.0 {
                map.serialize_entry(&name.to_ascii_lowercase(), value)?;
            }
            map.end()
        }
    }
    // Serializing string pairs cannot fail.
    let mut text = serde_json::to_string_pretty(&Ordered(headers)).unwrap_or_default();
    text.push('\n');
    text
}

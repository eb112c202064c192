//! META.json: an object's metadata as OSS returns it on HEAD, a flat JSON object of header name
//! to string value. Names are kept as written (the engine matches them case-insensitively) and
//! written in lower case.

use std::fmt;
use std::path::Path;

use cse_core::{DEFAULT_PREFIX, is_envelope_header};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::error::{CliError, CliResult};
use crate::files::read_small;

/// The largest META.json accepted; OSS allows 8 KiB of user metadata.
const MAX_META_LEN: u64 = 1024 * 1024;

/// The header pairs of a META.json, in file order.
pub type Headers = Vec<(String, String)>;

/// The entries of a JSON object in order, keeping repeated names so the engine can refuse them.
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

/// Reads the META.json at `path`, given as the argument `flag`.
///
/// # Errors
/// Exit 2 when the file cannot be read, is not a JSON object, or an envelope entry is not a
/// string.
pub fn read(path: &Path, flag: &str) -> CliResult<Headers> {
    let bytes = read_small(path, flag, MAX_META_LEN)?;
    parse(&bytes, &format!("{flag} {}", path.display()))
}

/// Parses META.json text; `origin` names it in messages.
///
/// # Errors
/// As [`read`].
pub fn parse(bytes: &[u8], origin: &str) -> CliResult<Headers> {
    let entries: Entries = serde_json::from_slice(bytes).map_err(|e| {
        CliError::usage(format!(
            "{origin}: not a JSON object of header names to strings: {e}"
        ))
    })?;
    let mut headers = Vec::with_capacity(entries.0.len());
    for (name, value) in entries.0 {
        match value {
            serde_json::Value::String(value) => headers.push((name, value)),
            _ if is_envelope_header(name.as_bytes(), DEFAULT_PREFIX) => {
                return Err(CliError::usage(format!(
                    "{origin}: the value of {name} must be a JSON string"
                )));
            }
            // Other metadata is not ours to judge; legacy files carry such entries.
            _ => {}
        }
    }
    Ok(headers)
}

/// The pairs as a pretty JSON object, names in lower case, in the given order.
pub fn to_json(headers: &[(String, String)]) -> String {
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
    // Serializing strings to a String cannot fail.
    let mut text = serde_json::to_string_pretty(&Ordered(headers)).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_duplicates_and_ignores_foreign_non_strings() {
        let h = parse(
            br#"{"X-Oss-Meta-Client-Side-Encryption-Key":"a","x-oss-meta-client-side-encryption-key":"b","n":1}"#,
            "t",
        )
        .unwrap();
        assert_eq!(
            h,
            vec![
                ("X-Oss-Meta-Client-Side-Encryption-Key".into(), "a".into()),
                ("x-oss-meta-client-side-encryption-key".into(), "b".into()),
            ]
        );
    }

    #[test]
    fn refuses_arrays_and_non_string_envelope_values() {
        let e = parse(b"[]", "t").unwrap_err();
        assert_eq!(e.code(), 2);
        assert!(e.to_string().contains("JSON object"), "{e}");
        let e = parse(br#"{"x-oss-meta-client-side-encryption-start":5}"#, "t").unwrap_err();
        assert!(
            e.to_string().contains("client-side-encryption-start"),
            "{e}"
        );
    }

    #[test]
    fn writes_lower_case_in_order() {
        let text = to_json(&[("B-Name".into(), "1".into()), ("a".into(), "2".into())]);
        assert_eq!(text, "{\n  \"b-name\": \"1\",\n  \"a\": \"2\"\n}\n");
    }
}

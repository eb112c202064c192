//! The material description (`matdesc`): a flat JSON object of strings that names the master key.
//!
//! Writers differ (Python `json.dumps` writes `{"a": "b"}` with spaces, Go compact and sorted,
//! Java in hash order), so readers here compare the parsed map, never the text. This engine writes
//! the canonical form: compact, keys sorted by their UTF-8 bytes, non-ASCII escaped as `\uXXXX` so
//! the value is a valid HTTP header.

use alloc::collections::BTreeMap;
use alloc::string::String;
use core::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use crate::error::{Error, Result};

/// A parsed material description. Equality is map equality.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MatDesc(BTreeMap<String, String>);

impl MatDesc {
    /// An empty description (the header is then omitted).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a matdesc header value: any JSON object whose values are strings.
    ///
    /// # Errors
    /// [`Error::InvalidMatDesc`] for anything else, including a repeated key (which JSON parsers
    /// disagree on, so it could select different keys in different SDKs).
    pub fn parse(text: &[u8]) -> Result<Self> {
        serde_json::from_slice::<Self>(text).map_err(|_| Error::InvalidMatDesc)
    }

    /// Adds or replaces an entry.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.insert(key.into(), value.into());
        self
    }

    /// Whether there are no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The canonical header value: compact JSON, sorted keys, ASCII only. Empty for an empty map.
    #[must_use]
    pub fn to_canonical(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        let mut out = String::from("{");
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_string(&mut out, k);
            out.push(':');
            push_json_string(&mut out, v);
        }
        out.push('}');
        out
    }
}

impl fmt::Debug for MatDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl fmt::Display for MatDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical())
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for MatDesc {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        Self(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

fn push_json_string(out: &mut String, s: &str) {
    use core::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    // Writing to a String cannot fail.
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

impl<'de> Deserialize<'de> for MatDesc {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> core::result::Result<Self, D::Error> {
        struct StrictMap;
        impl<'de> Visitor<'de> for StrictMap {
            type Value = MatDesc;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of strings with distinct keys")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> core::result::Result<MatDesc, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    if out.insert(k, v).is_some() {
                        return Err(serde::de::Error::custom("duplicate key"));
                    }
                }
                Ok(MatDesc(out))
            }
        }
        deserializer.deserialize_map(StrictMap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_and_go_forms_parse_to_the_same_map() {
        let py = MatDesc::parse(br#"{"k1": "v1", "a": "b/c"}"#).unwrap();
        let go = MatDesc::parse(br#"{"a":"b/c","k1":"v1"}"#).unwrap();
        assert_eq!(py, go);
        assert_eq!(py.to_canonical(), r#"{"a":"b/c","k1":"v1"}"#);
    }

    #[test]
    fn canonical_escapes_to_ascii_and_round_trips() {
        let m = MatDesc::new().with("ключ", "q\"\\\u{1}😀").with("<", ">&");
        let text = m.to_canonical();
        assert!(text.is_ascii());
        assert_eq!(
            text,
            r#"{"<":">&","\u043a\u043b\u044e\u0447":"q\"\\\u0001\ud83d\ude00"}"#
        );
        assert_eq!(MatDesc::parse(text.as_bytes()).unwrap(), m);
    }

    #[test]
    fn rejects_non_objects_non_strings_and_duplicates() {
        for bad in [
            &b"[]"[..],
            b"\"x\"",
            br#"{"a":1}"#,
            br#"{"a":{"b":"c"}}"#,
            br#"{"a":"b","a":"c"}"#,
            br#"{"a":"b""#,
            b"",
            br#"{"a":"b"} x"#,
        ] {
            assert_eq!(MatDesc::parse(bad), Err(Error::InvalidMatDesc), "{bad:?}");
        }
    }
}

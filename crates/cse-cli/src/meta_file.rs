//! META.json: an object's metadata as OSS returns it on HEAD, a flat JSON object of header name
//! to string value, read and written by the engine's codec (`cse_core::parse_meta_file`,
//! `cse_core::meta_file_text`), which the Python package's file helpers share.

use std::path::Path;

use cse_core::{MAX_META_FILE_LEN, meta_file_text, parse_meta_file};

use crate::error::{CliError, CliResult};
use crate::files::read_small;

/// The header pairs of a META.json, in file order.
pub type Headers = Vec<(String, String)>;

/// Reads the META.json at `path`, given as the argument `flag`.
///
/// # Errors
/// Exit 2 when the file cannot be read, is not a JSON object, or an envelope entry is not a
/// string.
pub fn read(path: &Path, flag: &str) -> CliResult<Headers> {
    let bytes = read_small(path, flag, MAX_META_FILE_LEN)?;
    parse(&bytes, &format!("{flag} {}", path.display()))
}

/// Parses META.json text (the engine's codec); `origin` names it in messages.
///
/// # Errors
/// As [`read`].
pub fn parse(bytes: &[u8], origin: &str) -> CliResult<Headers> {
    parse_meta_file(bytes).map_err(|e| CliError::usage(format!("{origin}: {e}")))
}

/// The pairs as META.json text: the engine's codec (pretty, lower-case names, in order).
pub fn to_json(headers: &[(String, String)]) -> String {
    meta_file_text(headers)
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

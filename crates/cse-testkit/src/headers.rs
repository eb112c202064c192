//! Header pairs from the fuzz targets' text format.

/// Splits `data` into header pairs: one pair per `\n`-separated line, the name before the first
/// `:` and the value after it (a line without `:` is a name with an empty value). Bytes are kept
/// as they are, so names and values need not be UTF-8, as on the wire. Empty data: no pairs.
#[must_use]
pub fn lines(data: &[u8]) -> Vec<(&[u8], &[u8])> {
    if data.is_empty() {
        return Vec::new();
    }
    data.split(|&b| b == b'\n')
        .map(|line| match line.iter().position(|&b| b == b':') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, &b""[..]),
        })
        .collect()
}

/// Owned `(name, value)` string pairs as the `(&str, &str)` pairs the engine's decoder takes.
pub fn as_refs(pairs: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

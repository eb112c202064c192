//! The little XML the server writes and reads: OSS bodies are flat (errors, multipart results,
//! part lists), so escaping element text and finding `<Tag>…</Tag>` is all it takes, and a
//! scanner this simple cannot panic on any input.

/// Escapes text for an element body.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Undoes [`escape`] and decimal or hex character references; anything else after a `&` is
/// kept as written.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let decoded = tail.find(';').and_then(|end| {
            let entity = &tail[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The raw (still escaped) bodies of every `<tag>…</tag>` in `xml`, in order. Nested elements of
/// the same name are not supported (OSS has none).
pub(crate) fn elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let body = &rest[start + open.len()..];
        let Some(end) = body.find(&close) else { break };
        out.push(&body[..end]);
        rest = &body[end + close.len()..];
    }
    out
}

/// The unescaped text of the first `<tag>…</tag>`, if any.
pub(crate) fn text(xml: &str, tag: &str) -> Option<String> {
    elements(xml, tag).first().map(|s| unescape(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_finds_elements() {
        let s = "a<b>&\"c'";
        assert_eq!(unescape(&escape(s)), s);
        let xml = "<R><P><N>1</N></P><P><N>2</N></P><M>x&amp;y&#65;&#x42;&bogus;</M></R>";
        assert_eq!(elements(xml, "P"), ["<N>1</N>", "<N>2</N>"]);
        assert_eq!(text(xml, "M").as_deref(), Some("x&yAB&bogus;"));
        assert_eq!(text(xml, "Z"), None);
        assert_eq!(elements("<P>unclosed", "P"), Vec::<&str>::new());
        assert_eq!(unescape("tail&amp"), "tail&amp");
    }
}

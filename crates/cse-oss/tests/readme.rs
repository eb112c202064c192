//! The README's Rust examples are the crate docs' examples, which rustdoc compiles: each
//! ```` ```rust,no_run ```` block of the top-level README must be the visible lines of one
//! ```` ```no_run ```` block of `src/lib.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

fn blocks(text: &str, open: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in text.lines() {
        match current.as_mut() {
            None if line.trim() == open => current = Some(Vec::new()),
            None => {}
            Some(block) if line.trim() == "```" => {
                out.push(std::mem::take(block));
                current = None;
            }
            Some(block) => block.push(line.to_owned()),
        }
    }
    out
}

#[test]
fn every_readme_example_is_a_compiled_crate_doc_example() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("../../README.md")).unwrap();
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    // The crate docs: `//! ` stripped, rustdoc's hidden `# ` lines dropped.
    let docs: String = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .filter(|l| !(l.starts_with("# ") || *l == "#"))
        .map(|l| format!("{l}\n"))
        .collect();
    let compiled = blocks(&docs, "```no_run");
    let shown = blocks(&readme, "```rust,no_run");
    assert!(
        shown.len() >= 2,
        "the README shows the client and the streaming client"
    );
    for block in &shown {
        assert!(
            compiled.contains(block),
            "this README example is not a crate doc example of cse-oss:\n{}",
            block.join("\n")
        );
    }
}

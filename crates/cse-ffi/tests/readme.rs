//! The README's C example is `tests/c/example.c`, which `tests/c/run.sh` compiles and runs: this
//! test keeps the two the same.

#[test]
fn readme_holds_the_example_verbatim() {
    let readme = include_str!("../README.md");
    let example = include_str!("c/example.c");
    let begin = "<!-- example.c begin -->\n```c\n";
    let end = "```\n<!-- example.c end -->";
    let start = readme.find(begin).expect("README.md has the begin marker") + begin.len();
    let stop = readme[start..]
        .find(end)
        .expect("README.md has the end marker")
        + start;
    assert!(
        readme[start..stop] == *example,
        "README.md's example differs from tests/c/example.c: copy the file between the markers"
    );
}

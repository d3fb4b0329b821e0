// Shared by lite-alloc-tune's build script and the benchmark's firmware
// probe (bench/firmware-probe/build.rs), which include it: neither crate can
// depend on the other.

/// The arguments of `lite_alloc::General`'s attribute in `source`, if it is
/// there: in the attributes right above `pub struct General;`, the
/// `lite_alloc(...)` applied without the crate feature `check`
/// (`#[cfg_attr(not(feature = "check"), lite_alloc(...))]`), or a plain
/// `#[lite_alloc(...)]`.
fn general_line(source: &str) -> Option<String> {
    let at = source.find("pub struct General;")?;
    // The attributes: back to the last doc comment or blank line.
    let lines: Vec<&str> = source[..at].lines().collect();
    let first = lines
        .iter()
        .rposition(|l| l.trim().is_empty() || l.trim_start().starts_with("///"))?
        + 1;
    let attributes = lines[first..].join(" ");
    let from = match attributes.find("not(feature = \"check\")") {
        Some(unchecked) => unchecked + attributes[unchecked..].find("lite_alloc(")?,
        None => attributes.find("#[lite_alloc(")? + 2,
    } + "lite_alloc(".len();
    // To the parenthesis that closes `lite_alloc(`.
    let mut depth = 1;
    let end = attributes[from..].find(|c| {
        depth += match c {
            '(' | '[' => 1,
            ')' | ']' => -1,
            _ => 0,
        };
        depth == 0
    })? + from;
    Some(
        attributes[from..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    )
}

//! The docs are held to the code: the README's "Cargo features" table and the crate docs'
//! "Cargo features" list name exactly the features `Cargo.toml` declares.

use std::collections::BTreeSet;

/// Every feature in `Cargo.toml`'s `[features]`, but `default` and hidden ones (`__…`).
fn cargo_features() -> BTreeSet<&'static str> {
    let manifest = include_str!("../Cargo.toml");
    let section = manifest
        .split("\n[features]\n")
        .nth(1)
        .expect("a [features] section");
    let section = section.split("\n[").next().unwrap();
    section
        .lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with(' '))
        .filter_map(|line| Some(line.split_once(" = ")?.0.trim()))
        .filter(|name| *name != "default" && !name.starts_with("__"))
        .collect()
}

#[test]
fn the_readme_lists_every_cargo_feature() {
    let readme = include_str!("../README.md");
    let table = readme
        .split("## Cargo features")
        .nth(1)
        .expect("a Cargo features section")
        .split("\n## ")
        .next()
        .unwrap();
    let listed: BTreeSet<&str> = table
        .lines()
        .filter_map(|line| {
            let name = line.strip_prefix("| `")?;
            Some(&name[..name.find('`')?])
        })
        .collect();
    assert_eq!(listed, cargo_features());
}

#[test]
fn the_crate_docs_list_every_cargo_feature() {
    let lib = include_str!("../src/lib.rs");
    let list = lib
        .split("//! # Cargo features")
        .nth(1)
        .expect("a Cargo features section")
        .split("\n//! #")
        .next()
        .unwrap();
    let listed: BTreeSet<&str> = list
        .lines()
        .filter_map(|line| {
            let name = line.strip_prefix("//! - `")?;
            Some(&name[..name.find('`')?])
        })
        .collect();
    assert_eq!(listed, cargo_features());
}

/// The names in backticks in the README's section `heading`, up to the next `## `.
fn backticked_in_section(heading: &str) -> BTreeSet<&'static str> {
    let readme = include_str!("../README.md");
    let section = readme
        .split(heading)
        .nth(1)
        .expect("the section")
        .split("\n## ")
        .next()
        .unwrap();
    section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|name| {
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
        })
        .collect()
}

/// File stems in `dir` with extension `.rs`.
fn stems(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect()
}

#[test]
fn the_readme_names_every_test_file_and_fuzz_target() {
    let named = backticked_in_section("## Development");
    for test in stems("tests") {
        assert!(
            named.contains(test.as_str()),
            "tests/{test}.rs is not in the README's list"
        );
    }
    for target in stems("fuzz/fuzz_targets") {
        assert!(
            named.contains(target.as_str()),
            "fuzz target {target} is not in the README's list"
        );
    }
}

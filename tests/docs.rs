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

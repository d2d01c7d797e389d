//! Every tests/*.rs file is compiled into exactly one test crate. Cargo.toml sets
//! `autotests = false` and lists the crates (`[[test]]`), so a new tests/NAME.rs that no crate
//! names with `mod NAME;` would otherwise be skipped without a word: its tests would never run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

/// The `path`s of Cargo.toml's `[[test]]` sections (tests/net.rs, …).
fn test_crate_roots(manifest: &str) -> Vec<String> {
    let mut roots = Vec::new();
    let mut in_test = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_test = line == "[[test]]";
        } else if in_test && let Some(value) = line.strip_prefix("path") {
            let value = value.trim_start().trim_start_matches('=').trim();
            roots.push(value.trim_matches('"').to_string());
        }
    }
    roots
}

/// The file names a crate root takes in as modules: `mod NAME;` → `NAME.rs`.
fn modules_of(root: &str) -> Vec<String> {
    root.lines()
        .filter_map(|line| line.trim().strip_prefix("mod ")?.strip_suffix(';'))
        .map(|name| format!("{name}.rs"))
        .collect()
}

/// Which crates each tests/*.rs file belongs to, for every such file (an empty list: none).
fn crates_of_each_file(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(
        manifest.lines().any(|l| l.trim() == "autotests = false"),
        "Cargo.toml lists its test crates itself"
    );
    let mut owners: BTreeMap<String, Vec<String>> = std::fs::read_dir(dir.join("tests"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".rs"))
        .map(|name| (name, Vec::new()))
        .collect();
    for root in test_crate_roots(&manifest) {
        let file = root.strip_prefix("tests/").unwrap_or(&root).to_string();
        owners.entry(file.clone()).or_default().push(root.clone());
        let text = std::fs::read_to_string(dir.join(&root)).unwrap();
        for module in modules_of(&text) {
            owners.entry(module).or_default().push(root.clone());
        }
    }
    owners
}

#[test]
fn every_tests_file_is_a_module_of_exactly_one_test_crate() {
    let owners = crates_of_each_file(Path::new(env!("CARGO_MANIFEST_DIR")));
    for root in ["net.rs", "gui.rs", "solo.rs"] {
        assert_eq!(
            owners.get(root).map(Vec::len),
            Some(1),
            "{root} is a test crate"
        );
    }
    let wrong: Vec<_> = owners
        .iter()
        // common/ is a folder, taken in by every crate as its shared module.
        .filter(|(file, crates)| *file != "common.rs" && crates.len() != 1)
        .collect();
    assert!(
        wrong.is_empty(),
        "each tests/*.rs file must be named by exactly one [[test]] crate of Cargo.toml \
         (`mod NAME;` in tests/net.rs, tests/gui.rs or tests/solo.rs); these are not: {wrong:?}"
    );
}

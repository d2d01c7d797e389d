//! docs/ARCHITECTURE.md against the source: every thread the code starts has its row in the
//! thread table, every source folder is named, and every thread is started with a name this
//! check can read. Plain text scanning, no build of the program needed.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn architecture() -> String {
    std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).expect("docs/ARCHITECTURE.md")
}

/// Every `.rs` file under `dir`, and every folder, relative to the crate root.
fn walk(dir: &Path, files: &mut Vec<PathBuf>, folders: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("a readable folder")
        .map(|e| e.expect("a folder entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            folders.push(path.strip_prefix(root()).unwrap_or(&path).to_path_buf());
            walk(&path, files, folders);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The code of a source file that the program runs: a file of tests, and the `mod tests`
/// at the end of a file, start threads of their own that are no part of the map.
fn program_code(path: &Path) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).expect("a readable source file");
    match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The first string literal after `at` in `code`, if it opens within `within` bytes.
fn literal_after(code: &str, at: usize, within: usize) -> Option<String> {
    let rest = &code[at..];
    let open = rest.find('"').filter(|&i| i <= within)?;
    let close = rest[open + 1..].find('"')?;
    Some(rest[open + 1..open + 1 + close].to_string())
}

/// `natter-io-{index}` and `natter-io-{i}` are one name: placeholders compare alike.
fn shape(name: &str) -> String {
    let mut out = String::new();
    let mut in_braces = false;
    for c in name.chars() {
        match c {
            '{' => {
                in_braces = true;
                out.push_str("{}");
            }
            '}' => in_braces = false,
            _ if in_braces => {}
            c => out.push(c),
        }
    }
    out
}

/// Names of the threads the program starts: `Builder::name("…")`, `.name(format!("…"))` and
/// `in_background("…", …)`; and each `spawn` whose name cannot be read so.
fn threads_in_source() -> (BTreeSet<String>, Vec<String>) {
    let (mut files, mut folders) = (Vec::new(), Vec::new());
    walk(&root().join("src"), &mut files, &mut folders);
    let mut names = BTreeSet::new();
    let mut unreadable = Vec::new();
    for file in files {
        let code = program_code(&file);
        for (at, _) in code.match_indices("in_background(") {
            let before = &code[..at];
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            if before.ends_with("fn ") || before[line_start..].trim_start().starts_with("//") {
                continue;
            }
            match literal_after(&code, at, 20) {
                Some(name) => names.insert(shape(&name)),
                None => {
                    unreadable.push(format!("{}: in_background without a name", file.display()));
                    false
                }
            };
        }
        for (at, _) in code.match_indices("spawn(") {
            let line_start = code[..at].rfind('\n').map_or(0, |i| i + 1);
            if code[line_start..at].trim_start().starts_with("//") {
                continue;
            }
            // The builder's `.name(…)` comes just before its `.spawn(…)`.
            let window_start = code[..at]
                .char_indices()
                .rev()
                .filter(|&(_, c)| c == '\n')
                .nth(3)
                .map_or(0, |(i, _)| i);
            let window = &code[window_start..at];
            let Some(name_at) = window.rfind(".name(") else {
                unreadable.push(format!(
                    "{}: a spawn without Builder::name: {}",
                    file.display(),
                    code[line_start..].lines().next().unwrap_or_default().trim()
                ));
                continue;
            };
            let after_name = &window[name_at + ".name(".len()..];
            if after_name.trim_start().starts_with('"') || after_name.contains("format!(") {
                if let Some(name) = literal_after(window, name_at, 30) {
                    names.insert(shape(&name));
                }
            } else if !code[..at].contains("fn in_background") {
                unreadable.push(format!(
                    "{}: a thread named by a variable outside in_background",
                    file.display()
                ));
            }
        }
    }
    (names, unreadable)
}

/// The thread names in the first column of ARCHITECTURE.md's thread table.
fn threads_in_the_map(doc: &str) -> BTreeSet<String> {
    let table = doc
        .split("\n## ")
        .find(|section| section.starts_with("2. Threads"))
        .expect("a \"## 2. Threads\" section");
    table
        .lines()
        .filter(|line| line.starts_with("| `natter-"))
        .filter_map(|line| line.split('`').nth(1))
        .map(shape)
        .collect()
}

#[test]
fn every_thread_the_source_starts_has_a_row_in_the_architecture_thread_table() {
    let (in_source, unreadable) = threads_in_source();
    assert!(
        unreadable.is_empty(),
        "threads this check cannot name (start them with Builder::name(\"natter-…\")): {unreadable:#?}"
    );
    assert!(
        in_source.contains("natter-io-{}") && in_source.contains("natter-files-hash"),
        "the scan found too little: {in_source:?}"
    );
    let mapped = threads_in_the_map(&architecture());
    let missing: Vec<_> = in_source.difference(&mapped).collect();
    assert!(
        missing.is_empty(),
        "threads missing from docs/ARCHITECTURE.md's thread table: {missing:?}"
    );
    let gone: Vec<_> = mapped.difference(&in_source).collect();
    assert!(
        gone.is_empty(),
        "rows in docs/ARCHITECTURE.md's thread table for threads no code starts: {gone:?}"
    );
}

#[test]
fn every_source_folder_is_named_in_the_architecture_map() {
    let doc = architecture();
    let (mut files, mut folders) = (Vec::new(), Vec::new());
    walk(&root().join("src"), &mut files, &mut folders);
    assert!(
        folders.len() >= 10,
        "the walk found too little: {folders:?}"
    );
    let missing: Vec<String> = folders
        .iter()
        .map(|folder| format!("`{}/`", folder.display().to_string().replace('\\', "/")))
        .filter(|named| !doc.contains(named.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "source folders docs/ARCHITECTURE.md does not name (as `src/…/`): {missing:?}"
    );
}

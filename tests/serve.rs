//! `natter serve`, the headless host, as a real process on 127.0.0.1 with port 0.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{RawPeer, ServeProcess};

#[test]
fn serve_prints_where_to_connect_then_one_line_per_event() {
    let mut serve = ServeProcess::start(&["--name", "Lab"]);
    let banner = serve
        .printed
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned());
    assert!(
        banner
            .into_iter()
            .any(|l| l.contains("People can connect to") && l.contains("Natter is hosting")),
        "the first lines say where to connect"
    );
    let (mut alice, _) = RawPeer::join(serve.addr, "alice");
    assert!(
        serve
            .line_with("alice joined")
            .contains("(Natter, not encrypted)")
    );
    alice.say("hello from a test", "1");
    assert!(serve.line_with("alice: hello from a test").contains('#'));
}

/// The text of `src/**/*.rs` file that declares `item` (`struct ServeArgs {`), from that line
/// to the closing brace at the start of a line.
fn declaration(item: &str) -> String {
    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let opening = format!("{item} {{");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        if let Some(at) = text
            .lines()
            .position(|l| l.trim_start().ends_with(&opening))
        {
            let body = text
                .lines()
                .skip(at + 1)
                .take_while(|l| !l.starts_with('}'));
            return body.collect::<Vec<_>>().join("\n");
        }
    }
    panic!("no `{opening}` in src/");
}

/// The flags a clap `Args`/`Parser` struct declares: each field with `long` in its
/// `#[arg(…)]` is `--field-name` (`long = "x"` would name it; none does yet).
fn declared_flags(item: &str) -> Vec<String> {
    let mut flags = Vec::new();
    let mut attributes = String::new();
    for line in declaration(item).lines().map(str::trim) {
        if line.starts_with("///") || line.starts_with("//") {
            continue;
        }
        let field = line
            .strip_prefix("pub ")
            .unwrap_or(line)
            .split_once(':')
            .filter(|(name, _)| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        match field {
            Some((name, _)) => {
                let is_long = attributes.starts_with("#[arg(")
                    && attributes
                        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                        .any(|word| word == "long");
                assert!(
                    !attributes.contains("long ="),
                    "{item}.{name}: a long name of its own; teach this test to read it"
                );
                if is_long {
                    flags.push(format!("--{}", name.replace('_', "-")));
                }
                attributes.clear();
            }
            None => attributes.push_str(line),
        }
    }
    flags
}

/// The subcommands of a clap `Subcommand` enum: `Serve(ServeArgs)` is `serve`.
fn declared_commands(item: &str) -> Vec<String> {
    declaration(item)
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|l| {
            let name: String = l.chars().take_while(char::is_ascii_alphanumeric).collect();
            name.to_lowercase()
        })
        .collect()
}

/// `natter ARGS --help`, as printed.
fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_natter"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?} --help: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// Each entry of clap's help (`  serve  Host a room…`, or `      --bind <BIND>` with its words
/// indented on the lines below), by its long flag or command name, with the words that
/// explain it.
fn explained(help: &str) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in help.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if trimmed.is_empty() || indent == 0 {
            continue;
        }
        // Options start at column 2 (`-p, --port`) or 6 (`--bind`), commands at 2; their
        // words follow on the line or, indented further, on the lines below.
        let starts_entry = if trimmed.starts_with('-') {
            indent <= 6
        } else {
            indent == 2
        };
        if starts_entry {
            let (head, words) = trimmed.split_once("  ").unwrap_or((trimmed, ""));
            let name = head
                .split([',', ' '])
                .find(|w| w.starts_with("--"))
                .unwrap_or_else(|| head.split(' ').next().unwrap_or(head));
            entries.push((name.to_string(), words.trim().to_string()));
        } else if let Some((_, words)) = entries.last_mut() {
            words.push(' ');
            words.push_str(trimmed);
        }
    }
    entries
}

/// Every subcommand and every flag the code declares (read from the clap structs in src/, so
/// the list cannot fall behind) is in the help, each with words that explain it.
#[test]
fn help_explains_every_command_and_every_flag() {
    let top = explained(&help(&[]));
    let mut expected: Vec<(Vec<&str>, Vec<String>)> = vec![(
        vec![],
        declared_flags("struct Cli")
            .into_iter()
            .chain(declared_commands("enum Command"))
            .collect(),
    )];
    expected.push((vec!["serve"], declared_flags("struct ServeArgs")));
    expected.push((vec!["rooms"], declared_flags("struct RoomsArgs")));
    assert!(expected[1].1.len() >= 20, "{:?}", expected[1].1);
    assert_eq!(
        declared_commands("enum Command"),
        vec!["serve", "rooms"],
        "a new command: add its flags here"
    );
    for (args, names) in expected {
        let entries = if args.is_empty() {
            top.clone()
        } else {
            explained(&help(&args))
        };
        for name in names {
            let words = entries
                .iter()
                .find(|(entry, _)| *entry == name)
                .map(|(_, words)| words.as_str());
            assert!(
                words.is_some_and(|w| w.split_whitespace().count() >= 3),
                "`natter {} --help` does not explain {name}: {words:?} in {entries:#?}",
                args.join(" ")
            );
        }
    }
}

/// The line that took down an I/O thread: `/nic` + U+212A KELVIN SIGN + ` bob` (its lowercase
/// is 2 bytes shorter, and the line was cut at the lowercase's offsets). After it, every new
/// connection, on every I/O thread, is greeted, and the room still flows to everyone.
#[test]
fn after_the_kelvin_line_from_nc_every_io_thread_greets_newcomers_and_relays() {
    const IO_THREADS: usize = 2;
    let mut serve = ServeProcess::start(&["--io-threads", &IO_THREADS.to_string()]);
    let mut mallory = RawPeer::connect(serve.addr);
    mallory.send_raw(b"/nick mallory\n");
    mallory.text_until("is now mallory");
    mallory.send_raw("/nic\u{212A} bob\n/who\n".as_bytes());
    // Connection ids go round the threads: 3 × IO_THREADS newcomers land on each of them.
    let mut newcomers = Vec::new();
    for i in 0..3 * IO_THREADS {
        let mut peer = RawPeer::connect(serve.addr);
        peer.send_raw(format!("/nick p{i}\n").as_bytes());
        let seen = peer.text_until(&format!("is now p{i}"));
        assert!(seen.contains("Welcome to Natter"), "p{i} got {seen:?}");
        newcomers.push(peer);
    }
    // Mallory's own thread answers too (a plain sender is not echoed its own line).
    mallory.text_until("* Online");
    newcomers[0].send_raw(b"still flowing\n");
    for peer in &newcomers[1..] {
        peer.text_until("p0: still flowing");
    }
    mallory.text_until("p0: still flowing");
    // The line was said as typed (the console shows it cleaned, as every message).
    serve.line_with("mallory: /nic\u{212A} bob");
}

/// A build without the window (`--no-default-features`, as the Windows tests under Wine are
/// built) still hosts (every other test here), and `natter` alone says how to use it instead
/// of failing to open a window it does not have.
#[cfg(not(feature = "window"))]
#[test]
fn without_the_window_natter_alone_says_to_use_serve_or_rooms_and_fails() {
    let output = Command::new(env!("CARGO_BIN_EXE_natter")).output().unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "it exits with a failure: {said}");
    assert!(
        said.contains("built without its window")
            && said.contains("natter serve")
            && said.contains("natter rooms"),
        "it says what to use instead: {said}"
    );
}

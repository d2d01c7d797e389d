//! The network-namespace lab for tests: built by scripts/lab.sh, always torn down on drop
//! (also when a test fails), with a way to run code or a program on one of its computers.
//!
//! Where namespaces cannot be made (not root, no `ip`, a container without the right), a lab
//! test prints that it was skipped; with `CI=true` it fails instead, so CI always runs them.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A built lab; `PREFIX-a` … `PREFIX-d` are its computers (see scripts/lab.sh).
pub struct Lab {
    pub prefix: String,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/lab.sh")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

impl Lab {
    /// Builds a lab of its own for `test`, or `None` (after saying why) where namespaces are
    /// unavailable. Panics instead of skipping when CI=true.
    pub fn up(test: &str) -> Option<Lab> {
        let prefix = format!(
            "nl{}x{}",
            std::process::id() % 100_000,
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let output = Command::new("bash")
            .arg(script())
            .args(["up", &prefix])
            .output();
        match output {
            Ok(out) if out.status.success() => Some(Lab { prefix }),
            other => {
                let why = match other {
                    Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
                    Err(e) => e.to_string(),
                };
                assert!(
                    !in_ci(),
                    "{test}: the namespace lab could not be built and CI=true, so this may not skip: {why}"
                );
                // Straight to stderr: eprintln! would be captured, and hidden, for a pass.
                let _ = writeln!(
                    std::io::stderr(),
                    "{test} SKIPPED: network namespaces are unavailable here (needs root, iproute2 and nftables; scripts/setup.sh installs them; with CI=true this fails instead): {why}"
                );
                None
            }
        }
    }

    /// The namespace of computer `name` ("a", "b", …).
    pub fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// Runs `work` on a thread that lives in computer `name`'s network namespace: every socket
    /// it opens, and every thread it starts, is on that computer.
    pub fn within<T: Send + 'static>(
        &self,
        name: &str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> T {
        let path = format!("/var/run/netns/{}", self.ns(name));
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path).expect("the namespace file");
            use std::os::fd::AsRawFd;
            // SAFETY: setns on a valid namespace fd affects only this thread.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns into {path}");
            work()
        })
        .join()
        .expect("the lab thread")
    }

    /// A command that runs `program` on computer `name` (`ip netns exec`).
    pub fn command(&self, name: &str, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.ns(name), program]);
        command
    }

    /// Runs `program args` on computer `name` and returns its output.
    pub fn run(&self, name: &str, program: &str, args: &[&str]) -> Output {
        self.command(name, program)
            .args(args)
            .output()
            .expect("ip netns exec runs")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["down", &self.prefix])
            .status();
    }
}

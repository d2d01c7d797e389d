//! The benches' outside programs (ngIRCd, socat, nc): installed from Debian's archive with
//! apt-get when missing, so that a comparison runs on a fresh machine with one command. Which
//! program a bench needs and how it runs it is the bench's.

use std::process::{Command, Stdio};

/// Whether `program` runs (answers `probe`, an argument it knows such as `--version`).
fn runs(program: &str, probe: &str) -> bool {
    Command::new(program)
        .arg(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Installs Debian's `package` with apt-get unless `program` already runs (idempotent); once
/// more after `apt-get update` when the package lists are stale. Panics with what to do when
/// it cannot (not root, not Debian, no registry). True when it installed it just now.
pub(crate) fn ensure_installed(program: &str, package: &str, probe: &str) -> bool {
    if runs(program, probe) {
        return false;
    }
    println!("installing {package} (apt-get install -y {package}) ...");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", package])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install() {
        let _ = Command::new("apt-get")
            .arg("update")
            .stdout(Stdio::null())
            .status();
        install();
    }
    assert!(
        runs(program, probe),
        "{program} is missing and `apt-get install {package}` did not install it: install it \
         (as root) and run the bench again"
    );
    true
}

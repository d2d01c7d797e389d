//! Build script: on Windows targets, gives `natter.exe` its icon and version information
//! (packaging/windows/natter.rc, compiled with the GNU toolchain's `windres`). Does nothing for
//! other targets. Without `windres` (an MSVC toolchain) the program still builds, without icon,
//! and says so as a cargo warning.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=packaging/windows/natter.rc");
    println!("cargo:rerun-if-changed=packaging/windows/natter.ico");
    println!("cargo:rerun-if-env-changed=WINDRES");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    let (Some(out_dir), Ok(root)) = (env::var_os("OUT_DIR"), env::var("CARGO_MANIFEST_DIR")) else {
        return;
    };
    let object = PathBuf::from(out_dir).join("natter-resources.o");
    let rc = PathBuf::from(&root).join("packaging/windows/natter.rc");
    let version = env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let part = |name: &str| env::var(name).unwrap_or_else(|_| "0".into());
    let windres = env::var("WINDRES")
        .ok()
        .into_iter()
        .chain(["x86_64-w64-mingw32-windres", "windres"].map(String::from));
    for tool in windres {
        let status = Command::new(&tool)
            .arg("--input")
            .arg(&rc)
            .arg("--output")
            .arg(&object)
            .arg("--output-format=coff")
            .arg("--include-dir")
            .arg(PathBuf::from(&root).join("packaging/windows"))
            .arg(format!("-DNATTER_VERSION=\\\"{version}\\\""))
            .arg(format!(
                "-DNATTER_VERSION_MAJOR={}",
                part("CARGO_PKG_VERSION_MAJOR")
            ))
            .arg(format!(
                "-DNATTER_VERSION_MINOR={}",
                part("CARGO_PKG_VERSION_MINOR")
            ))
            .arg(format!(
                "-DNATTER_VERSION_PATCH={}",
                part("CARGO_PKG_VERSION_PATCH")
            ))
            .status();
        match status {
            Ok(status) if status.success() => {
                // Only the program: tests and benches need no icon.
                println!("cargo:rustc-link-arg-bin=natter={}", object.display());
                return;
            }
            Ok(status) => {
                println!("cargo:warning={tool} failed ({status}): natter.exe gets no icon");
                return;
            }
            Err(_) => continue,
        }
    }
    println!("cargo:warning=no windres found (set WINDRES): natter.exe gets no icon");
}

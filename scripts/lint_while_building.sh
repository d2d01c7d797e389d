# Sourced by scripts/check.sh and scripts/windows_tests.sh: the builds that follow run clippy's
# driver on natter's own crate (dependencies are compiled by plain rustc, as under `cargo
# clippy`) with warnings as errors, so building the tests is also `cargo clippy -- -D warnings`
# for every target built. A dependency is then compiled once, not once checked for clippy and
# once built for the tests (issue 28: the separate clippy step took 196 s of a cold CI run).
#
# Before relying on it, a line that clippy (not rustc) rejects must fail through the wrapper:
# if a toolchain ever changed how the driver takes its arguments, this stops CI instead of
# letting every lint pass unseen.
clippy_driver="$(rustc --print sysroot)/bin/clippy-driver"
if [ ! -x "$clippy_driver" ]; then
  rustup component add clippy
fi
export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
# How `cargo clippy -- -D warnings` hands its arguments to the driver.
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
lint_probe=$(mktemp -d)
printf 'pub fn probe(v: &[u8]) -> bool {\n    v.len() == 0\n}\n' >"$lint_probe/probe.rs"
if "$clippy_driver" rustc --edition 2024 --crate-type lib --emit metadata \
  --out-dir "$lint_probe" "$lint_probe/probe.rs" >"$lint_probe/log" 2>&1; then
  rm -rf "$lint_probe"
  echo "clippy's driver did not reject clippy::len_zero with CLIPPY_ARGS=$CLIPPY_ARGS:" \
    "lints would not run while building" >&2
  exit 1
fi
grep -q "len_zero" "$lint_probe/log" || {
  cat "$lint_probe/log" >&2
  rm -rf "$lint_probe"
  echo "clippy's driver failed on the probe for another reason than the lint" >&2
  exit 1
}
rm -rf "$lint_probe"

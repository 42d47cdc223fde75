//! Cargo reads a package's build-dependencies only when it has a build
//! script: this one makes the `syn` and `quote` features listed in
//! `Cargo.toml` count for the proc macros every other package uses.
//!
//! It names its one input. Without that, cargo decides whether to run it
//! again from the newest modification time in the whole package, to the
//! nanosecond, and a copy of the workspace made with `tar` (which keeps
//! whole seconds) would rebuild everything above this crate.
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
}

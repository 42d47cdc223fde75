//! One feature set for every dependency, whichever package is built.
//!
//! Cargo picks a dependency's features from the packages one command
//! builds. The checker builds the student's server alone
//! (`cargo build -p exercises --bin exercise-03`), the tests build the whole
//! workspace, and the checker itself is built with `cargo run -p checker`:
//! without this crate each of those asks for a slightly different set
//! (`libc` with `extra_traits` for the checker's `nix`, `syn` with `visit`
//! for one macro and not another...), and everything above the difference,
//! tokio, hyper and axum among them, is compiled once per set. Every
//! package of the workspace depends on this crate, and this crate asks for
//! the union of the features, so every command resolves the same set and
//! reuses what an earlier one compiled. The book's "What it costs" gives
//! what that saves on a student's first run.
//!
//! The crate has no code. `cargo hakari generate` writes its `Cargo.toml`
//! from the workspace's dependencies (the settings are in
//! `.config/hakari.toml`); run it after changing a dependency or its
//! features, or CI says that a build compiled a dependency again.

//! `cargo run -p checker`: see [`checker::cli`] for the commands.

fn main() -> std::process::ExitCode {
    checker::cli::main()
}

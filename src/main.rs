//! The `kustoplan` binary; everything lives in the library.

fn main() -> std::process::ExitCode {
    kustoplan::cli::run()
}

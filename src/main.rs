//! The `kustoplan` binary; everything lives in the library.

fn main() -> std::process::ExitCode {
    restore_default_sigpipe();
    kustoplan::cli::run()
}

/// Rust ignores SIGPIPE, so `kustoplan plan | head` would panic on the closed pipe. Like other
/// Unix tools, end quietly instead.
#[cfg(unix)]
fn restore_default_sigpipe() {
    // SAFETY: called once at start-up before any other thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_default_sigpipe() {}

//! The `kustoplan` binary; everything lives in the library.

fn main() -> std::process::ExitCode {
    one_malloc_arena();
    end_quietly_on_closed_output();
    kustoplan::cli::run()
}

/// SIGPIPE stays ignored (Rust's default), so a server that closes its socket during an upload
/// is an error apply reports, never a silent kill after changes were made. A closed stdout or
/// stderr (`kustoplan plan | head`) is different: like other Unix tools, end quietly as SIGPIPE
/// would, instead of printing a panic.
#[cfg(unix)]
fn end_quietly_on_closed_output() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        let closed_output = (message.starts_with("failed printing to stdout")
            || message.starts_with("failed printing to stderr"))
            && message.contains("Broken pipe");
        if closed_output {
            // SAFETY: restoring the default action and raising the signal in this process; the
            // default action ends the process, exactly what an unignored SIGPIPE does.
            unsafe {
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                libc::raise(libc::SIGPIPE);
            }
        }
        default_hook(info);
    }));
}

#[cfg(not(unix))]
fn end_quietly_on_closed_output() {}

/// glibc gives every thread that allocates its own malloc arena and keeps freed memory in it.
/// Manifests are parsed on worker threads and live results are parsed on tokio's, then the
/// trees are dropped on the main thread, so each arena keeps its high-water mark: at 10,000
/// tables a plan's peak memory was a third higher than with one arena, for no speed gained
/// (BENCHMARKS.md). The threads spend little time in malloc, so they share one.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_malloc_arena() {
    // SAFETY: mallopt only changes the allocator's tuning; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_malloc_arena() {}

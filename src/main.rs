//! The `kustoplan` binary; everything lives in the library.

/// mimalloc instead of glibc's malloc: thread-local free lists and no arena locks, so parsing on
/// several threads and freeing on another costs neither lock contention nor a kept high-water
/// mark per arena (see BENCHMARKS.md, session 10).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    commit_memory_when_used();
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

/// mimalloc commits each new arena whole by default, and holds freed pages for 10 ms before
/// returning them: at 10,000 tables a plan's peak memory was a fifth higher than with glibc's
/// malloc. Committing pages as they are used and returning them at once keeps it at glibc's
/// (BENCHMARKS.md, session 10), for a little more system time.
fn commit_memory_when_used() {
    // The positions of the options in mimalloc's `mi_option_e` (include/mimalloc.h), which
    // the binding does not name.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: setting allocator options is not thread safe; called before any thread starts.
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
}

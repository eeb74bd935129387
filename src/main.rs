//! The `kustoplan` binary; everything lives in the library.

/// mimalloc instead of glibc's malloc: thread-local free lists and no arena locks, so parsing on
/// several threads and freeing on another costs neither lock contention nor a kept high-water
/// mark per arena (see BENCHMARKS.md, session 10).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    no_transparent_huge_pages();
    if !serves_sandbox(std::env::args_os()) {
        commit_memory_when_used();
    }
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

/// Whether the command line is `kustoplan sandbox serve` (global options such as `--color`
/// may come later): that long-running server keeps mimalloc's defaults (its peak memory is no
/// target).
fn serves_sandbox(mut args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let _program = args.next();
    args.next().is_some_and(|a| a == "sandbox") && args.next().is_some_and(|a| a == "serve")
}

/// mimalloc asks for transparent huge pages for its memory, so each first touch of a fresh
/// 2 MiB region made the kernel zero all of it: a quarter of the sandbox server's CPU during an
/// apply from empty at 10,000 tables, whose scripts allocate and free megabytes each, and a
/// sixth of a no-change plan's samples. Without them the server used about a fifth less CPU,
/// and a 10,000-table plan about 0.05 s less time and 15 MB less memory (BENCHMARKS.md,
/// session 11).
#[cfg(target_os = "linux")]
fn no_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process. Its result is not checked
    // on purpose: where the kernel refuses it, kustoplan runs as before, only slower.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn no_transparent_huge_pages() {}

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

#[cfg(test)]
mod tests {
    use super::serves_sandbox;

    fn args(line: &str) -> impl Iterator<Item = std::ffi::OsString> {
        line.split(' ')
            .map(std::ffi::OsString::from)
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn only_the_sandbox_server_keeps_the_allocators_defaults() {
        assert!(serves_sandbox(args("kustoplan sandbox serve --dir d")));
        assert!(!serves_sandbox(args("kustoplan sandbox")));
        assert!(!serves_sandbox(args("kustoplan sandbox status")));
        assert!(!serves_sandbox(args("kustoplan apply sandbox serve")));
        assert!(!serves_sandbox(args("kustoplan plan")));
    }
}

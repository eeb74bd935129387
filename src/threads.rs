//! Work spread over the cores the way every parallel step of kustoplan does it: scoped
//! threads whose panics carry on in the thread that waits for them, as if the work had run
//! there.

use std::thread::ScopedJoinHandle;

/// What a scoped thread returned; its panic, if it panicked, resumes here.
pub fn joined<T>(handle: ScopedJoinHandle<'_, T>) -> T {
    match handle.join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Runs `here` on this thread while `beside` runs on another, and returns both results.
pub fn beside<A, B: Send>(here: impl FnOnce() -> A, beside: impl FnOnce() -> B + Send) -> (A, B) {
    std::thread::scope(|scope| {
        let other = scope.spawn(beside);
        let done = here();
        (done, joined(other))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_results_come_back_and_a_panic_carries_on() {
        assert_eq!(beside(|| 1, || "two"), (1, "two"));
        let caught = std::panic::catch_unwind(|| beside(|| 1, || -> u8 { panic!("beside") }));
        let panic = caught.expect_err("the panic carries on");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"beside"));
    }
}

//! Long waits on stderr: the CLI's observer of [`crate::providers::wait`].
//!
//! A wait that ends within a second shows nothing. A longer one shows, on a terminal, a
//! spinner line `<what> … 3s` that counts up and is replaced by a final line when the wait
//! ends; elsewhere (CI logs, pipes) plain lines: one when the wait passes a second, one every
//! [`PLAIN_EVERY`] while it lasts, and a final one, never with control characters.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::ColorChoice;
use crate::providers::wait::{WaitEvent, WaitId, WaitObserver, WaitOutcome, set_observer};

/// How long a wait runs before it is shown: shorter ones would only flicker.
const SHOW_AFTER: Duration = Duration::from_secs(1);
/// How often a plain line repeats while a wait lasts: often enough to tell a hang from a
/// wait in a CI log, rarely enough not to flood it.
const PLAIN_EVERY: u64 = 10;
/// How often the observer looks at its waits.
const TICK: Duration = Duration::from_millis(200);

/// The spinners on stderr, for other writers to stderr that must not tear them.
#[derive(Clone)]
pub struct Spinners(MultiProgress);

/// Log output to stderr that lifts the spinners for each write (and draws them again below),
/// so a retry's log line never lands in the middle of a spinner line.
pub struct LogWriter {
    spinners: Option<Spinners>,
}

impl LogWriter {
    /// A writer for one log event.
    pub fn new(spinners: Option<Spinners>) -> LogWriter {
        LogWriter { spinners }
    }
}

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &self.spinners {
            Some(Spinners(multi)) => multi.suspend(|| std::io::stderr().write(buf)),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Installs the observer for this process: spinners where indicatif draws them (stderr is a
/// terminal, `TERM` is set and not `dumb`, `NO_COLOR` is unset), plain lines otherwise. The
/// spinner is coloured only when stderr gets colours (`--color`). Returns the spinners, if
/// any, for the log writer.
pub fn install(color: ColorChoice) -> Option<Spinners> {
    let target = ProgressDrawTarget::stderr();
    let terminal = !target.is_hidden();
    let observer = Arc::new(Progress {
        epoch: Instant::now(),
        state: Mutex::new(State {
            waits: Waits::default(),
            bars: BTreeMap::new(),
        }),
        terminal: terminal.then(|| Terminal {
            multi: MultiProgress::with_draw_target(target),
            style: spinner_style(color.stderr),
        }),
    });
    let spinners = observer
        .terminal
        .as_ref()
        .map(|terminal| Spinners(terminal.multi.clone()));
    if !set_observer(observer.clone()) {
        return None;
    }
    let ticker = std::thread::Builder::new()
        .name("kustoplan-progress".into())
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                observer.tick();
            }
        });
    if let Err(e) = ticker {
        eprintln!("warning: no progress lines for long waits: cannot start their thread: {e}");
    }
    spinners
}

fn spinner_template(color: bool) -> &'static str {
    if color {
        "{spinner:.cyan} {msg} … {elapsed}"
    } else {
        "{spinner} {msg} … {elapsed}"
    }
}

fn spinner_style(color: bool) -> ProgressStyle {
    // The templates are constants, checked by a unit test; the default is only a safety net.
    ProgressStyle::with_template(spinner_template(color))
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

struct Progress {
    epoch: Instant,
    state: Mutex<State>,
    terminal: Option<Terminal>,
}

struct Terminal {
    multi: MultiProgress,
    style: ProgressStyle,
}

struct State {
    waits: Waits,
    bars: BTreeMap<WaitId, ProgressBar>,
}

impl Progress {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while drawing must not silence every later wait.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tick(&self) {
        let now = self.epoch.elapsed();
        let mut state = self.lock();
        match &self.terminal {
            None => {
                for line in state.waits.plain_lines(now) {
                    eprintln!("{line}");
                }
            }
            Some(terminal) => {
                for (id, what, elapsed) in state.waits.newly_shown(now) {
                    let bar = terminal.multi.add(
                        ProgressBar::new_spinner()
                            .with_style(terminal.style.clone())
                            .with_message(what)
                            .with_elapsed(elapsed),
                    );
                    bar.enable_steady_tick(Duration::from_millis(100));
                    state.bars.insert(id, bar);
                }
            }
        }
    }
}

impl WaitObserver for Progress {
    fn event(&self, event: &WaitEvent) {
        let now = self.epoch.elapsed();
        let mut state = self.lock();
        match event {
            WaitEvent::Started { id, what, elapsed } => {
                state.waits.start(*id, what, now.saturating_sub(*elapsed));
            }
            WaitEvent::Ended {
                id,
                elapsed,
                outcome,
            } => {
                let line = state.waits.end(*id, *elapsed, outcome);
                let bar = state.bars.remove(id);
                match (&self.terminal, bar, line) {
                    (Some(terminal), Some(bar), Some(line)) => {
                        bar.finish_and_clear();
                        terminal.multi.remove(&bar);
                        // Above the remaining spinners, which are redrawn below it.
                        terminal.multi.suspend(|| eprintln!("{line}"));
                    }
                    (_, bar, Some(line)) => {
                        if let Some(bar) = bar {
                            bar.finish_and_clear();
                        }
                        eprintln!("{line}");
                    }
                    (_, Some(bar), None) => bar.finish_and_clear(),
                    (_, None, None) => {}
                }
            }
        }
    }
}

/// The waits in progress, against a clock the caller passes in (time since some epoch), so
/// the decisions of when to show what are tested without sleeping.
#[derive(Debug, Default)]
struct Waits {
    active: BTreeMap<WaitId, Active>,
}

#[derive(Debug)]
struct Active {
    what: String,
    started: Duration,
    /// Whether anything was shown for it (a spinner or a plain line).
    shown: bool,
    /// Elapsed whole seconds the last plain line said.
    printed: Option<u64>,
}

impl Waits {
    fn start(&mut self, id: WaitId, what: &str, now: Duration) {
        self.active.insert(
            id,
            Active {
                what: printable(what),
                started: now,
                shown: false,
                printed: None,
            },
        );
    }

    /// The plain lines due at `now`: a wait's first once it passes [`SHOW_AFTER`], then one
    /// every [`PLAIN_EVERY`] seconds.
    fn plain_lines(&mut self, now: Duration) -> Vec<String> {
        let mut lines = Vec::new();
        for wait in self.active.values_mut() {
            let elapsed = now.saturating_sub(wait.started);
            if elapsed <= SHOW_AFTER {
                continue;
            }
            let secs = elapsed.as_secs();
            if wait.printed.is_none_or(|last| secs >= last + PLAIN_EVERY) {
                wait.printed = Some(secs);
                wait.shown = true;
                lines.push(still_line(&wait.what, secs));
            }
        }
        lines
    }

    /// The waits that passed [`SHOW_AFTER`] by `now` and have no spinner yet: id, what, elapsed.
    fn newly_shown(&mut self, now: Duration) -> Vec<(WaitId, String, Duration)> {
        let mut shown = Vec::new();
        for (id, wait) in &mut self.active {
            let elapsed = now.saturating_sub(wait.started);
            if !wait.shown && elapsed > SHOW_AFTER {
                wait.shown = true;
                shown.push((*id, wait.what.clone(), elapsed));
            }
        }
        shown
    }

    /// Forgets the wait; its final line if it was shown or lasted longer than [`SHOW_AFTER`].
    fn end(&mut self, id: WaitId, elapsed: Duration, outcome: &WaitOutcome) -> Option<String> {
        let wait = self.active.remove(&id)?;
        (wait.shown || elapsed > SHOW_AFTER).then(|| end_line(&wait.what, elapsed, outcome))
    }
}

fn still_line(what: &str, secs: u64) -> String {
    format!("{what} ... {secs}s")
}

fn end_line(what: &str, elapsed: Duration, outcome: &WaitOutcome) -> String {
    let secs = elapsed.as_secs();
    match outcome {
        WaitOutcome::Done => format!("{what}: done after {secs}s"),
        WaitOutcome::Failed(why) => format!("{what}: {} after {secs}s", printable(why)),
    }
}

/// `text` without control characters: a wait's description can carry text from a live system
/// (a lease holder's host name), and a log must not get escape sequences from it.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn a_short_wait_shows_nothing() {
        let mut waits = Waits::default();
        waits.start(1, "getting an AAD token (workload_identity)", secs(5.0));
        assert!(waits.plain_lines(secs(5.2)).is_empty());
        assert!(waits.plain_lines(secs(6.0)).is_empty());
        assert_eq!(waits.end(1, secs(0.9), &WaitOutcome::Done), None);
        assert!(waits.plain_lines(secs(60.0)).is_empty());
    }

    #[test]
    fn plain_lines_after_a_second_then_every_ten_seconds_then_a_final_one() {
        let mut waits = Waits::default();
        let what = "waiting for the apply lease in database `db`";
        waits.start(7, what, secs(0.0));
        let mut lines = Vec::new();
        for tick in 1..=125 {
            lines.extend(waits.plain_lines(secs(f64::from(tick) * 0.2)));
        }
        assert_eq!(
            lines,
            [
                format!("{what} ... 1s"),
                format!("{what} ... 11s"),
                format!("{what} ... 21s"),
            ]
        );
        assert_eq!(
            waits.end(7, secs(25.3), &WaitOutcome::Failed("still held".into())),
            Some(format!("{what}: still held after 25s"))
        );
    }

    #[test]
    fn concurrent_waits_are_told_apart_and_end_separately() {
        let mut waits = Waits::default();
        waits.start(1, "waiting for connector a to be RUNNING", secs(0.0));
        waits.start(2, "waiting for connector b to be RUNNING", secs(1.0));
        assert_eq!(
            waits.plain_lines(secs(1.5)),
            ["waiting for connector a to be RUNNING ... 1s"]
        );
        assert_eq!(
            waits.plain_lines(secs(2.5)),
            ["waiting for connector b to be RUNNING ... 1s"]
        );
        assert_eq!(
            waits.end(2, secs(2.0), &WaitOutcome::Done),
            Some("waiting for connector b to be RUNNING: done after 2s".to_string())
        );
        assert!(waits.plain_lines(secs(10.9)).is_empty());
        assert_eq!(
            waits.plain_lines(secs(11.6)),
            ["waiting for connector a to be RUNNING ... 11s"]
        );
    }

    #[test]
    fn a_wait_that_ended_just_after_a_second_still_gets_its_final_line() {
        let mut waits = Waits::default();
        waits.start(3, "retrying Kusto request", secs(0.0));
        assert_eq!(
            waits.end(3, secs(1.1), &WaitOutcome::Done),
            Some("retrying Kusto request: done after 1s".to_string())
        );
        assert_eq!(waits.end(3, secs(1.1), &WaitOutcome::Done), None);
    }

    #[test]
    fn spinners_start_once_per_wait() {
        let mut waits = Waits::default();
        waits.start(4, "verify: route", secs(0.0));
        assert!(waits.newly_shown(secs(0.8)).is_empty());
        assert_eq!(
            waits.newly_shown(secs(1.4)),
            [(4, "verify: route".to_string(), secs(1.4))]
        );
        assert!(waits.newly_shown(secs(3.0)).is_empty());
    }

    #[test]
    fn lines_carry_no_control_characters() {
        let mut waits = Waits::default();
        waits.start(5, "held by evil\u{1b}[2J host\r\n", secs(0.0));
        let lines = waits.plain_lines(secs(2.0));
        let end = waits.end(5, secs(3.0), &WaitOutcome::Failed("bad\u{7}".into()));
        for line in lines.iter().chain(end.iter()) {
            assert!(!line.chars().any(char::is_control), "{line:?}");
        }
    }

    #[test]
    fn spinner_templates_parse() {
        for color in [true, false] {
            assert!(ProgressStyle::with_template(spinner_template(color)).is_ok());
        }
    }
}

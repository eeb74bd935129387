//! How every command ends: the one place an outcome becomes a process exit code. Commands return
//! an [`Exit`]; [`super::run`] turns it into the process's code, so no command picks a number.
//!
//! | code | outcome | commands |
//! |---|---|---|
//! | 0 | [`Exit::Success`] | every command |
//! | 1 | [`Exit::Failure`]: an error, a refusal, problems found, a file not formatted | every command |
//! | 2 | [`Exit::Changes`]: the plan has changes (`--detailed-exitcode`) | `plan` |
//! | 2 | [`Exit::OutOfDate`]: `--check` found the exported files out of date | `export strimzi` |
//! | 3 | [`Exit::StatusFailed`]: a connector, task or route failed | `status` |
//! | 4 | [`Exit::StatusDegraded`]: something is not in its declared state, nothing failed | `status` |
//! | 5 | [`Exit::VerifyFailed`]: a canary check failed or a canary was left behind | `verify`, `apply --verify` |
//! | 130 | [`Exit::InterruptedTwice`]: a second Ctrl-C while changes were being sent | `apply` |
//!
//! Usage errors end with 1, never clap's 2, which `plan --detailed-exitcode` uses for changes.
//! The README's command table documents the same codes; a test checks the two agree.

use std::process::ExitCode;

/// How a command ended, as far as its exit code is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It did what was asked.
    Success,
    /// An error, a refusal, or problems found (the message has been printed).
    Failure,
    /// `plan --detailed-exitcode`: the plan has changes.
    Changes,
    /// `export strimzi --check`: the files in DIR are not what an export writes now.
    OutOfDate,
    /// `status`: a declared connector is missing, or it or one of its tasks is FAILED, or a
    /// route's table recorded a permanent ingestion failure.
    StatusFailed,
    /// `status`: a connector or task is not in its declared state, or a route's table or
    /// failures could not be read, but nothing failed.
    StatusDegraded,
    /// `verify` and `apply --verify`: a check failed or left a canary behind.
    VerifyFailed,
    /// `apply`: interrupted a second time while changes were being sent; the shell's
    /// 128 + SIGINT.
    InterruptedTwice,
}

impl Exit {
    /// Every outcome, in the order of the table above.
    pub const ALL: [Exit; 8] = [
        Exit::Success,
        Exit::Failure,
        Exit::Changes,
        Exit::OutOfDate,
        Exit::StatusFailed,
        Exit::StatusDegraded,
        Exit::VerifyFailed,
        Exit::InterruptedTwice,
    ];

    /// The process exit code.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Changes | Exit::OutOfDate => 2,
            Exit::StatusFailed => 3,
            Exit::StatusDegraded => 4,
            Exit::VerifyFailed => 5,
            Exit::InterruptedTwice => 130,
        }
    }

    /// The commands (as the README's command table names them) that can end this way.
    pub fn commands(self) -> &'static [&'static str] {
        match self {
            Exit::Success | Exit::Failure => &[
                "validate",
                "plan",
                "apply",
                "verify",
                "force-unlock",
                "show",
                "status",
                "import",
                "export strimzi",
                "fmt",
                "schema",
                "sandbox serve",
            ],
            Exit::Changes => &["plan"],
            Exit::OutOfDate => &["export strimzi"],
            Exit::StatusFailed | Exit::StatusDegraded => &["status"],
            Exit::VerifyFailed => &["verify", "apply"],
            Exit::InterruptedTwice => &["apply"],
        }
    }

    /// [`Exit::Success`] when `ok`, else [`Exit::Failure`].
    pub fn success_if(ok: bool) -> Exit {
        if ok { Exit::Success } else { Exit::Failure }
    }

    /// Ends the process at once with this outcome's code, for a signal handler that cannot
    /// return to [`super::run`].
    pub fn now(self) -> ! {
        std::process::exit(i32::from(self.code()))
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        let codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes, [0, 1, 2, 2, 3, 4, 5, 130]);
        assert_eq!(Exit::success_if(true), Exit::Success);
        assert_eq!(Exit::success_if(false), Exit::Failure);
    }

    /// The exit codes each command's row of the README's command table lists: the numbers that
    /// open the last cell or follow one of its `, `.
    fn readme_codes() -> BTreeMap<String, BTreeSet<u8>> {
        let readme = include_str!("../../README.md");
        let mut out = BTreeMap::new();
        for row in readme.lines().filter(|l| l.starts_with("| `kustoplan ")) {
            let command: String = row["| `kustoplan ".len()..]
                .split(' ')
                .take_while(|word| word.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
                .collect::<Vec<_>>()
                .join(" ");
            let cell = row
                .trim_end_matches(" |")
                .rsplit(" | ")
                .next()
                .unwrap_or_default();
            let codes = std::iter::once(cell)
                .chain(cell.split(", ").skip(1))
                .filter_map(|part| part.split([' ', ',']).next()?.parse().ok())
                .collect();
            out.insert(command, codes);
        }
        out
    }

    #[test]
    fn the_readme_documents_every_code_of_every_command_and_no_other() {
        let documented = readme_codes();
        assert!(documented.len() >= 12, "{documented:?}");
        let mut expected: BTreeMap<String, BTreeSet<u8>> = BTreeMap::new();
        for exit in Exit::ALL {
            for command in exit.commands() {
                expected
                    .entry((*command).to_string())
                    .or_default()
                    .insert(exit.code());
            }
        }
        assert_eq!(documented, expected);
    }
}

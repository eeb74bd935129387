//! Reading the command line: Terraform's single-dash spellings, and exit codes for usage errors.
//!
//! kustoplan runs in CI next to Terraform, so people type `-out=plan` and `-detailed-exitcode`.
//! clap would read `-out=plan` as `-o` with the value `ut=plan` and silently write a file of that
//! name; the spellings are rewritten to their `--` forms before clap sees them instead. clap also
//! exits 2 on a usage error, which `plan --detailed-exitcode` reserves for "changes": a mistyped
//! flag in CI would read as "changes", so usage errors exit 1 here.

use super::exit::Exit;
use std::ffi::{OsStr, OsString};

use clap::Parser;

use super::Cli;

/// Terraform's single-dash long options that kustoplan also has, and their `--` forms.
const TERRAFORM_SPELLINGS: [(&str, &str); 10] = [
    ("-out", "--out"),
    ("-detailed-exitcode", "--detailed-exitcode"),
    ("-auto-approve", "--auto-approve"),
    ("-var", "--var"),
    ("-help", "--help"),
    ("-force", "--force"),
    ("-lock-timeout", "--lock-timeout"),
    ("-parallelism", "--parallelism"),
    ("-check", "--check"),
    ("-diff", "--diff"),
];

/// `argv` with Terraform's single-dash spellings (`-out=FILE`, `-out FILE`, `-detailed-exitcode`,
/// `-auto-approve`, `-var NAME=VALUE`, `-help`, `-force`, `-lock-timeout`, `-parallelism`, and
/// `fmt`'s `-check` and `-diff`) rewritten to kustoplan's `--` forms. Arguments
/// after `--` are left as they are.
pub fn terraform_spellings<I, T>(argv: I) -> Vec<OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let mut options_ended = false;
    argv.into_iter()
        .map(Into::into)
        .enumerate()
        .map(|(i, arg)| {
            if i == 0 || options_ended {
                return arg;
            }
            if arg == "--" {
                options_ended = true;
                return arg;
            }
            rewrite(&arg).unwrap_or(arg)
        })
        .collect()
}

fn rewrite(arg: &OsStr) -> Option<OsString> {
    let text = arg.to_str()?;
    let (name, value) = match text.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (text, None),
    };
    let (_, long) = TERRAFORM_SPELLINGS.iter().find(|(tf, _)| *tf == name)?;
    Some(match value {
        Some(value) => format!("{long}={value}").into(),
        None => OsString::from(long),
    })
}

/// Parses `argv` (Terraform spellings accepted); on a usage error, or `--help`/`--version`, clap's
/// message has been printed and the exit code to end with is returned: 0 for help and version, 1
/// for every usage error (never 2, which means "changes" for `plan --detailed-exitcode`).
pub fn parse<I, T>(argv: I) -> Result<Cli, Exit>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    Cli::try_parse_from(terraform_spellings(argv)).map_err(|e| {
        // A closed stderr/stdout leaves nothing else to tell the user.
        let _ = e.print();
        Exit::success_if(e.exit_code() == 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(args: &[&str]) -> Vec<String> {
        terraform_spellings(args.iter().copied())
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn terraform_spellings_become_long_options() {
        assert_eq!(
            rewritten(&[
                "kustoplan",
                "plan",
                "-out=p.plan",
                "-detailed-exitcode",
                "-var",
                "a=b"
            ]),
            [
                "kustoplan",
                "plan",
                "--out=p.plan",
                "--detailed-exitcode",
                "--var",
                "a=b"
            ]
        );
        assert_eq!(
            rewritten(&["kustoplan", "apply", "-auto-approve", "-out", "x"]),
            ["kustoplan", "apply", "--auto-approve", "--out", "x"]
        );
        assert_eq!(
            rewritten(&["kustoplan", "apply", "-parallelism=8"]),
            ["kustoplan", "apply", "--parallelism=8"]
        );
    }

    #[test]
    fn short_options_and_arguments_after_double_dash_are_kept() {
        assert_eq!(
            rewritten(&["kustoplan", "plan", "-o", "x", "-v", "--", "-out"]),
            ["kustoplan", "plan", "-o", "x", "-v", "--", "-out"]
        );
        assert_eq!(
            rewritten(&["kustoplan", "plan", "-outfile"]),
            ["kustoplan", "plan", "-outfile"]
        );
    }

    #[test]
    fn out_equals_is_the_out_file_not_ut() {
        let Ok(cli) = parse(["kustoplan", "plan", ".", "-out=tf.plan"]) else {
            panic!("`-out=tf.plan` parses");
        };
        match cli.command {
            super::super::Command::Plan(args) => {
                assert_eq!(args.out, Some(std::path::PathBuf::from("tf.plan")));
            }
            other => panic!("parsed as {other:?}"),
        }
    }
}

//! `kustoplan validate`.

use std::process::ExitCode;

use super::{ColorChoice, StackArgs};
use crate::diagnostics;
use crate::manifest::{self, LoadOptions};

/// Loads the stack; prints a one-line summary (exit 0) or every problem (exit 1).
pub fn run(args: &StackArgs, color: ColorChoice) -> ExitCode {
    let options = LoadOptions {
        environment: args.env.clone(),
        vars: args.vars.clone(),
    };
    match manifest::load(&args.paths, &options) {
        Ok(m) => {
            let env = m
                .environment
                .as_deref()
                .map(|e| format!(" (environment {e})"))
                .unwrap_or_default();
            println!("valid: {}{env}", m.summary());
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprint!(
                "{}",
                diagnostics::render(&failure.diagnostics, &failure.sources, color.stderr)
            );
            let n = failure.diagnostics.len();
            eprintln!(
                "error: {n} {} found; nothing was sent to any system",
                if n == 1 { "problem" } else { "problems" }
            );
            ExitCode::FAILURE
        }
    }
}

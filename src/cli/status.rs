//! `kustoplan status`.

use std::process::ExitCode;

use super::{
    ColorChoice, StatusArgs, StatusFormat, open_session, report_workflow_error, source_of,
};
use crate::status::{Health, collect, render};

/// Exit code when a declared connector is missing, or it or one of its tasks is FAILED, or a
/// route's table recorded a permanent ingestion failure since `--since`.
pub const EXIT_FAILED: u8 = 3;
/// Exit code when a connector or task is not in its declared state, or a route's table or
/// failures could not be read, but nothing failed.
pub const EXIT_DEGRADED: u8 = 4;

/// Reads and prints the status; the exit code tells scripts whether ingestion runs.
pub fn run(args: &StatusArgs, color: ColorChoice) -> ExitCode {
    let source = source_of(&args.stack, args.sandbox_dir.clone());
    let (session, rt) = match open_session(source, color) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let report = match rt.block_on(collect::collect(&session, args.since)) {
        Ok(report) => report,
        Err(e) => return report_workflow_error(e, color),
    };
    let text = match args.format {
        StatusFormat::Text => render::text(&report, color.stdout),
        StatusFormat::Json => match render::json(&report) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: cannot write the status as JSON: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    print!("{text}");
    match report.health {
        Health::Healthy => ExitCode::SUCCESS,
        Health::Degraded => ExitCode::from(EXIT_DEGRADED),
        Health::Failed => ExitCode::from(EXIT_FAILED),
    }
}

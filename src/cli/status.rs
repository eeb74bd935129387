//! `kustoplan status`.

use super::exit::Exit;

use super::{
    ColorChoice, StatusArgs, StatusFormat, open_session, report_workflow_error, source_of,
};
use crate::status::{Health, collect, render};

/// Reads and prints the status; the exit code tells scripts whether ingestion runs.
pub fn run(args: &StatusArgs, color: ColorChoice) -> Exit {
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
                return Exit::Failure;
            }
        },
    };
    print!("{text}");
    match report.health {
        Health::Healthy => Exit::Success,
        Health::Degraded => Exit::StatusDegraded,
        Health::Failed => Exit::StatusFailed,
    }
}

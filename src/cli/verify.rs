//! `kustoplan verify`, and the canary step of `apply --verify`.

use super::exit::Exit;

use super::{ColorChoice, StatusFormat, VerifyArgs, open_session, source_of};
use crate::plan::Change;
use crate::verify::run::{Deadline, run as run_checks};
use crate::verify::{Check, Scope, VerifyReport, checks, render};
use crate::workflow::Session;

/// Verifies every declared route and table (or those `--table` selects).
pub fn run(args: &VerifyArgs, color: ColorChoice) -> Exit {
    let source = source_of(&args.stack, args.sandbox_dir.clone());
    let (session, rt) = match open_session(source, color) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let selected: Vec<Check> = checks(&session.desired, &session.connectors, Scope::All)
        .into_iter()
        .filter(|c| selects(&args.tables, c))
        .collect();
    if let Some(missing) = args.tables.iter().find(|t| !session_declares(&session, t)) {
        eprintln!("error: --table {missing}: the stack declares no such table");
        return Exit::Failure;
    }
    let report = rt.block_on(verify(&session, selected, args.timeout));
    let text = match args.format {
        StatusFormat::Text => render::text(&report, color.stdout),
        StatusFormat::Json => render::json(&report),
    };
    print!("{text}");
    exit_code(&report)
}

/// Runs the checks the applied `changes` call for (apply --verify).
pub async fn verify_changes(
    session: &Session,
    changes: &[Change],
    timeout: Option<std::time::Duration>,
) -> VerifyReport {
    let selected = checks(
        &session.desired,
        &session.connectors,
        Scope::Changed(changes),
    );
    verify(session, selected, timeout).await
}

async fn verify(
    session: &Session,
    selected: Vec<Check>,
    timeout: Option<std::time::Duration>,
) -> VerifyReport {
    let deadline = timeout.map_or(Deadline::Implied, Deadline::After);
    run_checks(session, selected, deadline, &|line: &str| {
        eprintln!("{line}")
    })
    .await
}

/// [`Exit::VerifyFailed`] when a check failed or left a canary behind.
pub fn exit_code(report: &VerifyReport) -> Exit {
    if report.failed() {
        Exit::VerifyFailed
    } else {
        Exit::Success
    }
}

/// Whether `--table` values select `check` (all when none is given).
fn selects(tables: &[String], check: &Check) -> bool {
    tables.is_empty()
        || tables
            .iter()
            .any(|t| names(t, &check.database, &check.table))
}

fn names(wanted: &str, database: &str, table: &str) -> bool {
    match wanted.split_once('.') {
        Some((db, t)) => db == database && t == table,
        None => wanted == table,
    }
}

fn session_declares(session: &Session, wanted: &str) -> bool {
    session
        .desired
        .databases
        .iter()
        .any(|(db, d)| d.tables.keys().any(|t| names(wanted, db, t)))
}

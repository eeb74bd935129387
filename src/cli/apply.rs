//! `kustoplan apply`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use super::{ApplyArgs, ColorChoice, open_session_for_apply, report_workflow_error, source_of};
use crate::plan::render::{self, impact_name};
use crate::plan::{ImpactClass, Plan, fingerprint};
use crate::providers::kusto::apply::CommandOutcome;
use crate::workflow::{SavedPlan, Session, WorkflowError};

/// Applies a fresh plan of the manifests, or exactly a saved plan if it is still current.
pub fn run(args: &ApplyArgs, color: ColorChoice) -> ExitCode {
    let saved = match saved_plan(args) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let source = match &saved {
        Some(s) => s.source.clone(),
        None => source_of(&args.stack, args.sandbox_dir.clone()),
    };
    let (session, rt) = match open_session_for_apply(source, args.lock_timeout, color) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let plan = match rt.block_on(current_plan(&session, saved)) {
        Ok(p) => p,
        Err(e) => return report_workflow_error(e, color),
    };
    let mut allowed = session.stack_allows.clone();
    allowed.extend(args.allow.iter().copied());
    print!("{}", render::text(&plan, &allowed, color.stdout));
    if plan.is_empty() {
        return restart_failed(args, &session, &rt, color);
    }
    let refused: Vec<_> = plan.refused(&allowed).collect();
    if !refused.is_empty() {
        for c in &refused {
            eprintln!(
                "error: refusing {} change to {}: {}",
                impact_name(c.impact),
                c.address,
                c.summary
            );
        }
        let mut classes: Vec<&str> = refused.iter().map(|c| impact_name(c.impact)).collect();
        classes.sort_unstable();
        classes.dedup();
        let flags: Vec<String> = classes.iter().map(|c| format!("--allow {c}")).collect();
        eprintln!(
            "help: nothing was applied; rerun with {} (or add them to `safety.allow` in the Stack) if you accept the risk",
            flags.join(" ")
        );
        return ExitCode::FAILURE;
    }
    if let Err(e) = rt.block_on(session.validate_connectors(&plan.changes)) {
        return report_workflow_error(e, color);
    }
    if !args.auto_approve && !confirm() {
        return ExitCode::FAILURE;
    }
    let report = rt.block_on(session.apply(&plan.changes, |line| eprintln!("{line}")));
    print_report(&report.commands, color);
    let done = report
        .commands
        .iter()
        .filter(|(_, _, o)| *o == CommandOutcome::Completed)
        .count();
    if report.succeeded() {
        println!(
            "Apply complete: {} {} applied in {} {}.",
            plan.changes.len(),
            if plan.changes.len() == 1 {
                "change"
            } else {
                "changes"
            },
            report.requests,
            if report.requests == 1 {
                "request"
            } else {
                "requests"
            }
        );
        ExitCode::SUCCESS
    } else {
        let unknown = report
            .commands
            .iter()
            .filter(|(_, _, o)| *o == CommandOutcome::Unknown)
            .count();
        if unknown > 0 {
            eprintln!(
                "error: apply stopped: {done} of {} commands confirmed; the outcome of {unknown} is unknown because the response was lost",
                report.commands.len()
            );
        } else {
            eprintln!(
                "error: apply stopped: {done} of {} commands ran (listed above); Kusto scripts are not transactional",
                report.commands.len()
            );
        }
        eprintln!(
            "help: fix the cause, then run `kustoplan plan` to see exactly what remains and apply again"
        );
        ExitCode::FAILURE
    }
}

/// `--restart-failed`: restarts failed connector tasks and reports the outcome.
fn restart_failed(
    args: &ApplyArgs,
    session: &crate::workflow::Session,
    rt: &tokio::runtime::Runtime,
    color: ColorChoice,
) -> ExitCode {
    if !args.restart_failed {
        return ExitCode::SUCCESS;
    }
    let report = match rt.block_on(session.restart_failed(|line| eprintln!("{line}"))) {
        Ok(r) => r,
        Err(e) => return report_workflow_error(e, color),
    };
    if report.commands.is_empty() {
        println!("No failed connector tasks to restart.");
        return ExitCode::SUCCESS;
    }
    print_report(&report.commands, color);
    if report.succeeded() {
        println!(
            "Restarted the failed tasks of {} connector(s); they run again.",
            report.requests
        );
        ExitCode::SUCCESS
    } else {
        eprintln!("error: some connectors did not recover (see above); their task traces say why");
        ExitCode::FAILURE
    }
}

fn saved_plan(args: &ApplyArgs) -> Result<Option<SavedPlan>, String> {
    let [path] = args.stack.paths.as_slice() else {
        return Ok(None);
    };
    let is_plan_file =
        path.is_file() && path.extension().is_some_and(|e| e == "json" || e == "plan");
    if !is_plan_file {
        return Ok(None);
    }
    read_saved(path).map(Some)
}

fn read_saved(path: &Path) -> Result<SavedPlan, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let saved: SavedPlan = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a kustoplan plan file: {e}", path.display()))?;
    if saved.plan.version != crate::plan::PLAN_VERSION {
        return Err(format!(
            "{} was written by a different kustoplan (plan format {}); make a new plan",
            path.display(),
            saved.plan.version
        ));
    }
    Ok(saved)
}

/// A saved plan is used as is, but only if the live state is still the one it was made from.
async fn current_plan(session: &Session, saved: Option<SavedPlan>) -> Result<Plan, WorkflowError> {
    match saved {
        None => Ok(session.plan().await?.0),
        Some(saved) => {
            let observed = session.observe().await?;
            let now = fingerprint(&observed);
            if now != saved.plan.fingerprint {
                return Err(WorkflowError::Target(format!(
                    "stale plan: the live state changed since the plan was made (plan {}, live {}); run `kustoplan plan` again and review the new plan",
                    &saved.plan.fingerprint[..12.min(saved.plan.fingerprint.len())],
                    &now[..12]
                )));
            }
            Ok(saved.plan)
        }
    }
}

fn confirm() -> bool {
    if !std::io::stdin().is_terminal() {
        eprintln!(
            "error: apply needs confirmation; pass --auto-approve when not running in a terminal"
        );
        return false;
    }
    print!("\nDo you want to apply these changes? Only 'yes' is accepted: ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let ok = std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes";
    if !ok {
        eprintln!("Apply cancelled; nothing was changed.");
    }
    ok
}

fn print_report(commands: &[(String, String, CommandOutcome)], color: ColorChoice) {
    let mut last = "";
    for (address, _, outcome) in commands {
        let (mark, style, note) = match outcome {
            CommandOutcome::Completed => ("ok", "\x1b[32m", String::new()),
            CommandOutcome::Failed(reason) => ("FAILED", "\x1b[31m", format!(": {reason}")),
            CommandOutcome::NotRun => ("not run", "\x1b[2m", String::new()),
            CommandOutcome::Unknown => (
                "unknown",
                "\x1b[33m",
                " (response lost; re-plan to see)".to_string(),
            ),
        };
        if address == last && *outcome == CommandOutcome::Completed {
            continue;
        }
        last = address;
        let mark = if color.stdout {
            format!("{style}{mark}\x1b[0m")
        } else {
            mark.to_string()
        };
        println!("  {mark:>7} {address}{note}");
    }
}

/// Impact classes accepted by `--allow`.
pub fn parse_allow(text: &str) -> Result<ImpactClass, String> {
    match text {
        "data-loss" => Ok(ImpactClass::DataLoss),
        "restart" => Ok(ImpactClass::Restart),
        _ => Err(format!("expected `data-loss` or `restart`, found `{text}`")),
    }
}

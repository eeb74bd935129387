//! `kustoplan apply`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use super::{ApplyArgs, ColorChoice, open_session_for_apply, report_workflow_error, source_of};
use crate::interrupt::StopRequest;
use crate::plan::render::{self, impact_name};
use crate::plan::{ImpactClass, Plan};
use crate::providers::kusto::apply::CommandOutcome;
use crate::saved_plan::{self, SavedPlan};
use crate::workflow::{Session, WorkflowError};

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
    let plan = match rt.block_on(current_plan(&session, saved.as_ref())) {
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
    // A saved plan was reviewed when it was made (as `terraform apply PLANFILE`).
    if saved.is_none() && !args.auto_approve && !confirm() {
        return ExitCode::FAILURE;
    }
    let stop = StopRequest::default();
    let watcher = match rt.block_on(async { watch_signals(stop.clone()) }) {
        Ok(watcher) => watcher,
        Err(e) => {
            eprintln!("error: cannot watch for Ctrl-C and SIGTERM: {e}; nothing was applied");
            return ExitCode::FAILURE;
        }
    };
    let report = rt.block_on(session.apply(&plan.changes, &stop, |line| eprintln!("{line}")));
    watcher.abort();
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
        if report.interrupted {
            eprintln!(
                "error: apply interrupted: {done} of {} commands ran (listed above); nothing more was sent",
                report.commands.len()
            );
            eprintln!("help: run `kustoplan plan` to see exactly what remains and apply again");
            return ExitCode::FAILURE;
        }
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

/// The saved plan named on the command line, if any, after checking that no flag tries to change
/// what it was made from.
fn saved_plan(args: &ApplyArgs) -> Result<Option<SavedPlan>, String> {
    let [path] = args.stack.paths.as_slice() else {
        return Ok(None);
    };
    let is_plan_file =
        path.is_file() && path.extension().is_some_and(|e| e == "json" || e == "plan");
    if !is_plan_file {
        return Ok(None);
    }
    let saved = saved_plan::read(path).map_err(|e| e.to_string())?;
    if !args.stack.vars.is_empty() {
        return Err(format!(
            "--var cannot be used with a plan file: {} was made with its variables and applies only with them; make a new plan to change them",
            path.display()
        ));
    }
    if let Some(env) = &args.stack.env
        && saved.source.environment.as_ref() != Some(env)
    {
        return Err(format!(
            "--env {env} cannot be used with a plan file: {} was made for {}; make a new plan for `{env}`",
            path.display(),
            saved.source.environment.as_ref().map_or_else(
                || "no environment".to_string(),
                |e| format!("environment `{e}`")
            )
        ));
    }
    if let Some(dir) = &args.sandbox_dir {
        let given = std::path::absolute(dir)
            .map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
        let planned = crate::workflow::sandbox_dir(&saved.source);
        if given != planned {
            return Err(format!(
                "--sandbox-dir {} cannot be used with a plan file: {} was made against the sandbox in {}",
                dir.display(),
                path.display(),
                planned.display()
            ));
        }
    }
    Ok(Some(saved))
}

/// A fresh plan; with a saved plan, the fresh plan only if the saved one is exactly it (same
/// inputs, same live state, same changes), so what runs is what was reviewed and the impact
/// gates are judged on the fresh derivation.
async fn current_plan(session: &Session, saved: Option<&SavedPlan>) -> Result<Plan, WorkflowError> {
    let Some(saved) = saved else {
        return Ok(session.plan().await?.0);
    };
    let inputs = session
        .inputs_digest()
        .map_err(WorkflowError::Fingerprint)?;
    saved_plan::check_inputs(saved, &inputs).map_err(WorkflowError::SavedPlan)?;
    let observed = session.observe().await?;
    saved_plan::check_live(saved, &observed.fingerprint()?).map_err(WorkflowError::SavedPlan)?;
    let fresh = session.plan_from(&observed)?;
    saved_plan::check_changes(saved, &fresh).map_err(WorkflowError::SavedPlan)?;
    Ok(fresh)
}

/// Watches SIGINT and SIGTERM while apply runs; see [`interrupted`].
#[cfg(unix)]
fn watch_signals(stop: StopRequest) -> std::io::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            interrupted(&stop);
        }
    }))
}

/// Ctrl-C only, where Unix signals do not exist; see [`interrupted`].
#[cfg(not(unix))]
fn watch_signals(stop: StopRequest) -> std::io::Result<tokio::task::JoinHandle<()>> {
    Ok(tokio::spawn(async move {
        loop {
            if let Err(e) = tokio::signal::ctrl_c().await {
                eprintln!("warning: cannot watch for Ctrl-C any more: {e}");
                return;
            }
            interrupted(&stop);
        }
    }))
}

/// One interrupt: the first asks apply to stop before its next request (the one in flight
/// finishes, so its outcome is known); a second exits at once.
fn interrupted(stop: &StopRequest) {
    if stop.is_requested() {
        eprintln!(
            "Interrupted again: exiting at once; the outcome of the request in flight is unknown (run `kustoplan plan` to see)"
        );
        std::process::exit(EXIT_INTERRUPTED_TWICE);
    }
    stop.request();
    eprintln!(
        "Interrupted: finishing the request in flight, then sending nothing more (interrupt again to exit at once)"
    );
}

/// Exit code after a second interrupt: the shell's 128 + SIGINT.
const EXIT_INTERRUPTED_TWICE: i32 = 130;

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

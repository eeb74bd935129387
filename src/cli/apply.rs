//! `kustoplan apply`.

use super::exit::Exit;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use super::apply_json::{ApplyDocument, CanaryReport, Outcome, System};
use super::{
    ApplyArgs, ApplyFormat, ColorChoice, open_session_for_apply, report_workflow_error, source_of,
};
use crate::interrupt::StopRequest;
use crate::kusto::lease::{self, Holder};
use crate::plan::render::{self, impact_name};
use crate::plan::{ImpactClass, Plan};
use crate::providers::kusto::lease::{LeaseError, LeaseRequest, LiveLease, acquire};
use crate::providers::report::{ApplyReport, CommandOutcome};
use crate::saved_plan::{self, SavedPlan};
use crate::text::{Style, paint};
use crate::workflow::{Fingerprint, Session, WorkflowError};

/// Applies a fresh plan of the manifests, or exactly a saved plan if it is still current.
///
/// On live targets the run holds the stack's apply lease from before the live state is read
/// (so a saved plan's staleness check runs under it) until after the last request, renewing it
/// meanwhile; it is released however the run ends short of a crash, including an interrupt.
///
/// With `--format json` the run is the same (messages and the prompt on stderr) and its outcome
/// is printed last, as one [`ApplyDocument`] on stdout, with the same exit code as text.
pub fn run(args: &ApplyArgs, color: ColorChoice) -> Exit {
    let mut doc = (args.format == ApplyFormat::Json)
        .then(|| ApplyDocument::new(names_plan_file(args), Outcome::Failed));
    let code = run_reported(args, color, &mut doc);
    let Some(doc) = doc else {
        return code;
    };
    match doc.render() {
        Ok(text) => {
            print!("{text}");
            code
        }
        Err(e) => {
            eprintln!("error: cannot write the apply report as JSON: {e}");
            Exit::Failure
        }
    }
}

/// [`run`], recording in `doc` (with `--format json`) how it ends.
fn run_reported(args: &ApplyArgs, color: ColorChoice, doc: &mut Option<ApplyDocument>) -> Exit {
    let saved = match saved_plan(args) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("error: {message}");
            return ended(doc, Outcome::Refused, vec![message]);
        }
    };
    if let (Some(doc), Some(saved)) = (doc.as_mut(), &saved) {
        doc.saved_plan = true;
        doc.set_plan(&saved.plan);
    }
    let source = match &saved {
        Some(s) => s.source.clone(),
        None => {
            let mut source = source_of(&args.stack, args.sandbox_dir.clone());
            source.targets = args.targets.clone();
            source
        }
    };
    let (mut session, rt) = match open_session_for_apply(source, args.lock_timeout) {
        Ok(opened) => opened,
        Err(e) => return workflow_failed(doc, e, color),
    };
    session.parallelism = crate::workflow::Parallelism {
        kusto: args.parallelism,
        connect: args.connect_parallelism,
    };
    // Interrupts are caught from before the lease is taken: one that arrives while the lease
    // is being taken lets the request in flight finish (a lease it took is then released,
    // never left behind) and ends a wait for another holder.
    let mut interrupts = match rt.block_on(async { Interrupts::listen() }) {
        Ok(interrupts) => interrupts,
        Err(e) => {
            let message = format!("cannot watch for Ctrl-C and SIGTERM: {e}; nothing was applied");
            eprintln!("error: {message}");
            return ended(doc, Outcome::Failed, vec![message]);
        }
    };
    let stop = StopRequest::default();
    let taken = rt.block_on(async {
        let take = take_lease(&session, args.lock_timeout, stop.clone());
        tokio::pin!(take);
        tokio::select! {
            taken = &mut take => taken,
            () = interrupts.next() => {
                stop.request();
                take.await
            }
        }
    });
    let lease = match taken {
        Ok(lease) => lease.map(Arc::new),
        Err(_) if stop.is_requested() => {
            eprintln!("Interrupted: nothing was applied");
            return ended(
                doc,
                Outcome::Interrupted,
                vec!["interrupted: nothing was applied".to_string()],
            );
        }
        Err(message) => {
            eprintln!("error: {message}");
            return ended(doc, Outcome::Failed, vec![message]);
        }
    };
    if stop.is_requested() {
        match &lease {
            Some(lease) => {
                eprintln!("Interrupted: nothing was applied; releasing the apply lease");
                if let Err(e) = rt.block_on(lease.release()) {
                    eprintln!("warning: {}", release_failed(&e, lease.record()));
                }
            }
            None => eprintln!("Interrupted: nothing was applied"),
        }
        return ended(
            doc,
            Outcome::Interrupted,
            vec!["interrupted: nothing was applied".to_string()],
        );
    }
    let phase = Arc::new(tokio::sync::Mutex::new(Phase::Preparing));
    let watcher = {
        let _runtime = rt.enter();
        watch_signals(interrupts, stop.clone(), phase.clone(), lease.clone())
    };
    // Spawned on the runtime, whose workers run it while the run waits or plans.
    let runtime = rt.enter();
    let renewal = lease.as_ref().map(|l| {
        l.keep_alive(lease::RENEW_EVERY, stop.clone(), |e| match e {
            LeaseError::Lost { .. } => {
                eprintln!("error: {e}; apply stops before its next request");
            }
            _ => eprintln!(
                "warning: {e}; retrying in {}s",
                lease::RENEW_EVERY.as_secs()
            ),
        })
    });
    drop(runtime);
    let code = apply_leased(
        args,
        &session,
        &rt,
        (saved.as_ref(), &stop, &phase),
        color,
        doc,
    );
    drop(renewal);
    *rt.block_on(phase.lock()) = Phase::Done;
    watcher.abort();
    if let Some(lease) = &lease
        && let Err(e) = rt.block_on(lease.release())
    {
        eprintln!("warning: {}", release_failed(&e, lease.record()));
    }
    code
}

/// Where an apply is, for an interrupt: before any change is sent it ends the run at once
/// (releasing the lease); once changes are being sent it lets the request in flight finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Taking the lease, reading the live state, planning, asking for confirmation.
    Preparing,
    /// Sending changes.
    Applying,
    /// Releasing the lease.
    Done,
}

/// Takes the stack's apply lease on its live Kusto target, waiting up to `wait`; `None` on the
/// built-in sandbox (its directory lease already keeps applies apart) and for a stack that
/// declares no database (there is nowhere to hold one: said on stderr). The error is the
/// message to print.
async fn take_lease(
    session: &Session,
    wait: Duration,
    stop: StopRequest,
) -> Result<Option<LiveLease>, String> {
    let Some(target) = session.lease_target() else {
        return Ok(None);
    };
    if target.databases.is_empty() {
        eprintln!(
            "warning: the stack declares no Kusto database, so this apply holds no lease on the live systems; another apply of `{}` may run at the same time",
            target.stack
        );
        return Ok(None);
    }
    let table = lease::table_name(&target.stack);
    let request = LeaseRequest {
        stack: target.stack,
        databases: target.databases,
        command: "kustoplan apply".to_string(),
        wait,
        ttl: lease::TTL,
        stop,
    };
    match acquire(target.transport, &request).await {
        Ok(lease) => {
            for (database, holder) in lease.taken_over() {
                eprintln!(
                    "warning: took over the expired apply lease in database `{database}` held by {holder}"
                );
            }
            Ok(Some(lease))
        }
        Err(e @ LeaseError::Held { .. }) => Err(format!(
            "{e}; nothing was changed. {}",
            held_help(&e, &table)
        )),
        Err(e) => Err(format!("{e}; nothing was changed")),
    }
}

/// What to do about a lease someone else holds (`table` is the lease table).
fn held_help(e: &LeaseError, table: &str) -> String {
    match e {
        LeaseError::Held {
            holder: Holder::Record(record),
            ..
        } => format!(
            "Wait for it to finish, or pass --lock-timeout DURATION (e.g. --lock-timeout 30s) to wait for it; if it no longer runs, the lease expires by itself, or remove it with `kustoplan force-unlock {}`",
            record.id
        ),
        LeaseError::Held {
            holder: Holder::Unreadable { .. },
            database,
            ..
        } => format!(
            "kustoplan never takes such a lease over; if no apply of this stack runs, drop the table with `.drop table {}` in database `{database}`",
            crate::kusto::render::quote_name(table)
        ),
        _ => String::new(),
    }
}

/// The warning for a lease that could not be released.
fn release_failed(e: &LeaseError, record: &crate::kusto::lease::LeaseRecord) -> String {
    match e {
        LeaseError::Lost { .. } => format!("{e}; it was left alone"),
        _ => format!(
            "{e}; the lease expires by itself within {}s, or remove it with `kustoplan force-unlock {}`",
            lease::TTL.as_secs(),
            record.id
        ),
    }
}

/// The apply proper, under the lease: plan (or check the saved plan), gate, confirm, apply,
/// report.
fn apply_leased(
    args: &ApplyArgs,
    session: &Session,
    rt: &tokio::runtime::Runtime,
    (saved, stop, phase): (Option<&SavedPlan>, &StopRequest, &tokio::sync::Mutex<Phase>),
    color: ColorChoice,
    doc: &mut Option<ApplyDocument>,
) -> Exit {
    let json = doc.is_some();
    let plan = match rt.block_on(current_plan(session, saved)) {
        Ok(p) => p,
        Err(e) => return workflow_failed(doc, e, color),
    };
    // Left to the process's exit to free, as `plan` leaves its state: freeing tens of thousands
    // of changes one allocation at a time was a few percent of an apply's CPU at 10,000 tables,
    // spent after the last change was applied.
    let plan: &Plan = Box::leak(Box::new(plan));
    if let Some(doc) = doc.as_mut() {
        doc.set_plan(plan);
    }
    let mut allowed = session.stack_allows.clone();
    allowed.extend(args.allow.iter().copied());
    let refused: Vec<_> = plan.refused(&allowed).collect();
    let managed: Vec<String> = plan
        .managed_elsewhere()
        .map(|(c, manager)| {
            format!(
                "refusing change to {}: its Connect cluster is managed by {}; {}",
                c.address,
                manager.describe(),
                manager.instead()
            )
        })
        .collect();
    // Connector configs are validated while the plan is rendered and printed (at 1,000 routes
    // each took a few tenths of a second, one after the other); only when nothing is refused,
    // so a refused apply still sends no request. Either way before anything is written.
    let validate = !plan.is_empty() && refused.is_empty() && managed.is_empty();
    // With JSON on stdout, the plan is for the person watching (and answering the prompt).
    let (validated, ()) = crate::threads::beside(
        || validate.then(|| rt.block_on(session.validate_connectors(&plan.changes))),
        || say(json, &render::text(plan, &allowed, painted(json, color))),
    );
    if plan.is_empty() {
        if !args.restart_failed {
            return ended(doc, Outcome::NoChanges, Vec::new());
        }
        *rt.block_on(phase.lock()) = Phase::Applying;
        return restart_failed(session, rt, color, doc);
    }
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
        let errors = refused
            .iter()
            .map(|c| {
                format!(
                    "refusing {} change to {}: {}",
                    impact_name(c.impact),
                    c.address,
                    c.summary
                )
            })
            .collect();
        return ended(doc, Outcome::Refused, errors);
    }
    if !managed.is_empty() {
        for line in &managed {
            eprintln!("error: {line}");
        }
        eprintln!(
            "help: nothing was applied; a connector written to a cluster another tool manages is reverted or deleted by it. Apply the other changes with --target (e.g. --target 'kusto.*' --target 'kafka.*'), or declare `managed_by: kustoplan` if kustoplan is the writer"
        );
        return ended(doc, Outcome::Refused, managed);
    }
    if let Some(Err(e)) = validated {
        return workflow_failed(doc, e, color);
    }
    // A saved plan was reviewed when it was made (as `terraform apply PLANFILE`).
    if saved.is_none()
        && !args.auto_approve
        && let Err(message) = confirm(json)
    {
        return ended(doc, Outcome::Refused, vec![message]);
    }
    // From here an interrupt lets the request in flight finish instead of ending the run.
    *rt.block_on(phase.lock()) = Phase::Applying;
    let report = rt.block_on(session.apply(&plan.changes, stop, |line| eprintln!("{line}")));
    say(json, &report_text(&report, painted(json, color)));
    if let Some(doc) = doc.as_mut() {
        doc.set_report(&report, |a| ApplyDocument::system_in(plan, a));
        doc.outcome = if report.succeeded() {
            Outcome::Applied
        } else if report.interrupted {
            Outcome::Interrupted
        } else {
            Outcome::Failed
        };
    }
    let done = report
        .commands
        .iter()
        .filter(|(_, _, o)| *o == CommandOutcome::Completed)
        .count();
    if report.succeeded() {
        say_line(
            json,
            &format!(
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
            ),
        );
        if args.verify {
            return verify_applied(args, session, rt, plan, color, doc);
        }
        Exit::Success
    } else {
        let message = stopped_message(&report, done);
        eprintln!("error: {message}");
        eprintln!(
            "help: {}run `kustoplan plan` to see exactly what remains and apply again",
            if report.interrupted {
                ""
            } else {
                "fix the cause, then "
            }
        );
        if let Some(doc) = doc.as_mut() {
            doc.errors.push(message);
        }
        Exit::Failure
    }
}

/// `apply --verify` after a successful apply: canaries through what the plan created or
/// changed; the report goes to stdout (text) or into the JSON document.
fn verify_applied(
    args: &ApplyArgs,
    session: &Session,
    rt: &tokio::runtime::Runtime,
    plan: &Plan,
    color: ColorChoice,
    doc: &mut Option<ApplyDocument>,
) -> Exit {
    let json = doc.is_some();
    let report = rt.block_on(super::verify::verify_changes(
        session,
        &plan.changes,
        args.verify_timeout,
    ));
    say(
        json,
        &crate::verify::render::text(&report, painted(json, color)),
    );
    if let Some(doc) = doc.as_mut() {
        if report.failed() {
            doc.errors
                .push("verification failed: see `canaries` for each check".to_string());
        }
        doc.canaries = Some(CanaryReport {
            ok: !report.failed(),
            checks: report.checks.clone(),
        });
    }
    super::verify::exit_code(&report)
}

/// Why an apply that sent changes did not succeed (`done` commands completed).
fn stopped_message(report: &ApplyReport, done: usize) -> String {
    let total = report.commands.len();
    let unknown = report
        .commands
        .iter()
        .filter(|(_, _, o)| *o == CommandOutcome::Unknown)
        .count();
    let missed = report
        .verifications
        .iter()
        .filter(|v| v.reached.is_err())
        .count();
    if report.interrupted {
        format!(
            "apply interrupted: {done} of {total} commands ran (listed above); nothing more was sent"
        )
    } else if unknown > 0 {
        format!(
            "apply stopped: {done} of {total} commands confirmed; the outcome of {unknown} is unknown because the response was lost"
        )
    } else if done == total && missed > 0 {
        format!(
            "all {total} commands ran, but {missed} connector(s) did not reach their declared state (listed above)"
        )
    } else {
        format!(
            "apply stopped: {done} of {total} commands ran (listed above); Kusto scripts are not transactional"
        )
    }
}

/// `--restart-failed`: restarts failed connector tasks and reports the outcome.
fn restart_failed(
    session: &crate::workflow::Session,
    rt: &tokio::runtime::Runtime,
    color: ColorChoice,
    doc: &mut Option<ApplyDocument>,
) -> Exit {
    let json = doc.is_some();
    let report = match rt.block_on(session.restart_failed(|line| eprintln!("{line}"))) {
        Ok(r) => r,
        Err(e) => return workflow_failed(doc, e, color),
    };
    if report.commands.is_empty() {
        say_line(json, "No failed connector tasks to restart.");
        return ended(doc, Outcome::NoChanges, Vec::new());
    }
    say(json, &report_text(&report, painted(json, color)));
    if let Some(doc) = doc.as_mut() {
        doc.set_report(&report, |_| Some(System::Connect));
    }
    if report.succeeded() {
        say_line(
            json,
            &format!(
                "Restarted the failed tasks of {} connector(s); they run again.",
                report.requests
            ),
        );
        ended(doc, Outcome::Applied, Vec::new())
    } else {
        let message =
            "some connectors did not recover (see above); their task traces say why".to_string();
        eprintln!("error: {message}");
        ended(doc, Outcome::Failed, vec![message])
    }
}

/// Records in `doc` (with `--format json`) that the run ended as `outcome` for `errors`; the
/// exit code: success for `applied` and `no_changes`, else failure (as in text mode).
fn ended(doc: &mut Option<ApplyDocument>, outcome: Outcome, errors: Vec<String>) -> Exit {
    if let Some(doc) = doc.as_mut() {
        doc.outcome = outcome;
        doc.errors.extend(errors);
    }
    match outcome {
        Outcome::Applied | Outcome::NoChanges => Exit::Success,
        _ => Exit::Failure,
    }
}

/// Reports a workflow error on stderr as text mode does, and records it in `doc`: a refusal for
/// invalid manifests, a plan that cannot be carried out and a refused saved plan; a failure for
/// targets that cannot be reached or read.
fn workflow_failed(doc: &mut Option<ApplyDocument>, e: WorkflowError, color: ColorChoice) -> Exit {
    if let Some(doc) = doc.as_mut() {
        let (outcome, errors) = match &e {
            WorkflowError::Invalid(sources, diagnostics) => {
                if let serde_json::Value::Array(problems) =
                    crate::diagnostics::json(diagnostics, sources)
                {
                    doc.problems = problems;
                }
                (
                    Outcome::Refused,
                    vec![format!(
                        "{} {} found; nothing was sent to any system",
                        diagnostics.len(),
                        if diagnostics.len() == 1 {
                            "problem"
                        } else {
                            "problems"
                        }
                    )],
                )
            }
            WorkflowError::Plan(problems) => (Outcome::Refused, problems.clone()),
            WorkflowError::SavedPlan(refusal) => (Outcome::Refused, vec![refusal.to_string()]),
            WorkflowError::Target(e) => (Outcome::Failed, vec![e.to_string()]),
            WorkflowError::Locked(message) | WorkflowError::Fingerprint(message) => {
                (Outcome::Failed, vec![message.clone()])
            }
        };
        doc.outcome = outcome;
        doc.errors.extend(errors);
    }
    report_workflow_error(e, color)
}

/// Whether the command line names a single saved plan file (as [`saved_plan`] decides), so a
/// refusal before the file is read is still reported as a saved-plan apply.
fn names_plan_file(args: &ApplyArgs) -> bool {
    match args.stack.paths.as_slice() {
        [path] => path.is_file() && path.extension().is_some_and(|e| e == "json" || e == "plan"),
        _ => false,
    }
}

/// Prints `text` for people: on stdout, or on stderr when stdout carries the JSON document.
fn say(json: bool, text: &str) {
    if json {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}

/// Whether what [`say`] prints gets colours: those of the stream it goes to.
fn painted(json: bool, color: ColorChoice) -> bool {
    if json { color.stderr } else { color.stdout }
}

/// [`say`] with a final newline.
fn say_line(json: bool, line: &str) {
    say(json, &format!("{line}\n"));
}

/// The saved plan named on the command line, if any, after checking that no flag tries to change
/// what it was made from.
fn saved_plan(args: &ApplyArgs) -> Result<Option<SavedPlan>, String> {
    let [path] = args.stack.paths.as_slice() else {
        return Ok(None);
    };
    if !names_plan_file(args) {
        return Ok(None);
    }
    let saved = saved_plan::read(path).map_err(|e| e.to_string())?;
    if !args.stack.vars.is_empty() {
        return Err(format!(
            "--var cannot be used with a plan file: {} was made with its variables and applies only with them; make a new plan to change them",
            path.display()
        ));
    }
    if !args.targets.is_empty() && args.targets != saved.source.targets {
        return Err(format!(
            "--target cannot be used with a plan file: {} applies exactly the changes it holds; make a new plan with --target instead",
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
        let planned = crate::targets::sandbox_dir(&saved.source);
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
        return Ok(session.plan(Fingerprint::Skip).await?.0);
    };
    let inputs = session
        .inputs_digest()
        .map_err(WorkflowError::Fingerprint)?;
    saved_plan::check_inputs(saved, &inputs).map_err(WorkflowError::SavedPlan)?;
    let observed = session.observe().await?;
    let live = observed.fingerprint()?;
    saved_plan::check_live(saved, &live).map_err(WorkflowError::SavedPlan)?;
    let fresh = session.plan_from(&observed, Fingerprint::Taken(live))?;
    saved_plan::check_changes(saved, &fresh).map_err(WorkflowError::SavedPlan)?;
    Ok(fresh)
}

/// SIGINT and SIGTERM (Ctrl-C where Unix signals do not exist), caught from the moment they
/// are listened for: the default action (ending the process) no longer applies, and a signal
/// that arrives before anyone waits is kept for the next wait.
struct Interrupts {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Interrupts {
    /// Starts catching the signals; must run inside the runtime.
    #[cfg(unix)]
    fn listen() -> std::io::Result<Interrupts> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Interrupts {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Ctrl-C is caught by each wait; nothing to set up.
    #[cfg(not(unix))]
    fn listen() -> std::io::Result<Interrupts> {
        Ok(Interrupts {})
    }

    /// The next interrupt.
    #[cfg(unix)]
    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }

    /// The next Ctrl-C; if Ctrl-C cannot be watched, never (said once).
    #[cfg(not(unix))]
    async fn next(&mut self) {
        if let Err(e) = tokio::signal::ctrl_c().await {
            eprintln!("warning: cannot watch for Ctrl-C any more: {e}");
            std::future::pending::<()>().await;
        }
    }
}

/// Handles interrupts once the lease is held (or known not to be needed); see [`on_signal`].
fn watch_signals(
    mut interrupts: Interrupts,
    stop: StopRequest,
    phase: Arc<tokio::sync::Mutex<Phase>>,
    lease: Option<Arc<LiveLease>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            interrupts.next().await;
            on_signal(&stop, &phase, lease.as_ref()).await;
        }
    })
}

/// One interrupt. Before any change was sent, the run ends at once: the lease is released (in
/// a task that holds the phase, so the run cannot start sending changes meanwhile) and the
/// process exits 1. Once changes are being sent, see [`interrupted`].
async fn on_signal(
    stop: &StopRequest,
    phase: &Arc<tokio::sync::Mutex<Phase>>,
    lease: Option<&Arc<LiveLease>>,
) {
    if stop.is_requested() {
        interrupted(stop);
        return;
    }
    let held = phase.clone().lock_owned().await;
    if *held != Phase::Preparing {
        drop(held);
        interrupted(stop);
        return;
    }
    // A second interrupt while the lease is being released exits at once.
    stop.request();
    let lease = lease.cloned();
    tokio::spawn(async move {
        let _held = held;
        match &lease {
            Some(lease) => {
                eprintln!("Interrupted: nothing was applied; releasing the apply lease");
                if let Err(e) = lease.release().await {
                    eprintln!("warning: {}", release_failed(&e, lease.record()));
                }
            }
            None => eprintln!("Interrupted: nothing was applied"),
        }
        Exit::Failure.now();
    });
}

/// An interrupt while changes are being sent: the first asks apply to stop before its next
/// request (the one in flight finishes, so its outcome is known); a second exits at once.
fn interrupted(stop: &StopRequest) {
    if stop.is_requested() {
        eprintln!(
            "Interrupted again: exiting at once; the outcome of the request in flight is unknown (run `kustoplan plan` to see)"
        );
        Exit::InterruptedTwice.now();
    }
    stop.request();
    eprintln!(
        "Interrupted: finishing the requests in flight, then sending nothing more (interrupt again to exit at once)"
    );
}

/// Asks on the terminal whether to apply (on stderr when stdout carries JSON); the refusal's
/// message (printed) when stdin is no terminal or the answer is not `yes`.
fn confirm(json: bool) -> Result<(), String> {
    if !std::io::stdin().is_terminal() {
        let message =
            "apply needs confirmation; pass --auto-approve when not running in a terminal"
                .to_string();
        eprintln!("error: {message}");
        return Err(message);
    }
    say(
        json,
        "\nDo you want to apply these changes? Only 'yes' is accepted: ",
    );
    // A closed stdout or stderr leaves nobody to ask; the answer decides.
    let _ = if json {
        std::io::stderr().flush()
    } else {
        std::io::stdout().flush()
    };
    let mut answer = String::new();
    let ok = std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes";
    if ok {
        Ok(())
    } else {
        let message = "Apply cancelled; nothing was changed.".to_string();
        eprintln!("{message}");
        Err(message)
    }
}

/// The per-step report for people: one line per address (and per command that did not
/// complete), then one per connector that did not reach its declared state.
fn report_text(report: &ApplyReport, color: bool) -> String {
    let mut out = String::new();
    let mut last = None;
    for (address, _, outcome) in &report.commands {
        let (mark, style, note) = match outcome {
            CommandOutcome::Completed => ("ok", Style::Green, String::new()),
            CommandOutcome::Failed(reason) => ("FAILED", Style::Red, format!(": {reason}")),
            CommandOutcome::NotRun => ("not run", Style::Dim, String::new()),
            CommandOutcome::Unknown => (
                "unknown",
                Style::Yellow,
                " (response lost; re-plan to see)".to_string(),
            ),
        };
        if last == Some(address) && *outcome == CommandOutcome::Completed {
            continue;
        }
        last = Some(address);
        out.push_str(&report_line(mark, style, address.as_str(), &note, color));
    }
    for v in &report.verifications {
        if let Err(detail) = &v.reached {
            out.push_str(&report_line(
                "FAILED",
                Style::Red,
                v.address.as_str(),
                &format!(": {detail}"),
                color,
            ));
        }
    }
    out
}

/// One line of [`report_text`].
fn report_line(mark: &str, style: Style, address: &str, note: &str, color: bool) -> String {
    let mark = paint(color, style, mark);
    format!("  {mark:>7} {address}{note}\n")
}

/// Impact classes accepted by `--allow`.
pub fn parse_allow(text: &str) -> Result<ImpactClass, String> {
    match text {
        "data-loss" => Ok(ImpactClass::DataLoss),
        "restart" => Ok(ImpactClass::Restart),
        _ => Err(format!("expected `data-loss` or `restart`, found `{text}`")),
    }
}

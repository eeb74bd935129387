//! `kustoplan plan`.

use super::exit::Exit;

use super::plan_output::print_plan;
use super::{
    ColorChoice, PlanArgs, PlanFormat, open_session_for_plan, report_workflow_error, source_of,
};
use crate::saved_plan::{self, SavedPlan};
use crate::workflow::Fingerprint;

/// Observes, diffs, prints the plan; `--out` saves it for `apply`.
pub fn run(args: &PlanArgs, color: ColorChoice) -> Exit {
    let mut source = source_of(&args.stack, args.sandbox_dir.clone());
    source.targets = args.targets.clone();
    let (session, rt) = match open_session_for_plan(source, color) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    // A saved plan is bound to the live state it was made from, and the JSON plan shows that
    // state's fingerprint; a plan only printed for a reviewer needs none.
    let fingerprint = if args.out.is_some() || args.format == PlanFormat::Json {
        Fingerprint::Take
    } else {
        Fingerprint::Skip
    };
    let plan = match rt.block_on(session.plan(fingerprint)) {
        Ok((plan, observed)) => {
            // Like the session (see `Session::finish`): the process exits soon, and freeing
            // the observed state one allocation at a time is 3% of a 10,000-table plan.
            std::mem::forget(observed);
            plan
        }
        Err(e) => return report_workflow_error(e, color),
    };
    let allowed = session.stack_allows.clone();
    if let Err(e) = print_plan(&plan, &allowed, args.format, color.stdout) {
        eprintln!("error: {e}");
        return Exit::Failure;
    }
    if let Some(out) = &args.out {
        let written = save(&session, &plan)
            .and_then(|saved| saved_plan::write(out, &saved))
            .map_err(|e| format!("cannot write the plan to {}: {e}", out.display()));
        match written {
            Ok(()) => eprintln!(
                "Saved the plan to {}. Apply exactly these changes with: kustoplan apply {}",
                out.display(),
                out.display()
            ),
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Failure;
            }
        }
    }
    let exit = if args.detailed_exitcode && !plan.is_empty() {
        Exit::Changes
    } else {
        Exit::Success
    };
    session.finish();
    std::mem::forget(plan);
    exit
}

/// The plan bound to its inputs, with absolute paths so it applies from any directory.
fn save(session: &crate::workflow::Session, plan: &crate::plan::Plan) -> Result<SavedPlan, String> {
    Ok(SavedPlan {
        plan: plan.clone(),
        source: saved_plan::absolute_source(&session.source)?,
        inputs: session.inputs_digest()?,
    })
}

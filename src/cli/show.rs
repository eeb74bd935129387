//! `kustoplan show PLANFILE`: prints a saved plan for review (as `terraform show PLANFILE`),
//! without reading the manifests or touching any live system.

use super::exit::Exit;

use super::plan_output::print_plan;
use super::{ColorChoice, ShowArgs};
use crate::saved_plan;

/// Renders the saved plan in the chosen format. Impact gates are not known here (the Stack's
/// `safety.allow` is applied when the plan is applied), so every `restart` or `data-loss`
/// change is listed as needing `--allow`.
pub fn run(args: &ShowArgs, color: ColorChoice) -> Exit {
    let saved = match saved_plan::read(&args.file) {
        Ok(saved) => saved,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Failure;
        }
    };
    if let Err(e) = print_plan(&saved.plan, &[], args.format, color.stdout) {
        eprintln!("error: {e}");
        return Exit::Failure;
    }
    Exit::Success
}

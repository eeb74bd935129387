//! `kustoplan show PLANFILE`: prints a saved plan for review (as `terraform show PLANFILE`),
//! without reading the manifests or touching any live system.

use std::process::ExitCode;

use super::{ColorChoice, PlanFormat, ShowArgs};
use crate::plan::render;
use crate::saved_plan;

/// Renders the saved plan in the chosen format. Impact gates are not known here (the Stack's
/// `safety.allow` is applied when the plan is applied), so every `restart` or `data-loss`
/// change is listed as needing `--allow`.
pub fn run(args: &ShowArgs, color: ColorChoice) -> ExitCode {
    let saved = match saved_plan::read(&args.file) {
        Ok(saved) => saved,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let text = match args.format {
        PlanFormat::Text => render::text(&saved.plan, &[], color.stdout),
        PlanFormat::Markdown => render::markdown(&saved.plan, &[]),
        PlanFormat::Json => match render::json(&saved.plan, &[]) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: cannot write the plan as JSON: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    ExitCode::SUCCESS
}

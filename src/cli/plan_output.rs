//! Printing a plan on stdout, shared by `plan` and `show`: text and JSON are written as they are
//! rendered (a plan of thousands of changes is not held a second time as one string), Markdown
//! whole (the comment size bounds it).

use std::io::{BufWriter, Write};

use super::PlanFormat;
use crate::plan::render;
use crate::plan::{ImpactClass, Plan};

/// Prints `plan` in `format`; the error says what could not be written. A closed stdout
/// (`kustoplan plan | head`) ends the process quietly, as every other print does.
pub fn print_plan(
    plan: &Plan,
    allowed: &[ImpactClass],
    format: PlanFormat,
    color: bool,
) -> Result<(), String> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    let written = match format {
        PlanFormat::Text => render::write_text(&mut out, plan, allowed, color),
        PlanFormat::Markdown => {
            let text = render::markdown(plan, allowed);
            out.write_all(text.as_bytes()).and_then(|()| {
                if text.ends_with('\n') {
                    Ok(())
                } else {
                    out.write_all(b"\n")
                }
            })
        }
        PlanFormat::Json => {
            render::write_json(&mut out, plan, allowed).map_err(std::io::Error::from)
        }
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            // The message `print!` panics with: the binary's panic hook turns it into the
            // quiet end a closed pipe gives any Unix tool.
            panic!("failed printing to stdout: {e}")
        }
        Err(e) => Err(format!("cannot write the plan: {e}")),
    }
}

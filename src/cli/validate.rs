//! `kustoplan validate`.

use super::exit::Exit;

use super::{ColorChoice, ValidateArgs, ValidateFormat};
use crate::diagnostics;
use crate::manifest::{self, LoadOptions};

/// Loads the stack; prints a one-line summary (exit 0) or every problem (exit 1); with
/// `--format json`, one JSON document on stdout either way.
pub fn run(args: &ValidateArgs, color: ColorChoice) -> Exit {
    let options = LoadOptions {
        environment: args.stack.env.clone(),
        vars: args.stack.vars.clone(),
    };
    let loaded = manifest::load(&args.stack.paths, &options);
    if args.format == ValidateFormat::Json {
        let (valid, summary, problems) = match &loaded {
            Ok(m) => (
                true,
                serde_json::Value::String(m.summary()),
                serde_json::json!([]),
            ),
            Err(f) => (
                false,
                serde_json::Value::Null,
                diagnostics::json(&f.diagnostics, &f.sources),
            ),
        };
        let mut out = serde_json::Map::new();
        out.insert("format_version".into(), serde_json::Value::from(1));
        out.insert("valid".into(), serde_json::Value::Bool(valid));
        out.insert("summary".into(), summary);
        out.insert("problems".into(), problems);
        println!("{:#}", serde_json::Value::Object(out));
        return Exit::success_if(valid);
    }
    match loaded {
        Ok(m) => {
            let env = m
                .environment
                .as_deref()
                .map(|e| format!(" (environment {e})"))
                .unwrap_or_default();
            println!("valid: {}{env}", m.summary());
            Exit::Success
        }
        Err(failure) => {
            eprint!(
                "{}",
                diagnostics::render(&failure.diagnostics, &failure.sources, color.stderr)
            );
            let n = failure.diagnostics.len();
            eprintln!(
                "error: {n} {} found; nothing was sent to any system",
                if n == 1 { "problem" } else { "problems" }
            );
            Exit::Failure
        }
    }
}

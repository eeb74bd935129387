//! `kustoplan schema`.

use std::process::ExitCode;

use crate::manifest::schema::manifest_schema;

/// Prints the manifest JSON Schema; the same text is committed under `schemas/`.
pub fn run() -> ExitCode {
    match serde_json::to_string_pretty(&manifest_schema()) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot render the schema: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `kustoplan schema`.

use std::process::ExitCode;

use super::SchemaFormat;
use crate::manifest::reference;
use crate::manifest::schema::manifest_schema;

/// Prints the manifest JSON Schema or its Markdown reference; both are committed.
pub fn run(format: SchemaFormat) -> ExitCode {
    if format == SchemaFormat::Markdown {
        print!("{}", reference::markdown());
        return ExitCode::SUCCESS;
    }
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

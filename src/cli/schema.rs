//! `kustoplan schema`.

use super::exit::Exit;

use super::SchemaFormat;
use crate::manifest::reference;
use crate::manifest::schema::manifest_schema;

/// Prints the manifest JSON Schema or its Markdown reference; both are committed.
pub fn run(format: SchemaFormat) -> Exit {
    if format == SchemaFormat::Markdown {
        print!("{}", reference::markdown());
        return Exit::Success;
    }
    match serde_json::to_string_pretty(&manifest_schema()) {
        Ok(text) => {
            println!("{text}");
            Exit::Success
        }
        Err(e) => {
            eprintln!("error: cannot render the schema: {e}");
            Exit::Failure
        }
    }
}

//! `kustoplan import`.

use super::exit::Exit;
use std::path::{Path, PathBuf};

use super::{ColorChoice, ImportArgs, report_workflow_error, runtime, source_of};
use crate::import::live::{Selection, read};
use crate::import::{Context, Declared, SCHEMA_FILE, render};
use crate::manifest::{self, LoadOptions, Manifests, desired};
use crate::text::plural;
use crate::workflow::WorkflowError;

/// Reads the live systems the Stack targets and writes manifests for them into `--out`.
pub fn run(args: &ImportArgs, color: ColorChoice) -> Exit {
    let (sinks, topics) = match (
        pattern("--sinks", &args.sinks),
        pattern("--topics", &args.topics),
    ) {
        (Ok(s), Ok(t)) => (s, t),
        (s, t) => {
            for e in [s.err(), t.err()].into_iter().flatten() {
                eprintln!("error: {e}");
            }
            return Exit::Failure;
        }
    };
    let source = source_of(&args.stack, args.sandbox_dir.clone());
    let options = LoadOptions {
        environment: source.environment.clone(),
        vars: source.vars.clone(),
    };
    let m = match manifest::load(&source.paths, &options) {
        Ok(m) => m,
        Err(f) => {
            return report_workflow_error(WorkflowError::Invalid(f.sources, f.diagnostics), color);
        }
    };
    let Some(stack) = m.stack.as_ref() else {
        eprintln!(
            "error: no Stack document in {}: import reads the targets (and the name) of a Stack",
            paths_text(&source.paths)
        );
        return Exit::Failure;
    };
    let selection = Selection {
        databases: args.databases.clone(),
        connect: args.connect.clone(),
        sinks,
        topics,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    // The schema file written next to the manifests depends on nothing read: it is rendered on
    // a thread of its own while the answers are awaited, started once the reads are sent so it
    // does not hold up sending them.
    let (observed, schema) = rt.block_on(async {
        tokio::join!(read(&m, &source, &selection), async {
            std::thread::spawn(schema_text)
        })
    });
    let observed = match observed {
        Ok(o) => o,
        Err(WorkflowError::Plan(problems)) => {
            for p in &problems {
                eprintln!("error: {p}");
            }
            eprintln!("error: nothing was imported");
            return Exit::Failure;
        }
        Err(e) => return report_workflow_error(e, color),
    };
    let (query_url, ingest_url) = desired::kusto_urls(&m);
    let ctx = Context {
        stack: stack.name.value.clone(),
        query_url,
        ingest_url,
    };
    let mut output = render(&observed, &declared(&m), &ctx);
    // The process exits next: freeing the observed state one allocation at a time (about 5% of
    // an import of 10,000 tables) would only delay it.
    std::mem::forget(observed);
    let files = std::mem::take(&mut output.files);
    let written = files.len() + 1;
    if let Err(code) = write(&args.out, files, args.force, schema) {
        return code;
    }
    for note in &output.notes {
        eprintln!("note: {note}");
    }
    for s in &output.secrets {
        eprintln!(
            "secret: {} `{}` held a literal secret; the manifest references the environment variable {} instead (export {}=<the current value> so that plan compares equal, and enable Connect's EnvVarConfigProvider before the connector's config next changes)",
            s.address, s.key, s.env, s.env
        );
    }
    let c = output.counts;
    println!(
        "Imported {} database{}, {} table{}, {}{} topic{} and {} sink{} into {} ({} files).",
        c.databases,
        plural(c.databases, "", "s"),
        c.tables,
        plural(c.tables, "", "s"),
        match (c.functions, c.materialized_views) {
            (0, 0) => String::new(),
            (n, 0) => format!("{n} function{}, ", plural(n, "", "s")),
            (0, v) => format!("{v} materialized view{}, ", plural(v, "", "s")),
            (n, v) => format!(
                "{n} function{}, {v} materialized view{}, ",
                plural(n, "", "s"),
                plural(v, "", "s")
            ),
        },
        c.topics,
        plural(c.topics, "", "s"),
        c.sinks,
        plural(c.sinks, "", "s"),
        args.out.display(),
        written
    );
    println!(
        "Check it with: kustoplan plan {} {} --detailed-exitcode",
        paths_text(&source.paths),
        args.out.display()
    );
    Exit::Success
}

fn pattern(flag: &str, text: &Option<String>) -> Result<Option<regex::Regex>, String> {
    text.as_deref()
        .map(regex::Regex::new)
        .transpose()
        .map_err(|e| format!("`{flag}` is not a valid regular expression: {e}"))
}

fn paths_text(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the stack in PATH already declares, so import does not declare it twice.
fn declared(m: &Manifests) -> Declared {
    Declared {
        databases: m.databases.iter().map(|d| d.name.value.clone()).collect(),
        tables: m
            .tables
            .iter()
            .map(|t| {
                (
                    m.database_or_default(t.database.as_ref()),
                    t.name.value.clone(),
                )
            })
            .collect(),
        functions: m
            .functions
            .iter()
            .map(|f| {
                (
                    m.database_or_default(f.database.as_ref()),
                    f.name.value.clone(),
                )
            })
            .collect(),
        materialized_views: m
            .materialized_views
            .iter()
            .map(|v| {
                (
                    m.database_or_default(v.database.as_ref()),
                    v.name.value.clone(),
                )
            })
            .collect(),
        topics: m.topics.iter().map(|t| t.name.value.clone()).collect(),
        sinks: m
            .sinks
            .iter()
            .map(|s| {
                (
                    m.connect_cluster_or_default(s.connect.as_ref()),
                    s.name.value.clone(),
                )
            })
            .collect(),
    }
}

/// The text of the JSON schema file the imported documents' `$schema` lines point to.
fn schema_text() -> Result<String, String> {
    serde_json::to_string_pretty(&manifest::schema::manifest_schema())
        .map(|text| text + "\n")
        .map_err(|e| format!("cannot render the schema: {e}"))
}

/// Writes every file, or none: existing files are refused (all of them listed) unless `force`,
/// and nothing is written through a symlink leading out of `out` ([`crate::import::write`]).
fn write(
    out: &Path,
    imported: Vec<(PathBuf, String)>,
    force: bool,
    schema: std::thread::JoinHandle<Result<String, String>>,
) -> Result<(), Exit> {
    let schema = match schema.join() {
        Ok(text) => text,
        Err(panic) => std::panic::resume_unwind(panic),
    }
    .map_err(|e| {
        eprintln!("error: {e}");
        Exit::Failure
    })?;
    let mut files: Vec<(PathBuf, String)> = Vec::with_capacity(imported.len() + 1);
    files.push((PathBuf::from(SCHEMA_FILE), schema));
    files.extend(imported);
    crate::import::write::write_all(out, &files, force).map_err(|problems| {
        for p in &problems {
            eprintln!("error: {p}");
        }
        eprintln!("error: nothing was written to {}", out.display());
        Exit::Failure
    })
}

//! Manifests: the YAML files that declare a stack.
//!
//! Loading is a pipeline that collects problems instead of stopping at the first one:
//! files -> YAML documents (located nodes) -> `${var.X}` substitution -> schema check per `kind`
//! -> typed documents -> semantic validation. Nothing here does I/O beyond reading the files.

pub mod de;
pub mod desired;
pub mod editor;
pub mod files;
pub mod fmt;
pub mod located;
pub mod node;
pub mod resolve;
pub mod schema;
pub mod secrets;
pub mod spec;
mod typed;
pub mod validate;
pub mod vars;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::diagnostics::{Diagnostic, SourceMap};
use crate::text::plural;
use node::{Node, Value};
use schema::SchemaChecker;
use spec::{DatabaseDoc, FunctionDoc, MaterializedViewDoc, SinkDoc, StackDoc, TableDoc, TopicDoc};

/// What the command line adds to the manifests.
#[derive(Debug, Default, Clone)]
pub struct LoadOptions {
    /// `--env NAME`: which environment's variables apply.
    pub environment: Option<String>,
    /// `--var NAME=VALUE`, applied last.
    pub vars: Vec<(String, String)>,
}

/// A loaded, valid stack: every document, typed, with the sources they came from.
#[derive(Debug)]
pub struct Manifests {
    /// The files read, for diagnostics.
    pub sources: SourceMap,
    /// The environment whose variables were applied.
    pub environment: Option<String>,
    /// The `Stack` document, if the stack has one.
    pub stack: Option<StackDoc>,
    /// `Database` documents.
    pub databases: Vec<DatabaseDoc>,
    /// `Table` documents.
    pub tables: Vec<TableDoc>,
    /// `Function` documents.
    pub functions: Vec<FunctionDoc>,
    /// `MaterializedView` documents.
    pub materialized_views: Vec<MaterializedViewDoc>,
    /// `Topic` documents.
    pub topics: Vec<TopicDoc>,
    /// `Sink` documents.
    pub sinks: Vec<SinkDoc>,
    /// `(kind, name)` of documents that failed their structural check: references to them are
    /// not reported again as "undeclared".
    broken: BTreeSet<(String, String)>,
}

impl Manifests {
    /// No documents yet, read from `sources` with `environment`'s variables.
    fn empty(sources: SourceMap, environment: Option<String>) -> Manifests {
        Manifests {
            sources,
            environment,
            stack: None,
            databases: Vec::new(),
            tables: Vec::new(),
            functions: Vec::new(),
            materialized_views: Vec::new(),
            topics: Vec::new(),
            sinks: Vec::new(),
            broken: BTreeSet::new(),
        }
    }

    /// The sources and the environment, the typed documents being freed on a thread of their
    /// own: a session keeps only what it derived from them, and freeing the tables of a large
    /// stack one allocation at a time (a few tens of megabytes at 10,000 tables) is work the
    /// plan need not wait for.
    pub fn into_sources(mut self) -> (SourceMap, Option<String>) {
        let sources = std::mem::take(&mut self.sources);
        let environment = self.environment.take();
        let freeing = std::thread::Builder::new()
            .name("free-documents".to_string())
            .spawn(move || drop(self));
        // Without a thread of their own, they were freed here, with the closure that held them.
        drop(freeing);
        (sources, environment)
    }

    /// Whether a document of this kind and name exists but failed its structural check.
    pub fn is_broken(&self, kind: &str, name: &str) -> bool {
        self.broken.contains(&(kind.to_string(), name.to_string()))
    }

    /// Number of documents of each kind, for the one-line summary (functions only when the
    /// stack declares some).
    pub fn summary(&self) -> String {
        let files = self.sources.len();
        let routes = self.sinks.iter().map(|s| s.routes.len()).sum::<usize>();
        let functions = match self.functions.len() {
            0 => String::new(),
            n => format!(", {n} {}", plural(n, "function", "functions")),
        };
        format!(
            "{} {}, {} {}{functions}, {} {}, {} {}, {routes} {} in {files} {}",
            self.databases.len(),
            plural(self.databases.len(), "database", "databases"),
            self.tables.len(),
            plural(self.tables.len(), "table", "tables"),
            self.topics.len(),
            plural(self.topics.len(), "topic", "topics"),
            self.sinks.len(),
            plural(self.sinks.len(), "sink", "sinks"),
            plural(routes, "route", "routes"),
            plural(files, "file", "files"),
        )
    }
}

/// Why a stack could not be loaded: every problem found, with the sources to show them.
#[derive(Debug)]
pub struct LoadFailure {
    /// The files read.
    pub sources: SourceMap,
    /// Every problem, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

/// Loads and validates the stack made of `paths` (files, or directories searched recursively for
/// `*.yaml`/`*.yml`, skipping hidden ones).
pub fn load(paths: &[PathBuf], options: &LoadOptions) -> Result<Manifests, LoadFailure> {
    load_with(paths, options, |_| {})
}

/// [`load`], calling `heads` with manifests holding only the documents that name what a plan
/// reads (the Stack's targets, the Databases, the Sinks and so the Connect clusters) as soon
/// as every file is parsed and those documents are read and typed without a problem, before
/// the other documents (tables: most of a large stack) are typed and everything is validated:
/// reading the live state can start while the rest of the loading runs. What `heads` starts
/// must have no effect on any live system: the manifests may still be refused.
pub fn load_with(
    paths: &[PathBuf],
    options: &LoadOptions,
    heads: impl FnOnce(&Manifests),
) -> Result<Manifests, LoadFailure> {
    let mut sources = SourceMap::default();
    let mut problems = Vec::new();
    let mut ids = Vec::new();
    for file in files::collect(paths, &mut problems) {
        match files::read(&file, &mut sources) {
            Ok(id) => ids.push(id),
            Err(problem) => problems.push(problem),
        }
    }
    let mut docs = Vec::new();
    for parsed in parse_files(&sources, &ids) {
        match parsed {
            Ok(parsed) => docs.extend(parsed),
            Err(e) if e.message.starts_with("duplicate key") => problems.push(
                Diagnostic::at(e.loc, e.message)
                    .hint("a key may appear once per mapping; remove or merge the repeated one"),
            ),
            Err(e) => problems.push(
                Diagnostic::at(e.loc, format!("invalid YAML: {}", e.message))
                    .hint("fix the YAML syntax; every document must be a mapping with a `kind`"),
            ),
        }
    }
    let (vars, environment) = resolve_vars(&docs, options, &mut problems);
    let checker = SchemaChecker::new();
    if problems.is_empty()
        && let Some(early) = typed::read_heads(&docs, &vars, &checker, environment.clone())
    {
        heads(&early);
    }
    let mut manifests = Manifests::empty(sources, environment);
    for read in typed::read_documents(docs, &vars, &checker) {
        problems.extend(read.take_into(&mut manifests));
    }
    problems.extend(validate::validate(&manifests));
    if problems.is_empty() {
        Ok(manifests)
    } else {
        problems.sort();
        problems.dedup();
        Err(LoadFailure {
            sources: manifests.sources,
            diagnostics: problems,
        })
    }
}

/// Parses the files on every core (parsing is most of `validate`'s and `plan`'s time at
/// thousands of tables), largest files first so that one large file does not finish last;
/// results come back in file order, so diagnostics do not depend on the schedule.
fn parse_files(sources: &SourceMap, ids: &[u32]) -> Vec<Result<Vec<Node>, node::YamlError>> {
    let text = |id: u32| sources.text(id).unwrap_or_default();
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(ids.len());
    if threads <= 1 {
        return ids
            .iter()
            .map(|&id| node::parse_documents(text(id), id))
            .collect();
    }
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(text(ids[i]).len()));
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, Result<Vec<Node>, node::YamlError>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                        done.push((i, node::parse_documents(text(ids[i]), ids[i])));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(crate::threads::joined)
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, parsed)| parsed).collect()
}

/// Gathers variables (stack `vars`, then the environment's, then `--var`) and substitutes them.
/// The variables every document is substituted with (the Stack's `vars:`, its environment's,
/// then `--var`), and the environment chosen; substitution itself runs per document, with the
/// typed read ([`typed::read_documents`]).
fn resolve_vars(
    docs: &[Node],
    options: &LoadOptions,
    problems: &mut Vec<Diagnostic>,
) -> (vars::Vars, Option<String>) {
    let stack = docs
        .iter()
        .find(|d| d.get("kind").and_then(Node::as_str) == Some("Stack"));
    let mut vars = vars::Vars::new();
    let mut environment = None;
    if let Some(stack) = stack {
        extend_vars(&mut vars, stack.get("vars"));
        let envs = stack.get("environments");
        let default_env = stack.get("default_environment");
        let chosen = options
            .environment
            .clone()
            .or_else(|| default_env.and_then(Node::as_str).map(str::to_string));
        let env_loc = match (&options.environment, default_env) {
            (None, Some(node)) => node.loc,
            _ => stack.loc,
        };
        if let Some(name) = chosen {
            match envs.and_then(|e| e.get(&name)) {
                Some(env) => {
                    extend_vars(&mut vars, env.get("vars"));
                    environment = Some(name);
                }
                None => {
                    let known: Vec<String> = match envs.map(|e| &e.value) {
                        Some(Value::Map(entries)) => {
                            entries.iter().map(|(k, _)| k.key_text()).collect()
                        }
                        _ => Vec::new(),
                    };
                    problems.push(
                        Diagnostic::at(env_loc, format!("unknown environment `{name}`")).hint(
                            if known.is_empty() {
                                "declare it under `environments:` of the Stack document".to_string()
                            } else {
                                format!("known environments: {}", known.join(", "))
                            },
                        ),
                    );
                }
            }
        }
    } else if let Some(name) = &options.environment {
        problems.push(
            Diagnostic::global(format!(
                "unknown environment `{name}`: the stack has no Stack document"
            ))
            .hint("declare environments under `environments:` of a `kind: Stack` document"),
        );
    }
    for (name, text) in &options.vars {
        let value = node::parse_documents(text, 0)
            .ok()
            .and_then(|mut d| (d.len() == 1).then(|| d.remove(0)))
            .filter(|n| !matches!(n.value, Value::Seq(_) | Value::Map(_)))
            .unwrap_or(Node {
                loc: Default::default(),
                value: Value::Str(text.as_str().into()),
            });
        vars.insert(name.clone(), value);
    }
    (vars, environment)
}

fn extend_vars(vars: &mut vars::Vars, map: Option<&Node>) {
    if let Some(Value::Map(entries)) = map.map(|m| &m.value) {
        for (k, v) in entries {
            vars.insert(k.key_text(), v.clone());
        }
    }
}

/// Groups items by a key, for duplicate detection.
pub(crate) fn group_by<'a, T, K: Ord>(
    items: impl Iterator<Item = &'a T>,
    key: impl Fn(&T) -> K,
) -> BTreeMap<K, Vec<&'a T>>
where
    T: 'a,
{
    let mut groups: BTreeMap<K, Vec<&T>> = BTreeMap::new();
    for item in items {
        groups.entry(key(item)).or_default().push(item);
    }
    groups
}
pub mod reference;

#[cfg(test)]
mod tests {
    use super::*;

    /// Files are parsed in parallel, largest first; documents and diagnostics still come in
    /// file order.
    #[test]
    fn files_parsed_in_parallel_keep_their_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.yaml"), "kind: Database\nname: db\n").expect("write");
        for i in 0..12 {
            // Sizes that do not follow the names, so the schedule differs from file order.
            let padding = "# padding\n".repeat((i * 7) % 12 * 100);
            let text =
                format!("{padding}kind: Table\nname: T{i}\ncolumns: [{{name: A, type: int}}]\n");
            std::fs::write(dir.path().join(format!("t{i:02}.yaml")), text).expect("write");
        }
        std::fs::write(dir.path().join("t03.yaml"), "kind: Table\nname: [\n").expect("write");
        std::fs::write(dir.path().join("t07.yaml"), "a: 1\na: 2\n").expect("write");
        let failure = load(&[dir.path().to_path_buf()], &LoadOptions::default())
            .expect_err("two files are broken");
        let files: Vec<String> = failure
            .diagnostics
            .iter()
            .filter_map(|d| d.loc)
            .filter_map(|l| failure.sources.path(l.file))
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(files, ["t03.yaml", "t07.yaml"]);
        std::fs::remove_file(dir.path().join("t03.yaml")).expect("remove");
        std::fs::remove_file(dir.path().join("t07.yaml")).expect("remove");
        let m = load(&[dir.path().to_path_buf()], &LoadOptions::default()).expect("loads");
        let names: Vec<&str> = m.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["T0", "T1", "T2", "T4", "T5", "T6", "T8", "T9", "T10", "T11"]
        );
    }
}

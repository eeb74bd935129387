//! `kustoplan import`: manifests for what already runs (brownfield adoption).
//!
//! [`live`] reads the live systems through the providers; everything else here is pure: the
//! observed state becomes `Database`, `Table`, `Function`, `Topic` and `Sink` documents, grouped into files a
//! reviewer can read, such that the stack's desired state equals the observed state again and a
//! plan right after the import is empty.
//!
//! Ownership: import changes nothing live, so imported tables and connectors carry no ownership
//! marker yet. A plan does not treat a missing marker as drift (see [`crate::plan::kusto`] and
//! [`crate::plan::connect`]); the marker is written with the object's next change. Until then
//! `safety.prune` never deletes an imported object: adoption can only make pruning more careful.

pub mod kusto;
pub mod live;
pub mod sink;
pub mod write;
pub mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::model::connect::{Connector, Topic};
use crate::model::kusto::{DatabaseState, KustoState, TableState};
use yaml::{MapBuilder, Node};

/// The file the imported documents' `$schema` lines point to, written next to them.
pub const SCHEMA_FILE: &str = "kustoplan.schema.json";

/// What was read from the live systems, literal secrets already replaced by references.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The selected databases, whole.
    pub kusto: KustoState,
    /// The selected topics.
    pub topics: BTreeMap<String, Topic>,
    /// Connectors by Connect cluster name.
    pub connect: BTreeMap<String, BTreeMap<String, Connector>>,
    /// The literal secrets replaced by references in `connect`.
    pub secrets: Vec<sink::SecretReference>,
}

/// Objects the stack already declares: import leaves them to their existing files.
#[derive(Debug, Clone, Default)]
pub struct Declared {
    /// Database documents.
    pub databases: BTreeSet<String>,
    /// Tables as `(database, table)`.
    pub tables: BTreeSet<(String, String)>,
    /// Functions as `(database, function)`.
    pub functions: BTreeSet<(String, String)>,
    /// Materialized views as `(database, view)`.
    pub materialized_views: BTreeSet<(String, String)>,
    /// Topics.
    pub topics: BTreeSet<String>,
    /// Sinks as `(cluster, name)`.
    pub sinks: BTreeSet<(String, String)>,
}

/// Settings of one import.
#[derive(Debug, Clone)]
pub struct Context {
    /// The stack's name (ownership markers are compared with it).
    pub stack: String,
    /// `kusto.query.url` the Stack's Kusto target derives.
    pub query_url: String,
    /// `kusto.ingestion.url` the Stack's Kusto target derives.
    pub ingest_url: String,
}

/// The files to write (relative paths, contents) and what the user should know.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// Files in a stable order.
    pub files: Vec<(PathBuf, String)>,
    /// One line per object that could not be imported exactly, or was skipped.
    pub notes: Vec<String>,
    /// How many documents of each kind were written.
    pub counts: Counts,
    /// The replaced literal secrets of the sinks written.
    pub secrets: Vec<sink::SecretReference>,
}

/// Document counts, for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// `Database` documents.
    pub databases: usize,
    /// `Table` documents.
    pub tables: usize,
    /// `Function` documents.
    pub functions: usize,
    /// `MaterializedView` documents.
    pub materialized_views: usize,
    /// `Topic` documents.
    pub topics: usize,
    /// `Sink` documents.
    pub sinks: usize,
}

/// What separates the documents of a file.
const DOCUMENT_START: &str = "---\n";

/// Groups documents per file, files in path order, documents in name order.
#[derive(Default)]
struct Files(BTreeMap<PathBuf, Documents>);

/// One document of a file: a tree still to be written, with its leading comment lines, or the
/// text of one or more written already (the tables, [`tables`]), joined as in a file.
enum Document {
    Tree(Vec<String>, Node),
    Text(String),
}

/// The documents of one file.
type Documents = Vec<Document>;

impl Files {
    fn add(&mut self, path: PathBuf, comments: Vec<String>, doc: Node) {
        self.0
            .entry(path)
            .or_default()
            .push(Document::Tree(comments, doc));
    }

    fn add_text(&mut self, path: PathBuf, text: String) {
        self.0.entry(path).or_default().push(Document::Text(text));
    }

    /// Writes every file's text. The trees are written on every core (a 10,000-table
    /// import spent a third of its time here on one), each to its own text, then joined in
    /// order with the texts written already, so the output does not depend on the schedule.
    fn render(self) -> Vec<(PathBuf, String)> {
        let files: Vec<(PathBuf, String, Documents)> = self
            .0
            .into_iter()
            .map(|(path, docs)| {
                let schema = schema_of(&path);
                (path, schema, docs)
            })
            .collect();
        let jobs: Vec<(&str, &Vec<String>, &Node)> = files
            .iter()
            .flat_map(|(_, schema, docs)| {
                docs.iter().filter_map(move |doc| match doc {
                    Document::Tree(comments, node) => Some((schema.as_str(), comments, node)),
                    Document::Text(_) => None,
                })
            })
            .collect();
        let mut written = write_all(&jobs).into_iter();
        files
            .into_iter()
            .map(|(path, _, docs)| {
                let texts: Vec<String> = docs
                    .into_iter()
                    .map(|doc| match doc {
                        Document::Tree(..) => match written.next() {
                            Some(text) => text,
                            None => unreachable!("write_all returns one text per tree"),
                        },
                        Document::Text(done) => done,
                    })
                    .collect();
                (path, texts.join(DOCUMENT_START))
            })
            .collect()
    }
}

/// Where the `$schema` line of a file at `path` (relative to `--out`) points: the schema file
/// written next to the imported directories.
fn schema_of(path: &Path) -> String {
    format!(
        "{}{SCHEMA_FILE}",
        "../".repeat(path.components().count().saturating_sub(1))
    )
}

/// The written `Table` documents of one database's tables that the stack does not declare: per
/// file, the texts of the runs of [`tables`] that have documents in it (each its documents in
/// name order, joined as in a file), in order; and the notes about them, in the same order.
#[derive(Default)]
struct TableTexts {
    files: BTreeMap<PathBuf, Vec<String>>,
    notes: Vec<String>,
    count: usize,
}

impl TableTexts {
    /// Appends the documents and notes of the next run of tables.
    fn extend(&mut self, run: TableTexts) {
        for (path, texts) in run.files {
            self.files.entry(path).or_default().extend(texts);
        }
        self.notes.extend(run.notes);
        self.count += run.count;
    }
}

/// Runs of tables each core takes at a time: more runs than cores, so a core slowed down by
/// another process does not hold the others up.
const RUNS_PER_CORE: usize = 4;

/// The tables of `db`, built and written on every core: a 10,000-table import spent most of
/// its time after the reads building and writing them on one. The tables are cut into runs in
/// name order, each core takes the next run until none is left, and the runs are joined in
/// order, so the output (and the order of the notes) does not depend on the schedule.
fn tables(name: &str, db: &DatabaseState, declared: &Declared, ctx: &Context) -> TableTexts {
    let all: Vec<&TableState> = db.tables.values().collect();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if cores < 2 || all.len() < 256 {
        return table_run(name, &all, declared, ctx);
    }
    let runs: Vec<&[&TableState]> = all
        .chunks(all.len().div_ceil(cores * RUNS_PER_CORE))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let take = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(run) = runs.get(i) else {
                return done;
            };
            done.push((i, table_run(name, run, declared, ctx)));
        }
    };
    let mut done: Vec<(usize, TableTexts)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cores).map(|_| scope.spawn(take)).collect();
        workers
            .into_iter()
            .flat_map(crate::threads::joined)
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    let mut out = TableTexts::default();
    for (_, run) in done {
        out.extend(run);
    }
    out
}

/// One run of [`tables`], in order: `kusto/DB/tables/FOLDER.yaml` per table folder
/// (`_no_folder.yaml` for the rest). Each tree is written and freed right away.
fn table_run(name: &str, run: &[&TableState], declared: &Declared, ctx: &Context) -> TableTexts {
    let dir = PathBuf::from("kusto").join(slug(name)).join("tables");
    let schema = schema_of(&dir.join("_no_folder.yaml"));
    let mut out = TableTexts::default();
    for t in run {
        if declared
            .tables
            .contains(&(name.to_string(), t.name.clone()))
        {
            out.notes.push(format!(
                "kusto.{name}.table.{}: already declared; skipped",
                t.name
            ));
            continue;
        }
        if let Some(owner) = t.owner.as_deref().filter(|o| *o != ctx.stack) {
            out.notes.push(format!(
                "kusto.{name}.table.{}: owned by stack `{owner}`; the plan will show this stack taking it over",
                t.name
            ));
        }
        let file = if t.folder.is_empty() {
            "_no_folder.yaml".to_string()
        } else {
            format!("{}.yaml", slug(&t.folder))
        };
        let doc = kusto::table_doc(name, t, &mut out.notes);
        let text = yaml::document(&schema, &[], &doc);
        let texts = out.files.entry(dir.join(file)).or_default();
        match texts.last_mut() {
            Some(joined) => {
                joined.push_str(DOCUMENT_START);
                joined.push_str(&text);
            }
            None => texts.push(text),
        }
        out.count += 1;
    }
    out
}

/// The text of every document, in order, written on up to every core.
fn write_all(jobs: &[(&str, &Vec<String>, &Node)]) -> Vec<String> {
    let write = |chunk: &[(&str, &Vec<String>, &Node)]| -> Vec<String> {
        chunk
            .iter()
            .map(|(schema, comments, doc)| yaml::document(schema, comments, doc))
            .collect()
    };
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if cores < 2 || jobs.len() < 256 {
        return write(jobs);
    }
    let chunk = jobs.len().div_ceil(cores);
    std::thread::scope(|scope| {
        let workers: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| scope.spawn(move || write(part)))
            .collect();
        workers
            .into_iter()
            .flat_map(crate::threads::joined)
            .collect()
    })
}

/// Turns the observed state into manifest files:
///
/// - `kusto/DB/database.yaml`: the `Database` document;
/// - `kusto/DB/tables/FOLDER.yaml`: the tables of one table folder (`_no_folder.yaml` for the
///   rest), by name;
/// - `kusto/DB/functions/FOLDER.yaml`: the stored functions of one function folder, likewise;
/// - `kusto/DB/materialized-views.yaml`: every materialized view of the database, by name;
/// - `kafka/topics.yaml`: every topic, by name;
/// - `connect/CLUSTER/SINK.yaml`: one Kusto sink connector each.
pub fn render(observed: &Observed, declared: &Declared, ctx: &Context) -> Output {
    let mut files = Files::default();
    let mut notes = Vec::new();
    let mut counts = Counts::default();
    let mut secrets = Vec::new();
    for (name, db) in &observed.kusto.databases {
        let dir = PathBuf::from("kusto").join(slug(name));
        if declared.databases.contains(name) {
            notes.push(format!(
                "kusto.{name}: already declared; its Database document is not written"
            ));
        } else {
            files.add(
                dir.join("database.yaml"),
                Vec::new(),
                kusto::database_doc(db, &mut notes),
            );
            counts.databases += 1;
        }
        let tables = tables(name, db, declared, ctx);
        notes.extend(tables.notes);
        counts.tables += tables.count;
        for (path, texts) in tables.files {
            for text in texts {
                files.add_text(path.clone(), text);
            }
        }
        for f in db.functions.values() {
            let address = format!("kusto.{name}.function.{}", f.name);
            if declared.functions.contains(&(name.clone(), f.name.clone())) {
                notes.push(format!("{address}: already declared; skipped"));
                continue;
            }
            let Some(doc) = kusto::function_doc(name, f, &mut notes) else {
                continue;
            };
            if let Some(owner) = f.owner.as_deref().filter(|o| *o != ctx.stack) {
                notes.push(format!(
                    "{address}: owned by stack `{owner}`; the plan will show this stack taking it over"
                ));
            }
            let file = if f.folder.is_empty() {
                "_no_folder.yaml".to_string()
            } else {
                format!("{}.yaml", slug(&f.folder))
            };
            files.add(dir.join("functions").join(file), Vec::new(), doc);
            counts.functions += 1;
        }
        for v in db.materialized_views.values() {
            let address = format!("kusto.{name}.materialized_view.{}", v.name);
            if declared
                .materialized_views
                .contains(&(name.clone(), v.name.clone()))
            {
                notes.push(format!("{address}: already declared; skipped"));
                continue;
            }
            if let Some(owner) = v.owner.as_deref().filter(|o| *o != ctx.stack) {
                notes.push(format!(
                    "{address}: owned by stack `{owner}`; the plan will show this stack taking it over"
                ));
            }
            files.add(
                dir.join("materialized-views.yaml"),
                Vec::new(),
                kusto::materialized_view_doc(name, v),
            );
            counts.materialized_views += 1;
        }
    }
    for (name, topic) in &observed.topics {
        if declared.topics.contains(name) {
            notes.push(format!("kafka.topic.{name}: already declared; skipped"));
            continue;
        }
        files.add(
            PathBuf::from("kafka").join("topics.yaml"),
            Vec::new(),
            topic_doc(topic),
        );
        counts.topics += 1;
    }
    for (cluster, connectors) in &observed.connect {
        let sink_ctx = sink::SinkContext {
            stack: &ctx.stack,
            cluster,
            query_url: &ctx.query_url,
            ingest_url: &ctx.ingest_url,
        };
        for c in connectors.values() {
            if declared.sinks.contains(&(cluster.clone(), c.name.clone())) {
                notes.push(format!(
                    "connect.{cluster}.connector.{}: already declared; skipped",
                    c.name
                ));
                continue;
            }
            if let Some(doc) = sink::sink_doc(&c.name, &c.config, c.state, &sink_ctx, &mut notes) {
                let address = crate::plan::Address::connector(cluster, &c.name);
                for db in route_databases(&c.config) {
                    if !observed.kusto.databases.contains_key(&db)
                        && !declared.databases.contains(&db)
                    {
                        notes.push(format!(
                            "{address}: routes to database `{db}`, which was not imported; import it too (`--database {db}`) or declare it"
                        ));
                    }
                }
                let mine: Vec<&sink::SecretReference> = observed
                    .secrets
                    .iter()
                    .filter(|s| s.address == address.as_str())
                    .collect();
                secrets.extend(mine.iter().map(|s| (*s).clone()));
                let comments = mine
                    .iter()
                    .map(|s| format!(
                        "`{}` held a literal secret; it is now read from the environment variable {} (set it, and enable Connect's EnvVarConfigProvider on the workers).",
                        s.key, s.env
                    ))
                    .collect();
                files.add(
                    PathBuf::from("connect")
                        .join(slug(cluster))
                        .join(format!("{}.yaml", slug(&c.name))),
                    comments,
                    doc,
                );
                counts.sinks += 1;
            }
        }
    }
    Output {
        files: files.render(),
        notes,
        counts,
        secrets,
    }
}

/// The databases a sink's routes write to.
fn route_databases(config: &BTreeMap<String, String>) -> BTreeSet<String> {
    crate::model::sink::routes_in(config)
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.db)
        .collect()
}

fn topic_doc(t: &Topic) -> Node {
    MapBuilder::default()
        .put("kind", Node::str("Topic"))
        .put("name", Node::str(&t.name))
        .put("partitions", Node::Int(u64::from(t.partitions)))
        .opt(
            "replication_factor",
            t.replication_factor.map(|r| Node::Int(u64::from(r))),
        )
        .opt(
            "config",
            (!t.configs.is_empty()).then(|| {
                Node::Map(
                    t.configs
                        .iter()
                        .map(|(k, v)| (k.clone(), config_value(v)))
                        .collect(),
                )
            }),
        )
        .block()
}

/// Topic config values are strings to Kafka; whole numbers are written as YAML integers (they
/// read back as the same digits), everything else as a string.
fn config_value(v: &str) -> Node {
    match v.parse::<u64>() {
        Ok(n) if n.to_string() == v => Node::Int(n),
        _ => Node::str(v),
    }
}

/// A file name for an object name: letters, digits, `.`, `_` and `-` kept, the rest `-`.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_start_matches(['.', '_']).to_string();
    if s.is_empty() { "-".to_string() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files of many documents are written on every core: the text is the same, file by file
    /// and document by document, as writing them one after another.
    #[test]
    fn documents_written_on_every_core_come_out_in_order() {
        let mut files = Files::default();
        let mut serial: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
        for i in 0..1000 {
            let path = PathBuf::from("kusto").join(format!("f{}.yaml", i % 7));
            let doc = MapBuilder::default()
                .put("kind", Node::str("Table"))
                .put("name", Node::str(format!("T{i}")))
                .block();
            let comments = vec![format!("table {i}")];
            let schema = format!("../{SCHEMA_FILE}");
            serial
                .entry(path.clone())
                .or_default()
                .push(yaml::document(&schema, &comments, &doc));
            files.add(path, comments, doc);
        }
        let written = files.render();
        let expected: Vec<(PathBuf, String)> = serial
            .into_iter()
            .map(|(path, docs)| (path, docs.join("---\n")))
            .collect();
        assert_eq!(written, expected);
    }

    /// The tables of a large database are built and written on every core: the files, the
    /// documents in them and the notes come out as from one run over all of them in order, with
    /// declared tables skipped and foreign owners noted where they stand.
    #[test]
    fn tables_written_on_every_core_come_out_in_order() {
        let mut db = DatabaseState {
            name: "db".into(),
            ..Default::default()
        };
        let mut declared = Declared::default();
        for i in 0..1000 {
            let table = TableState {
                name: format!("T{i:04}"),
                folder: if i % 5 == 0 {
                    String::new()
                } else {
                    format!("f{}", i % 7)
                },
                owner: (i % 11 == 0).then(|| "other".to_string()),
                ..Default::default()
            };
            if i % 13 == 0 {
                declared.tables.insert(("db".into(), table.name.clone()));
            }
            db.tables.insert(table.name.clone(), table);
        }
        let ctx = Context {
            stack: "s".into(),
            query_url: "q".into(),
            ingest_url: "i".into(),
        };
        let all: Vec<&TableState> = db.tables.values().collect();
        let serial = table_run("db", &all, &declared, &ctx);
        let parallel = tables("db", &db, &declared, &ctx);

        let joined = |texts: &TableTexts| -> BTreeMap<PathBuf, String> {
            texts
                .files
                .iter()
                .map(|(path, runs)| (path.clone(), runs.join(DOCUMENT_START)))
                .collect()
        };
        assert!(
            parallel.files.values().any(|runs| runs.len() > 1),
            "several runs"
        );
        assert_eq!(joined(&parallel), joined(&serial));
        assert_eq!(parallel.notes, serial.notes);
        assert_eq!(parallel.count, 1000 - 1000_usize.div_ceil(13));
        let joined = joined(&parallel);
        let no_folder = &joined[&PathBuf::from("kusto/db/tables/_no_folder.yaml")];
        assert!(
            no_folder.starts_with(
                "# yaml-language-server: $schema=../../../kustoplan.schema.json\nkind: Table\nname: T0005\n"
            ),
            "{no_folder}"
        );
        assert_eq!(
            no_folder.matches("# yaml-language-server").count(),
            200 - 16,
            "one document per table without a folder but the declared ones (every 65th)"
        );
        assert_eq!(
            parallel.notes[0],
            "kusto.db.table.T0000: already declared; skipped"
        );
        assert!(
            parallel.notes[1].starts_with("kusto.db.table.T0011: owned by stack `other`"),
            "{:?}",
            parallel.notes
        );
    }

    fn connector(name: &str, pairs: &[(&str, &str)]) -> Connector {
        Connector {
            name: name.to_string(),
            config: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            state: crate::model::connect::RunState::Running,
            renamed_from: None,
        }
    }

    #[test]
    fn only_written_sinks_report_secrets_and_missing_databases_are_noted() {
        let mut observed = Observed::default();
        let mut secrets = Vec::new();
        let mut cluster = BTreeMap::new();
        for c in [
            connector(
                "mirror",
                &[("connector.class", "org.example.Mirror"), ("password", "x")],
            ),
            connector(
                "sink",
                &[
                    ("connector.class", crate::model::sink::KUSTO_SINK_CLASS),
                    ("aad.auth.appkey", "literal"),
                    (
                        "kusto.tables.topics.mapping",
                        r#"[{"topic":"t","db":"elsewhere","table":"T","format":"json"}]"#,
                    ),
                ],
            ),
        ] {
            let (config, replaced) = sink::reference_secrets("main", &c.name, &c.config);
            secrets.extend(replaced);
            cluster.insert(c.name.clone(), Connector { config, ..c });
        }
        observed.secrets = secrets;
        observed.connect.insert("main".into(), cluster);
        let ctx = Context {
            stack: "s".into(),
            query_url: "q".into(),
            ingest_url: "i".into(),
        };
        let out = render(&observed, &Declared::default(), &ctx);
        assert_eq!(out.counts.sinks, 1);
        let keys: Vec<&str> = out.secrets.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            keys,
            ["aad.auth.appkey"],
            "the skipped connector's secret is not reported"
        );
        assert!(
            out.notes
                .iter()
                .any(|n| n.contains("routes to database `elsewhere`, which was not imported")),
            "{:?}",
            out.notes
        );
        let (_, sink_file) = &out.files[0];
        assert!(
            sink_file.contains("# `aad.auth.appkey` held a literal secret; it is now read from the environment variable SINK_AAD_AUTH_APPKEY"),
            "{sink_file}"
        );
        assert!(!sink_file.contains("literal\n"), "{sink_file}");
    }

    #[test]
    fn functions_are_written_unless_their_parameters_cannot_be_declared() {
        use crate::model::{ColumnType, Function, Parameter, ParameterType};
        let function = |name: &str, ty: ParameterType, body: &str| Function {
            name: name.into(),
            parameters: vec![Parameter {
                name: "p".into(),
                ty,
            }],
            body: body.into(),
            folder: "Q/ueries".into(),
            ..Default::default()
        };
        let mut db = crate::model::kusto::DatabaseState {
            name: "db".into(),
            ..Default::default()
        };
        for f in [
            function(
                "Plain",
                ParameterType::Scalar(ColumnType::Long),
                "\n\t\tT\n\t\t| take p   \n",
            ),
            function(
                "Spaced",
                ParameterType::Scalar(ColumnType::String),
                "  print s = ```a  \n  b``` ",
            ),
            function("Tabular", ParameterType::Unmodelled("(*)".into()), "p"),
        ] {
            db.functions.insert(f.name.clone(), f);
        }
        let mut observed = Observed::default();
        observed.kusto.databases.insert("db".into(), db);
        let ctx = Context {
            stack: "s".into(),
            query_url: "q".into(),
            ingest_url: "i".into(),
        };
        let mut declared = Declared::default();
        declared.databases.insert("db".into());
        let out = render(&observed, &declared, &ctx);
        assert_eq!(out.counts.functions, 2);
        assert!(
            out.notes.iter().any(|n| n.starts_with(
                "kusto.db.function.Tabular: its parameters (p:(*)) include tabular parameters or default values"
            )),
            "{:?}",
            out.notes
        );
        let (path, text) = &out.files[0];
        assert_eq!(path, &PathBuf::from("kusto/db/functions/Q-ueries.yaml"));
        assert!(
            text.contains("name: Plain\ndatabase: db\nfolder: Q/ueries\nparameters:\n  - {name: p, type: long}\nbody: |-\n  T\n  | take p\n"),
            "dedented literal block: {text}"
        );
        assert!(
            text.contains("body: \"print s = ```a  \\n  b```\"\n"),
            "whitespace inside a multi-line literal stays exact: {text}"
        );
    }

    #[test]
    fn slugs_are_safe_file_names() {
        assert_eq!(slug("Telemetry/Raw data"), "Telemetry-Raw-data");
        assert_eq!(slug("..hidden"), "hidden");
        assert_eq!(slug("_x"), "x");
        assert_eq!(slug("ü"), "-");
    }

    #[test]
    fn schema_lines_point_at_the_schema_next_to_the_files() {
        let mut files = Files::default();
        files.add(
            PathBuf::from("kafka").join("topics.yaml"),
            Vec::new(),
            MapBuilder::default()
                .put("kind", Node::str("Topic"))
                .block(),
        );
        let rendered = files.render();
        assert!(
            rendered[0]
                .1
                .starts_with("# yaml-language-server: $schema=../kustoplan.schema.json\n")
        );
    }
}

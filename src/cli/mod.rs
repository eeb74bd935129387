//! The command line: a thin clap layer over the library. Commands parse arguments, call the
//! library, and hand results to the renderers; they hold no logic of their own.

mod apply;
mod apply_json;
pub mod args;
pub mod exit;
mod export;
mod fmt;
mod force_unlock;
mod import;
mod output;
mod plan;
mod plan_output;
mod progress;
mod sandbox;
mod schema;
mod show;
mod status;
mod validate;
mod verify;

use std::net::SocketAddr;
use std::path::PathBuf;

use exit::Exit;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use output::ColorChoice;

/// kustoplan: pipeline-as-code for Azure Data Explorer (Kusto) ingestion from Kafka.
#[derive(Debug, Parser)]
#[command(name = "kustoplan", version, about, long_about = None)]
pub struct Cli {
    /// When to use colours: auto (a terminal, and NO_COLOR unset), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// Log what kustoplan does to stderr: -v requests and retries, -vv everything (never secrets).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// Colours on a terminal unless NO_COLOR is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests and report every problem with file:line:column.
    #[command(
        after_help = "Examples:\n  kustoplan validate examples/gameplay\n  kustoplan validate stack/ --env prod --var cluster=https://c.kusto.windows.net"
    )]
    Validate(ValidateArgs),
    /// Diff the manifests against the live systems and print the plan.
    #[command(
        after_help = "Exit codes: 0 no changes (or changes without --detailed-exitcode), 1 error, 2 changes.\n\nExamples:\n  kustoplan plan examples/gameplay\n  kustoplan plan stack/ --env prod --format markdown > plan.md\n  kustoplan plan stack/ --out gameplay.plan --detailed-exitcode"
    )]
    Plan(PlanArgs),
    /// Apply a fresh plan of the manifests, or exactly a saved plan if the live state still matches it.
    #[command(
        after_help = "Examples:\n  kustoplan apply examples/gameplay --auto-approve\n  kustoplan apply gameplay.plan\n  kustoplan apply stack/ --allow data-loss"
    )]
    Apply(ApplyArgs),
    /// Remove the apply lease a crashed or stuck apply left on the live systems, by the id its
    /// refusal showed (as `terraform force-unlock LOCK_ID`).
    #[command(
        name = "force-unlock",
        after_help = "An apply on live targets holds a lease in each Kusto database of the stack; a second apply is refused with the holder and the lease id. A lease expires by itself a few minutes after its apply stopped renewing it; force-unlock removes it at once.\n\nExit codes: 0 removed, 1 error (no lease with that id, not confirmed, or the target could not be reached).\n\nExamples:\n  kustoplan force-unlock 0f3c2a9e8b7d4c1a9e8b7d4c1a0f3c2a stack/ --env prod\n  kustoplan force-unlock 0f3c2a9e8b7d4c1a9e8b7d4c1a0f3c2a stack/ --env prod -force"
    )]
    ForceUnlock(ForceUnlockArgs),
    /// Print a saved plan file (`plan --out`) for review, without contacting any system.
    #[command(
        after_help = "Examples:\n  kustoplan show gameplay.plan\n  kustoplan show gameplay.plan --format markdown > plan.md"
    )]
    Show(ShowArgs),
    /// Show, per declared sink, connector and task states, the last task error and the
    /// consumer group's lag on every partition of each route's topic.
    #[command(
        after_help = "Exit codes: 0 every connector and task is in its declared state (RUNNING unless declared paused/stopped), 1 error, 3 a connector is missing or it or a task is FAILED, 4 a connector or task is in another state (UNASSIGNED, RESTARTING, paused by hand).\n\nExamples:\n  kustoplan status examples/gameplay\n  kustoplan status stack/ --env prod --format json | jq '.connectors[].routes[].lag.total'"
    )]
    Status(StatusArgs),
    /// Send a canary through every declared route (a record to its topic) and into every
    /// declared table without a route (queued ingestion), wait until each is queryable, report
    /// the end-to-end latency, and remove the canaries again.
    #[command(
        after_help = "Exit codes: 0 every check verified (or could not run here, as said), 1 error, 5 a check failed or a canary could not be removed.\n\nExamples:\n  kustoplan verify examples/gameplay --env prod\n  kustoplan verify stack/ --table GamePlay --timeout 5m --format json"
    )]
    Verify(VerifyArgs),
    /// Write manifests for what already runs (brownfield adoption): databases, tables, topics and
    /// Kusto sink connectors, read from the targets of the Stack document in PATH.
    #[command(
        long_about = "Write manifests for what already runs (brownfield adoption).\n\n\
PATH holds the Stack document (name and targets); import reads the live Kusto databases, Kafka \
Connect clusters and topics it targets and writes Database, Table, Topic and Sink documents into \
--out, so that `kustoplan plan PATH OUT` right after the import reports no changes. Nothing live \
is changed, and objects PATH already declares are skipped.\n\n\
Ownership: imported tables and connectors get no ownership marker during the import. A plan does \
not count a missing marker as a change; the marker is written with the object's next change. \
Until then `safety.prune` never deletes an imported object.\n\n\
Secrets: a connector key holding a literal secret is written as a reference to an environment \
variable (`{env: NAME}` or `${env:NAME}`), never as the value; one line per replaced secret says \
which variable to set. With the variable set to the current value, the plan compares equal; \
without it, the plan shows the switch to the reference (masked). Connect config-provider \
placeholders (`${file:...}`, `${env:...}`) are kept as they are.\n\n\
Files: kusto/DB/database.yaml, kusto/DB/tables/FOLDER.yaml (tables without a folder in \
_no_folder.yaml), kafka/topics.yaml, connect/CLUSTER/SINK.yaml, and kustoplan.schema.json, which \
their `$schema` lines point to. Existing files are refused unless --force.",
        after_help = "Examples:\n  kustoplan import stack/ --out imported/\n  kustoplan import stack/ --env prod -o imported/ --database gamedb --sinks '^game'\n  kustoplan plan stack/ imported/ --env prod --detailed-exitcode"
    )]
    Import(ImportArgs),
    /// Write the resources another tool applies for connectors kustoplan does not write:
    /// Strimzi KafkaConnector resources for the sinks of `managed_by: strimzi` Connect clusters.
    #[command(
        after_help = "Without --out, the resources are printed as one YAML stream. With --out DIR, each goes to DIR/CLUSTER/CONNECTOR.yaml, and files an earlier export wrote for connectors no longer declared are removed. With --check, nothing is written: the exit code says whether DIR is up to date.\n\nExit codes: 0 written (or up to date), 1 error, 2 --check found DIR out of date.\n\nExamples:\n  kustoplan export strimzi stack/ --env prod --out deploy/connectors\n  kustoplan export strimzi stack/ --env prod --out deploy/connectors --check"
    )]
    Export(ExportArgs),
    /// Rewrite manifests in the canonical layout (comments kept), or with --check only list
    /// the files that are not in it (as `terraform fmt` and `cargo fmt`).
    #[command(
        after_help = "The layout: two spaces per level, lists indented under their key, keys in the order of the manifest reference (`kind`, `name` first; keys it does not know after them, as written), flow collections on one line (`{a: 1, b: [x]}`), scalars exactly as written, at most one blank line where there were blank lines, `---` between documents, no trailing blanks, one final line break. Comments are kept and move with the entry they stand above or beside; the comments above a document's first key stay first. A file is only rewritten if it loads to exactly the same documents afterwards; a file that does not parse, or uses anchors, aliases or tags, is left as it is and reported.\n\nExit codes: 0 every file formatted (with --check: already formatted), 1 a file could not be formatted (or, with --check, is not formatted).\n\nExamples:\n  kustoplan fmt examples/gameplay\n  kustoplan fmt --check --diff stack/\n  kustoplan fmt - < stack/tables.yaml"
    )]
    Fmt(FmtArgs),
    /// Print the JSON Schema of manifest documents (for editors and CI), or the Markdown reference.
    #[command(
        after_help = "Examples:\n  kustoplan schema > schemas/kustoplan.schema.json\n  kustoplan schema --format markdown > docs/manifest-reference.md"
    )]
    Schema(SchemaArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  kustoplan completions bash > /etc/bash_completion.d/kustoplan\n  kustoplan completions zsh > \"${fpath[1]}/_kustoplan\""
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// The built-in local target: a Kusto-compatible management endpoint persisted to a directory.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
}

/// `sandbox` subcommands.
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Serve the Kusto REST management endpoint (`POST /v1/rest/mgmt`), and with
    /// `--connect-listen` the Kafka Connect REST stand-in, until Ctrl-C.
    #[command(
        after_help = "Example:\n  kustoplan sandbox serve --dir .kustoplan/sandbox --listen 127.0.0.1:8080 --database gamedb"
    )]
    Serve(SandboxServeArgs),
}

/// `sandbox serve` options.
#[derive(Debug, Args)]
pub struct SandboxServeArgs {
    /// Directory holding the sandbox state (created if missing; survives restarts).
    #[arg(long, default_value = ".kustoplan/sandbox")]
    pub dir: PathBuf,
    /// Address to listen on; port 0 picks a free port (the URL is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Database to serve (repeatable; Kusto databases are not created by commands).
    #[arg(long = "database")]
    pub databases: Vec<String>,
    /// Also serve the Kafka Connect REST stand-in (Kusto sink connectors) on this address;
    /// its state is kept in the same directory.
    #[arg(long, value_name = "ADDR")]
    pub connect_listen: Option<SocketAddr>,
    /// Require `Authorization: Bearer TOKEN` on the Kusto endpoint, TOKEN being this file's
    /// content (surrounding whitespace ignored); others get 401. The token is never printed.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Close a connection that has not sent a request's headers within this time (e.g. 30s).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub header_timeout: std::time::Duration,
    /// Answer 408 to a request whose body has not arrived within this time (e.g. 60s).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub body_timeout: std::time::Duration,
    /// Connections served at once per endpoint; more wait until one closes.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Also serve queued ingestion: start Azurite (the Azure Storage emulator, installed with
    /// npm into the user cache when missing) on free loopback ports for the blob containers
    /// and queues `.get ingestion resources` hands out, and run the ingestion worker. Azurite
    /// stops with the sandbox.
    #[arg(long)]
    pub ingest: bool,
}

/// `plan` options.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The stack.
    #[command(flatten)]
    pub stack: StackArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Save the plan to FILE for `kustoplan apply FILE`.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit with 2 when there are changes (Terraform's -detailed-exitcode).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan only the changes at ADDRESS and under it (repeatable; `*` and `?` are wildcards),
    /// e.g. `kusto.gamedb.table.GamePlay` or `connect.main.connector.*`. Nothing outside is
    /// changed or pruned; a change that needs a left-out one is an error naming it.
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
    /// Directory of the built-in sandbox (default: .kustoplan/sandbox next to the manifests).
    #[arg(long, env = "KUSTOPLAN_SANDBOX_DIR", value_name = "DIR")]
    pub sandbox_dir: Option<PathBuf>,
}

/// Plan output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Terraform-like text.
    Text,
    /// A pull-request comment.
    Markdown,
    /// JSON with stable field names.
    Json,
}

/// `apply` options.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The stack, or a single saved plan file (`*.plan` or `*.json`).
    #[command(flatten)]
    pub stack: StackArgs,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Also restart the failed tasks of the declared connectors (Connect's
    /// `restart?includeTasks=true&onlyFailed=true`), even when nothing else changes.
    #[arg(long)]
    pub restart_failed: bool,
    /// Apply only the changes at ADDRESS and under it (repeatable; see `plan --target`). Not
    /// with a saved plan, which keeps the targets it was made with.
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
    /// Allow changes of this impact class: data-loss or restart (repeatable).
    #[arg(long, value_name = "CLASS", value_parser = apply::parse_allow)]
    pub allow: Vec<crate::plan::ImpactClass>,
    /// How long to wait when another apply holds the stack's lease (the built-in sandbox's
    /// directory, or the lease on a live Kusto target), e.g. 30s; 0 refuses at once.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub lock_timeout: std::time::Duration,
    /// Kusto scripts in flight at once, across databases (each database's commands still run
    /// in plan order; only scripts writing disjoint tables of their own database, and nothing
    /// else, are sent together). Default 4: schema changes within a database are serialised
    /// by the service anyway, and four scripts in flight stay far below a cluster's limit on
    /// concurrent management commands.
    #[arg(long, value_name = "N", default_value_t = crate::providers::kusto::apply::DEFAULT_PARALLELISM,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub parallelism: usize,
    /// Connect requests in flight at once (config validations, connector writes and state
    /// changes; each connector's own requests still run in plan order; waiting for their state
    /// reads all of them in one request). Default 10, Terraform's
    /// default parallelism.
    #[arg(long, value_name = "N", default_value_t = crate::providers::connect::converge::DEFAULT_PARALLELISM,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub connect_parallelism: usize,
    /// Directory of the built-in sandbox (default: .kustoplan/sandbox next to the manifests).
    #[arg(long, env = "KUSTOPLAN_SANDBOX_DIR", value_name = "DIR")]
    pub sandbox_dir: Option<PathBuf>,
    /// Output format of the report.
    #[arg(long, value_enum, default_value_t = ApplyFormat::Text)]
    pub format: ApplyFormat,
    /// After a successful apply, send a canary through each route and table the plan created
    /// or changed and wait until it is queryable (as `kustoplan verify`); exit 5 if one fails.
    #[arg(long)]
    pub verify: bool,
    /// With --verify: give up on a canary after this long (default: the wait the flush
    /// interval and batching policy imply, plus 60s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "verify")]
    pub verify_timeout: Option<std::time::Duration>,
}

/// `verify` options.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The stack.
    #[command(flatten)]
    pub stack: StackArgs,
    /// Verify only these tables (`Table` or `database.Table`; repeatable): their routes, or
    /// queued ingestion for a table without a route.
    #[arg(long = "table", value_name = "TABLE")]
    pub tables: Vec<String>,
    /// Give up on a canary after this long (default: the wait the flush interval and
    /// batching policy imply, plus 60s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
    pub format: StatusFormat,
    /// Directory of the built-in sandbox (default: .kustoplan/sandbox next to the manifests).
    #[arg(long, env = "KUSTOPLAN_SANDBOX_DIR", value_name = "DIR")]
    pub sandbox_dir: Option<PathBuf>,
}

/// `apply` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApplyFormat {
    /// The plan and a per-step report for people.
    Text,
    /// One JSON document on stdout (README "Apply JSON"): the outcome and every step; the plan,
    /// progress and the prompt go to stderr.
    Json,
}

/// `force-unlock` options.
#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The lease id, as shown in the refusal of a second apply (`lease id ...`).
    #[arg(value_name = "LOCK_ID", value_parser = parse_lease_id)]
    pub lock_id: crate::kusto::lease::LeaseId,
    /// The stack whose lease to remove.
    #[command(flatten)]
    pub stack: StackArgs,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub force: bool,
}

/// `validate` options.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The stack.
    #[command(flatten)]
    pub stack: StackArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text)]
    pub format: ValidateFormat,
}

/// `validate` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// A summary line, or every problem with its source snippet (stderr).
    Text,
    /// One JSON document on stdout: `format_version`, `valid`, `summary`, `problems` (each
    /// with `file`, `line`, `column`, `message`, `hint`).
    Json,
}

/// `export` options.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to write.
    #[arg(value_enum)]
    pub format: ExportFormat,
    /// The stack.
    #[command(flatten)]
    pub stack: StackArgs,
    /// Write one file per resource under DIR instead of printing them.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write nothing; exit with 2 when DIR differs from what an export would write.
    #[arg(long, requires = "out")]
    pub check: bool,
}

/// What `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Strimzi KafkaConnector resources (kafka.strimzi.io/v1beta2).
    Strimzi,
}

/// `fmt` options.
#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Manifest files or directories (searched recursively for *.yaml and *.yml), or `-` to
    /// format standard input to standard output (for editors).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Change nothing: list the files that are not in the canonical layout, and exit 1 if
    /// there is one (for CI).
    #[arg(long)]
    pub check: bool,
    /// Also print each change as a unified diff.
    #[arg(long)]
    pub diff: bool,
}

/// `show` options.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The plan file written by `kustoplan plan --out`.
    #[arg(value_name = "PLANFILE")]
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

/// `status` options.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The stack.
    #[command(flatten)]
    pub stack: StackArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
    pub format: StatusFormat,
    /// Count the ingestion failures Kusto recorded this long before now (e.g. 15m, 1h, 24h);
    /// a permanent one fails the route.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub since: std::time::Duration,
    /// Directory of the built-in sandbox (default: .kustoplan/sandbox next to the manifests).
    #[arg(long, env = "KUSTOPLAN_SANDBOX_DIR", value_name = "DIR")]
    pub sandbox_dir: Option<PathBuf>,
}

/// `import` options.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The stack whose targets are read (its Stack document); objects it already declares are
    /// skipped.
    #[command(flatten)]
    pub stack: StackArgs,
    /// Directory to write the manifests to (created if missing).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// Import this Kusto database (repeatable; default: every database the caller can see).
    #[arg(long = "database", value_name = "DB")]
    pub databases: Vec<String>,
    /// Import the connectors of this Connect cluster of `targets.connect` (repeatable; default:
    /// all of them).
    #[arg(long = "connect", value_name = "CLUSTER")]
    pub connect: Vec<String>,
    /// Import only the connectors whose names match this regular expression (default: all).
    #[arg(long, value_name = "REGEX")]
    pub sinks: Option<String>,
    /// Also import the topics whose names match this regular expression (the topics imported
    /// sinks route from and dead-letter to are always imported).
    #[arg(long, value_name = "REGEX")]
    pub topics: Option<String>,
    /// Overwrite files that already exist in DIR.
    #[arg(long)]
    pub force: bool,
    /// Directory of the built-in sandbox (default: .kustoplan/sandbox next to the manifests).
    #[arg(long, env = "KUSTOPLAN_SANDBOX_DIR", value_name = "DIR")]
    pub sandbox_dir: Option<PathBuf>,
}

/// Status output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// Text for people.
    Text,
    /// JSON with stable field names.
    Json,
}

/// `schema` options.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = SchemaFormat::Json)]
    pub format: SchemaFormat,
}

/// What `schema` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaFormat {
    /// JSON Schema (draft 2020-12).
    Json,
    /// The manifest reference as Markdown.
    Markdown,
}

/// Where the stack is and which environment to use.
#[derive(Debug, Args)]
pub struct StackArgs {
    /// Manifest files or directories (searched recursively for *.yaml and *.yml).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Environment whose variables apply (from the Stack document's `environments`).
    #[arg(long, short = 'e', env = "KUSTOPLAN_ENV")]
    pub env: Option<String>,
    /// Set a variable, overriding the manifests: NAME=VALUE (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
}

/// Parses a duration flag: `0`, or a number with a unit as manifests write timespans (`500ms`,
/// `30s`, `5m`, `1h`, `1m30s`).
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    if text.trim() == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    crate::model::Timespan::parse(text)
        .filter(|_| !text.contains(':'))
        .map(|t| std::time::Duration::from_millis(t.as_millis()))
        .ok_or_else(|| format!("expected a duration such as 30s, 500ms or 5m, found `{text}`"))
}

fn parse_lease_id(text: &str) -> Result<crate::kusto::lease::LeaseId, String> {
    crate::kusto::lease::LeaseId::parse(text).ok_or_else(|| {
        format!("expected a lease id (32 hex digits, as a refusal shows it), found `{text}`")
    })
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("expected NAME=VALUE, found `{text}`")),
    }
}

/// `-v` shows kustoplan's own info and debug events (requests, retries, waits); `-vv` adds its
/// trace events and other crates' debug output. `RUST_LOG` overrides. Logs go to stderr.
fn init_logging(verbose: u8, color: ColorChoice, spinners: Option<progress::Spinners>) {
    let default = match verbose {
        0 => "warn",
        1 => "warn,kustoplan=debug",
        _ => "debug,kustoplan=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || progress::LogWriter::new(spinners.clone()))
        .with_ansi(color.stderr)
        .with_target(verbose > 1)
        .try_init();
}

fn source_of(stack: &StackArgs, sandbox_dir: Option<PathBuf>) -> crate::workflow::Source {
    crate::workflow::Source {
        paths: stack.paths.clone(),
        environment: stack.env.clone(),
        vars: stack.vars.clone(),
        sandbox_dir,
        targets: Vec::new(),
    }
}

/// Loads the stack and opens its targets, with the async runtime the providers need; on failure
/// the problem has been printed and the exit code is returned. For commands that only read and
/// do not plan (`status`, `verify`: they read other things than a plan's).
fn open_session(
    source: crate::workflow::Source,
    color: ColorChoice,
) -> Result<(crate::workflow::Session, tokio::runtime::Runtime), Exit> {
    let rt = runtime()?;
    let session =
        crate::workflow::Session::open(source).map_err(|e| report_workflow_error(e, color))?;
    Ok((session, rt))
}

/// [`open_session`] for `plan`: the runtime starts first, so the plan's reads of the live
/// Kusto and Connect targets go out while the manifests are checked
/// ([`crate::workflow::Session::open_prefetching`]).
fn open_session_for_plan(
    source: crate::workflow::Source,
    color: ColorChoice,
) -> Result<(crate::workflow::Session, tokio::runtime::Runtime), Exit> {
    let rt = runtime()?;
    let session = crate::workflow::Session::open_prefetching(source, rt.handle())
        .map_err(|e| report_workflow_error(e, color))?;
    Ok((session, rt))
}

/// [`open_session`] for a writer: the built-in sandbox's directory is held exclusively, waiting
/// up to `lock_timeout` for another holder. The error is returned unprinted, for apply's JSON
/// report.
fn open_session_for_apply(
    source: crate::workflow::Source,
    lock_timeout: std::time::Duration,
) -> Result<(crate::workflow::Session, tokio::runtime::Runtime), crate::workflow::WorkflowError> {
    let lease = crate::targets::LeaseRequest::write("kustoplan apply", lock_timeout);
    let session = crate::workflow::Session::open_leased(source, &lease)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            crate::workflow::WorkflowError::from(crate::workflow::TargetError::Runtime(e))
        })?;
    Ok((session, rt))
}

fn runtime() -> Result<tokio::runtime::Runtime, Exit> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            Exit::Failure
        })
}

fn report_workflow_error(e: crate::workflow::WorkflowError, color: ColorChoice) -> Exit {
    match e {
        crate::workflow::WorkflowError::Invalid(sources, diagnostics) => {
            eprint!(
                "{}",
                crate::diagnostics::render(&diagnostics, &sources, color.stderr)
            );
            // Not "nothing was sent": a read-only command may have started its Kusto reads
            // before validation refused the manifests (`Session::open_prefetching`).
            eprintln!(
                "error: {} {} found; nothing was changed in any system",
                diagnostics.len(),
                if diagnostics.len() == 1 {
                    "problem"
                } else {
                    "problems"
                }
            );
        }
        crate::workflow::WorkflowError::Target(e) => eprintln!("error: {e}"),
        crate::workflow::WorkflowError::Locked(message)
        | crate::workflow::WorkflowError::Fingerprint(message) => eprintln!("error: {message}"),
        crate::workflow::WorkflowError::SavedPlan(refusal) => eprintln!("error: {refusal}"),
        crate::workflow::WorkflowError::Plan(problems) => {
            for p in &problems {
                eprintln!("error: {p}");
            }
            eprintln!(
                "error: {} {} the plan cannot carry out; nothing was changed",
                problems.len(),
                if problems.len() == 1 {
                    "problem"
                } else {
                    "problems"
                }
            );
        }
    }
    Exit::Failure
}

/// Runs the command line and returns the process exit code: the one place a command's
/// [`Exit`] becomes a number.
pub fn run() -> std::process::ExitCode {
    run_command().into()
}

fn run_command() -> Exit {
    let cli = match args::parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let color = ColorChoice::resolve(cli.color);
    let spinners = progress::install(color);
    init_logging(cli.verbose, color, spinners);
    match cli.command {
        Command::Validate(args) => validate::run(&args, color),
        Command::Plan(args) => plan::run(&args, color),
        Command::Apply(args) => apply::run(&args, color),
        Command::Show(args) => show::run(&args, color),
        Command::ForceUnlock(args) => force_unlock::run(&args, color),
        Command::Status(args) => status::run(&args, color),
        Command::Verify(args) => verify::run(&args, color),
        Command::Import(args) => import::run(&args, color),
        Command::Export(args) => export::run(&args, color),
        Command::Fmt(args) => fmt::run(&args, color),
        Command::Schema(args) => schema::run(args.format),
        Command::Sandbox(SandboxCommand::Serve(args)) => sandbox::run(&args),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "kustoplan", &mut script);
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
            Exit::Success
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::parse_duration;

    #[test]
    fn durations_need_a_unit_except_zero() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        for bad in ["30", "s", "3x", "00:00:30", ""] {
            assert_eq!(
                parse_duration(bad),
                Err(format!(
                    "expected a duration such as 30s, 500ms or 5m, found `{bad}`"
                ))
            );
        }
    }
}

//! The command line: a thin clap layer over the library. Commands parse arguments, call the
//! library, and hand results to the renderers; they hold no logic of their own.

mod output;
mod sandbox;
mod schema;
mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use output::ColorChoice;

/// kustoplan: pipeline-as-code for Azure Data Explorer (Kusto) ingestion from Kafka.
#[derive(Debug, Parser)]
#[command(name = "kustoplan", version, about, long_about = None)]
pub struct Cli {
    /// When to use colours: auto (a terminal, and NO_COLOR unset), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
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
    Validate(StackArgs),
    /// Print the JSON Schema of manifest documents (for editors and CI), or the Markdown reference.
    #[command(
        after_help = "Examples:\n  kustoplan schema > schemas/kustoplan.schema.json\n  kustoplan schema --format markdown > docs/manifest-reference.md"
    )]
    Schema(SchemaArgs),
    /// The built-in local target: a Kusto-compatible management endpoint persisted to a directory.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
}

/// `sandbox` subcommands.
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Serve the Kusto REST management endpoint (`POST /v1/rest/mgmt`) until Ctrl-C.
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

fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("expected NAME=VALUE, found `{text}`")),
    }
}

/// Runs the command line and returns the process exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let color = ColorChoice::resolve(cli.color);
    match cli.command {
        Command::Validate(args) => validate::run(&args, color),
        Command::Schema(args) => schema::run(args.format),
        Command::Sandbox(SandboxCommand::Serve(args)) => sandbox::run(&args),
    }
}

//! The steps `plan` and `apply` share: load the stack, pick its targets, observe, diff. Keeps the
//! command handlers thin and the planner pure.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::diagnostics::{Diagnostic, SourceMap};
use crate::manifest::{self, LoadOptions, Manifests, desired};
use crate::model::kusto::KustoState;
use crate::plan::kusto::{DiffOptions, diff};
use crate::plan::{ImpactClass, PLAN_VERSION, Plan, fingerprint};
use crate::providers::kusto::observe::observe;
use crate::providers::kusto::transport::{KustoTransport, TransportError};
use crate::sandbox::kusto::KustoSandbox;

/// Where a plan came from, so a saved plan can be applied with the same stack and targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// Manifest paths.
    pub paths: Vec<PathBuf>,
    /// `--env`.
    pub environment: Option<String>,
    /// `--var` values (never secrets: literal secrets are rejected by validation).
    pub vars: Vec<(String, String)>,
    /// `--sandbox-dir`, when given.
    pub sandbox_dir: Option<PathBuf>,
}

/// A plan file written by `plan --out`: the plan and where it came from. No secrets or tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// The reviewed plan.
    pub plan: Plan,
    /// How to reach the same targets again.
    pub source: Source,
}

/// Everything that can stop plan or apply before a change is made.
#[derive(Debug)]
pub enum WorkflowError {
    /// The manifests are invalid.
    Invalid(SourceMap, Vec<Diagnostic>),
    /// A target could not be reached or read.
    Target(String),
}

impl From<TransportError> for WorkflowError {
    fn from(e: TransportError) -> Self {
        WorkflowError::Target(e.message)
    }
}

/// A loaded stack with its Kusto target opened.
pub struct Session {
    /// The manifests.
    pub manifests: Manifests,
    /// What they declare.
    pub desired: KustoState,
    /// Where Kusto commands go.
    pub transport: KustoTransport,
    /// How the diff treats undeclared objects.
    pub diff_options: DiffOptions,
    /// Impact classes the stack allows without a flag.
    pub stack_allows: Vec<ImpactClass>,
    /// The source, for saved plans.
    pub source: Source,
}

impl Session {
    /// Loads the stack and opens its Kusto target.
    pub fn open(source: Source) -> Result<Session, WorkflowError> {
        let options = LoadOptions {
            environment: source.environment.clone(),
            vars: source.vars.clone(),
        };
        let manifests = manifest::load(&source.paths, &options)
            .map_err(|f| WorkflowError::Invalid(f.sources, f.diagnostics))?;
        let desired = desired::kusto_state(&manifests);
        let transport = open_kusto(&manifests, &desired, &source)?;
        let stack = manifests.stack.as_ref();
        Ok(Session {
            diff_options: DiffOptions {
                prune: stack.is_some_and(|s| s.safety.prune),
                owner: stack.map(|s| s.name.value.clone()),
            },
            stack_allows: stack.map(|s| s.safety.allow.clone()).unwrap_or_default(),
            manifests,
            desired,
            transport,
            source,
        })
    }

    /// Observes the live state and diffs it against the manifests.
    pub async fn plan(&self) -> Result<(Plan, KustoState), WorkflowError> {
        let observed = observe(&self.transport, &self.desired).await?;
        let changes = diff(&self.desired, &observed, &self.diff_options);
        let plan = Plan {
            version: PLAN_VERSION,
            stack: self
                .manifests
                .stack
                .as_ref()
                .map_or_else(|| "default".to_string(), |s| s.name.value.clone()),
            environment: self.manifests.environment.clone(),
            fingerprint: fingerprint(&observed),
            changes,
        };
        Ok((plan, observed))
    }
}

/// The directory the built-in sandbox persists to: `--sandbox-dir`, else `.kustoplan/sandbox`
/// next to the manifests.
pub fn sandbox_dir(source: &Source) -> PathBuf {
    if let Some(dir) = &source.sandbox_dir {
        return dir.clone();
    }
    let root = source.paths.first().map_or_else(
        || PathBuf::from("."),
        |p| {
            if p.is_dir() {
                p.clone()
            } else {
                p.parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            }
        },
    );
    root.join(".kustoplan").join("sandbox")
}

fn open_kusto(
    m: &Manifests,
    desired: &KustoState,
    source: &Source,
) -> Result<KustoTransport, WorkflowError> {
    let cluster = m
        .stack
        .as_ref()
        .and_then(|s| s.targets.kusto.as_ref())
        .map_or("sandbox", |k| k.cluster.value.as_str());
    if cluster == "sandbox" {
        let dir = sandbox_dir(source);
        let databases: Vec<String> = desired.databases.keys().cloned().collect();
        let sandbox = KustoSandbox::open(&dir, &databases).map_err(|e| {
            WorkflowError::Target(format!(
                "cannot open the built-in sandbox in {}: {e}",
                dir.display()
            ))
        })?;
        return Ok(KustoTransport::local(Arc::new(sandbox)));
    }
    Err(WorkflowError::Target(format!(
        "cannot reach Kusto cluster {cluster}: this build only has the built-in sandbox (set `cluster: sandbox`)"
    )))
}

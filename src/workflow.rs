//! The steps `plan` and `apply` share: load the stack, pick its targets, observe, diff. Keeps the
//! command handlers thin and the planner pure.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::ConnectManager;
use crate::model::connect::{ConnectCluster, Topic};
use crate::model::sink::{key, topic_list};
use crate::plan::Address;
use crate::plan::{
    Change, Operation, Target, connect as connect_plan, cross, kafka as kafka_plan, target,
};
use crate::providers::connect::ConnectClient;
use crate::providers::connect::converge;
use crate::providers::connect::observe::{self as connect_observe, ListError, PrefetchedLists};
use crate::providers::kafka::KafkaBackend;
use crate::providers::report::{ApplyReport, CommandOutcome};
pub use crate::targets::TargetError;
use crate::targets::{self, DirLease, LeaseError, LeaseMode, LeaseRequest};

use crate::diagnostics::{Diagnostic, SourceMap};
use crate::interrupt::StopRequest;
use crate::manifest::{self, LoadOptions, Manifests, desired};
use crate::model::kusto::KustoState;
use crate::model::stack::ResolvedStack;
use crate::plan::kusto::{DiffOptions, diff_report};
use crate::plan::{ImpactClass, PLAN_VERSION, Phase, Plan, fingerprint};
use crate::providers::kusto::observe::{Prefetched, observe_prefetched};
use crate::providers::kusto::transport::{KustoTransport, TransportError};

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
    /// `--target` patterns: only the changes they select are planned (README "Targeting").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

/// Everything that can stop plan or apply before a change is made.
#[derive(Debug)]
pub enum WorkflowError {
    /// The manifests are invalid.
    Invalid(SourceMap, Vec<Diagnostic>),
    /// A live system (or the built-in sandbox) could not be opened, reached or read.
    Target(Box<TargetError>),
    /// Another kustoplan holds the built-in sandbox's lock.
    Locked(String),
    /// The plan cannot be carried out (a topic would shrink, a route misses what it needs, a
    /// connector config is rejected): one message per problem.
    Plan(Vec<String>),
    /// A saved plan is refused: damaged, edited, made from other inputs, or stale.
    SavedPlan(crate::saved_plan::SavedPlanError),
    /// The observed state could not be put in canonical form for its fingerprint.
    Fingerprint(String),
}

impl From<TargetError> for WorkflowError {
    fn from(e: TargetError) -> Self {
        WorkflowError::Target(Box::new(e))
    }
}

impl From<ListError> for WorkflowError {
    fn from(e: ListError) -> Self {
        TargetError::ConnectList(e).into()
    }
}

impl From<TransportError> for WorkflowError {
    fn from(e: TransportError) -> Self {
        TargetError::Kusto(e).into()
    }
}

/// The live state of all three systems, as observed for one plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observed {
    /// Kusto databases the stack declares.
    pub kusto: KustoState,
    /// Topics the stack declares or routes from.
    pub topics: BTreeMap<String, Topic>,
    /// Connectors of every Connect cluster the stack uses (secrets masked).
    pub connect: BTreeMap<String, ConnectCluster>,
}

impl Observed {
    /// The SHA-256 of this state's canonical form that saved plans are bound to.
    pub fn fingerprint(&self) -> Result<String, WorkflowError> {
        fingerprint(self).map_err(|e| {
            WorkflowError::Fingerprint(format!("cannot fingerprint the observed state: {e}"))
        })
    }
}

/// Whether a plan carries the fingerprint of the observed state: a saved plan is bound to
/// it and the JSON plan shows it, but a plan only printed for a reviewer needs none, and
/// hashing the whole observed state is a twentieth of a large no-change plan's work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fingerprint {
    /// Take it beside the diff.
    Take,
    /// Already taken (apply compared it with a saved plan's).
    Taken(String),
    /// Leave it out.
    Skip,
}

/// A loaded stack with its targets opened.
pub struct Session {
    /// The files the manifests were read from (what a saved plan's inputs digest covers).
    /// The typed documents themselves are not kept: what the session needs of them is in
    /// `desired`, `connectors` and `topics`.
    pub sources: SourceMap,
    /// The environment whose variables were applied.
    pub environment: Option<String>,
    /// Their targets and names, resolved once.
    pub stack: ResolvedStack,
    /// What they declare.
    pub desired: KustoState,
    /// The declared connectors by Connect cluster.
    pub connectors: BTreeMap<String, ConnectCluster>,
    /// The declared topics.
    pub topics: BTreeMap<String, Topic>,
    /// The `--target` filter, when the plan is limited to part of the stack.
    pub targets: Option<target::TargetFilter>,
    /// Where Kusto commands go (shared with the apply lease's renewal).
    pub transport: Arc<KustoTransport>,
    /// Where topic operations go, when the stack has topics or routes.
    pub kafka: Option<Arc<dyn KafkaBackend>>,
    /// One client per Connect cluster the stack uses.
    pub connect: BTreeMap<String, ConnectClient>,
    /// How the diff treats undeclared objects.
    pub diff_options: DiffOptions,
    /// Impact classes the stack allows without a flag.
    pub stack_allows: Vec<ImpactClass>,
    /// The source, for saved plans.
    pub source: Source,
    /// How many requests apply keeps in flight (the CLI sets it from `--parallelism` and
    /// `--connect-parallelism`).
    pub parallelism: Parallelism,
    /// Kusto bulk reads started while the manifests were checked, taken by the first observe.
    prefetched: std::sync::Mutex<Prefetched>,
    /// Connect cluster lists started with them, taken by the first observe.
    prefetched_connect: std::sync::Mutex<PrefetchedLists>,
    /// The built-in sandbox directory's lease, released when the session is dropped.
    _sandbox_lease: Option<DirLease>,
}

/// Bounds on apply's concurrency, per system: Kusto and Connect have different limits, and
/// their defaults are sized for each (see the constants they default to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallelism {
    /// Databases whose scripts are in flight at once
    /// ([`crate::providers::kusto::apply::DEFAULT_PARALLELISM`]).
    pub kusto: usize,
    /// Connector requests in flight at once
    /// ([`crate::providers::connect::converge::DEFAULT_PARALLELISM`]).
    pub connect: usize,
}

impl Default for Parallelism {
    fn default() -> Self {
        Parallelism {
            kusto: crate::providers::kusto::apply::DEFAULT_PARALLELISM,
            connect: converge::DEFAULT_PARALLELISM,
        }
    }
}

impl Session {
    /// Loads the stack and opens its targets, holding the built-in sandbox's directory shared
    /// (a reader: plan, status).
    pub fn open(source: Source) -> Result<Session, WorkflowError> {
        Self::open_leased(source, &LeaseRequest::read())
    }

    /// [`Session::open`] for a plan that only reads: on a live Kusto cluster, the bulk reads
    /// of the first databases, and the list of each live Connect cluster, are sent on
    /// `runtime` as soon as the documents are read, and answered and read while the manifests
    /// are validated (a fifth of a 10,000-table plan). Taken by the session's first
    /// [`Session::observe`], so only for a command that observes. Never for apply: what is
    /// read before its lease is taken could change before it is, and the plan must see the
    /// state under the lease.
    pub fn open_prefetching(
        source: Source,
        runtime: &tokio::runtime::Handle,
    ) -> Result<Session, WorkflowError> {
        Self::open_with(source, &LeaseRequest::read(), Some(runtime))
    }

    /// Loads the stack and opens its targets; when any target is the built-in sandbox, its
    /// directory is leased as `lease` asks first (before any state is loaded) and held until
    /// the session is dropped.
    pub fn open_leased(source: Source, lease: &LeaseRequest) -> Result<Session, WorkflowError> {
        Self::open_with(source, lease, None)
    }

    fn open_with(
        source: Source,
        lease: &LeaseRequest,
        prefetch_on: Option<&tokio::runtime::Handle>,
    ) -> Result<Session, WorkflowError> {
        let targets = target::TargetFilter::new(&source.targets)
            .map_err(|e| WorkflowError::Plan(vec![e.to_string()]))?;
        let options = LoadOptions {
            environment: source.environment.clone(),
            vars: source.vars.clone(),
        };
        let mut early = None;
        let mut early_connect = PrefetchedLists::new();
        let mut manifests = manifest::load_with(&source.paths, &options, |typed| {
            if let Some(runtime) = prefetch_on {
                // Resolved once for both systems' early reads.
                let resolved = typed.resolve_stack();
                early = prefetch(typed, &resolved, &source, runtime);
                early_connect = prefetch_connect(typed, &resolved, &source, runtime);
            }
        })
        .map_err(|f| WorkflowError::Invalid(f.sources, f.diagnostics))?;
        let desired = desired::kusto_state_taking_tables(&mut manifests);
        let mut connectors = desired::connect_state(&manifests);
        for cluster in desired::connect_clusters(&manifests) {
            connectors.entry(cluster).or_default();
        }
        let stack = manifests.stack.as_ref();
        let topics = desired::kafka_topics(&manifests);
        let resolved = manifests.resolve_stack();
        let diff_options = DiffOptions {
            prune: stack.is_some_and(|s| s.safety.prune),
            owner: stack.map(|s| s.name.value.clone()),
        };
        let stack_allows = stack.map(|s| s.safety.allow.clone()).unwrap_or_default();
        let (sources, environment) = manifests.into_sources();
        let sandbox_lease = lease_sandbox(&resolved, &topics, &connectors, &source, lease)?;
        let (transport, prefetched) = match early {
            Some(early) => early,
            None => (
                Arc::new(targets::open_kusto(&resolved, &desired, &source)?),
                Prefetched::default(),
            ),
        };
        let kafka = if topics.is_empty() && connectors.values().all(|c| c.is_empty()) {
            None
        } else {
            Some(targets::open_kafka(&resolved, &source)?)
        };
        let connect = targets::open_connect(&resolved, &connectors, &source)?;
        Ok(Session {
            connectors,
            topics,
            targets,
            kafka,
            connect,
            diff_options,
            stack_allows,
            sources,
            environment,
            stack: resolved,
            desired,
            transport,
            source,
            parallelism: Parallelism::default(),
            prefetched: std::sync::Mutex::new(prefetched),
            prefetched_connect: std::sync::Mutex::new(early_connect),
            _sandbox_lease: sandbox_lease,
        })
    }

    /// Ends a session whose process is about to exit without freeing what it loaded, one
    /// allocation at a time (the desired state and the sources: a few percent of a plan's CPU at
    /// 10,000 tables; the typed documents were handed to a thread of their own at open); the
    /// built-in sandbox's directory lease is released as on drop.
    pub fn finish(self) {
        let Session {
            sources,
            desired,
            connectors,
            topics,
            _sandbox_lease,
            ..
        } = self;
        std::mem::forget((sources, desired, connectors, topics));
        drop(_sandbox_lease);
    }

    /// Where the apply lease lives when the Kusto target is live; `None` on the built-in
    /// sandbox, whose directory lease already keeps applies apart.
    pub fn lease_target(&self) -> Option<LeaseTarget> {
        lease_target(&self.stack, &self.desired, self.transport.clone())
    }

    /// Observes all three systems (a constant number of requests each), concurrently.
    pub async fn observe(&self) -> Result<Observed, WorkflowError> {
        let prefetched = std::mem::take(
            &mut *self
                .prefetched
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let kusto = async {
            observe_prefetched(&self.transport, &self.desired, prefetched)
                .await
                .map_err(WorkflowError::from)
        };
        let topics = async {
            match &self.kafka {
                Some(kafka) => kafka
                    .observe(&self.topic_names())
                    .await
                    .map_err(|e| TargetError::KafkaRead(e).into()),
                None => Ok(BTreeMap::new()),
            }
        };
        let early_lists = std::mem::take(
            &mut *self
                .prefetched_connect
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let connect = async {
            connect_observe::observe_clusters(&self.connect, &self.connectors, early_lists)
                .await
                .map_err(WorkflowError::from)
        };
        // The systems are independent: one round trip each, all in flight at once.
        let (kusto, topics, connect) = futures::try_join!(kusto, topics, connect)?;
        Ok(Observed {
            kusto,
            topics,
            connect,
        })
    }

    /// Every topic the plan looks at: declared ones, routed ones and dead-letter queues.
    fn topic_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.topics.keys().cloned().collect();
        for connectors in self.connectors.values() {
            for c in connectors.values() {
                if let Some(topics) = c.config.get(key::TOPICS) {
                    names.extend(topic_list(topics).into_iter().map(str::to_string));
                }
            }
        }
        names.sort();
        names.dedup();
        names
    }

    /// Observes the live state and diffs it against the manifests: topics, then Kusto, then
    /// connectors, in one plan. Refuses plans that cannot be carried out.
    pub async fn plan(&self, fingerprint: Fingerprint) -> Result<(Plan, Observed), WorkflowError> {
        let observed = self.observe().await?;
        let plan = self.plan_from(&observed, fingerprint)?;
        Ok((plan, observed))
    }

    /// The plan from an observed state (pure): the diff of all three systems, in apply order,
    /// or the problems that stop it.
    pub fn plan_from(
        &self,
        observed: &Observed,
        fingerprint: Fingerprint,
    ) -> Result<Plan, WorkflowError> {
        match fingerprint {
            Fingerprint::Skip => self.plan_without_fingerprint(observed),
            Fingerprint::Taken(taken) => Ok(Plan {
                fingerprint: Some(taken),
                ..self.plan_without_fingerprint(observed)?
            }),
            // The fingerprint serialises and hashes the whole observed state (a tenth of a
            // second at 10,000 tables) and needs nothing from the diff: it is taken on another
            // core meanwhile. A plan with problems reports them, not a fingerprint's failure.
            Fingerprint::Take => {
                let (plan, fingerprint) = crate::threads::beside(
                    || self.plan_without_fingerprint(observed),
                    || observed.fingerprint(),
                );
                let plan = plan?;
                Ok(Plan {
                    fingerprint: Some(fingerprint?),
                    ..plan
                })
            }
        }
    }

    /// [`Self::plan_from`] without the observed state's fingerprint.
    fn plan_without_fingerprint(&self, observed: &Observed) -> Result<Plan, WorkflowError> {
        let (mut changes, topic_errors) = kafka_plan::diff(&self.topics, &observed.topics);
        let kusto = diff_report(&self.desired, &observed.kusto, &self.diff_options);
        let kusto_renames = kusto
            .changes
            .iter()
            .filter(|c| c.previous_address.is_some())
            .count();
        changes.extend(kusto.changes);
        changes.extend(connect_plan::diff_after_renames(
            &self.connectors,
            &observed.connect,
            self.diff_options.owner.as_deref(),
            self.diff_options.prune,
            &kusto.renamed_tables,
        ));
        changes.sort_by(|a, b| a.apply_order().cmp(&b.apply_order()));
        let after_renames =
            crate::plan::kusto::live_after_renames(&observed.kusto, &kusto.live_after_renames);
        crate::plan::kusto::note_fed_tables(&mut changes, &self.desired, &after_renames);
        let mut problems: Vec<String> = topic_errors
            .into_iter()
            .filter(|e| self.in_target(&e.address))
            .map(|e| format!("{}: {}", e.address, e.message))
            .chain(
                kusto
                    .rename_problems
                    .iter()
                    .filter(|p| self.in_target(&p.address))
                    .map(|p| format!("{}: {}", p.address, p.message)),
            )
            .chain(
                kusto
                    .update_policy_problems
                    .iter()
                    .filter(|p| self.in_target(&p.address))
                    .map(|p| format!("{}: {}", p.address, p.message)),
            )
            .chain(
                kusto
                    .materialized_view_problems
                    .iter()
                    .filter(|p| self.in_target(&p.address))
                    .map(|p| format!("{}: {}", p.address, p.message)),
            )
            .collect();
        if let Some(filter) = &self.targets {
            let (kept, missing) = target::select(changes, filter, &self.connectors);
            changes = kept;
            if !missing.is_empty() {
                // What to add to the target comes first; the route checks would only repeat
                // it in other words.
                problems.extend(missing.iter().map(ToString::to_string));
                return Err(WorkflowError::Plan(problems));
            }
        }
        // Routes are judged against Kusto as the plan's renames leave it, unless a target
        // leaves one of them out (then against Kusto as it is: the left-out rename does not run).
        let kept_renames = changes
            .iter()
            .filter(|c| {
                c.previous_address.is_some()
                    && matches!(c.target, crate::plan::Target::Kusto { .. })
            })
            .count();
        let kusto_after = if kept_renames == kusto_renames {
            after_renames.as_ref()
        } else {
            &observed.kusto
        };
        let removed: std::collections::BTreeSet<Address> = changes
            .iter()
            .filter(|c| c.action == crate::plan::Action::Delete)
            .map(|c| c.address.clone())
            .collect();
        problems.extend(
            self.route_problems(observed, &removed, kusto_after)
                .into_iter()
                .map(|p| format!("{} route {}: {}", p.connector, p.route, p.message)),
        );
        if !problems.is_empty() {
            return Err(WorkflowError::Plan(problems));
        }
        let plan = Plan {
            version: PLAN_VERSION,
            stack: self.stack.owner.clone(),
            environment: self.environment.clone(),
            fingerprint: None,
            managed_elsewhere: self.managed_elsewhere(&changes),
            changes,
            undeclared_principals_left: kusto.undeclared_principals_left,
            targets: self.source.targets.clone(),
        };
        Ok(plan)
    }

    /// The Connect clusters `changes` touch whose connectors another tool writes.
    fn managed_elsewhere(&self, changes: &[Change]) -> BTreeMap<String, ConnectManager> {
        changes
            .iter()
            .filter_map(|c| match &c.target {
                Target::Connect { cluster } => {
                    let manager = self.stack.connect(cluster).manager;
                    (!manager.lets_kustoplan_write()).then(|| (cluster.clone(), manager))
                }
                _ => None,
            })
            .collect()
    }

    /// Whether `address` is in the plan's `--target` (everything is without one).
    fn in_target(&self, address: &Address) -> bool {
        self.targets.as_ref().is_none_or(|f| f.matches(address))
    }

    /// The route problems of the state the plan leaves behind (`kusto_after`: Kusto once the
    /// plan's renames ran). With `--target`, connectors and
    /// topics outside it stay as they are live, and a problem of a connector outside it counts
    /// only when the plan causes it (it removes what the route uses): one that is already
    /// there is for a full plan to fix.
    fn route_problems(
        &self,
        observed: &Observed,
        removed: &BTreeSet<Address>,
        kusto_after: &KustoState,
    ) -> Vec<cross::RouteProblem> {
        let Some(filter) = &self.targets else {
            return cross::check(&cross::World {
                kusto_desired: &self.desired,
                kusto_observed: kusto_after,
                connectors: &self.connectors,
                topics_desired: &self.topics,
                topics_observed: &observed.topics,
                removed,
            });
        };
        let mut clusters: BTreeSet<&String> = self.connectors.keys().collect();
        clusters.extend(observed.connect.keys());
        let connectors: BTreeMap<String, ConnectCluster> = clusters
            .into_iter()
            .map(|cluster| {
                let declared = self.connectors.get(cluster);
                let live = observed.connect.get(cluster);
                let mut names: BTreeSet<&String> =
                    declared.into_iter().flat_map(|d| d.keys()).collect();
                names.extend(live.into_iter().flat_map(|l| l.keys()));
                let after: ConnectCluster = names
                    .into_iter()
                    .filter_map(|name| {
                        let address = Address::connector(cluster, name);
                        let side = if filter.matches(&address) {
                            declared
                        } else {
                            live
                        };
                        side.and_then(|s| s.get(name))
                            .map(|c| (name.clone(), c.clone()))
                    })
                    .collect();
                (cluster.clone(), after)
            })
            .collect();
        let topics: BTreeMap<String, Topic> = self
            .topics
            .keys()
            .chain(observed.topics.keys())
            .filter_map(|name| {
                let side = if filter.matches(&Address::kafka_topic(name)) {
                    &self.topics
                } else {
                    &observed.topics
                };
                side.get(name).map(|t| (name.clone(), t.clone()))
            })
            .collect();
        let world = |kusto_observed, removed| cross::World {
            kusto_desired: &self.desired,
            kusto_observed,
            connectors: &connectors,
            topics_desired: &topics,
            topics_observed: &observed.topics,
            removed,
        };
        let nothing_removed = BTreeSet::new();
        let before = cross::check(&world(&observed.kusto, &nothing_removed));
        cross::check(&world(kusto_after, removed))
            .into_iter()
            .filter(|p| filter.matches(&p.connector) || !before.contains(p))
            .collect()
    }

    /// The digest of this session's manifests and source that a saved plan is bound to.
    pub fn inputs_digest(&self) -> Result<String, String> {
        crate::saved_plan::inputs_digest(&self.sources, &self.source)
            .map_err(|e| format!("cannot digest the plan's inputs: {e}"))
    }

    /// Validates every connector config the plan writes; nothing is written when any is invalid.
    pub async fn validate_connectors(&self, changes: &[Change]) -> Result<(), WorkflowError> {
        let problems =
            converge::validate_clusters(&self.connect, changes, self.parallelism.connect)
                .await
                .map_err(|(cluster, source)| TargetError::ConnectValidate { cluster, source })?;
        if problems.is_empty() {
            Ok(())
        } else {
            Err(WorkflowError::Plan(problems))
        }
    }

    /// Applies the plan: topics, then Kusto, then connectors; stops at the first failure, or
    /// before the next request once `stop` is requested, and reports every step. Then waits
    /// until changed connectors reach their declared state (not after a stop: nothing more is
    /// sent).
    pub async fn apply(
        &self,
        changes: &[Change],
        stop: &StopRequest,
        mut progress: impl FnMut(String),
    ) -> ApplyReport {
        let mut report = ApplyReport::default();
        if stop.is_requested() {
            report.interrupted = true;
            report.skip(changes, |_| true);
            return report;
        }
        if let Some(kafka) = &self.kafka {
            let ops: Vec<(Address, Operation)> = changes
                .iter()
                .filter(|c| c.target == Target::Kafka)
                .flat_map(|c| {
                    c.operations
                        .iter()
                        .map(move |op| (c.address.clone(), op.clone()))
                })
                .collect();
            if !ops.is_empty() {
                progress(format!("Applying {} topic operations...", ops.len()));
                let only: Vec<Operation> = ops.iter().map(|(_, op)| op.clone()).collect();
                let topics = crate::providers::kafka::apply::execute(kafka.as_ref(), &only).await;
                let ok = topics.succeeded();
                for (address, op) in &ops {
                    let outcome = match topics.ran.iter().find(|(o, _)| o == op) {
                        Some((_, Ok(()))) => CommandOutcome::Completed,
                        Some((_, Err(e))) => CommandOutcome::Failed(e.to_string()),
                        None => match &topics.error {
                            Some(e) => CommandOutcome::Failed(e.to_string()),
                            None => CommandOutcome::NotRun,
                        },
                    };
                    report
                        .commands
                        .push((address.clone(), connect_plan::describe(op), outcome));
                }
                report.requests += 1;
                if !ok {
                    report.skip(changes, |c| c.target != Target::Kafka);
                    return report;
                }
            }
        }
        if stop.is_requested() {
            report.interrupted = true;
            report.skip(changes, |c| c.target != Target::Kafka);
            return report;
        }
        // Kusto removals run after the connectors; both parts are picked out of `changes` by
        // predicate rather than copied.
        let kusto = |c: &Change| matches!(c.target, Target::Kusto { .. });
        let kusto_first = |c: &Change| kusto(c) && c.phase != Phase::KustoRemovals;
        let kusto_last = |c: &Change| kusto(c) && c.phase == Phase::KustoRemovals;
        if !self
            .apply_kusto(changes, kusto_first, stop, &mut report, &mut progress)
            .await
        {
            report.skip(changes, |c| {
                matches!(c.target, Target::Connect { .. }) || c.phase == Phase::KustoRemovals
            });
            return report;
        }
        // A failure or a stop on one Connect cluster starts nothing on the next.
        converge::apply_clusters(
            &self.connect,
            changes,
            &self.connectors,
            self.parallelism.connect,
            stop,
            &mut progress,
            &mut report,
        )
        .await;
        if changes.iter().any(kusto_last) {
            if report.succeeded() {
                self.apply_kusto(changes, kusto_last, stop, &mut report, &mut progress)
                    .await;
            } else {
                report.skip(changes, kusto_last);
            }
        }
        report
    }

    /// Runs the Kusto changes `only` selects in script batches and adds their outcomes to
    /// `report`; whether every command completed.
    async fn apply_kusto(
        &self,
        changes: &[Change],
        only: impl Fn(&Change) -> bool,
        stop: &StopRequest,
        report: &mut ApplyReport,
        progress: &mut impl FnMut(String),
    ) -> bool {
        if !changes.iter().any(&only) {
            return true;
        }
        if stop.is_requested() {
            report.interrupted = true;
            report.skip(changes, only);
            return false;
        }
        let kusto = crate::providers::kusto::apply::apply_where(
            &self.transport,
            changes,
            only,
            self.parallelism.kusto,
            stop,
            |b| {
                progress(format!(
                    "Applying Kusto batch {}/{} in `{}` ({} commands)...",
                    b.number, b.total, b.database, b.commands
                ));
            },
        )
        .await;
        let ok = kusto.succeeded();
        report.requests += kusto.requests;
        report.interrupted |= kusto.interrupted;
        report.commands.extend(kusto.commands);
        ok
    }
}

impl Session {
    /// Restarts the failed tasks (and failed connectors) of the declared connectors with
    /// `POST /connectors/N/restart?includeTasks=true&onlyFailed=true`, then waits until they
    /// run again. One list request per Connect cluster finds them. Clusters another tool
    /// manages are left to it.
    pub async fn restart_failed(
        &self,
        mut progress: impl FnMut(String),
    ) -> Result<ApplyReport, WorkflowError> {
        let mut report = ApplyReport::default();
        converge::restart_failed_clusters(
            &self.connect,
            &self.connectors,
            |cluster| {
                let manager = self.stack.connect(cluster).manager;
                (!manager.lets_kustoplan_write()).then(|| manager.describe().to_string())
            },
            &mut progress,
            &mut report,
        )
        .await?;
        Ok(report)
    }
}

/// Opens a live Kusto target and starts the bulk reads of the databases the typed documents
/// declare ([`Session::open_prefetching`]). `None` on the built-in sandbox (opened in process,
/// after its directory lease), and when the target cannot be opened: the open after validation
/// fails the same way and reports it then, after any problem of the manifests.
fn prefetch(
    typed: &Manifests,
    resolved: &ResolvedStack,
    source: &Source,
    runtime: &tokio::runtime::Handle,
) -> Option<(Arc<KustoTransport>, Prefetched)> {
    if !resolved.kusto_is_live() {
        return None;
    }
    // A live target's transport needs no desired state (the sandbox's would).
    let transport = Arc::new(targets::open_kusto(resolved, &KustoState::default(), source).ok()?);
    let databases = typed.databases.iter().map(|d| d.name.value.clone());
    let prefetched = Prefetched::start(runtime, &transport, databases);
    Some((transport, prefetched))
}

/// Starts the list of each live Connect cluster a plan of `typed` reads (never the built-in
/// sandbox's: its directory is leased first).
fn prefetch_connect(
    typed: &Manifests,
    resolved: &ResolvedStack,
    source: &Source,
    runtime: &tokio::runtime::Handle,
) -> PrefetchedLists {
    let clients = targets::open_live_connect(resolved, &desired::connect_clusters(typed), source);
    connect_observe::prefetch(runtime, clients)
}

/// Leases the built-in sandbox's directory when any target of the stack is the sandbox
/// ([`targets::lease_sandbox`]), with the message a held lock deserves.
fn lease_sandbox(
    stack: &ResolvedStack,
    topics: &BTreeMap<String, Topic>,
    connectors: &BTreeMap<String, ConnectCluster>,
    source: &Source,
    request: &LeaseRequest,
) -> Result<Option<DirLease>, WorkflowError> {
    targets::lease_sandbox(stack, topics, connectors, source, request).map_err(|e| {
        match (&e, request.mode) {
            (LeaseError::Held { .. }, LeaseMode::Exclusive) => WorkflowError::Locked(format!(
                "{e}; nothing was changed. Wait for it to finish, or pass --lock-timeout \
                 DURATION (e.g. --lock-timeout 30s) to wait for it"
            )),
            (LeaseError::Held { .. }, LeaseMode::Shared) => WorkflowError::Locked(format!(
                "{e}; nothing was read. Run again when it has finished"
            )),
            (LeaseError::Io { .. }, _) => TargetError::Lease(e).into(),
        }
    })
}

/// A live Kusto target and what names and places the stack's apply lease there
/// ([`crate::kusto::lease`]).
pub struct LeaseTarget {
    /// The stack's name.
    pub stack: String,
    /// The databases the stack declares (the lease is taken in each).
    pub databases: Vec<String>,
    /// Where the lease's commands go.
    pub transport: Arc<KustoTransport>,
}

fn lease_target(
    resolved: &ResolvedStack,
    desired: &KustoState,
    transport: Arc<KustoTransport>,
) -> Option<LeaseTarget> {
    if transport.in_process() {
        return None;
    }
    // Without a Stack document every target is the built-in sandbox, so a live target always
    // comes with a stack name.
    let stack = resolved.name.clone()?;
    Some(LeaseTarget {
        stack,
        databases: desired.databases.keys().cloned().collect(),
        transport,
    })
}

/// Loads the stack and opens only its Kusto target, for `force-unlock`: `None` when the target
/// is the built-in sandbox (nothing is opened then, so no sandbox directory is touched).
pub fn open_lease_target(source: &Source) -> Result<Option<LeaseTarget>, WorkflowError> {
    let options = LoadOptions {
        environment: source.environment.clone(),
        vars: source.vars.clone(),
    };
    let manifests = manifest::load(&source.paths, &options)
        .map_err(|f| WorkflowError::Invalid(f.sources, f.diagnostics))?;
    let resolved = manifests.resolve_stack();
    if !resolved.kusto_is_live() {
        return Ok(None);
    }
    let desired = desired::kusto_state(&manifests);
    let transport = Arc::new(targets::open_kusto(&resolved, &desired, source)?);
    Ok(lease_target(&resolved, &desired, transport))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gameplay example on a fresh built-in sandbox, and the state it observes there.
    fn example_session(dir: &std::path::Path) -> (Session, Observed, tokio::runtime::Runtime) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let session = Session::open(Source {
            paths: vec![root.join("examples/gameplay")],
            environment: None,
            vars: Vec::new(),
            sandbox_dir: Some(dir.to_path_buf()),
            targets: Vec::new(),
        })
        .expect("the example opens");
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let observed = rt.block_on(session.observe()).expect("observe");
        (session, observed, rt)
    }

    #[test]
    fn a_plan_takes_the_fingerprint_only_when_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (session, observed, _rt) = example_session(dir.path());
        let live = observed.fingerprint().expect("fingerprint");
        assert!(crate::plan::is_sha256_hex(&live), "{live}");
        let plan = |fingerprint| {
            session
                .plan_from(&observed, fingerprint)
                .expect("a plan")
                .fingerprint
        };
        assert_eq!(plan(Fingerprint::Take), Some(live.clone()));
        assert_eq!(plan(Fingerprint::Skip), None);
        assert_eq!(
            plan(Fingerprint::Taken("given".to_string())),
            Some("given".to_string())
        );
        let shown = session
            .plan_from(&observed, Fingerprint::Skip)
            .expect("a plan");
        let json = serde_json::to_value(&shown).expect("JSON");
        assert!(json.get("fingerprint").is_none(), "{json}");
        assert!(!shown.is_empty(), "the example's plan on an empty sandbox");
    }
}

//! Carrying out planned connector operations: validate every new or changed config first
//! (nothing is written when any is invalid), then create/update, reach the declared run state,
//! and wait until the connector and its tasks are there, reporting failed tasks with their
//! (masked) traces.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;

use super::observe::{ListError, list};
use super::types::State;
use super::{ConnectClient, ConnectClientError};
use crate::interrupt::{Halt, StopRequest};
use crate::model::connect::{ConnectCluster, RunState};
use crate::model::sink::KUSTO_SINK_CLASS;
use crate::plan::Address;
use crate::plan::connect::describe;
use crate::plan::{Change, Operation, Phase, Target};
use crate::providers::report::{ApplyReport, CommandOutcome, StateCheck};
use crate::providers::wait::{Wait, WaitOutcome};

/// One invalid config key, as Connect's validate endpoint reported it (values masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Connector name.
    pub connector: String,
    /// Config key.
    pub key: String,
    /// Connect's message.
    pub message: String,
}

/// Validates every config the operations would write, up to `parallelism` requests at once.
/// Returns each reported error, in the operations' order.
pub async fn validate(
    client: &ConnectClient,
    operations: &[Operation],
    parallelism: usize,
) -> Result<Vec<Invalid>, ConnectClientError> {
    let configs = operations.iter().filter_map(|op| match op {
        Operation::PutConnectorConfig { name, config }
        | Operation::CreateConnector { name, config, .. } => Some((name, config)),
        _ => None,
    });
    let reports: Vec<_> = futures::stream::iter(configs)
        .map(|(name, config)| async move {
            let mut with_name = config.clone();
            with_name.insert("name".to_string(), name.clone());
            client
                .validate(KUSTO_SINK_CLASS, &with_name)
                .await
                .map(|report| (name, report))
        })
        .buffered(parallelism.max(1))
        .collect()
        .await;
    let mut out = Vec::new();
    for report in reports {
        let (name, report) = report?;
        for (key, errors) in report.errors() {
            for message in errors {
                out.push(Invalid {
                    connector: name.clone(),
                    key: key.to_string(),
                    message: client.mask_text(message),
                });
            }
        }
    }
    Ok(out)
}

/// Validates every connector config `changes` write, on every cluster of `clients`: one line
/// per invalid key (`connect.CLUSTER.connector.NAME: `key`: message`), or the cluster whose
/// validation could not be read and why.
pub async fn validate_clusters(
    clients: &BTreeMap<String, ConnectClient>,
    changes: &[Change],
    parallelism: usize,
) -> Result<Vec<String>, (String, ConnectClientError)> {
    let mut problems = Vec::new();
    for (cluster, client) in clients {
        let ops: Vec<Operation> = steps_of(changes, cluster)
            .into_iter()
            .flat_map(|step| step.operations)
            .collect();
        let invalid = validate(client, &ops, parallelism)
            .await
            .map_err(|e| (cluster.clone(), e))?;
        problems.extend(invalid.into_iter().map(|i| {
            format!(
                "connect.{cluster}.connector.{}: `{}`: {}",
                i.connector, i.key, i.message
            )
        }));
    }
    Ok(problems)
}

/// How long a connector whose offsets are copied may take to stop (its tasks commit their last
/// offsets while shutting down).
const STOP_WAIT: Duration = Duration::from_secs(60);

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepError {
    /// A request failed.
    Request(ConnectClientError),
    /// The connector whose offsets were to be copied did not stop, so its offsets were not
    /// final; nothing was written to the other connector.
    NotStopped(NotConverged),
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepError::Request(e) => write!(f, "{e}"),
            StepError::NotStopped(nc) => write!(
                f,
                "connector {} did not stop within {}s ({}); its offsets were not copied",
                nc.connector,
                STOP_WAIT.as_secs(),
                nc.detail
            ),
        }
    }
}

impl From<ConnectClientError> for StepError {
    fn from(e: ConnectClientError) -> Self {
        StepError::Request(e)
    }
}

/// Sends one operation.
pub async fn execute(client: &ConnectClient, op: &Operation) -> Result<(), StepError> {
    match op {
        Operation::PutConnectorConfig { name, config } => {
            client.put_config(name, config).await.map(drop)?
        }
        Operation::CreateConnector {
            name,
            config,
            initial_state,
        } => client
            .create(name, config, *initial_state)
            .await
            .map(drop)?,
        Operation::PauseConnector { name } => client.pause(name).await?,
        Operation::ResumeConnector { name } => client.resume(name).await?,
        Operation::StopConnector { name } => client.stop(name).await?,
        Operation::DeleteConnector { name } => client.delete(name).await?,
        Operation::CopyConnectorOffsets { from, to } => copy_offsets(client, from, to).await?,
        Operation::CreateTopic { .. }
        | Operation::CreatePartitions { .. }
        | Operation::AlterTopicConfigs { .. } => {}
    }
    Ok(())
}

/// Waits until `from` is stopped, then writes its committed offsets to `to` (which must be
/// stopped too; Connect refuses otherwise). A connector that never committed anything has
/// nothing to carry over, and `PATCH` with no offsets is an error on Connect, so nothing is
/// written then.
async fn copy_offsets(client: &ConnectClient, from: &str, to: &str) -> Result<(), StepError> {
    let stopped = BTreeMap::from([(from.to_string(), State::Stopped)]);
    if let Some(nc) = wait_for(client, &stopped, STOP_WAIT)
        .await
        .into_iter()
        .next()
    {
        return Err(StepError::NotStopped(nc));
    }
    let offsets = client.offsets(from).await?;
    if !offsets.offsets.is_empty() {
        client.alter_offsets(to, &offsets).await?;
    }
    Ok(())
}

/// Why a connector did not reach its declared state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotConverged {
    /// Connector name.
    pub connector: String,
    /// What was seen last, with failed tasks' traces (masked, first lines).
    pub detail: String,
}

/// Waits until each connector (name -> declared state) and all its tasks are in the declared
/// state; `RUNNING` also needs every task `RUNNING`, `STOPPED` needs no tasks. A failed
/// connector or task ends the wait for that connector at once. Each round reads the pending
/// connectors' status (see [`statuses`]); the result is in `wanted`'s order.
pub async fn wait_for(
    client: &ConnectClient,
    wanted: &BTreeMap<String, State>,
    timeout: Duration,
) -> Vec<NotConverged> {
    let deadline = Instant::now() + timeout;
    let waiting = Wait::start(match wanted.len() {
        1 => format!(
            "waiting for connector {} to be {}",
            wanted.keys().next().map_or("", String::as_str),
            wanted.values().next().map_or("", State::as_str)
        ),
        n => format!("waiting for {n} connectors to reach their declared state"),
    });
    let mut pending: Vec<(&String, &State)> = wanted.iter().collect();
    let mut out = Vec::new();
    let mut last: BTreeMap<&String, String> = BTreeMap::new();
    while !pending.is_empty() {
        let statuses = statuses(client, &pending).await;
        let mut next = Vec::new();
        for ((name, want), status) in pending.into_iter().zip(statuses) {
            match status {
                Ok(status) => {
                    let tasks_ok = match want {
                        State::Stopped => status.tasks.is_empty(),
                        other => {
                            !status.tasks.is_empty()
                                && status.tasks.iter().all(|t| t.state == *other)
                        }
                    };
                    if status.connector.state == *want && tasks_ok {
                        continue;
                    }
                    let failed: Vec<String> = status
                        .tasks
                        .iter()
                        .filter(|t| t.state == State::Failed)
                        .map(|t| {
                            let trace = t
                                .trace
                                .as_deref()
                                .map(|tr| client.mask_text(tr))
                                .unwrap_or_default();
                            format!(
                                "task {} FAILED: {}",
                                t.id,
                                trace.lines().take(3).collect::<Vec<_>>().join(" | ")
                            )
                        })
                        .collect();
                    let seen = format!("connector is {}", status.connector.state.as_str());
                    if status.connector.state == State::Failed || !failed.is_empty() {
                        let detail = if failed.is_empty() {
                            seen
                        } else {
                            format!("{seen}; {}", failed.join("; "))
                        };
                        out.push(NotConverged {
                            connector: name.clone(),
                            detail,
                        });
                        continue;
                    }
                    last.insert(name, seen);
                }
                Err(e) => {
                    last.insert(name, e);
                }
            }
            next.push((name, want));
        }
        pending = next;
        if pending.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            out.extend(pending.iter().map(|(name, want)| NotConverged {
                connector: (*name).clone(),
                detail: format!(
                    "not {} after {}s ({})",
                    want.as_str(),
                    timeout.as_secs(),
                    last.get(name).map_or("no status", String::as_str)
                ),
            }));
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    out.sort_by(|a, b| a.connector.cmp(&b.connector));
    waiting.end(match out.len() {
        0 => WaitOutcome::Done,
        n => WaitOutcome::Failed(format!("{n} not in their declared state")),
    });
    out
}

/// The status of each of `pending`, in its order: a connector's own
/// `GET /connectors/NAME/status` when it is the only one, otherwise one
/// `GET /connectors?expand=status` for all of them (a round costs one request, not one per
/// connector: waiting for a thousand routes' connectors took seconds of round trips). A
/// connector the list lacks (not yet known to the worker answering) is an error this round,
/// as its own status request would answer 404.
async fn statuses(
    client: &ConnectClient,
    pending: &[(&String, &State)],
) -> Vec<Result<super::ConnectorStatus, String>> {
    if let [(name, _)] = pending {
        return vec![client.status(name).await.map_err(|e| e.to_string())];
    }
    match client.list_statuses().await {
        Ok(mut listed) => pending
            .iter()
            .map(|(name, _)| {
                listed
                    .remove(name.as_str())
                    .ok_or_else(|| format!("connector {name} is not in GET /connectors yet"))
            })
            .collect(),
        Err(e) => {
            let message = e.to_string();
            pending.iter().map(|_| Err(message.clone())).collect()
        }
    }
}

/// How many connector requests apply keeps in flight unless told otherwise
/// (`--connect-parallelism`): Terraform's default parallelism. A Connect worker answers REST
/// calls from a thread pool and forwards writes to the group's leader, which appends them to
/// the config topic one by one; ten in flight hide the round trips of a thousand routes
/// without piling up rebalances (whose 409 answers the client retries).
pub const DEFAULT_PARALLELISM: usize = 10;

/// How long apply waits for connectors and tasks to reach their declared state.
const CONNECTOR_WAIT: Duration = Duration::from_secs(60);

/// One change's requests to a Connect cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The change's address.
    pub address: Address,
    /// The change's phase: the steps of a phase may run concurrently, phases run one after
    /// another (configs, then run states, then removals, as the plan orders them).
    pub phase: Phase,
    /// Its requests, in order.
    pub operations: Vec<Operation>,
}

/// The Connect steps of `changes` for `cluster`, in plan order.
pub fn steps_of(changes: &[Change], cluster: &str) -> Vec<Step> {
    changes
        .iter()
        .filter(|c| matches!(&c.target, Target::Connect { cluster: name } if name == cluster))
        .map(|c| Step {
            address: c.address.clone(),
            phase: c.phase,
            operations: c.operations.clone(),
        })
        .collect()
}

/// The connectors an operation touches.
fn connectors_of(op: &Operation) -> Vec<&str> {
    match op {
        Operation::PutConnectorConfig { name, .. }
        | Operation::CreateConnector { name, .. }
        | Operation::PauseConnector { name }
        | Operation::ResumeConnector { name }
        | Operation::StopConnector { name }
        | Operation::DeleteConnector { name } => vec![name],
        Operation::CopyConnectorOffsets { from, to } => vec![from, to],
        Operation::CreateTopic { .. }
        | Operation::CreatePartitions { .. }
        | Operation::AlterTopicConfigs { .. } => Vec::new(),
    }
}

/// Splits the steps' operations (numbered in plan order) into waves, one per phase, run one
/// after another; within a wave, into groups run concurrently, each in plan order. Steps that
/// touch a common connector share a group (a rename stops one connector, creates another and
/// copies offsets from one to the other), so no connector ever sees its requests reordered or
/// two at once, and nothing of a later phase starts before the earlier phase has finished.
fn waves(steps: &[Step]) -> Vec<Vec<Vec<usize>>> {
    type Group<'a> = (BTreeSet<&'a str>, Vec<usize>);
    let mut out: Vec<Vec<Group>> = Vec::new();
    let mut wave: Vec<Group> = Vec::new();
    let mut phase = None;
    let mut next = 0;
    for step in steps {
        if phase.is_some_and(|p| p != step.phase) {
            out.push(std::mem::take(&mut wave));
        }
        phase = Some(step.phase);
        let numbers: Vec<usize> = (next..next + step.operations.len()).collect();
        next += step.operations.len();
        let names: BTreeSet<&str> = step.operations.iter().flat_map(connectors_of).collect();
        let (sharing, rest): (Vec<Group>, Vec<Group>) = std::mem::take(&mut wave)
            .into_iter()
            .partition(|(touched, _)| !touched.is_disjoint(&names));
        wave = rest;
        let mut group = (names, numbers);
        for (touched, ops) in sharing {
            group.0.extend(touched);
            group.1.extend(ops);
        }
        group.1.sort_unstable();
        wave.push(group);
        wave.sort_by_key(|(_, ops)| ops.first().copied());
    }
    out.push(wave);
    out.into_iter()
        .filter(|wave| !wave.is_empty())
        .map(|wave| wave.into_iter().map(|(_, ops)| ops).collect())
        .collect()
}

/// The shared state of one cluster's apply. Its groups all run on the caller's task (polled
/// together, never spawned), so the locks are only ever held between two awaits.
struct Run<'a, F> {
    client: &'a ConnectClient,
    ops: &'a [(Address, String, Operation)],
    declared: Option<&'a ConnectCluster>,
    stop: &'a StopRequest,
    /// A request failed, or a stop was requested: no request starts any more.
    halt: Halt,
    requests: AtomicUsize,
    /// Each operation's outcome by number; `None` until it has been sent and answered.
    outcomes: Mutex<Vec<Option<CommandOutcome>>>,
    /// The state each connector touched should end in.
    wanted: Mutex<BTreeMap<String, State>>,
    progress: Mutex<&'a mut F>,
}

impl<F: FnMut(String)> Run<'_, F> {
    /// Sends one group's operations in order, until one fails or apply halts.
    async fn group(&self, numbers: &[usize]) {
        for &i in numbers {
            if !self.halt.may_start(self.stop) {
                return;
            }
            let (_, text, op) = &self.ops[i];
            (lock(&self.progress))(text.clone());
            self.requests.fetch_add(1, Ordering::SeqCst);
            let outcome = match execute(self.client, op).await {
                Ok(()) => {
                    track_wanted_state(&mut lock(&self.wanted), op, self.declared);
                    CommandOutcome::Completed
                }
                Err(e) => {
                    self.halt.halt();
                    CommandOutcome::Failed(e.to_string())
                }
            };
            let failed = outcome != CommandOutcome::Completed;
            lock(&self.outcomes)[i] = Some(outcome);
            if failed {
                return;
            }
        }
    }
}

/// Locks a mutex of this module; each write under it is one assignment or one map update, so
/// a panic while one was held leaves nothing half-written and poisoning is ignored.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Carries out one cluster's planned steps, adding each outcome to `report` in plan order:
/// phase by phase, and within a phase the steps of different connectors concurrently, up to
/// `parallelism` requests at once (see [`waves`]). At the first failure, or once `stop` is
/// requested, no further request starts; those in flight finish. Then, unless interrupted,
/// waits until every connector it touched reaches the state `declared` gives it.
#[allow(clippy::too_many_arguments)]
pub async fn apply_cluster(
    client: &ConnectClient,
    cluster: &str,
    steps: Vec<Step>,
    declared: Option<&ConnectCluster>,
    parallelism: usize,
    stop: &StopRequest,
    progress: &mut impl FnMut(String),
    report: &mut ApplyReport,
) {
    let waves = waves(&steps);
    let ops: Vec<(Address, String, Operation)> = steps
        .into_iter()
        .flat_map(|step| {
            let address = step.address;
            step.operations
                .into_iter()
                .map(move |op| (address.clone(), describe(&op), op))
        })
        .collect();
    let run = Run {
        client,
        ops: &ops,
        declared,
        stop,
        halt: Halt::default(),
        requests: AtomicUsize::new(0),
        outcomes: Mutex::new(vec![None; ops.len()]),
        wanted: Mutex::new(BTreeMap::new()),
        progress: Mutex::new(progress),
    };
    for wave in &waves {
        if run.halt.is_halted() {
            break;
        }
        futures::stream::iter(wave)
            .map(|group| run.group(group))
            .buffer_unordered(parallelism.max(1))
            .for_each(|()| async {})
            .await;
    }
    let outcomes = std::mem::take(&mut *lock(&run.outcomes));
    report.commands.extend(
        ops.iter()
            .zip(outcomes)
            .map(|((address, text, _), outcome)| {
                (
                    address.clone(),
                    text.clone(),
                    outcome.unwrap_or(CommandOutcome::NotRun),
                )
            }),
    );
    report.requests += run.requests.load(Ordering::SeqCst);
    report.interrupted |= run.halt.was_interrupted();
    let wanted = std::mem::take(&mut *lock(&run.wanted));
    let progress = run
        .progress
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !wanted.is_empty() && !report.interrupted {
        progress(format!(
            "Waiting for {} connector(s) on `{cluster}` to reach their declared state...",
            wanted.len()
        ));
        let missed = wait_for(client, &wanted, CONNECTOR_WAIT).await;
        report
            .verifications
            .extend(state_checks(cluster, &wanted, missed));
    }
}

/// Carries out the Connect changes of a plan on every cluster of `clients`, one cluster after
/// another ([`apply_cluster`] each). A failure, an unconfirmed state or a stop anywhere in
/// `report` so far (Kafka and Kusto ran first) starts nothing on the next cluster: its changes
/// are reported as not run.
pub async fn apply_clusters(
    clients: &BTreeMap<String, ConnectClient>,
    changes: &[Change],
    declared: &BTreeMap<String, ConnectCluster>,
    parallelism: usize,
    stop: &StopRequest,
    progress: &mut impl FnMut(String),
    report: &mut ApplyReport,
) {
    for (cluster, client) in clients {
        if report.interrupted
            || report
                .commands
                .iter()
                .any(|(_, _, o)| *o != CommandOutcome::Completed)
        {
            report.skip(
                changes,
                |c| matches!(&c.target, Target::Connect { cluster: name } if name == cluster),
            );
            continue;
        }
        apply_cluster(
            client,
            cluster,
            steps_of(changes, cluster),
            declared.get(cluster),
            parallelism,
            stop,
            progress,
            report,
        )
        .await;
    }
}

/// Updates which state each connector should end in after `op` succeeded.
fn track_wanted_state(
    wanted: &mut BTreeMap<String, State>,
    op: &Operation,
    declared: Option<&ConnectCluster>,
) {
    match op {
        Operation::PutConnectorConfig { name, .. } => {
            let state = declared
                .and_then(|c| c.get(name))
                .map_or(State::Running, |c| wire_state(c.state));
            wanted.insert(name.clone(), state);
        }
        Operation::CreateConnector {
            name,
            initial_state,
            ..
        } => {
            wanted.insert(name.clone(), wire_state(*initial_state));
        }
        Operation::PauseConnector { name } => {
            wanted.insert(name.clone(), State::Paused);
        }
        Operation::ResumeConnector { name } => {
            wanted.insert(name.clone(), State::Running);
        }
        Operation::StopConnector { name } => {
            wanted.insert(name.clone(), State::Stopped);
        }
        Operation::DeleteConnector { name } => {
            wanted.remove(name);
        }
        Operation::CopyConnectorOffsets { .. }
        | Operation::CreateTopic { .. }
        | Operation::CreatePartitions { .. }
        | Operation::AlterTopicConfigs { .. } => {}
    }
}

/// Restarts the failed connectors and tasks of `cluster` that `declared` lists (one list
/// request finds them), then waits until they reach their declared state.
pub async fn restart_failed(
    client: &ConnectClient,
    cluster: &str,
    declared: Option<&ConnectCluster>,
    progress: &mut impl FnMut(String),
    report: &mut ApplyReport,
) -> Result<(), ListError> {
    let listed = list(client, cluster).await?;
    let mut wanted = BTreeMap::new();
    for (name, c) in listed {
        let Some(want) = declared.and_then(|d| d.get(&name)) else {
            continue;
        };
        if !c.has_failed() {
            continue;
        }
        let address = Address::connector(cluster, &name);
        let text = format!("POST /connectors/{name}/restart?includeTasks=true&onlyFailed=true");
        progress(text.clone());
        report.requests += 1;
        match client.restart(&name, true, true).await {
            Ok(_) => {
                wanted.insert(name.clone(), wire_state(want.state));
                report
                    .commands
                    .push((address, text, CommandOutcome::Completed));
            }
            Err(e) => report
                .commands
                .push((address, text, CommandOutcome::Failed(e.to_string()))),
        }
    }
    let missed = wait_for(client, &wanted, CONNECTOR_WAIT).await;
    report
        .verifications
        .extend(state_checks(cluster, &wanted, missed));
    Ok(())
}

/// [`restart_failed`] on every cluster of `clients` whose connectors kustoplan writes:
/// `managed_elsewhere` names who else writes a cluster's connectors, and such a cluster is only
/// reported through `progress`, never restarted.
pub async fn restart_failed_clusters(
    clients: &BTreeMap<String, ConnectClient>,
    declared: &BTreeMap<String, ConnectCluster>,
    managed_elsewhere: impl Fn(&str) -> Option<String>,
    progress: &mut impl FnMut(String),
    report: &mut ApplyReport,
) -> Result<(), ListError> {
    for (cluster, client) in clients {
        if let Some(manager) = managed_elsewhere(cluster) {
            progress(format!(
                "Not restarting failed tasks on Connect cluster `{cluster}`: it is managed by {manager}."
            ));
            continue;
        }
        restart_failed(client, cluster, declared.get(cluster), progress, report).await?;
    }
    Ok(())
}

/// One check per connector of `wanted` on `cluster`: reached, or the detail of its entry in
/// `missed` (what [`wait_for`] saw last).
fn state_checks(
    cluster: &str,
    wanted: &BTreeMap<String, State>,
    missed: Vec<NotConverged>,
) -> Vec<StateCheck> {
    let mut missed: BTreeMap<String, String> = missed
        .into_iter()
        .map(|nc| (nc.connector, nc.detail))
        .collect();
    wanted
        .keys()
        .map(|name| StateCheck {
            address: Address::connector(cluster, name),
            reached: missed.remove(name).map_or(Ok(()), Err),
        })
        .collect()
}

fn wire_state(s: RunState) -> State {
    match s {
        RunState::Running => State::Running,
        RunState::Paused => State::Paused,
        RunState::Stopped => State::Stopped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(phase: Phase, operations: Vec<Operation>) -> Step {
        Step {
            address: Address::connector("c", "n"),
            phase,
            operations,
        }
    }

    fn put(name: &str) -> Operation {
        Operation::PutConnectorConfig {
            name: name.into(),
            config: BTreeMap::new(),
        }
    }

    #[test]
    fn phases_run_one_after_another_and_each_connector_keeps_its_order() {
        let steps = vec![
            step(Phase::Connectors, vec![put("a")]),
            step(Phase::Connectors, vec![put("b")]),
            // A rename: the old connector stops, the new one gets its offsets.
            step(
                Phase::Connectors,
                vec![
                    Operation::StopConnector { name: "old".into() },
                    put("new"),
                    Operation::CopyConnectorOffsets {
                        from: "old".into(),
                        to: "new".into(),
                    },
                ],
            ),
            step(Phase::Connectors, vec![put("old")]),
            step(
                Phase::ConnectorStates,
                vec![Operation::PauseConnector { name: "a".into() }],
            ),
            step(
                Phase::ConnectorStates,
                vec![Operation::ResumeConnector { name: "b".into() }],
            ),
            step(
                Phase::ConnectorRemovals,
                vec![Operation::DeleteConnector { name: "c".into() }],
            ),
        ];
        assert_eq!(
            waves(&steps),
            vec![
                vec![vec![0], vec![1], vec![2, 3, 4, 5]],
                vec![vec![6], vec![7]],
                vec![vec![8]],
            ]
        );
    }

    #[test]
    fn steps_joined_by_a_later_one_are_merged_in_plan_order() {
        let steps = vec![
            step(Phase::Connectors, vec![put("a")]),
            step(Phase::Connectors, vec![put("x")]),
            step(Phase::Connectors, vec![put("b")]),
            step(
                Phase::Connectors,
                vec![Operation::CopyConnectorOffsets {
                    from: "a".into(),
                    to: "b".into(),
                }],
            ),
        ];
        assert_eq!(waves(&steps), vec![vec![vec![0, 2, 3], vec![1]]]);
    }
}

//! Carrying out planned Kusto changes in `.execute database script` batches.
//!
//! A script runs its commands in order and is not transactional, so the report says exactly
//! which commands ran, which one failed and which never started.
//!
//! Every command of a plan runs in one database (a change's [`Target::Kusto`]): the plan emits
//! no cluster-level command (databases are not created or dropped by it). Each database's
//! commands are therefore grouped into scripts of their own, in plan order, and databases are
//! applied concurrently, a bounded number at a time. Within a database the plan's order (tables,
//! mappings, policies, principals, functions, renames first) is kept because its scripts run one
//! after another. Across databases the plan orders nothing, except where a command names another
//! database (`database("…")` or `cluster("…")` in a function body or a policy's query): such a
//! command waits until every command before it in the plan has run (a new [`Stage`] starts), so
//! what it reads in the other database exists as it would in a one-at-a-time apply.
//!
//! Within a database, scripts may also be in flight together, but only when that cannot change
//! what any of them does: a script waits for every earlier script of its database that touches
//! one of its tables, and, unless every command of both is a write to named tables of their own
//! database that reads nothing else (a table's schema, docstring, folder, mapping or one of its
//! batching, streaming, retention or caching policies: see [`footprint`]), for every earlier
//! script at all (see [`dependencies`]). Anything else (a database-level command, a function, an
//! update policy or a view, whose queries read other tables, a rename, a drop, a role) therefore
//! waits for every script before it and holds back every script after it. So the order the plan
//! needs (a table before its mappings and policies, tables before the functions and views that
//! read them) is kept, while the mappings of the first tables need not wait for the last tables
//! to be created; and within the bound: the scripts in flight across all databases never exceed
//! `parallelism`.
//!
//! Failures: once a command does not complete (or a stop is requested) no further script
//! starts, in any database; scripts already in flight finish. A script in flight next to the
//! failing one, later in plan order, may therefore have run: the report reads each command's
//! outcome from its own script's answer, so it says exactly which commands ran (completed),
//! failed, are unknown (their answer was lost) or never started, as with databases in flight.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use futures::future::{FutureExt, LocalBoxFuture, Shared};

use crate::interrupt::{Halt, StopRequest};
use crate::kusto::command::{Command, EntityRef, PolicyKind, PolicyTarget, TableRef};
use crate::kusto::render;
use crate::plan::{Address, Change, Target};

use super::transport::{KustoTransport, TransportError};
use crate::providers::report::{ApplyReport, CommandOutcome};

/// At most this many commands per script request.
pub const MAX_COMMANDS_PER_SCRIPT: usize = 1000;
/// At most this many bytes of command text per script request (well under the service's limits).
pub const MAX_SCRIPT_BYTES: usize = 1 << 20;

/// How many scripts apply keeps in flight at once unless told otherwise (`--parallelism`).
/// Schema changes in one database are serialised by the service, so scripts of one database in
/// flight together (see the module documentation) hide only their round trips, while scripts of
/// different databases also run side by side; four in flight keep that latency hidden while
/// staying far below a cluster's limit on concurrent management requests, even on the smallest
/// SKUs, so apply does not compete with ingestion and queries for the cluster's command slots.
pub const DEFAULT_PARALLELISM: usize = 4;

/// A script-sized group of commands in one database.
struct Batch {
    /// 1-based, in plan order across all databases (for progress lines).
    number: usize,
    /// Positions of its commands in the plan's list of Kusto commands.
    items: Vec<usize>,
    /// Bytes of command text so far, with a separator each.
    bytes: usize,
}

/// One database's batches within a stage, sent one after another.
struct Lane {
    database: String,
    batches: Vec<Batch>,
}

/// Lanes that may run concurrently; a stage starts once the previous one has finished.
#[derive(Default)]
struct Stage {
    lanes: Vec<Lane>,
}

/// Whether a command may read another database: its text calls `database(` or `cluster(`.
/// Matching the text rather than parsing it errs towards waiting, which costs only concurrency.
fn names_another_database(command: &str) -> bool {
    let lower = command.to_ascii_lowercase();
    lower.contains("database(") || lower.contains("cluster(")
}

/// Every Kusto command of `changes` with its change and database, in plan order: the one walk
/// that [`commands`] and [`footprints`] both take, so their positions agree.
fn kusto_commands<'c>(
    changes: impl IntoIterator<Item = &'c Change>,
) -> impl Iterator<Item = (&'c Change, &'c str, &'c Command)> {
    changes
        .into_iter()
        .filter_map(|change| match &change.target {
            Target::Kusto { database } => Some((change, database.as_str())),
            _ => None,
        })
        .flat_map(|(change, database)| {
            change
                .kusto_commands
                .iter()
                .map(move |command| (change, database, command))
        })
}

/// The plan's Kusto commands as (address, database, command text), in plan order: each printed
/// once, here, where it is sent.
fn commands<'c>(
    changes: impl IntoIterator<Item = &'c Change>,
) -> Vec<(&'c Address, &'c str, String)> {
    kusto_commands(changes)
        .map(|(change, database, command)| (&change.address, database, command.to_string()))
        .collect()
}

/// What a command touches, for deciding which scripts may be in flight together: the tables
/// it writes, or `None` when it must run with nothing else of its database in flight.
type Footprint<'a> = Option<Vec<&'a str>>;

/// The footprint of each command of `changes`, in the order of [`commands`].
fn footprints<'c>(changes: impl IntoIterator<Item = &'c Change>) -> Vec<Footprint<'c>> {
    kusto_commands(changes)
        .map(|(_, database, command)| footprint(command, database))
        .collect()
}

/// The tables a command writes when it writes only them, in `database`, and reads nothing
/// else: its outcome then cannot depend on a command touching other tables. `None` for every
/// other command (database-level settings, roles, renames, drops, functions, views and update
/// policies, whose queries read other tables), which therefore never runs next to another.
fn footprint<'a>(command: &'a Command, database: &str) -> Option<Vec<&'a str>> {
    let own = |t: &'a TableRef| match &t.database {
        Some(named) if named != database => None,
        _ => Some(t.table.as_str()),
    };
    match command {
        Command::TableSchema { table, .. }
        | Command::AlterDocString { table, .. }
        | Command::AlterFolder { table, .. }
        | Command::SetMapping {
            entity: EntityRef::Table(table),
            ..
        } => own(table).map(|t| vec![t]),
        Command::AlterPolicy {
            target: PolicyTarget::Tables(tables),
            policy,
            ..
        } if *policy != PolicyKind::Update => tables.iter().map(own).collect(),
        Command::DeletePolicy {
            entity: EntityRef::Table(table),
            policy,
        } if *policy != PolicyKind::Update => own(table).map(|t| vec![t]),
        _ => None,
    }
}

/// A batch's tables, when every command of it has a footprint.
fn batch_tables<'a>(batch: &Batch, footprints: &[Footprint<'a>]) -> Option<BTreeSet<&'a str>> {
    let mut tables = BTreeSet::new();
    for &i in &batch.items {
        tables.extend(footprints.get(i)?.as_ref()?.iter().copied());
    }
    Some(tables)
}

/// For each of one database's batches (in plan order), the positions of the earlier batches it
/// waits for (see the module documentation): a batch whose commands all have footprints waits
/// for the last earlier batch writing each of its tables and for the last batch that could not
/// share; a batch that cannot share waits for every batch since the previous one that could not.
/// Each of those waited in turn for the ones before it, so a batch starts only after every
/// earlier batch whose outcome could depend on it, or it on theirs.
fn dependencies(batches: &[Batch], footprints: &[Footprint<'_>]) -> Vec<Vec<usize>> {
    let mut out = Vec::with_capacity(batches.len());
    let mut barrier: Option<usize> = None;
    let mut since_barrier: Vec<usize> = Vec::new();
    let mut last_writer: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, batch) in batches.iter().enumerate() {
        let mut waits: BTreeSet<usize> = barrier.into_iter().collect();
        match batch_tables(batch, footprints) {
            Some(tables) => {
                waits.extend(tables.into_iter().filter_map(|t| last_writer.insert(t, i)));
                since_barrier.push(i);
            }
            None => {
                waits.extend(since_barrier.drain(..));
                last_writer.clear();
                barrier = Some(i);
            }
        }
        out.push(waits.into_iter().collect());
    }
    out
}

/// Groups the commands into stages of per-database lanes of script-sized batches (see the
/// module documentation for why this keeps every order the plan needs).
fn stages(commands: &[(&Address, &str, String)]) -> Vec<Stage> {
    let mut out = Vec::new();
    let mut stage = Stage::default();
    // The current stage's lane of each database.
    let mut lane_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, (_, database, command)) in commands.iter().enumerate() {
        if names_another_database(command) && lane_of.keys().any(|db| db != database) {
            out.push(std::mem::take(&mut stage));
            lane_of.clear();
        }
        let at = *lane_of.entry(database).or_insert_with(|| {
            stage.lanes.push(Lane {
                database: (*database).to_string(),
                batches: Vec::new(),
            });
            stage.lanes.len() - 1
        });
        let lane = &mut stage.lanes[at];
        let fits = lane.batches.last().is_some_and(|b| {
            b.items.len() < MAX_COMMANDS_PER_SCRIPT && b.bytes + command.len() <= MAX_SCRIPT_BYTES
        });
        if !fits {
            lane.batches.push(Batch {
                number: 0,
                items: Vec::new(),
                bytes: 0,
            });
        }
        if let Some(batch) = lane.batches.last_mut() {
            batch.items.push(i);
            batch.bytes += command.len() + 1;
        }
    }
    out.push(stage);
    out.retain(|s| !s.lanes.is_empty());
    let mut number = 0;
    for batch in out
        .iter_mut()
        .flat_map(|s| s.lanes.iter_mut())
        .flat_map(|l| l.batches.iter_mut())
    {
        number += 1;
        batch.number = number;
    }
    out
}

/// What apply tells its caller as a batch is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchStart<'a> {
    /// The batch's number (1-based, in plan order: stable whatever order batches start in).
    pub number: usize,
    /// How many batches the apply has.
    pub total: usize,
    /// The database the script runs in (batches of different databases run concurrently).
    pub database: &'a str,
    /// Commands in the script.
    pub commands: usize,
}

/// The shared state of one apply's lanes. They all run on the caller's task (polled together,
/// never spawned), so the locks are only ever held between two awaits.
struct Run<'a, F> {
    transport: &'a KustoTransport,
    commands: &'a [(&'a Address, &'a str, String)],
    /// Each command's footprint, by position (see [`dependencies`]).
    footprints: &'a [Footprint<'a>],
    /// One permit per script in flight, across every database: the `parallelism` bound.
    slots: tokio::sync::Semaphore,
    total: usize,
    stop: &'a StopRequest,
    /// A command did not complete, or a stop was requested: no batch starts any more.
    halt: Halt,
    requests: AtomicUsize,
    /// Each command's outcome by position; `None` until its batch has answered.
    outcomes: Mutex<Vec<Option<CommandOutcome>>>,
    progress: Mutex<F>,
}

impl<F: FnMut(BatchStart<'_>)> Run<'_, F> {
    /// Sends one database's batches of a stage, each once the batches it waits for have
    /// finished (see [`dependencies`]), until one fails or apply halts.
    async fn lane(&self, lane: &Lane) {
        let waits = dependencies(&lane.batches, self.footprints);
        let mut batches: Vec<Shared<LocalBoxFuture<'_, ()>>> = Vec::new();
        for (batch, waits) in lane.batches.iter().zip(&waits) {
            let before: Vec<_> = waits.iter().map(|&j| batches[j].clone()).collect();
            let this = async move {
                futures::future::join_all(before).await;
                self.batch(&lane.database, batch).await;
            };
            batches.push(this.boxed_local().shared());
        }
        futures::future::join_all(batches).await;
    }

    /// Sends one batch as a script once a slot is free, unless apply halted meanwhile, and
    /// records its commands' outcomes; a command that did not complete halts apply.
    async fn batch(&self, database: &str, batch: &Batch) {
        // The semaphore is never closed; if it were, nothing more may start.
        let Ok(_slot) = self.slots.acquire().await else {
            self.halt.halt();
            return;
        };
        if !self.halt.may_start(self.stop) {
            return;
        }
        (lock(&self.progress))(BatchStart {
            number: batch.number,
            total: self.total,
            database,
            commands: batch.items.len(),
        });
        let commands: Vec<String> = batch
            .items
            .iter()
            .map(|&i| self.commands[i].2.clone())
            .collect();
        let script = render::execute_script(&commands, false);
        self.requests.fetch_add(1, Ordering::SeqCst);
        let outcomes = match self.transport.mgmt(database, &script).await {
            Ok(response) => script_outcomes(&response, commands.len()),
            Err(e) => error_outcomes(e, commands.len()),
        };
        let completed = outcomes.iter().all(|o| *o == CommandOutcome::Completed);
        let mut all = lock(&self.outcomes);
        for (&i, outcome) in batch.items.iter().zip(outcomes) {
            all[i] = Some(outcome);
        }
        if !completed {
            self.halt.halt();
        }
    }
}

/// Locks a mutex of this module; a panic while one was held leaves nothing half-written that
/// a later reader could misread (each write is one assignment), so poisoning is ignored.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs the Kusto changes' commands, batched into one script per database (or more when a
/// database has more than a script holds), with up to `parallelism` scripts in flight (of
/// several databases, or of one database when they cannot affect each other: see the module
/// documentation).
/// At the first command that does not complete, or once `stop` is requested, no further batch
/// starts anywhere; batches in flight finish. The report lists every command in plan order:
/// ran, failed, unknown, or not run. Changes for other systems are skipped here.
/// `progress` is told about each batch as it is sent.
pub async fn apply(
    transport: &KustoTransport,
    changes: &[Change],
    parallelism: usize,
    stop: &StopRequest,
    progress: impl FnMut(BatchStart<'_>),
) -> ApplyReport {
    apply_where(transport, changes, |_| true, parallelism, stop, progress).await
}

/// [`apply`] for the changes `only` selects; the others are left out of the report. Lets a
/// caller run a plan's Kusto changes in parts (removals after the connectors) without copying
/// any change (a from-empty plan at 10,000 tables holds tens of thousands of them).
pub async fn apply_where(
    transport: &KustoTransport,
    changes: &[Change],
    only: impl Fn(&Change) -> bool,
    parallelism: usize,
    stop: &StopRequest,
    progress: impl FnMut(BatchStart<'_>),
) -> ApplyReport {
    let selected: Vec<&Change> = changes.iter().filter(|c| only(c)).collect();
    let commands = commands(selected.iter().copied());
    let footprints = footprints(selected.iter().copied());
    let stages = stages(&commands);
    let parallelism = parallelism.max(1);
    let run = Run {
        transport,
        commands: &commands,
        footprints: &footprints,
        slots: tokio::sync::Semaphore::new(parallelism),
        total: stages
            .iter()
            .flat_map(|s| &s.lanes)
            .map(|l| l.batches.len())
            .sum(),
        stop,
        halt: Halt::default(),
        requests: AtomicUsize::new(0),
        outcomes: Mutex::new(vec![None; commands.len()]),
        progress: Mutex::new(progress),
    };
    for stage in &stages {
        if run.halt.is_halted() {
            break;
        }
        futures::stream::iter(&stage.lanes)
            .map(|lane| run.lane(lane))
            .buffer_unordered(parallelism)
            .for_each(|()| async {})
            .await;
    }
    let outcomes = std::mem::take(&mut *lock(&run.outcomes));
    ApplyReport {
        commands: commands
            .iter()
            .zip(outcomes)
            .map(|((address, _, command), outcome)| {
                (
                    (*address).clone(),
                    (*command).to_string(),
                    outcome.unwrap_or(CommandOutcome::NotRun),
                )
            })
            .collect(),
        requests: run.requests.load(Ordering::SeqCst),
        interrupted: run.halt.was_interrupted(),
        verifications: Vec::new(),
    }
}

/// The outcomes of a script whose request failed: the first command failed with the message
/// and the rest never ran, or, when the response was lost, all of them are unknown.
fn error_outcomes(error: TransportError, expected: usize) -> Vec<CommandOutcome> {
    let TransportError {
        message,
        outcome_unknown,
        ..
    } = error;
    if outcome_unknown {
        return vec![CommandOutcome::Unknown; expected];
    }
    let mut out = vec![CommandOutcome::NotRun; expected];
    if let Some(first) = out.first_mut() {
        *first = CommandOutcome::Failed(message);
    }
    out
}

/// Reads the per-command rows of an `.execute database script` result.
fn script_outcomes(
    response: &crate::kusto::v1::V1Response,
    expected: usize,
) -> Vec<CommandOutcome> {
    let Some(table) = response.primary() else {
        return vec![CommandOutcome::Unknown; expected];
    };
    let (result_i, reason_i) = (table.column_index("Result"), table.column_index("Reason"));
    let mut out: Vec<CommandOutcome> = table
        .value_rows()
        .map(|row| {
            let cell = |i: Option<usize>| {
                i.and_then(|i| row.get(i))
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
            };
            match cell(result_i) {
                "Completed" => CommandOutcome::Completed,
                "Failed" => CommandOutcome::Failed(cell(reason_i).to_string()),
                _ => CommandOutcome::NotRun,
            }
        })
        .collect();
    out.resize(expected, CommandOutcome::NotRun);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Phase;

    fn change_in(database: &str, address: &str, commands: Vec<String>) -> Change {
        crate::plan::kusto_change_for_test(database, address, &commands)
    }

    /// A command that names only its own database, as printed.
    fn table(name: &str) -> String {
        format!(".create table {name} (x:int)")
    }

    fn change(address: &str, commands: Vec<String>) -> Change {
        change_in("db", address, commands)
    }

    /// Per stage, per lane: the database and its batches' command texts.
    fn shape(changes: &[Change]) -> Vec<Vec<(String, Vec<Vec<String>>)>> {
        let commands = commands(changes);
        stages(&commands)
            .iter()
            .map(|s| {
                s.lanes
                    .iter()
                    .map(|l| {
                        let batches = l
                            .batches
                            .iter()
                            .map(|b| b.items.iter().map(|&i| commands[i].2.to_string()).collect())
                            .collect();
                        (l.database.clone(), batches)
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn batches_respect_the_command_limit() {
        let changes: Vec<Change> = (0..2500)
            .map(|i| {
                change(
                    &format!("kusto.db.table.t{i}"),
                    vec![format!(".create table T{i} (A:int)")],
                )
            })
            .collect();
        let commands = commands(&changes);
        let stages = stages(&commands);
        let sizes: Vec<usize> = stages[0].lanes[0]
            .batches
            .iter()
            .map(|b| b.items.len())
            .collect();
        assert_eq!(sizes, vec![1000, 1000, 500]);
        let numbers: Vec<usize> = stages[0].lanes[0]
            .batches
            .iter()
            .map(|b| b.number)
            .collect();
        assert_eq!(numbers, vec![1, 2, 3]);
    }

    #[test]
    fn each_database_gets_one_script_in_plan_order_whatever_the_phases_interleave() {
        // The plan sorts by phase, then address: tables of both databases, then their mappings.
        let changes = vec![
            change_in("a", "kusto.a.table.T", vec![table("A1")]),
            change_in("b", "kusto.b.table.T", vec![table("B1")]),
            change_in(
                "a",
                "kusto.a.table.T.mapping.m",
                vec![table("A2"), table("A3")],
            ),
            change_in("b", "kusto.b.table.T.mapping.m", vec![table("B2")]),
        ];
        assert_eq!(
            shape(&changes),
            vec![vec![
                (
                    "a".to_string(),
                    vec![vec![table("A1"), table("A2"), table("A3")]]
                ),
                ("b".to_string(), vec![vec![table("B1"), table("B2")]]),
            ]]
        );
    }

    #[test]
    fn a_command_naming_another_database_waits_for_everything_before_it() {
        let function = ".create-or-alter function F() { Database(\"b\").T | take 1 }";
        let changes = vec![
            change_in("a", "kusto.a.table.T", vec![table("A1")]),
            change_in("b", "kusto.b.table.T", vec![table("B1")]),
            change_in("a", "kusto.a.function.F", vec![function.into()]),
            change_in("b", "kusto.b.function.G", vec![table("B2")]),
        ];
        assert_eq!(
            shape(&changes),
            vec![
                vec![
                    ("a".to_string(), vec![vec![table("A1")]]),
                    ("b".to_string(), vec![vec![table("B1")]]),
                ],
                vec![
                    ("a".to_string(), vec![vec![function.to_string()]]),
                    ("b".to_string(), vec![vec![table("B2")]]),
                ],
            ]
        );
        // In a stage of its own database only, nothing needs to wait.
        let alone = vec![
            change_in("a", "kusto.a.table.T", vec![table("A1")]),
            change_in("a", "kusto.a.function.F", vec![function.into()]),
        ];
        assert_eq!(shape(&alone).len(), 1);
    }

    /// A change of `phase` in `db` with one command.
    fn phased(phase: Phase, address: &str, command: String) -> Change {
        let mut change = change(address, vec![command]);
        change.phase = phase;
        change
    }

    /// What each of the one database's batches waits for, as the batches' numbers.
    fn waits(changes: &[Change]) -> Vec<Vec<usize>> {
        let commands = commands(changes);
        let footprints = footprints(changes);
        let stages = stages(&commands);
        let batches = &stages[0].lanes[0].batches;
        dependencies(batches, &footprints)
            .iter()
            .map(|w| w.iter().map(|&j| batches[j].number).collect())
            .collect()
    }

    fn creates(phase: Phase, tables: std::ops::Range<usize>) -> Vec<Change> {
        tables
            .map(|i| {
                phased(
                    phase,
                    &format!("kusto.db.table.T{i}"),
                    table(&format!("T{i}")),
                )
            })
            .collect()
    }

    /// One folder change per table of `tables`, in `phase`.
    fn folders(phase: Phase, tables: std::ops::Range<usize>) -> Vec<Change> {
        tables
            .map(|i| {
                phased(
                    phase,
                    &format!("kusto.db.table.T{i}.folder"),
                    format!(".alter table T{i} folder 'f'"),
                )
            })
            .collect()
    }

    #[test]
    fn footprints_name_the_tables_of_table_local_writes_only() {
        let of = |text: &str| {
            let command = crate::kusto::command::parse(text).expect("command");
            footprint(&command, "db").map(|t| t.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        let tables = |names: &[&str]| Some(names.iter().map(|s| s.to_string()).collect());
        assert_eq!(of(".create table T (x:int)"), tables(&["T"]));
        assert_eq!(of(".alter-merge table T (y:int)"), tables(&["T"]));
        assert_eq!(of(".alter table T folder 'f'"), tables(&["T"]));
        assert_eq!(of(".alter table T policy caching hot = 7d"), tables(&["T"]));
        assert_eq!(
            of(".alter-merge table T policy retention softdelete = 365d recoverability = disabled"),
            tables(&["T"])
        );
        assert_eq!(
            of(
                ".create-or-alter table T ingestion json mapping 'm' '[{\"column\":\"x\",\"Properties\":{\"Path\":\"$.x\"}}]'"
            ),
            tables(&["T"])
        );
        // Update policies read other tables; database settings, drops and functions are shared.
        assert_eq!(
            of(
                ".alter table T policy update @'[{\"Source\":\"S\",\"Query\":\"S\",\"IsEnabled\":true}]'"
            ),
            None
        );
        assert_eq!(of(".alter database db policy caching hot = 7d"), None);
        assert_eq!(of(".drop table T"), None);
        assert_eq!(of(".create-or-alter function F() { T | take 1 }"), None);
        assert_eq!(of(".alter table other.T folder 'f'"), None);
    }

    #[test]
    fn scripts_on_disjoint_tables_wait_for_nothing() {
        assert_eq!(
            waits(&creates(Phase::KustoTables, 0..2500)),
            vec![Vec::<usize>::new(); 3]
        );
    }

    #[test]
    fn a_script_waits_for_the_scripts_writing_its_tables_and_no_other() {
        // Batch 3 sets the folders of the tables batch 1 created: it waits for batch 1 only,
        // not for batch 2's tables, although the plan puts them in an earlier phase.
        let mut changes = creates(Phase::KustoTables, 0..2000);
        changes.extend(folders(Phase::KustoMappings, 0..1000));
        assert_eq!(waits(&changes), vec![vec![], vec![], vec![1]]);
    }

    #[test]
    fn a_script_spanning_two_phases_waits_for_each_writer_of_its_tables() {
        // Batch 2 holds the last tables and the first folders: tables before their folders.
        let mut changes = creates(Phase::KustoTables, 0..1500);
        changes.extend(folders(Phase::KustoMappings, 0..1500));
        assert_eq!(waits(&changes), vec![vec![], vec![1], vec![1, 2]]);
    }

    #[test]
    fn scripts_touching_a_common_table_run_one_after_another() {
        let mut changes = creates(Phase::KustoPolicies, 0..1000);
        changes.extend(folders(Phase::KustoPolicies, 0..1000));
        changes.extend(creates(Phase::KustoPolicies, 1000..1500));
        assert_eq!(waits(&changes), vec![vec![], vec![1], vec![]]);
    }

    #[test]
    fn a_script_with_a_database_level_command_holds_back_the_others() {
        let mut changes = creates(Phase::KustoPolicies, 0..1000);
        changes.push(phased(
            Phase::KustoPolicies,
            "kusto.db.policy.caching",
            ".alter database db policy caching hot = 7d".to_string(),
        ));
        changes.extend(creates(Phase::KustoPolicies, 1000..3500));
        assert_eq!(waits(&changes), vec![vec![], vec![1], vec![2], vec![2]]);
        // And it waits for every script since the previous such script.
        let mut changes = creates(Phase::KustoTables, 0..2000);
        changes.push(phased(
            Phase::KustoFunctions,
            "kusto.db.function.F",
            ".create-or-alter function F() { T0 | take 1 }".to_string(),
        ));
        assert_eq!(waits(&changes), vec![vec![], vec![], vec![1, 2]]);
    }
}

//! Taking, renewing and releasing the apply lease on a live Kusto target (the design and the
//! names are in [`crate::kusto::lease`]). Every step is a control command; the one that decides
//! who holds the lease is `.rename table SIDE to LEASE`, which only one process can win.
//!
//! Steps, per declared database:
//! - acquire, in the first database (by name) alone, then in the others concurrently (up to
//!   [`LEASE_IN_FLIGHT`] at once): `.create table SIDE (...) with (docstring = RECORD)` (on a retry
//!   `.alter table SIDE docstring`, so the expiry counts from the attempt), then
//!   `.rename table SIDE to LEASE`. "Already exists": `.show table LEASE schema as json` reads
//!   the holder; a live one is waited for (up to the wait asked for) or reported; an expired one
//!   is taken over (below) and the rename retried. When any database is held by someone
//!   else, the databases already taken are released before waiting, so a waiter never holds
//!   part of the lease and the one holding the rest can finish. The first database is the
//!   gate: two appliers racing for the lease both try it first, one wins it, and the other
//!   waits without touching the rest, so they never split the databases between them and
//!   retry in step forever.
//! - take over an expired lease: rename LEASE to a fresh side name (one renamer wins), read the
//!   moved record: if it is the expired one seen, drop it; if not (the holder changed between the
//!   read and the rename), rename it back.
//! - renew: read LEASE; if the record is still ours, `.alter table LEASE docstring` with a later
//!   expiry. Otherwise the lease was lost (taken over after expiring, or force-unlocked).
//! - release: read LEASE; if ours, rename it to our side name, read it again (it could have
//!   changed hands between the two commands only if it had expired), drop it if ours, else
//!   rename it back. A lease that is no longer ours is left alone.
//!
//! A read racing a change can only matter once a lease expired, which renewal prevents while
//! the holder runs; the holder's next renewal notices a lease it lost and its apply stops before
//! the next request (see [`LiveLease::keep_alive`]).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::interrupt::StopRequest;
use crate::kusto::lease::{self, Holder, LeaseId, LeaseRecord};
use crate::kusto::render;
use crate::model::ColumnType;
use crate::providers::wait::{Wait, WaitOutcome};

use super::transport::{Failure, KustoTransport, TransportError};

/// How often a waiting apply retries a held lease (each retry is four requests at most).
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// How many of the lease's requests are in flight at once, across databases, when it is taken,
/// renewed or released. Each database costs two requests to take and four to release, one
/// after the other, so with the scripts' bound ([`super::apply::DEFAULT_PARALLELISM`]) the
/// lease was most of an apply of 100 small databases (8 of its 13 s at 50 ms per request).
/// Its commands are the lightest there are (a one-column table created, renamed, read, dropped),
/// and the cluster's default workload group admits 10 concurrent requests per core of a node
/// (20 on the smallest SKU): 16, with apply's 4 scripts during a renewal, stays within that,
/// and a throttled request (429) is retried like any other.
pub const LEASE_IN_FLIGHT: usize = 16;

/// What an apply asks for.
#[derive(Debug, Clone)]
pub struct LeaseRequest {
    /// The stack, whose name names the lease.
    pub stack: String,
    /// The databases the stack declares: the lease is taken in each.
    pub databases: Vec<String>,
    /// The command, as shown to a refused process.
    pub command: String,
    /// How long to wait for another holder; zero refuses at once.
    pub wait: Duration,
    /// How long the lease lives without renewal.
    pub ttl: Duration,
    /// Set by an interrupt: a wait for another holder ends at once, while a request in
    /// flight still finishes, so nothing is left half taken.
    pub stop: StopRequest,
}

/// Why the lease was not taken, kept, or released.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    /// Someone else holds the lease in `database`.
    #[error("{}", held_message(.database, .holder, *.waited))]
    Held {
        /// Where.
        database: String,
        /// Who.
        holder: Holder,
        /// How long this process waited (`--lock-timeout`).
        waited: Duration,
    },
    /// The lease in `database` is no longer this process's.
    #[error("{}", lost_message(.database, .holder.as_ref()))]
    Lost {
        /// Where.
        database: String,
        /// Who holds it now, if anyone.
        holder: Option<Holder>,
    },
    /// An interrupt ended the wait for another holder; nothing is held.
    #[error("interrupted while waiting for the apply lease")]
    Interrupted,
    /// A request failed.
    #[error("cannot {action} the apply lease in database `{database}`: {source}")]
    Target {
        /// What was being done: `take`, `renew`, `release`, `read`, `remove`.
        action: &'static str,
        /// Where.
        database: String,
        /// The failure.
        source: TransportError,
    },
}

fn held_message(database: &str, holder: &Holder, waited: Duration) -> String {
    let waited = match waited.as_millis() {
        0 => String::new(),
        ms if ms.is_multiple_of(1000) => format!(" (waited {}s)", ms / 1000),
        ms => format!(" (waited {ms}ms)"),
    };
    format!("the apply lease in database `{database}` is held by {holder}{waited}")
}

fn lost_message(database: &str, holder: Option<&Holder>) -> String {
    match holder {
        Some(holder) => format!(
            "the apply lease in database `{database}` is no longer ours: it is held by {holder}"
        ),
        None => format!(
            "the apply lease in database `{database}` is no longer ours: it was removed (by `kustoplan force-unlock`?)"
        ),
    }
}

/// A held lease. Release it with [`LiveLease::release`]; a process that ends without releasing
/// leaves it to expire.
pub struct LiveLease {
    transport: Arc<KustoTransport>,
    databases: Vec<String>,
    table: String,
    record: LeaseRecord,
    ttl: Duration,
    taken_over: Vec<(String, Holder)>,
    lost: AtomicBool,
}

impl std::fmt::Debug for LiveLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveLease")
            .field("databases", &self.databases)
            .field("table", &self.table)
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

/// What a lease table holds right now.
enum Seen {
    /// No lease table.
    Free,
    /// A lease table and what its docstring says.
    Held(Holder),
}

impl Seen {
    fn is(&self, id: &LeaseId) -> bool {
        matches!(self, Seen::Held(Holder::Record(r)) if &r.id == id)
    }

    fn holder(self) -> Option<Holder> {
        match self {
            Seen::Free => None,
            Seen::Held(h) => Some(h),
        }
    }
}

/// Takes the lease in every database of `request` (the first by name alone, then the rest
/// concurrently), waiting up to `request.wait` for other holders.
pub async fn acquire(
    transport: Arc<KustoTransport>,
    request: &LeaseRequest,
) -> Result<LiveLease, LeaseError> {
    let mut databases = request.databases.clone();
    databases.sort();
    databases.dedup();
    let table = lease::table_name(&request.stack);
    let mut record = LeaseRecord::new(
        &request.stack,
        &request.command,
        lease::now_unix(),
        request.ttl,
    );
    let started = Instant::now();
    // Databases where our side table exists (staged, not yet renamed onto the lease).
    let mut staged: BTreeSet<String> = BTreeSet::new();
    let mut taken_over = Vec::new();
    // Shown from the first refusal by another holder until the lease is taken or given up.
    let mut waiting: Option<Wait> = None;
    loop {
        let mut lease = LiveLease {
            transport: transport.clone(),
            databases: Vec::new(),
            table: table.clone(),
            record: record.clone(),
            ttl: request.ttl,
            taken_over: Vec::new(),
            lost: AtomicBool::new(false),
        };
        let mut busy = None;
        let mut failed = None;
        let (gate, rest) = databases
            .split_first()
            .map_or((&[][..], &[][..]), |(first, rest)| {
                (std::slice::from_ref(first), rest)
            });
        for group in [gate, rest] {
            let attempts: Vec<Attempt> = each_database(group, |db| {
                let was_staged = staged.contains(db);
                let (transport, table, record) = (&transport, &table, &record);
                async move { take_one(transport, db, table, record, was_staged).await }
            })
            .await;
            for attempt in attempts {
                if attempt.staged {
                    staged.insert(attempt.db.clone());
                } else {
                    staged.remove(&attempt.db);
                }
                taken_over.extend(
                    attempt
                        .taken_over
                        .into_iter()
                        .map(|holder| (attempt.db.clone(), holder)),
                );
                match attempt.result {
                    Ok(()) => lease.databases.push(attempt.db),
                    Err(TakeError::Busy(holder)) => {
                        busy.get_or_insert((attempt.db, holder));
                    }
                    Err(TakeError::Failed(e)) => {
                        failed.get_or_insert(e);
                    }
                }
            }
            if busy.is_some() || failed.is_some() {
                break;
            }
        }
        if let Some(e) = failed {
            if let Err(release) = lease.release().await {
                tracing::warn!("{release}");
            }
            drop_sides(&lease, &staged).await;
            return Err(e);
        }
        let Some((database, holder)) = busy else {
            lease.taken_over = taken_over;
            if let Some(waiting) = waiting {
                waiting.end(WaitOutcome::Done);
            }
            return Ok(lease);
        };
        // Nobody waits holding part of the lease: the holder of the rest must be able to finish.
        let released = lease.release().await;
        let waited = started.elapsed();
        if waited >= request.wait || released.is_err() || request.stop.is_requested() {
            drop_sides(&lease, &staged).await;
            released?;
            if request.stop.is_requested() {
                return Err(LeaseError::Interrupted);
            }
            if let Some(waiting) = waiting {
                waiting.end(WaitOutcome::Failed("gave up, still held".to_string()));
            }
            return Err(LeaseError::Held {
                database,
                holder,
                waited: request.wait,
            });
        }
        if waiting.is_none() {
            waiting = Some(Wait::since(
                format!(
                    "waiting for {holder} to release the apply lease in database `{database}` \
                 (--lock-timeout {}s)",
                    request.wait.as_secs()
                ),
                started,
            ));
        }
        tokio::time::sleep(RETRY_EVERY.min(request.wait - waited)).await;
        let now = lease::now_unix();
        record = record.renewed(now, request.ttl);
        record.acquired_unix = now;
    }
}

/// Runs `step` for each database, up to [`LEASE_IN_FLIGHT`] at once, starting the next as soon
/// as any finishes (one slow database holds back no other), and returns the outcomes in the
/// databases' order, so the problem reported first is that of the first database.
async fn each_database<D, T, F>(
    databases: impl IntoIterator<Item = D>,
    mut step: impl FnMut(D) -> F,
) -> Vec<T>
where
    F: std::future::Future<Output = T>,
{
    let mut done: Vec<(usize, T)> = futures::stream::iter(databases.into_iter().enumerate())
        .map(|(i, db)| {
            let outcome = step(db);
            async move { (i, outcome.await) }
        })
        .buffer_unordered(LEASE_IN_FLIGHT)
        .collect()
        .await;
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, outcome)| outcome).collect()
}

/// Drops the side tables still staged: the cleanup of an acquisition that gives up. Best
/// effort: a side table that cannot be dropped is logged (plans never see it).
async fn drop_sides(lease: &LiveLease, staged: &BTreeSet<String>) {
    let side = lease::side_name(&lease.table, &lease.record.id);
    for db in staged {
        if let Err(e) = lease
            .transport
            .mgmt(db, &render::drop_table(&side).to_string())
            .await
        {
            tracing::warn!(
                "cannot drop the apply lease's side table `{side}` in database `{db}`: {e}"
            );
        }
    }
}

/// Why one database's lease was not taken.
enum TakeError {
    /// Someone else holds it.
    Busy(Holder),
    /// A request failed.
    Failed(LeaseError),
}

/// What one attempt in one database came to.
struct Attempt {
    /// The database.
    db: String,
    /// Taken, held by someone else, or failed.
    result: Result<(), TakeError>,
    /// Whether our side table may still exist there (to update on the next attempt, or to drop
    /// when giving up).
    staged: bool,
    /// Expired holders taken over on the way.
    taken_over: Vec<Holder>,
}

/// One attempt to take the lease in `db`: stage the record in the side table (created, or
/// updated when a previous attempt left it there: `was_staged`), rename it onto the lease; an
/// expired holder is taken over and the rename retried.
async fn take_one(
    transport: &KustoTransport,
    db: &str,
    table: &str,
    record: &LeaseRecord,
    was_staged: bool,
) -> Attempt {
    let mut attempt = Attempt {
        db: db.to_string(),
        result: Ok(()),
        staged: was_staged,
        taken_over: Vec::new(),
    };
    attempt.result = stage_and_rename(transport, &mut attempt, table, record).await;
    attempt
}

async fn stage_and_rename(
    transport: &KustoTransport,
    attempt: &mut Attempt,
    table: &str,
    record: &LeaseRecord,
) -> Result<(), TakeError> {
    let db = attempt.db.clone();
    let db = db.as_str();
    let side = lease::side_name(table, &record.id);
    let docstring = record.to_docstring();
    let stage = if attempt.staged {
        render::alter_table_docstring(&side, &docstring).to_string()
    } else {
        render::create_table_with(&side, &[("Holder", ColumnType::String)], "", &docstring)
            .to_string()
    };
    // From here on the side table may exist (even when the answer is lost): clean it up on
    // failure.
    attempt.staged = true;
    transport
        .mgmt(db, &stage)
        .await
        .map_err(|e| TakeError::Failed(target("take", db, e)))?;
    // Another holder may release or expire between our attempts: a few rounds, not forever.
    for _ in 0..3 {
        match transport
            .mgmt(db, &render::rename_table(&side, table).to_string())
            .await
        {
            Ok(_) => {
                attempt.staged = false;
                return Ok(());
            }
            Err(e) if e.failure == Failure::EntityAlreadyExists => {}
            Err(e) if e.outcome_unknown => {
                // The rename may have run: the lease table says whether it did.
                return match read(transport, db, table)
                    .await
                    .map_err(TakeError::Failed)?
                {
                    seen if seen.is(&record.id) => {
                        attempt.staged = false;
                        Ok(())
                    }
                    _ => Err(TakeError::Failed(target("take", db, e))),
                };
            }
            Err(e) => return Err(TakeError::Failed(target("take", db, e))),
        }
        match read(transport, db, table)
            .await
            .map_err(TakeError::Failed)?
        {
            Seen::Free => continue,
            Seen::Held(Holder::Record(holder)) if holder.is_expired(lease::now_unix()) => {
                if take_over(transport, db, table, &holder.id)
                    .await
                    .map_err(TakeError::Failed)?
                {
                    attempt.taken_over.push(Holder::Record(holder));
                }
            }
            Seen::Held(holder) => return Err(TakeError::Busy(holder)),
        }
    }
    match read(transport, db, table)
        .await
        .map_err(TakeError::Failed)?
    {
        Seen::Held(holder) => Err(TakeError::Busy(holder)),
        Seen::Free => Err(TakeError::Failed(LeaseError::Target {
            action: "take",
            database: db.to_string(),
            source: TransportError::other(
                "the lease changed hands too often while taking it; try again",
            ),
        })),
    }
}

fn target(action: &'static str, db: &str, source: TransportError) -> LeaseError {
    LeaseError::Target {
        action,
        database: db.to_string(),
        source,
    }
}

/// Moves the lease in `db` away if it is the one with `id`, and drops it; whether it was.
/// Renaming first means only one process can take a given lease away; a lease that turns out to
/// be another one (it changed hands since it was read) is put back.
pub(crate) async fn take_over(
    transport: &KustoTransport,
    db: &str,
    table: &str,
    id: &LeaseId,
) -> Result<bool, LeaseError> {
    let aside = lease::side_name(table, &LeaseId::random());
    match transport
        .mgmt(db, &render::rename_table(table, &aside).to_string())
        .await
    {
        Ok(_) => {}
        Err(e) if e.failure == Failure::EntityNotFound => return Ok(false),
        Err(e) => return Err(target("remove", db, e)),
    }
    if read(transport, db, &aside).await?.is(id) {
        transport
            .mgmt(db, &render::drop_table(&aside).to_string())
            .await
            .map_err(|e| target("remove", db, e))?;
        return Ok(true);
    }
    // Not the lease we meant: give it back to whoever holds it now.
    transport
        .mgmt(db, &render::rename_table(&aside, table).to_string())
        .await
        .map_err(|e| target("remove", db, e))?;
    Ok(false)
}

/// What the lease table `table` in `db` holds.
async fn read(transport: &KustoTransport, db: &str, table: &str) -> Result<Seen, LeaseError> {
    let command = render::show_table_schema_json(table);
    let response = match transport.mgmt(db, &command).await {
        Ok(r) => r,
        Err(e) if e.failure == Failure::EntityNotFound => return Ok(Seen::Free),
        Err(e) => return Err(target("read", db, e)),
    };
    let docstring = response
        .primary()
        .and_then(|t| {
            let i = t.column_index("DocString")?;
            let row = t.value_rows().next()?;
            row.get(i)?.as_str().map(str::to_string)
        })
        .ok_or_else(|| {
            target(
                "read",
                db,
                TransportError::other(format!(
                    "unexpected result of `{command}`: no DocString cell"
                )),
            )
        })?;
    Ok(Seen::Held(match LeaseRecord::from_docstring(&docstring) {
        Some(record) => Holder::Record(record),
        None => Holder::Unreadable { docstring },
    }))
}

impl LiveLease {
    /// This lease's record (its id is what `force-unlock` takes).
    pub fn record(&self) -> &LeaseRecord {
        &self.record
    }

    /// Expired leases of other holders that were taken over to take this one.
    pub fn taken_over(&self) -> &[(String, Holder)] {
        &self.taken_over
    }

    /// Whether a renewal found the lease gone (taken over or force-unlocked).
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Pushes the expiry forward in every database, if the lease is still ours there. The
    /// databases are renewed concurrently (up to [`LEASE_IN_FLIGHT`] at once), so a renewal
    /// of many databases stays well within the lease's time to live; the first problem in
    /// database order is returned after every database was tried.
    pub async fn renew(&self) -> Result<(), LeaseError> {
        let record = self.record.renewed(lease::now_unix(), self.ttl);
        // Owned names and records: the renewal runs in a spawned task (see `release`).
        let results: Vec<Result<(), LeaseError>> =
            each_database(self.databases.iter().cloned(), |db| {
                let record = record.clone();
                async move { self.renew_one(&db, &record).await }
            })
            .await;
        results.into_iter().collect()
    }

    async fn renew_one(&self, db: &str, record: &LeaseRecord) -> Result<(), LeaseError> {
        let seen = read(&self.transport, db, &self.table).await?;
        if !seen.is(&record.id) {
            self.lost.store(true, Ordering::SeqCst);
            return Err(LeaseError::Lost {
                database: db.to_string(),
                holder: seen.holder(),
            });
        }
        self.transport
            .mgmt(
                db,
                &render::alter_table_docstring(&self.table, &record.to_docstring()).to_string(),
            )
            .await
            .map_err(|e| target("renew", db, e))?;
        Ok(())
    }

    /// Renews the lease every `every` until the returned guard is dropped, so a long apply
    /// never outlives its lease. A failed renewal is reported to `report` and retried at the
    /// next tick (the lease outlives several); when the lease turns out lost, `stop` is asked to
    /// stop the apply before its next request: another apply may be running now.
    pub fn keep_alive(
        self: &Arc<Self>,
        every: Duration,
        stop: StopRequest,
        report: impl Fn(&LeaseError) + Send + 'static,
    ) -> KeepAlive {
        let lease = Arc::clone(self);
        KeepAlive(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let renewed = lease.renew().await;
                if let Err(e) = &renewed {
                    report(e);
                }
                if matches!(renewed, Err(LeaseError::Lost { .. })) {
                    stop.request();
                    return;
                }
            }
        }))
    }

    /// Releases the lease in every database where it is still ours. Errors leave the rest to
    /// expire (the first error, in database order, is returned after every database was
    /// tried). Releasing one database depends on no other, so up to
    /// [`LEASE_IN_FLIGHT`] databases are released at once: with many databases the
    /// release would otherwise cost one round trip per command per database.
    pub async fn release(&self) -> Result<(), LeaseError> {
        // Owned names: a closure over borrowed ones is not `Send` for every lifetime, which
        // the interrupt handler's spawned release needs.
        let results: Vec<Result<(), LeaseError>> =
            each_database(self.databases.iter().cloned(), |db| async move {
                self.release_one(&db).await
            })
            .await;
        results.into_iter().collect()
    }

    async fn release_one(&self, db: &str) -> Result<(), LeaseError> {
        let id = &self.record.id;
        let seen = read(&self.transport, db, &self.table).await?;
        if !seen.is(id) {
            return Err(LeaseError::Lost {
                database: db.to_string(),
                holder: seen.holder(),
            });
        }
        let aside = lease::side_name(&self.table, id);
        self.transport
            .mgmt(db, &render::rename_table(&self.table, &aside).to_string())
            .await
            .map_err(|e| target("release", db, e))?;
        let moved = read(&self.transport, db, &aside).await?;
        if moved.is(id) {
            self.transport
                .mgmt(db, &render::drop_table(&aside).to_string())
                .await
                .map_err(|e| target("release", db, e))?;
            return Ok(());
        }
        self.transport
            .mgmt(db, &render::rename_table(&aside, &self.table).to_string())
            .await
            .map_err(|e| target("release", db, e))?;
        Err(LeaseError::Lost {
            database: db.to_string(),
            holder: moved.holder(),
        })
    }
}

/// The renewal task of [`LiveLease::keep_alive`]; stops it when dropped.
#[derive(Debug)]
pub struct KeepAlive(tokio::task::JoinHandle<()>);

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Who holds the lease of `stack` in each of `databases` (`None`: nobody).
pub async fn holders(
    transport: &KustoTransport,
    stack: &str,
    databases: &[String],
) -> Result<Vec<(String, Option<Holder>)>, LeaseError> {
    let table = lease::table_name(stack);
    let mut out = Vec::new();
    for db in databases {
        out.push((db.clone(), read(transport, db, &table).await?.holder()));
    }
    Ok(out)
}

/// Removes the lease with `id` of `stack` from each of `databases` that it holds (whoever took
/// it, expired or not): `kustoplan force-unlock`. Returns the databases it was removed from.
pub async fn force_unlock(
    transport: &KustoTransport,
    stack: &str,
    databases: &[String],
    id: &LeaseId,
) -> Result<Vec<String>, LeaseError> {
    let table = lease::table_name(stack);
    let mut removed = Vec::new();
    for db in databases {
        if take_over(transport, db, &table, id).await? {
            removed.push(db.clone());
        }
    }
    Ok(removed)
}

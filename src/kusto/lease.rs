//! The apply lease on a live Kusto target: its table names and its holder record. Pure; the
//! protocol that takes, renews and releases it is [`crate::providers::kusto::lease`].
//!
//! Why a lease in Kusto: when the targets are live (a cluster, or `kustoplan sandbox serve`
//! reached over HTTP), two `kustoplan apply` runs of one stack on two machines share no file
//! system, so the built-in sandbox's `flock` cannot serialise them; the only thing they share is
//! the live systems. Every stack that can be applied to live systems has a Kusto target, so the
//! lease lives there: one table per declared database, named [`table_name`] of the stack.
//!
//! Why a table and a rename: Kusto has no conditional write, but `.rename table A to B` fails
//! when `B` exists, and of several renames onto one free name exactly one succeeds. An apply
//! creates a side table ([`side_name`]: the lease name plus its own random id) whose docstring is
//! its [`LeaseRecord`], then renames it onto the lease name: success means it holds the lease;
//! "already exists" means someone else does, and their record (read back from the docstring)
//! says who, since when and until when.
//!
//! Why an expiry: a holder that crashes (or loses its network) cannot release. The record carries
//! an expiry the holder pushes forward while it runs ([`LeaseRecord::renewed`]); an expired lease
//! may be taken over by renaming it away (only one renamer wins, since the source then vanishes)
//! and dropping it. `kustoplan force-unlock ID` removes one on purpose.
//!
//! Why in every declared database rather than one: the set of databases changes with the
//! manifests. With the lease in one "first" database, an apply of a commit that adds a database
//! sorting earlier would lease a different table than an apply of the previous commit still
//! running, and both would run. Leasing every declared database (in name order, so two appliers
//! never wait on each other crosswise) makes any two applies that touch a common database
//! exclude each other.
//!
//! Lease tables are kustoplan's bookkeeping, not the stack's objects: observe drops every table
//! whose name starts with [`PREFIX`] ([`is_lease_table`]), so plan, prune, import and status
//! never see them, and manifests may not declare such a table.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Every lease table's name starts with this; no declared table may.
pub const PREFIX: &str = "kustoplan_lease_";

/// How long a lease lives without renewal: long enough that a renewal every
/// [`RENEW_EVERY`] survives a few failed attempts, short enough that a crashed apply blocks the
/// next one only for minutes.
pub const TTL: Duration = Duration::from_secs(300);

/// How often a holder pushes its expiry forward while it runs.
pub const RENEW_EVERY: Duration = Duration::from_secs(60);

/// Stack names longer than this are shortened (with a hash, so they stay distinct) to keep the
/// lease and side table names well inside Kusto's 1,024-character limit.
const MAX_STACK_PART: usize = 200;

/// Whether `table` is a lease table (or a lease's side table), which kustoplan never plans.
pub fn is_lease_table(table: &str) -> bool {
    table.starts_with(PREFIX)
}

/// The lease table of `stack`: [`PREFIX`] plus the stack name as a plain identifier. Characters
/// other than ASCII letters, digits and `_` become `_`; when that changed the name (or it was
/// shortened), 12 hex digits of its SHA-256 follow, so stacks `a-b` and `a_b` never share a
/// lease.
pub fn table_name(stack: &str) -> String {
    let mut part: String = stack
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(MAX_STACK_PART)
        .collect();
    if part != stack {
        let digest = Sha256::digest(stack.as_bytes());
        part.push('_');
        for byte in &digest[..6] {
            part.push_str(&format!("{byte:02x}"));
        }
    }
    format!("{PREFIX}{part}")
}

/// A side table of the lease `held`: where an apply stages its record before renaming it onto
/// the lease, and where a releaser or a taker moves a lease before dropping it. The id makes it
/// private to one process and one step.
pub fn side_name(held: &str, id: &LeaseId) -> String {
    format!("{held}_{}", id.0)
}

/// A lease's id: 32 lower-case hex digits, random per apply. `force-unlock` takes it, so it is
/// shown in every refusal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LeaseId(String);

impl LeaseId {
    /// A fresh random id.
    pub fn random() -> Self {
        LeaseId(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Reads an id as printed in a refusal; `None` unless it is 32 hex digits (either case).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        (text.len() == 32 && text.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| LeaseId(text.to_ascii_lowercase()))
    }
}

impl TryFrom<String> for LeaseId {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        LeaseId::parse(&text).ok_or_else(|| format!("`{text}` is not a lease id"))
    }
}

impl From<LeaseId> for String {
    fn from(id: LeaseId) -> Self {
        id.0
    }
}

impl fmt::Display for LeaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who holds a lease and until when: the lease table's docstring, as compact JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// The lease's id (what `force-unlock` takes).
    pub id: LeaseId,
    /// The stack the lease is for.
    pub stack: String,
    /// The command holding it (`kustoplan apply`).
    pub command: String,
    /// The user the holder runs as (`$USER`, else `$USERNAME`, else unknown).
    pub user: String,
    /// The holder's host name.
    pub host: String,
    /// The holder's process id.
    pub pid: u32,
    /// When the lease was taken, seconds since the Unix epoch.
    pub acquired_unix: u64,
    /// When it expires unless renewed, seconds since the Unix epoch.
    pub expires_unix: u64,
}

impl LeaseRecord {
    /// A record for this process, taken at `now` (seconds since the epoch) for `ttl`.
    pub fn new(stack: &str, command: &str, now: u64, ttl: Duration) -> Self {
        LeaseRecord {
            id: LeaseId::random(),
            stack: stack.to_string(),
            command: command.to_string(),
            user: std::env::var("USER")
                .or_else(|_| std::env::var("USERNAME"))
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "an unknown user".to_string()),
            host: host_name(),
            pid: std::process::id(),
            acquired_unix: now,
            expires_unix: now.saturating_add(ttl.as_secs()),
        }
    }

    /// The same lease, expiring `ttl` after `now`.
    pub fn renewed(&self, now: u64, ttl: Duration) -> Self {
        LeaseRecord {
            expires_unix: now.saturating_add(ttl.as_secs()),
            ..self.clone()
        }
    }

    /// Whether the holder let the lease lapse by `now` (it may then be taken over).
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_unix
    }

    /// The docstring that stores the record.
    pub fn to_docstring(&self) -> String {
        serde_json::to_string(self).expect("a record of strings and integers always serialises")
    }

    /// The record a lease table's docstring holds, if it is one.
    pub fn from_docstring(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

impl fmt::Display for LeaseRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` ({} on {}, pid {}, since {}, expires {}; lease id {})",
            self.command,
            self.user,
            self.host,
            self.pid,
            http_date(self.acquired_unix),
            http_date(self.expires_unix),
            self.id
        )
    }
}

/// What a lease table says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A readable record.
    Record(LeaseRecord),
    /// A table with the lease's name whose docstring is no record (made by hand, or by a newer
    /// kustoplan): never taken over automatically.
    Unreadable {
        /// The docstring found.
        docstring: String,
    },
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Record(record) => record.fmt(f),
            Holder::Unreadable { docstring } => {
                let shown: String = docstring.chars().take(200).collect();
                write!(
                    f,
                    "an unknown holder (its docstring is no lease record: {shown:?})"
                )
            }
        }
    }
}

/// Seconds since the epoch now (0 if the clock is before 1970).
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn http_date(unix: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(unix))
}

/// This machine's host name, for a lease holder's record: the apply lease's here, and the
/// built-in sandbox directory lease's, so both say where their holder runs the same way.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "an unknown host".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_names_are_plain_identifiers_distinct_per_stack() {
        assert_eq!(table_name("gameplay"), "kustoplan_lease_gameplay");
        assert_eq!(table_name("game_play1"), "kustoplan_lease_game_play1");
        let dashed = table_name("a-b");
        let dotted = table_name("a.b");
        assert!(dashed.starts_with("kustoplan_lease_a_b_"), "{dashed}");
        assert_eq!(dashed.len(), "kustoplan_lease_a_b_".len() + 12);
        assert_ne!(dashed, table_name("a_b"));
        assert_ne!(dashed, dotted);
        let long = table_name(&"x".repeat(2000));
        assert_eq!(long.len(), PREFIX.len() + MAX_STACK_PART + 13);
        assert_ne!(long, table_name(&"x".repeat(2001)));
        for name in [dashed, dotted, long] {
            assert!(crate::model::check_kusto_name(&name).is_ok());
            assert!(is_lease_table(&name));
            assert_eq!(
                crate::kusto::render::quote_name(&name).to_string(),
                name,
                "plain"
            );
        }
        assert!(!is_lease_table("kustoplan_leases"));
        assert!(!is_lease_table("GamePlay"));
    }

    #[test]
    fn side_tables_are_lease_tables_named_by_id() {
        let id = LeaseId::parse("0123456789ABCDEF0123456789abcdef").expect("id");
        assert_eq!(id.to_string(), "0123456789abcdef0123456789abcdef");
        let side = side_name("kustoplan_lease_s", &id);
        assert_eq!(side, "kustoplan_lease_s_0123456789abcdef0123456789abcdef");
        assert!(is_lease_table(&side));
        for bad in [
            "",
            "xyz",
            "0123456789abcdef0123456789abcde",
            "g123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(LeaseId::parse(bad), None, "{bad}");
        }
        assert_ne!(LeaseId::random(), LeaseId::random());
    }

    #[test]
    fn records_round_trip_through_the_docstring_and_expire() {
        let record = LeaseRecord::new("gameplay", "kustoplan apply", 1_000, TTL);
        assert_eq!(record.expires_unix, 1_300);
        assert_eq!(record.pid, std::process::id());
        let text = record.to_docstring();
        assert!(!text.contains('\n'));
        assert_eq!(LeaseRecord::from_docstring(&text), Some(record.clone()));
        assert_eq!(LeaseRecord::from_docstring("Game events"), None);
        assert_eq!(
            LeaseRecord::from_docstring(&text.replace(&record.id.to_string(), "nope")),
            None,
            "an id that is not one makes no record"
        );
        assert!(!record.is_expired(1_299));
        assert!(record.is_expired(1_300));
        let renewed = record.renewed(1_250, TTL);
        assert_eq!(
            (renewed.id.clone(), renewed.acquired_unix),
            (record.id.clone(), 1_000)
        );
        assert_eq!(renewed.expires_unix, 1_550);
    }

    #[test]
    fn holders_say_who_since_when_until_when_and_the_id() {
        let record = LeaseRecord {
            id: LeaseId::parse("0123456789abcdef0123456789abcdef").expect("id"),
            stack: "s".into(),
            command: "kustoplan apply".into(),
            user: "alice".into(),
            host: "build-7".into(),
            pid: 42,
            acquired_unix: 0,
            expires_unix: 300,
        };
        assert_eq!(
            Holder::Record(record).to_string(),
            "`kustoplan apply` (alice on build-7, pid 42, since Thu, 01 Jan 1970 00:00:00 GMT, \
             expires Thu, 01 Jan 1970 00:05:00 GMT; lease id 0123456789abcdef0123456789abcdef)"
        );
        assert_eq!(
            Holder::Unreadable {
                docstring: "mine".into()
            }
            .to_string(),
            "an unknown holder (its docstring is no lease record: \"mine\")"
        );
    }
}

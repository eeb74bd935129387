//! Batching of queued blobs by the effective ingestion batching policy
//! (management-batching-policy.md, "Sealing a batch"): a batch is sealed when the first of
//! these holds: its raw size reaches `MaximumRawDataSizeMB`, its blob count reaches
//! `MaximumNumberOfItems`, it has waited `MaximumBatchingTimeSpan`, or a blob with
//! `FlushImmediately` joined it. Blobs with `ingest-by:` tags, `ingestIfNotExists` or an
//! unknown size are ingested alone, at once.
//!
//! Pure and clock-free (the caller passes `now`), so the seal rules are unit-tested exactly.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::super::state::{BatchingPolicy, Database, Table};

/// The limits of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `MaximumBatchingTimeSpan`.
    pub max_age: Duration,
    /// `MaximumNumberOfItems`.
    pub max_items: u64,
    /// `MaximumRawDataSizeMB`, in bytes.
    pub max_raw_bytes: u64,
}

impl Limits {
    /// The documented defaults: 5 minutes, 500 items, 1024 MB.
    pub const DEFAULT: Limits = Limits {
        max_age: Duration::from_secs(300),
        max_items: 500,
        max_raw_bytes: 1024 * 1024 * 1024,
    };

    /// The effective limits for `table`: its policy, else its database's, else the defaults.
    pub fn effective(db: &Database, table: &Table) -> Limits {
        table
            .batching
            .or(db.batching)
            .map_or(Limits::DEFAULT, Limits::of)
    }

    fn of(policy: BatchingPolicy) -> Limits {
        Limits {
            max_age: Duration::from_nanos(policy.max_batching_ticks.saturating_mul(100)),
            max_items: policy.max_items,
            max_raw_bytes: policy.max_raw_size_mb.saturating_mul(1024 * 1024),
        }
    }
}

/// Why a batch was sealed (the policy page's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seal {
    /// Raw size limit reached or exceeded.
    Size,
    /// Item limit reached.
    Count,
    /// Batching time expired.
    Time,
    /// A blob with `FlushImmediately` joined.
    FlushImmediately,
    /// A blob that is ingested alone (`ingest-by:`, `ingestIfNotExists`, unknown size).
    SingleBlob,
}

/// A sealed batch, ready to ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch<T> {
    /// The items, in arrival order.
    pub items: Vec<T>,
    /// Why it was sealed.
    pub seal: Seal,
}

/// How one blob joins a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// Raw (uncompressed) size, when known.
    pub raw_size: Option<u64>,
    /// `FlushImmediately`.
    pub flush: bool,
    /// Ingested alone (see the module docs).
    pub single: bool,
}

#[derive(Debug)]
struct Open<T> {
    opened: Instant,
    limits: Limits,
    items: Vec<T>,
    raw: u64,
}

/// Open batches by key (table and ingestion properties).
#[derive(Debug)]
pub struct Batcher<T> {
    open: BTreeMap<String, Open<T>>,
}

impl<T> Default for Batcher<T> {
    fn default() -> Self {
        Batcher {
            open: BTreeMap::new(),
        }
    }
}

impl<T> Batcher<T> {
    /// Adds `item` to the open batch of `key` (opening one with `limits` if none is open);
    /// returns the batch it sealed, if any.
    pub fn add(
        &mut self,
        key: String,
        item: T,
        arrival: Arrival,
        limits: Limits,
        now: Instant,
    ) -> Option<Batch<T>> {
        if arrival.single {
            return Some(Batch {
                items: vec![item],
                seal: Seal::SingleBlob,
            });
        }
        let open = self.open.entry(key.clone()).or_insert_with(|| Open {
            opened: now,
            limits,
            items: Vec::new(),
            raw: 0,
        });
        open.items.push(item);
        open.raw = open.raw.saturating_add(arrival.raw_size.unwrap_or(0));
        let seal = if arrival.flush {
            Seal::FlushImmediately
        } else if open.items.len() as u64 >= open.limits.max_items {
            Seal::Count
        } else if open.raw >= open.limits.max_raw_bytes {
            Seal::Size
        } else {
            return None;
        };
        self.open.remove(&key).map(|o| Batch {
            items: o.items,
            seal,
        })
    }

    /// Seals and returns the batches whose batching time has expired at `now`.
    pub fn due(&mut self, now: Instant) -> Vec<Batch<T>> {
        let expired: Vec<String> = self
            .open
            .iter()
            .filter(|(_, o)| now.saturating_duration_since(o.opened) >= o.limits.max_age)
            .map(|(k, _)| k.clone())
            .collect();
        expired
            .into_iter()
            .filter_map(|k| self.open.remove(&k))
            .map(|o| Batch {
                items: o.items,
                seal: Seal::Time,
            })
            .collect()
    }

    /// How many blobs wait in open batches.
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.open.values().map(|o| o.items.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_age: Duration::from_secs(10),
        max_items: 3,
        max_raw_bytes: 1000,
    };

    fn sized(raw: u64) -> Arrival {
        Arrival {
            raw_size: Some(raw),
            flush: false,
            single: false,
        }
    }

    #[test]
    fn seals_on_the_item_count_per_key() {
        let mut b = Batcher::default();
        let t0 = Instant::now();
        assert_eq!(b.add("a".into(), 1, sized(1), LIMITS, t0), None);
        assert_eq!(b.add("b".into(), 10, sized(1), LIMITS, t0), None);
        assert_eq!(b.add("a".into(), 2, sized(1), LIMITS, t0), None);
        assert_eq!(
            b.add("a".into(), 3, sized(1), LIMITS, t0),
            Some(Batch {
                items: vec![1, 2, 3],
                seal: Seal::Count
            })
        );
        assert_eq!(b.pending(), 1, "the other key's batch stays open");
    }

    #[test]
    fn seals_on_raw_size_reached_or_exceeded() {
        let mut b = Batcher::default();
        let t0 = Instant::now();
        assert_eq!(b.add("a".into(), 1, sized(999), LIMITS, t0), None);
        let sealed = b.add("a".into(), 2, sized(1), LIMITS, t0).expect("sealed");
        assert_eq!((sealed.items, sealed.seal), (vec![1, 2], Seal::Size));
        let alone = b
            .add("a".into(), 3, sized(5000), LIMITS, t0)
            .expect("sealed");
        assert_eq!((alone.items, alone.seal), (vec![3], Seal::Size));
    }

    #[test]
    fn seals_on_time_from_the_first_blob() {
        let mut b = Batcher::default();
        let t0 = Instant::now();
        b.add("a".into(), 1, sized(1), LIMITS, t0);
        b.add("a".into(), 2, sized(1), LIMITS, t0 + Duration::from_secs(9));
        assert!(b.due(t0 + Duration::from_millis(9_999)).is_empty());
        assert_eq!(
            b.due(t0 + Duration::from_secs(10)),
            vec![Batch {
                items: vec![1, 2],
                seal: Seal::Time
            }]
        );
        assert_eq!(b.pending(), 0);
    }

    #[test]
    fn flush_immediately_and_single_blobs_do_not_wait() {
        let mut b = Batcher::default();
        let t0 = Instant::now();
        b.add("a".into(), 1, sized(1), LIMITS, t0);
        let flush = Arrival {
            flush: true,
            ..sized(1)
        };
        let sealed = b.add("a".into(), 2, flush, LIMITS, t0).expect("flushed");
        assert_eq!(
            (sealed.items, sealed.seal),
            (vec![1, 2], Seal::FlushImmediately)
        );
        b.add("a".into(), 3, sized(1), LIMITS, t0);
        let single = Arrival {
            single: true,
            ..sized(1)
        };
        let alone = b.add("a".into(), 4, single, LIMITS, t0).expect("alone");
        assert_eq!((alone.items, alone.seal), (vec![4], Seal::SingleBlob));
        assert_eq!(b.pending(), 1, "the open batch is left as it was");
    }

    #[test]
    fn effective_limits_table_then_database_then_defaults() {
        let mut db = Database::new("id".into());
        let mut t = Table::new("T".into(), Vec::new());
        assert_eq!(Limits::effective(&db, &t), Limits::DEFAULT);
        let policy = |secs: u64, items| BatchingPolicy {
            max_batching_ticks: secs * 10_000_000,
            max_items: items,
            max_raw_size_mb: 100,
        };
        db.batching = Some(policy(30, 7));
        assert_eq!(Limits::effective(&db, &t).max_items, 7);
        t.batching = Some(policy(10, 2));
        let l = Limits::effective(&db, &t);
        assert_eq!(
            (l.max_age, l.max_items, l.max_raw_bytes),
            (Duration::from_secs(10), 2, 100 * 1024 * 1024)
        );
    }
}

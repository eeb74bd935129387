//! The built-in Kusto sandbox persists what each command changed (a journal beside the
//! snapshot), not its whole state: a one-table change writes as many bytes with many tables as
//! with few, a new process sees everything, and a record torn by a crash is not committed.

use crate::common;

use std::fs;
use std::path::Path;

use common::cli::{kustoplan, write_stack};
use kustoplan::sandbox::kusto::{JOURNAL_FILE, KustoSandbox, STATE_FILE};

/// Writes a stack of `tables` tables `T0..` in database `jdb` into `dir`, `extra` columns
/// added to `T0`.
fn stack(dir: &Path, tables: usize, extra: &str) {
    let mut docs = vec![
        "kind: Stack\nname: journal\n".to_string(),
        "kind: Database\nname: jdb\n".to_string(),
    ];
    for i in 0..tables {
        let more = if i == 0 { extra } else { "" };
        docs.push(format!(
            "kind: Table\nname: T{i}\ndatabase: jdb\ncolumns:\n  - {{name: A, type: int}}\n  - {{name: B, type: string}}\n{more}"
        ));
    }
    write_stack(dir, &docs);
}

fn len(path: &Path) -> u64 {
    fs::metadata(path).expect("metadata").len()
}

fn apply(sandbox: &Path, dir: &Path) {
    let run = kustoplan(
        sandbox,
        &["apply", dir.to_str().expect("utf8"), "--auto-approve"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
}

/// Bytes written to the sandbox directory by adding one column to one table, after applying
/// `tables` tables; the snapshot is left alone and a fresh process plans no changes.
fn bytes_for_one_table_change(tables: usize) -> u64 {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    stack(dir.path(), tables, "");
    apply(sandbox.path(), dir.path());
    let snapshot = fs::read(sandbox.path().join(STATE_FILE)).expect("snapshot");
    let journal = len(&sandbox.path().join(JOURNAL_FILE));
    stack(dir.path(), tables, "  - {name: C, type: long}\n");
    apply(sandbox.path(), dir.path());
    assert_eq!(
        fs::read(sandbox.path().join(STATE_FILE)).expect("snapshot"),
        snapshot,
        "a change is journaled, the snapshot is not rewritten"
    );
    kustoplan(
        sandbox.path(),
        &["plan", dir.path().to_str().expect("utf8")],
    )
    .assert_no_changes_because("a new process replays the journal over the snapshot");
    len(&sandbox.path().join(JOURNAL_FILE)) - journal
}

#[test]
fn a_one_table_change_writes_the_same_bytes_whatever_the_number_of_tables() {
    let few = bytes_for_one_table_change(10);
    let many = bytes_for_one_table_change(400);
    assert!(few > 0, "the change was written");
    // The same record but for the digits of the database's schema version.
    assert!(
        many <= few + 16,
        "{many} bytes written with 400 tables, {few} with 10"
    );
}

#[test]
fn a_record_torn_by_a_crash_is_not_committed_and_the_next_apply_redoes_it() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    stack(dir.path(), 3, "");
    apply(sandbox.path(), dir.path());
    let journal = sandbox.path().join(JOURNAL_FILE);
    let committed = len(&journal);
    stack(dir.path(), 4, "");
    apply(sandbox.path(), dir.path());
    let bytes = fs::read(&journal).expect("journal");
    let added = &bytes[committed as usize..];
    assert_eq!(
        added.iter().filter(|b| **b == b'\n').count(),
        1,
        "one script, one record"
    );
    // A crash in the middle of writing that record.
    fs::write(&journal, &bytes[..committed as usize + added.len() / 2]).expect("tear");
    let tables = |sandbox: &Path| -> Vec<String> {
        let s = KustoSandbox::open(sandbox, &[]).expect("the torn record is not an error");
        s.state().databases["jdb"].tables.keys().cloned().collect()
    };
    assert_eq!(tables(sandbox.path()), ["T0", "T1", "T2"]);
    assert_eq!(len(&journal), committed, "the torn record is cut off");
    apply(sandbox.path(), dir.path());
    assert_eq!(tables(sandbox.path()), ["T0", "T1", "T2", "T3"]);
    kustoplan(
        sandbox.path(),
        &["plan", dir.path().to_str().expect("utf8")],
    )
    .assert_no_changes();
}

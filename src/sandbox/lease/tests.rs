use std::time::Duration;

use super::*;

fn held(err: LeaseError) -> (HeldBy, String) {
    let text = err.to_string();
    match err {
        LeaseError::Held { holder, .. } => (holder, text),
        other => panic!("expected Held, got {other}"),
    }
}

#[test]
fn a_second_writer_is_refused_with_the_holder_and_gets_it_after_release() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = DirLease::acquire(
        dir.path(),
        &LeaseRequest::write("kustoplan apply", Duration::ZERO),
    )
    .expect("first writer");
    let err = DirLease::acquire(
        dir.path(),
        &LeaseRequest::write("kustoplan apply", Duration::ZERO),
    )
    .expect_err("second writer");
    let (holder, text) = held(err);
    let HeldBy::Writer(holder) = holder else {
        panic!("expected the writer's record, got {holder:?}")
    };
    assert_eq!(holder.pid, std::process::id());
    assert_eq!(holder.command, "kustoplan apply");
    assert_eq!(holder.host, host_name());
    let expected = format!(
        "the sandbox directory {} is held by `kustoplan apply` (pid {} on {}, since {})",
        dir.path().display(),
        holder.pid,
        holder.host,
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(holder.since_unix))
    );
    assert_eq!(text, expected);
    drop(first);
    assert_eq!(
        std::fs::read(dir.path().join(LOCK_FILE)).expect("lock file"),
        b"",
        "the record is cleared on release"
    );
    DirLease::acquire(
        dir.path(),
        &LeaseRequest::write("kustoplan apply", Duration::ZERO),
    )
    .expect("free again");
}

#[test]
fn readers_share_and_exclude_writers_both_ways() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r1 = DirLease::acquire(dir.path(), &LeaseRequest::read()).expect("r1");
    let r2 = DirLease::acquire(dir.path(), &LeaseRequest::read()).expect("r2");
    let (holder, text) = held(
        DirLease::acquire(
            dir.path(),
            &LeaseRequest::write("kustoplan apply", Duration::ZERO),
        )
        .expect_err("writer while reading"),
    );
    assert_eq!(holder, HeldBy::Readers);
    assert!(
        text.contains("is held by another kustoplan process reading it (plan or status)"),
        "{text}"
    );
    drop((r1, r2));
    let w = DirLease::acquire(
        dir.path(),
        &LeaseRequest::write("kustoplan sandbox serve", Duration::ZERO),
    )
    .expect("writer");
    let (holder, _) = held(
        DirLease::acquire(dir.path(), &LeaseRequest::read()).expect_err("reader while writing"),
    );
    let HeldBy::Writer(holder) = holder else {
        panic!("expected the writer's record, got {holder:?}")
    };
    assert_eq!(holder.command, "kustoplan sandbox serve");
    drop(w);
}

#[test]
fn a_waiting_writer_gets_the_lease_when_the_holder_lets_go() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = DirLease::acquire(
        dir.path(),
        &LeaseRequest::write("kustoplan apply", Duration::ZERO),
    )
    .expect("first");
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(first);
    });
    let second = DirLease::acquire(
        dir.path(),
        &LeaseRequest::write("kustoplan apply", Duration::from_secs(60)),
    );
    releaser.join().expect("join");
    second.expect("acquired after the first let go");
}

#[test]
fn a_record_left_by_a_crashed_writer_is_cleared_by_the_next_holder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stale = Holder {
        pid: 999_999,
        host: "gone".into(),
        since_unix: 0,
        command: "kustoplan apply".into(),
    };
    std::fs::write(
        dir.path().join(LOCK_FILE),
        serde_json::to_vec(&stale).expect("json"),
    )
    .expect("write");
    let reader = DirLease::acquire(dir.path(), &LeaseRequest::read()).expect("reader");
    assert_eq!(
        std::fs::read(dir.path().join(LOCK_FILE)).expect("read"),
        b""
    );
    let (holder, _) = held(
        DirLease::acquire(
            dir.path(),
            &LeaseRequest::write("kustoplan apply", Duration::ZERO),
        )
        .expect_err("writer"),
    );
    assert_eq!(holder, HeldBy::Readers, "no stale holder is named");
    drop(reader);
}

/// Opens the lock file of `dir` on its own file description and locks it exclusively with
/// an empty record: a writer in the moment between taking the lock and writing its record (or
/// between clearing it and closing).
fn writer_without_record(dir: &Path) -> File {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.join(LOCK_FILE))
        .expect("open lock file");
    file.try_lock().expect("lock");
    file
}

/// Regression (flaky `tests/it/apply_lock.rs`): a process refused while the writer had not yet
/// written its record said readers held the directory instead of naming the writer.
#[test]
fn a_writer_refused_while_the_holder_writes_its_record_names_the_holder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut file = writer_without_record(dir.path());
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        let record = Holder {
            pid: 4242,
            host: "elsewhere".into(),
            since_unix: 0,
            command: "kustoplan apply".into(),
        };
        file.write_all(&serde_json::to_vec(&record).expect("json"))
            .expect("write record");
        std::thread::sleep(Duration::from_millis(200));
        drop(file);
    });
    let (holder, text) = held(
        DirLease::acquire(
            dir.path(),
            &LeaseRequest::write("kustoplan apply", Duration::ZERO),
        )
        .expect_err("held by the writer"),
    );
    writer.join().expect("join");
    let HeldBy::Writer(holder) = holder else {
        panic!("expected the writer's record, got {holder:?}: {text}")
    };
    assert_eq!(holder.pid, 4242);
}

/// Regression: a writer that had cleared its record but not yet closed the lock file made the
/// next process refuse a directory that was being released; it now gets the lease.
#[test]
fn a_lock_released_right_after_its_record_was_cleared_is_taken() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = writer_without_record(dir.path());
    let closer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        drop(file);
    });
    let lease = DirLease::acquire(
        dir.path(),
        &LeaseRequest::write("kustoplan apply", Duration::ZERO),
    );
    closer.join().expect("join");
    lease.expect("the directory was released, not held");
}

#[test]
fn a_writer_that_never_writes_its_record_is_reported_as_such() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = writer_without_record(dir.path());
    let (holder, text) =
        held(DirLease::acquire(dir.path(), &LeaseRequest::read()).expect_err("held"));
    assert_eq!(holder, HeldBy::Unrecorded);
    assert!(
        text.ends_with(
            "is held by another kustoplan process writing it (it left no record of itself)"
        ),
        "{text}"
    );
    drop(file);
}

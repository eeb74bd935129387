//! The Kusto provider's apply and apply lease, run against the sandbox as their backend: the
//! sandbox answers scripts and lease commands like a cluster, so these tests pin the
//! provider's behaviour with real command semantics.

mod apply {
    use std::sync::Arc;

    use crate::interrupt::StopRequest;
    use crate::plan::Change;
    use crate::providers::kusto::apply::apply;
    use crate::providers::kusto::transport::KustoTransport;
    use crate::providers::report::CommandOutcome;
    use crate::sandbox::kusto::KustoSandbox;

    fn change_in(database: &str, address: &str, commands: Vec<String>) -> Change {
        crate::plan::kusto_change_for_test(database, address, &commands)
    }

    fn change(address: &str, commands: Vec<String>) -> Change {
        change_in("db", address, commands)
    }

    #[tokio::test]
    async fn a_failing_command_stops_the_rest_and_the_report_says_which_ran() {
        let sandbox = Arc::new(KustoSandbox::in_memory(&["db".to_string()]).expect("sandbox"));
        let transport = KustoTransport::new(sandbox);
        let changes = vec![
            change("kusto.db.table.a", vec![".create table A (x:int)".into()]),
            change(
                "kusto.db.table.b",
                vec![".alter column Missing.x type=long".into()],
            ),
            change("kusto.db.table.c", vec![".create table C (x:int)".into()]),
        ];
        let report = apply(&transport, &changes, 4, &StopRequest::default(), |_| {}).await;
        assert_eq!(report.requests, 1);
        let outcomes: Vec<(&str, bool)> = report
            .commands
            .iter()
            .map(|(a, _, o)| (a.as_str(), *o == CommandOutcome::Completed))
            .collect();
        assert_eq!(
            outcomes,
            vec![
                ("kusto.db.table.a", true),
                ("kusto.db.table.b", false),
                ("kusto.db.table.c", false)
            ]
        );
        assert!(matches!(report.commands[1].2, CommandOutcome::Failed(ref r) if !r.is_empty()));
        assert_eq!(report.commands[2].2, CommandOutcome::NotRun);
        assert!(!report.succeeded());
    }

    #[tokio::test]
    async fn a_failure_in_one_database_starts_no_other_database_and_the_report_is_in_plan_order() {
        let databases = ["a", "b", "c"].map(String::from);
        let sandbox = Arc::new(KustoSandbox::in_memory(&databases).expect("sandbox"));
        let transport = KustoTransport::new(sandbox);
        let changes = vec![
            change_in(
                "a",
                "kusto.a.table.A",
                vec![".create table A (x:int)".into()],
            ),
            change_in(
                "b",
                "kusto.b.table.B",
                vec![".alter column Missing.x type=long".into()],
            ),
            change_in(
                "c",
                "kusto.c.table.C",
                vec![".create table C (x:int)".into()],
            ),
            change_in(
                "a",
                "kusto.a.table.A2",
                vec![".create table A2 (x:int)".into()],
            ),
        ];
        let mut started = Vec::new();
        // One database at a time, so which batches start is certain.
        let report = apply(&transport, &changes, 1, &StopRequest::default(), |b| {
            started.push((b.number, b.database.to_string()));
        })
        .await;
        assert_eq!(started, vec![(1, "a".to_string()), (2, "b".to_string())]);
        assert_eq!(report.requests, 2);
        let outcomes: Vec<(&str, &CommandOutcome)> = report
            .commands
            .iter()
            .map(|(a, _, o)| (a.as_str(), o))
            .collect();
        assert_eq!(outcomes[0], ("kusto.a.table.A", &CommandOutcome::Completed));
        assert!(matches!(
            outcomes[1],
            ("kusto.b.table.B", CommandOutcome::Failed(_))
        ));
        assert_eq!(outcomes[2], ("kusto.c.table.C", &CommandOutcome::NotRun));
        assert_eq!(
            outcomes[3],
            ("kusto.a.table.A2", &CommandOutcome::Completed)
        );
        assert!(!report.interrupted);
    }

    #[tokio::test]
    async fn a_stop_before_the_next_batch_leaves_it_not_run_and_says_interrupted() {
        let databases = ["a", "b"].map(String::from);
        let sandbox = Arc::new(KustoSandbox::in_memory(&databases).expect("sandbox"));
        let transport = KustoTransport::new(sandbox);
        let changes = vec![
            change_in(
                "a",
                "kusto.a.table.A",
                vec![".create table A (x:int)".into()],
            ),
            change_in(
                "b",
                "kusto.b.table.B",
                vec![".create table B (x:int)".into()],
            ),
        ];
        let stop = StopRequest::default();
        let report = apply(&transport, &changes, 1, &stop, |_| stop.request()).await;
        assert!(report.interrupted);
        assert_eq!(report.requests, 1);
        assert_eq!(report.commands[0].2, CommandOutcome::Completed);
        assert_eq!(report.commands[1].2, CommandOutcome::NotRun);
    }
}

mod lease {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::interrupt::StopRequest;
    use crate::kusto::lease::{self, Holder, LeaseId, LeaseRecord};
    use crate::providers::kusto::lease::*;
    use crate::providers::kusto::transport::KustoTransport;
    use crate::sandbox::kusto::{Caller, KustoSandbox};

    fn target(databases: &[&str]) -> (Arc<KustoSandbox>, Arc<KustoTransport>) {
        let names: Vec<String> = databases.iter().map(|d| d.to_string()).collect();
        let sandbox = Arc::new(KustoSandbox::in_memory(&names).expect("sandbox"));
        let transport = Arc::new(KustoTransport::new(sandbox.clone()));
        (sandbox, transport)
    }

    fn request(databases: &[&str], wait: Duration) -> LeaseRequest {
        LeaseRequest {
            stack: "s".into(),
            databases: databases.iter().map(|d| d.to_string()).collect(),
            command: "kustoplan apply".into(),
            wait,
            ttl: lease::TTL,
            stop: StopRequest::default(),
        }
    }

    /// Every table of `db`, lease tables included.
    fn tables(sandbox: &KustoSandbox, db: &str) -> Vec<String> {
        sandbox.state().databases[db]
            .tables
            .keys()
            .cloned()
            .collect()
    }

    fn held_id(sandbox: &KustoSandbox, db: &str) -> Option<LeaseId> {
        let state = sandbox.state();
        let table = state.databases[db].tables.get("kustoplan_lease_s")?;
        LeaseRecord::from_docstring(&table.docstring).map(|r| r.id)
    }

    #[tokio::test]
    async fn a_second_acquirer_is_refused_until_the_first_releases() {
        let (sandbox, transport) = target(&["a", "b"]);
        let first = acquire(transport.clone(), &request(&["b", "a"], Duration::ZERO))
            .await
            .expect("first");
        for db in ["a", "b"] {
            assert_eq!(held_id(&sandbox, db).as_ref(), Some(&first.record().id));
        }
        let Err(LeaseError::Held {
            database, holder, ..
        }) = acquire(transport.clone(), &request(&["a", "b"], Duration::ZERO)).await
        else {
            panic!("the second must be refused");
        };
        assert_eq!(database, "a");
        assert_eq!(holder, Holder::Record(first.record().clone()));
        assert_eq!(
            tables(&sandbox, "a"),
            ["kustoplan_lease_s"],
            "no side table left"
        );
        first.release().await.expect("release");
        assert_eq!(tables(&sandbox, "a"), Vec::<String>::new());
        assert_eq!(tables(&sandbox, "b"), Vec::<String>::new());
        acquire(transport, &request(&["a", "b"], Duration::ZERO))
            .await
            .expect("free again");
    }

    /// An interrupt ends a wait for another holder at once (not after `--lock-timeout`), with
    /// nothing of the lease held and no side table left.
    #[tokio::test]
    async fn an_interrupt_ends_the_wait_for_another_holder() {
        let (sandbox, transport) = target(&["a", "b"]);
        let holder = acquire(transport.clone(), &request(&["b"], Duration::ZERO))
            .await
            .expect("holder of b");
        let waiter = request(&["a", "b"], Duration::from_secs(600));
        waiter.stop.request();
        let started = Instant::now();
        let refused = acquire(transport.clone(), &waiter).await;
        assert!(
            matches!(refused, Err(LeaseError::Interrupted)),
            "{refused:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "did not wait out the timeout"
        );
        assert_eq!(tables(&sandbox, "a"), Vec::<String>::new());
        assert_eq!(tables(&sandbox, "b"), ["kustoplan_lease_s"]);
        assert_eq!(held_id(&sandbox, "b").as_ref(), Some(&holder.record().id));
    }

    /// Held in `b` only: the waiter takes `a`, finds `b` busy, and gives `a` back before waiting,
    /// so it never holds part of the lease while the holder of `b` runs.
    #[tokio::test]
    async fn a_waiter_holds_no_part_of_the_lease() {
        let (sandbox, transport) = target(&["a", "b"]);
        let holder = acquire(transport.clone(), &request(&["b"], Duration::ZERO))
            .await
            .expect("holder of b");
        let refused = acquire(transport.clone(), &request(&["a", "b"], Duration::ZERO)).await;
        assert!(
            matches!(&refused, Err(LeaseError::Held { database, .. }) if database == "b"),
            "{refused:?}"
        );
        assert_eq!(tables(&sandbox, "a"), Vec::<String>::new(), "a given back");
        assert_eq!(held_id(&sandbox, "b").as_ref(), Some(&holder.record().id));
    }

    #[tokio::test]
    async fn renewal_pushes_the_expiry_and_notices_a_lost_lease() {
        let (sandbox, transport) = target(&["a"]);
        let lease = acquire(transport.clone(), &request(&["a"], Duration::ZERO))
            .await
            .expect("lease");
        lease.renew().await.expect("renew");
        assert!(!lease.is_lost());
        let removed = force_unlock(&transport, "s", &["a".to_string()], &lease.record().id)
            .await
            .expect("force-unlock");
        assert_eq!(removed, ["a"]);
        assert_eq!(
            lease.renew().await,
            Err(LeaseError::Lost {
                database: "a".into(),
                holder: None
            })
        );
        assert!(lease.is_lost());
        // Someone else takes it; the lost holder's release leaves theirs alone.
        let other = acquire(transport.clone(), &request(&["a"], Duration::ZERO))
            .await
            .expect("other");
        assert!(matches!(
            lease.release().await,
            Err(LeaseError::Lost { .. })
        ));
        assert_eq!(held_id(&sandbox, "a").as_ref(), Some(&other.record().id));
    }

    /// A take-over that finds another lease than the one it meant (it changed hands since it
    /// was read) puts it back.
    #[tokio::test]
    async fn taking_over_another_lease_than_meant_puts_it_back() {
        let (sandbox, transport) = target(&["a"]);
        let lease = acquire(transport.clone(), &request(&["a"], Duration::ZERO))
            .await
            .expect("lease");
        let other = LeaseId::random();
        assert!(
            !take_over(&transport, "a", "kustoplan_lease_s", &other)
                .await
                .expect("take over")
        );
        assert_eq!(held_id(&sandbox, "a").as_ref(), Some(&lease.record().id));
        assert_eq!(tables(&sandbox, "a"), ["kustoplan_lease_s"]);
        assert!(
            force_unlock(&transport, "s", &["a".to_string()], &other)
                .await
                .expect("force-unlock")
                .is_empty()
        );
    }

    /// A table with the lease's name but no record is never taken over, however old.
    #[tokio::test]
    async fn an_unreadable_lease_is_never_taken_over() {
        let (sandbox, transport) = target(&["a"]);
        sandbox
            .execute(
                "a",
                ".create table kustoplan_lease_s (x:int) with (docstring = 'by hand')",
                &Caller::cluster_admin("aaduser=test"),
            )
            .expect("create");
        let refused = acquire(transport, &request(&["a"], Duration::ZERO)).await;
        assert_eq!(
            refused.map(|l| l.record().clone()),
            Err(LeaseError::Held {
                database: "a".into(),
                holder: Holder::Unreadable {
                    docstring: "by hand".into()
                },
                waited: Duration::ZERO,
            })
        );
    }
}

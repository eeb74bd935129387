//! Cross-system checks judge the state after apply: a plan that revokes the role the sink's AAD
//! app ingests with, or drops a table or mapping a route uses, is refused before anything is
//! applied (before, it applied and every later plan failed).

use crate::common;

use std::path::Path;

use common::cli::{edit, gameplay_copy, kustoplan, prune_on};

use kustoplan::sandbox::kusto::{Caller, KustoSandbox};

/// The gameplay example with pruning on, applied to a fresh sandbox.
fn applied_with_prune() -> (tempfile::TempDir, tempfile::TempDir) {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let stack = gameplay_copy();
    prune_on(stack.path());
    let dir = stack.path().to_str().expect("utf-8");
    let run = kustoplan(sandbox.path(), &["apply", dir, "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    (sandbox, stack)
}

/// Plans and applies (with every impact allowed): both must refuse with `message`, and the live
/// database must still have the table, its mapping and the app's role.
fn refused(sandbox: &Path, stack: &Path, message: &str) {
    let dir = stack.to_str().expect("utf-8");
    for args in [
        vec!["plan", dir],
        vec![
            "apply",
            dir,
            "--auto-approve",
            "--allow",
            "data-loss",
            "--allow",
            "restart",
        ],
    ] {
        let run = kustoplan(sandbox, &args);
        assert_eq!(run.code, 1, "{args:?}: {}\n{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "error: connect.main.connector.gameplay-kusto-sink route gameplay -> gamedb.GamePlay: {message}\n"
            )),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains("the plan cannot carry out; nothing was changed"),
            "{}",
            run.stderr
        );
    }
    let live = KustoSandbox::open(sandbox, &["gamedb".to_string()]).expect("open sandbox");
    let admin = Caller::cluster_admin("aaduser=someone@example.com");
    let mappings = live
        .execute("gamedb", ".show database gamedb ingestion mappings", &admin)
        .expect("mappings");
    assert!(
        format!("{mappings:?}").contains("gameplay_json_mapping"),
        "{mappings:?}"
    );
    let principals = live
        .execute("gamedb", ".show database gamedb principals", &admin)
        .expect("principals");
    assert!(
        format!("{principals:?}").contains("00000000-0000-0000-0000-00000000a11d"),
        "{principals:?}"
    );
}

#[test]
fn revoking_the_sinks_role_is_refused_at_plan_time() {
    let (sandbox, stack) = applied_with_prune();
    edit(
        stack.path(),
        "kusto.yaml",
        "principals:\n  admins:\n    # `.add database gamedb admins ('aadapp=APPID;TENANT') 'AAD App'`\n    - app: ${var.app_id}\n      tenant: ${var.tenant_id}\n      notes: AAD App\n",
        "",
    );
    refused(
        sandbox.path(),
        stack.path(),
        "the connector's AAD app 00000000-0000-0000-0000-00000000a11d is neither ingestor nor admin of database `gamedb` or table `GamePlay` after this plan; add it to `principals.ingestors` of the database",
    );
}

#[test]
fn dropping_a_routed_table_or_mapping_is_refused_before_anything_runs() {
    let (sandbox, stack) = applied_with_prune();
    let kusto = stack.path().join("kusto.yaml");
    let original = std::fs::read_to_string(&kusto).expect("read");
    let table_doc = original
        .find(
            "---\n# yaml-language-server: $schema=../../schemas/kustoplan.schema.json\nkind: Table",
        )
        .expect("table document");
    let mapping_start = original.find("mappings:\n").expect("mappings");
    let mapping_end = original.find("ingestion_batching:").expect("batching");
    let dir = stack.path().to_str().expect("utf-8");
    for (edited, message) in [
        (
            original[..table_doc].to_string(),
            "error: route to undeclared table `gamedb.GamePlay`",
        ),
        (
            format!("{}{}", &original[..mapping_start], &original[mapping_end..]),
            "error: route uses undeclared mapping `gameplay_json_mapping` of table `GamePlay`",
        ),
    ] {
        std::fs::write(&kusto, edited).expect("write");
        let run = kustoplan(
            sandbox.path(),
            &["apply", dir, "--auto-approve", "--allow", "data-loss"],
        );
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.starts_with(message), "{}", run.stderr);
    }
    std::fs::write(&kusto, &original).expect("write");
    let run = kustoplan(sandbox.path(), &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "nothing was dropped: {}", run.stdout);
}

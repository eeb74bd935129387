//! `--target` on the built-in sandbox: a targeted plan and apply touch only the selected objects
//! (never pruning outside them), say that they are partial, refuse a target that leaves out
//! what a kept change needs (naming what to add, changing nothing), and a saved targeted plan
//! applies exactly its changes.

use crate::common;

use common::cli::{Run, gameplay_copy, kustoplan};

/// The gameplay example in a temporary directory, applied to its own sandbox directory.
struct Stack {
    dir: tempfile::TempDir,
    sandbox: tempfile::TempDir,
}

impl Stack {
    fn new() -> Stack {
        Stack {
            dir: gameplay_copy(),
            sandbox: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self) -> &str {
        self.dir.path().to_str().expect("utf-8 path")
    }

    fn run(&self, args: &[&str]) -> Run {
        kustoplan(self.sandbox.path(), args)
    }

    fn plan(&self, extra: &[&str]) -> Run {
        let mut args = vec!["plan", self.path()];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn apply(&self, extra: &[&str]) -> Run {
        let mut args = vec!["apply", self.path(), "--auto-approve"];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.dir.path().join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{file} has no `{from}`");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    }
}

/// Addresses of the changes in a text plan, in order.
fn addresses(plan: &str) -> Vec<String> {
    plan.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l
                .strip_prefix("+ ")
                .or_else(|| l.strip_prefix("~ "))
                .or_else(|| l.strip_prefix("- "))
                .or_else(|| l.strip_prefix("-/+ "))?;
            let address = rest.split_whitespace().next()?;
            ["kusto.", "kafka.", "connect."]
                .iter()
                .any(|s| address.starts_with(s))
                .then(|| address.to_string())
        })
        .collect()
}

const TABLE: &str = "kusto.gamedb.table.GamePlay";
const SINK: &str = "connect.main.connector.gameplay-kusto-sink";

#[test]
fn a_targeted_apply_changes_only_its_objects_and_says_the_plan_is_partial() {
    let s = Stack::new();
    let full = s.plan(&[]);
    assert_eq!(full.code, 0, "{}", full.stderr);
    assert_eq!(addresses(&full.stdout).len(), 6, "{}", full.stdout);

    let targeted = s.plan(&["--target", TABLE]);
    assert_eq!(targeted.code, 0, "{}", targeted.stderr);
    assert!(
        targeted
            .stdout
            .starts_with("Targeted plan: only changes at `kusto.gamedb.table.GamePlay`"),
        "{}",
        targeted.stdout
    );
    assert_eq!(
        addresses(&targeted.stdout),
        vec![
            TABLE.to_string(),
            format!("{TABLE}.mapping.gameplay_json_mapping"),
            format!("{TABLE}.policy.ingestionbatching"),
        ]
    );

    let applied = s.apply(&["--target", TABLE]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    let again = s.plan(&["--target", TABLE]);
    again.assert_stdout_contains("No changes within the target.");
    assert!(
        !again.stdout.contains("match the manifests"),
        "a targeted plan never claims the whole stack matches"
    );
    let rest = s.plan(&[]);
    let rest = addresses(&rest.stdout);
    assert_eq!(rest.len(), 3, "{rest:?}");
    assert!(rest.iter().all(|a| !a.starts_with(TABLE)), "{rest:?}");
}

#[test]
fn a_target_that_leaves_out_what_a_change_needs_is_refused_with_what_to_add() {
    let s = Stack::new();
    let refused = s.plan(&["--target", SINK]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    for needed in ["kafka.topic.gameplay", TABLE, "kusto.gamedb.role.admins."] {
        assert!(
            refused.stderr.contains(&format!("add --target {needed}")),
            "{needed}: {}",
            refused.stderr
        );
    }
    assert!(
        !refused
            .stderr
            .contains("add --target kusto.gamedb.table.GamePlay.mapping"),
        "the table's target covers its mapping: {}",
        refused.stderr
    );
    let apply = s.apply(&["--target", SINK]);
    assert_eq!(apply.code, 1);
    assert_eq!(
        addresses(&s.plan(&[]).stdout).len(),
        6,
        "nothing was applied"
    );

    let all = [
        "--target",
        SINK,
        "--target",
        "kafka.topic.gameplay",
        "--target",
        TABLE,
        "--target",
        "kusto.gamedb.role.*",
    ];
    let applied = s.apply(&all);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    assert!(
        s.plan(&[])
            .stdout
            .contains("No changes. The live systems match the manifests.")
    );
}

#[test]
fn pruning_never_reaches_outside_the_target() {
    let s = Stack::new();
    s.edit(
        "stack.yaml",
        "kind: Stack\n",
        "kind: Stack\nsafety:\n  prune: true\n",
    );
    let extra =
        "---\nkind: Table\nname: Extra\ndatabase: gamedb\ncolumns:\n  - {name: Id, type: int}\n";
    let kusto = s.dir.path().join("kusto.yaml");
    let text = std::fs::read_to_string(&kusto).expect("read");
    std::fs::write(&kusto, format!("{text}{extra}")).expect("write");
    assert_eq!(s.apply(&[]).code, 0);
    std::fs::write(&kusto, text).expect("write");
    s.edit("kusto.yaml", "max_items: 5", "max_items: 6");

    let targeted = s.plan(&["--target", TABLE]);
    assert_eq!(
        addresses(&targeted.stdout),
        vec![format!("{TABLE}.policy.ingestionbatching")],
        "{}",
        targeted.stdout
    );
    let applied = s.apply(&["--target", TABLE, "--allow", "data-loss"]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    let full = s.plan(&[]);
    assert_eq!(
        addresses(&full.stdout),
        vec!["kusto.gamedb.table.Extra".to_string()],
        "the owned, undeclared table outside the target is still there: {}",
        full.stdout
    );
}

#[test]
fn a_saved_targeted_plan_applies_exactly_its_changes() {
    let s = Stack::new();
    let file = s.dir.path().join("table.plan");
    let file = file.to_str().expect("utf-8 path");
    let saved = s.plan(&["--target", TABLE, "--out", file]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    let shown = s.run(&["show", file, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&shown.stdout).expect("json");
    assert_eq!(json["targets"], serde_json::json!([TABLE]));

    let retargeted = s.run(&["apply", file, "--target", "kafka.topic.gameplay"]);
    assert_eq!(retargeted.code, 1);
    assert!(
        retargeted
            .stderr
            .contains("--target cannot be used with a plan file"),
        "{}",
        retargeted.stderr
    );
    let applied = s.run(&["apply", file]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    let rest = addresses(&s.plan(&[]).stdout);
    assert_eq!(rest.len(), 3, "only the table's changes ran: {rest:?}");
}

#[test]
fn a_pattern_that_is_not_an_address_is_refused_before_anything_is_read() {
    let s = Stack::new();
    let run = s.plan(&["--target", "gamedb.GamePlay"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("--target `gamedb.GamePlay` is not an address"),
        "{}",
        run.stderr
    );
    assert!(
        std::fs::read_dir(s.sandbox.path())
            .expect("dir")
            .next()
            .is_none(),
        "the sandbox was not even opened"
    );
}

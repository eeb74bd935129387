//! Plan renderers: human text (Terraform-like), Markdown for a pull-request comment, and JSON for
//! machines. Output formatting lives here, not in command handlers.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use similar::TextDiff;

use super::markdown_escape as md;
use super::{Action, Change, ImpactClass, Plan, Target};
use crate::model::ConnectManager;
use crate::text::{Style, paint, plural};

/// GitHub's limit on a comment or issue body (65,536 characters).
pub const COMMENT_LIMIT: usize = 65_536;

/// What the CI examples wrap around the Markdown view (a marker line naming the stack, a
/// heading, a footer with the commit): the view leaves this much room, so a workflow posts it
/// whole and never truncates it again, which could cut inside a code block or hide a change.
pub const WRAPPER_ROOM: usize = 1_024;

/// The Markdown view's size limit, in bytes (at least as many as characters).
pub const MARKDOWN_LIMIT: usize = COMMENT_LIMIT - WRAPPER_ROOM;

fn action_style(a: Action) -> Style {
    match a {
        Action::Create => Style::Green,
        Action::Update | Action::Replace => Style::Yellow,
        Action::Delete => Style::Red,
    }
}

/// `safe`, `restart` or `data-loss`.
pub fn impact_name(i: ImpactClass) -> &'static str {
    match i {
        ImpactClass::Safe => "safe",
        ImpactClass::Restart => "restart",
        ImpactClass::DataLoss => "data-loss",
    }
}

/// The unified diff between a change's before and after texts.
/// A created object's text is shown as all added lines and a deleted one's as all removed lines,
/// as Terraform shows every attribute of what it creates or destroys.
pub fn unified_diff(change: &Change) -> Option<String> {
    let (before, after) = match (change.before.as_deref(), change.after.as_deref()) {
        (None, None) => return None,
        (b, a) => (b.unwrap_or(""), a.unwrap_or("")),
    };
    if !before.contains('\n') && !after.contains('\n') {
        return None;
    }
    let diff = TextDiff::from_lines(before, after);
    Some(
        diff.unified_diff()
            .context_radius(3)
            .header("live", "declared")
            .to_string(),
    )
}

/// The one-line summary: `Plan: 4 to create, 0 to update, 1 to delete.` plus refused classes.
pub fn summary_line(plan: &Plan, allowed: &[ImpactClass]) -> String {
    let left = match plan.undeclared_principals_left {
        0 => String::new(),
        1 => " 1 undeclared principal in roles the manifests do not list was left in place."
            .to_string(),
        n => format!(
            " {n} undeclared principals in roles the manifests do not list were left in place."
        ),
    };
    if plan.is_empty() {
        return if !plan.targets.is_empty() {
            format!("No changes within the target.{left}")
        } else if left.is_empty() {
            "No changes. The live systems match the manifests.".to_string()
        } else {
            format!("No changes.{left}")
        };
    }
    let (create, update, delete) = plan.counts();
    let mut line =
        format!("Plan: {create} to create, {update} to update, {delete} to delete.{left}");
    let refused: Vec<&Change> = plan.refused(allowed).collect();
    if !refused.is_empty() {
        // Each class once, mildest first, whatever order the changes run in.
        let classes: std::collections::BTreeSet<ImpactClass> =
            refused.iter().map(|c| c.impact).collect();
        let flags: Vec<String> = classes
            .iter()
            .map(|c| format!("--allow {}", impact_name(*c)))
            .collect();
        let _ = write!(
            line,
            " {} {} need{} {} (or `safety.allow` in the Stack).",
            refused.len(),
            if refused.len() == 1 {
                "change"
            } else {
                "changes"
            },
            plural(refused.len(), "s", ""),
            flags.join(" ")
        );
    }
    let managed = plan.managed_elsewhere().count();
    if managed > 0 {
        let _ = write!(
            line,
            " {managed} connector {} refused: another tool manages {} Connect cluster.",
            if managed == 1 {
                "change is"
            } else {
                "changes are"
            },
            plural(managed, "its", "their"),
        );
    }
    line
}

/// What a `--target` plan leaves out, said before anything else so nobody reads a partial plan
/// as the whole story; `None` for a plan of the whole stack.
fn target_note(plan: &Plan, code: impl Fn(&str) -> String) -> Option<String> {
    if plan.targets.is_empty() {
        return None;
    }
    let targets: Vec<String> = plan.targets.iter().map(|t| code(t)).collect();
    Some(format!(
        "Targeted plan: only changes at {} and under {} are included; anything else that differs is left for a full plan.",
        targets.join(", "),
        plural(targets.len(), "it", "them")
    ))
}

/// What apply will refuse because another tool writes the connectors of a cluster the plan
/// changes, said before the changes so a reviewer does not approve what cannot run; `None`
/// when every changed cluster is kustoplan's.
pub fn managed_note(plan: &Plan, code: impl Fn(&str) -> String) -> Option<String> {
    let mut by_cluster: BTreeMap<&str, (ConnectManager, usize)> = BTreeMap::new();
    for (change, manager) in plan.managed_elsewhere() {
        if let Target::Connect { cluster } = &change.target {
            by_cluster.entry(cluster.as_str()).or_insert((manager, 0)).1 += 1;
        }
    }
    if by_cluster.is_empty() {
        return None;
    }
    let lines: Vec<String> = by_cluster
        .iter()
        .map(|(cluster, (manager, n))| {
            format!(
                "Connect cluster {} is managed by {}: apply refuses its {n} connector {}, which the operator would revert; {}, or leave them out with --target.",
                code(cluster),
                manager.describe(),
                if *n == 1 { "change" } else { "changes" },
                manager.instead()
            )
        })
        .collect();
    Some(lines.join("\n"))
}

/// The Terraform-like text view, with ANSI colours only when `color` is set.
pub fn text(plan: &Plan, allowed: &[ImpactClass], color: bool) -> String {
    let mut out = Vec::new();
    match write_text(&mut out, plan, allowed, color) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(e) => format!("cannot render the plan: {e}"),
    }
}

/// Writes the text view to `out` one change at a time: a plan of thousands of changes is not
/// held a second time as one string before it reaches the terminal or a pipe.
pub fn write_text(
    out: &mut impl std::io::Write,
    plan: &Plan,
    allowed: &[ImpactClass],
    color: bool,
) -> std::io::Result<()> {
    let mut chunk = String::new();
    if let Some(note) = target_note(plan, |t| format!("`{t}`")) {
        let _ = writeln!(chunk, "{}\n", paint(color, Style::Yellow, &note));
    }
    if let Some(note) = managed_note(plan, |t| format!("`{t}`")) {
        let _ = writeln!(chunk, "{}\n", paint(color, Style::Red, &note));
    }
    if plan.is_empty() {
        let _ = writeln!(
            chunk,
            "{}",
            paint(color, Style::Bold, &summary_line(plan, allowed))
        );
        return out.write_all(chunk.as_bytes());
    }
    let env = plan
        .environment
        .as_deref()
        .map(|e| format!(", environment {e}"))
        .unwrap_or_default();
    let _ = writeln!(
        chunk,
        "kustoplan will make these changes (stack {}{env}):\n",
        plan.stack
    );
    out.write_all(chunk.as_bytes())?;
    for c in &plan.changes {
        chunk.clear();
        let symbol = paint(
            color,
            action_style(c.action),
            &format!("{:>3}", c.action.symbol()),
        );
        let impact = match c.impact {
            ImpactClass::Safe => String::new(),
            other => format!(
                " {}",
                paint(color, Style::Red, &format!("[{}]", impact_name(other)))
            ),
        };
        let _ = writeln!(
            chunk,
            "{symbol} {}{impact}",
            paint(color, Style::Bold, c.address.as_str())
        );
        let _ = writeln!(chunk, "      {}", c.summary);
        if let Some(diff) = unified_diff(c) {
            for line in diff.lines() {
                let style = match line.chars().next() {
                    Some('+') if !line.starts_with("+++") => Style::Green,
                    Some('-') if !line.starts_with("---") => Style::Red,
                    _ => Style::Dim,
                };
                let _ = writeln!(chunk, "      {}", paint(color, style, line));
            }
        }
        for cmd in &c.command_texts() {
            let _ = writeln!(chunk, "      {}", paint(color, Style::Dim, &one_line(cmd)));
        }
        chunk.push('\n');
        out.write_all(chunk.as_bytes())?;
    }
    writeln!(
        out,
        "{}",
        paint(color, Style::Bold, &summary_line(plan, allowed))
    )
}

/// Long commands (mapping JSON) are cut for the terminal view; JSON output has them whole.
fn one_line(cmd: &str) -> String {
    const MAX: usize = 160;
    let flat = cmd.replace('\n', " ");
    if flat.chars().count() <= MAX {
        flat
    } else {
        let cut: String = flat.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// A pull-request comment: summary line, a table of changes, collapsible details with the diff
/// and the commands. Stays under [`MARKDOWN_LIMIT`] by summarising the changes that do not fit.
pub fn markdown(plan: &Plan, allowed: &[ImpactClass]) -> String {
    let env = plan
        .environment
        .as_deref()
        .map(|e| format!(" · environment {}", md::code_span(e)))
        .unwrap_or_default();
    let mut head = format!(
        "### kustoplan: stack {}{env}\n\n**{}**\n",
        md::code_span(&plan.stack),
        summary_line(plan, allowed)
    );
    if let Some(note) = target_note(plan, md::code_span) {
        let _ = write!(head, "\n> [!NOTE]\n> {note}\n");
    }
    if let Some(note) = managed_note(plan, md::code_span) {
        let quoted = note.replace('\n', "\n>\n> ");
        let _ = write!(head, "\n> [!CAUTION]\n> {quoted}\n");
    }
    if plan.is_empty() {
        return head;
    }
    head.push_str(&risk_banner(plan));
    head.push_str(&kind_summary(plan));
    head.push_str("\n| | address | impact | change |\n|---|---|---|---|\n");
    let footer_reserve = 400;
    let mut rows = String::new();
    let mut details = String::new();
    let mut omitted = 0usize;
    for c in &plan.changes {
        let row = format!(
            "| `{}` | {} | {} | {} |\n",
            c.action.symbol(),
            md::table_code(c.address.as_str()),
            impact_name(c.impact),
            md::table_text(&c.summary)
        );
        let mut detail = format!(
            "<details><summary><code>{}</code> {}</summary>\n\n",
            md::html(c.address.as_str()),
            md::html(&c.summary)
        );
        if let Some(diff) = unified_diff(c) {
            let _ = writeln!(detail, "{}", md::fenced("diff", &diff));
        }
        let _ = writeln!(
            detail,
            "{}</details>",
            md::fenced("kusto", &c.command_texts().join("\n"))
        );
        let used = head.len() + rows.len() + details.len() + footer_reserve;
        if used + row.len() + detail.len() > MARKDOWN_LIMIT {
            if used + row.len() <= MARKDOWN_LIMIT {
                rows.push_str(&row);
            }
            omitted += 1;
            continue;
        }
        rows.push_str(&row);
        details.push_str(&detail);
    }
    let mut out = head + &rows + "\n" + &details;
    if omitted > 0 {
        let _ = write!(
            out,
            "\n_{omitted} more {} not shown in full to stay within the comment size limit; run `kustoplan plan --format json` for everything._\n",
            plural(omitted, "change", "changes")
        );
    }
    out
}

/// Plans with more changes than this get a count by kind and action before the details.
const KIND_SUMMARY_FROM: usize = 10;

/// What kind of object a change is about, for the summary by kind.
fn kind_of(change: &Change) -> &'static str {
    match &change.target {
        Target::Kafka => "topics",
        Target::Connect { .. } => "connectors",
        Target::Kusto { .. } => {
            let rest = change
                .address
                .as_str()
                .splitn(3, '.')
                .nth(2)
                .unwrap_or_default();
            if rest.contains(".mapping.") {
                "mappings"
            } else if rest.contains(".column.") {
                "columns"
            } else if rest.ends_with(".policy.update") {
                "update policies"
            } else if rest.starts_with("policy.") || rest.contains(".policy.") {
                "policies"
            } else if rest.starts_with("role.") || rest.contains(".role.") {
                "principals"
            } else if rest.starts_with("function.") {
                "functions"
            } else if rest.starts_with("materialized_view.") {
                "materialized views"
            } else if rest.starts_with("table.") {
                "tables"
            } else {
                "databases"
            }
        }
    }
}

/// A table of changes by kind (tables, columns, mappings, policies, update policies,
/// principals, functions, materialized views, topics, connectors) and action, so a plan of thousands of changes still says what is in it before
/// any detail is cut for the comment size limit. Empty for small plans.
fn kind_summary(plan: &Plan) -> String {
    if plan.changes.len() <= KIND_SUMMARY_FROM {
        return String::new();
    }
    let mut counts: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for c in &plan.changes {
        let column = match c.action {
            Action::Create => 0,
            Action::Update | Action::Replace => 1,
            Action::Delete => 2,
        };
        counts.entry(kind_of(c)).or_default()[column] += 1;
    }
    let mut out = String::from("\n| kind | create | update | delete |\n|---|---|---|---|\n");
    for (kind, [create, update, delete]) in counts {
        let _ = writeln!(out, "| {kind} | {create} | {update} | {delete} |");
    }
    out
}

/// The banner at the top of a markdown plan: every `data-loss` and `restart` change by address,
/// before any detail, so truncation for the comment size limit never hides a risky change. Only
/// a banner that would itself overflow the limit is cut, and then it says how many it left out.
fn risk_banner(plan: &Plan) -> String {
    let risky: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.impact != ImpactClass::Safe)
        .collect();
    if risky.is_empty() {
        return String::new();
    }
    let count = |class: ImpactClass| risky.iter().filter(|c| c.impact == class).count();
    let mut out = format!(
        "\n> [!WARNING]\n> **{} risky {}**: {} data-loss, {} restart.\n",
        risky.len(),
        if risky.len() == 1 {
            "change"
        } else {
            "changes"
        },
        count(ImpactClass::DataLoss),
        count(ImpactClass::Restart)
    );
    let budget = MARKDOWN_LIMIT / 2;
    for (i, c) in risky.iter().enumerate() {
        let line = format!(
            "> - `{}` {} — {}\n",
            impact_name(c.impact),
            md::code_span(c.address.as_str()),
            md::html(&c.summary)
        );
        if out.len() + line.len() > budget {
            let _ = writeln!(
                out,
                "> - … and {} more; run `kustoplan plan --format json` for every one.",
                risky.len() - i
            );
            break;
        }
        out.push_str(&line);
    }
    out
}

/// The documented JSON view (`--format json`): the saved-plan fields plus a summary.
#[derive(Serialize)]
struct JsonView<'a> {
    format_version: u32,
    summary: JsonSummary,
    #[serde(flatten)]
    plan: &'a Plan,
}

#[derive(Serialize)]
struct JsonSummary {
    create: usize,
    update: usize,
    delete: usize,
    refused: usize,
    changes: bool,
    undeclared_principals_left: usize,
    managed_elsewhere: usize,
}

/// Stable, documented field names: see README "Plan JSON".
pub fn json(plan: &Plan, allowed: &[ImpactClass]) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(&json_view(plan, allowed))
}

/// Writes the JSON view to `out` as it is serialised, without building the whole document as
/// one string first (a large plan's JSON is several times the plan's size).
pub fn write_json(
    out: &mut impl std::io::Write,
    plan: &Plan,
    allowed: &[ImpactClass],
) -> Result<(), serde_json::Error> {
    serde_json::to_writer_pretty(&mut *out, &json_view(plan, allowed))?;
    out.write_all(b"\n").map_err(serde_json::Error::io)
}

fn json_view<'a>(plan: &'a Plan, allowed: &[ImpactClass]) -> JsonView<'a> {
    let (create, update, delete) = plan.counts();
    JsonView {
        format_version: plan.version,
        summary: JsonSummary {
            create,
            update,
            delete,
            refused: plan.refused(allowed).count(),
            changes: !plan.is_empty(),
            undeclared_principals_left: plan.undeclared_principals_left,
            managed_elsewhere: plan.managed_elsewhere().count(),
        },
        plan,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Target;

    fn change(address: &str, action: Action, impact: ImpactClass) -> Change {
        Change {
            address: address.parse().expect("address"),
            action,
            impact,
            summary: "set ingestion batching to 10s / 5 items / 100 MB".into(),
            before: Some("{\n  \"a\": 1,\n  \"b\": 2\n}".into()),
            after: Some("{\n  \"a\": 1,\n  \"b\": 3\n}".into()),
            before_state: Some(serde_json::json!({"a": 1, "b": 2})),
            after_state: Some(serde_json::json!({"a": 1, "b": 3})),
            target: Target::Kusto {
                database: "db".into(),
            },
            kusto_commands: vec![
                crate::kusto::command::parse(".alter table T policy ingestionbatching \"{}\"")
                    .expect("command"),
            ],
            operations: Vec::new(),
            phase: crate::plan::Phase::KustoMappings,
            previous_address: None,
        }
    }

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            version: 1,
            stack: "s".into(),
            environment: Some("dev".into()),
            fingerprint: Some("f".into()),
            changes,
            undeclared_principals_left: 0,
            targets: Vec::new(),
            managed_elsewhere: Default::default(),
        }
    }

    #[test]
    fn text_view_has_symbols_diff_commands_and_summary() {
        let p = plan(vec![
            change(
                "kusto.db.table.T.policy.ingestionbatching",
                Action::Update,
                ImpactClass::Safe,
            ),
            change(
                "kusto.db.table.T.column.C",
                Action::Delete,
                ImpactClass::DataLoss,
            ),
        ]);
        let out = text(&p, &[], false);
        assert!(
            out.contains("  ~ kusto.db.table.T.policy.ingestionbatching\n"),
            "{out}"
        );
        assert!(
            out.contains("  - kusto.db.table.T.column.C [data-loss]\n"),
            "{out}"
        );
        assert!(
            out.contains("      -  \"b\": 2\n      +  \"b\": 3\n"),
            "{out}"
        );
        assert!(out.ends_with("Plan: 0 to create, 1 to update, 1 to delete. 1 change needs --allow data-loss (or `safety.allow` in the Stack).\n"), "{out}");
        assert!(!out.contains('\x1b'));
        assert!(text(&p, &[], true).contains('\x1b'));
        assert_eq!(
            text(&plan(vec![]), &[], false),
            "No changes. The live systems match the manifests.\n"
        );
        // A rename (restart), a retype (data-loss), a connector update (restart): each flag once.
        let mixed = plan(vec![
            change("kusto.db.table.a", Action::Update, ImpactClass::Restart),
            change("kusto.db.table.b", Action::Update, ImpactClass::DataLoss),
            change("kusto.db.table.c", Action::Update, ImpactClass::Restart),
        ]);
        assert!(
            text(&mixed, &[], false).ends_with(
                "3 changes need --allow restart --allow data-loss (or `safety.allow` in the Stack).\n"
            ),
            "{}",
            text(&mixed, &[], false)
        );
    }

    #[test]
    fn markdown_stays_under_the_comment_limit() {
        let big: Vec<Change> = (0..2000)
            .map(|i| {
                change(
                    &format!("kusto.db.table.T{i}.policy.ingestionbatching"),
                    Action::Update,
                    ImpactClass::Safe,
                )
            })
            .collect();
        let md = markdown(&plan(big), &[]);
        assert!(md.len() <= MARKDOWN_LIMIT, "{}", md.len());
        assert!(md.contains("**Plan: 0 to create, 2000 to update, 0 to delete.**"));
        assert!(md.contains("more changes not shown in full"));
        let summary = md
            .find("| policies | 0 | 2000 | 0 |")
            .expect("summary by kind");
        assert!(
            summary < md.find("<details>").expect("details"),
            "the summary comes before any detail"
        );
        let small = markdown(
            &plan(vec![change(
                "kusto.db.table.T",
                Action::Create,
                ImpactClass::Safe,
            )]),
            &[],
        );
        assert!(
            small.contains("<details><summary><code>kusto.db.table.T</code>"),
            "{small}"
        );
        assert!(small.contains("```kusto\n.alter table T"), "{small}");
    }

    #[test]
    fn large_markdown_plans_count_changes_by_kind_and_action() {
        let mut changes = vec![
            change("kafka.topic.t", Action::Create, ImpactClass::Safe),
            change(
                "connect.main.connector.c",
                Action::Update,
                ImpactClass::Safe,
            ),
            change("kusto.db.function.F", Action::Delete, ImpactClass::DataLoss),
            change(
                "kusto.db.role.admins.aadapp=x",
                Action::Create,
                ImpactClass::Safe,
            ),
            change(
                "kusto.db.policy.retention",
                Action::Update,
                ImpactClass::Safe,
            ),
            change(
                "kusto.db.table.T.mapping.m",
                Action::Create,
                ImpactClass::Safe,
            ),
            change(
                "kusto.db.table.T.column.C",
                Action::Delete,
                ImpactClass::DataLoss,
            ),
            change(
                "kusto.db.table.T.policy.update",
                Action::Update,
                ImpactClass::DataLoss,
            ),
            change(
                "kusto.db.table.T.policy.retention",
                Action::Update,
                ImpactClass::Safe,
            ),
            change(
                "kusto.db.materialized_view.V",
                Action::Create,
                ImpactClass::Safe,
            ),
        ];
        changes[0].target = Target::Kafka;
        changes[1].target = Target::Connect {
            cluster: "main".into(),
        };
        let small = markdown(&plan(changes.clone()), &[]);
        assert!(
            !small.contains("| kind |"),
            "small plans have no summary: {small}"
        );
        changes.extend((0..5).map(|i| {
            change(
                &format!("kusto.db.table.T{i}"),
                Action::Create,
                ImpactClass::Safe,
            )
        }));
        let md = markdown(&plan(changes), &[]);
        for row in [
            "| connectors | 0 | 1 | 0 |",
            "| functions | 0 | 0 | 1 |",
            "| mappings | 1 | 0 | 0 |",
            "| policies | 0 | 2 | 0 |",
            "| principals | 1 | 0 | 0 |",
            "| tables | 5 | 0 | 0 |",
            "| topics | 1 | 0 | 0 |",
            "| columns | 0 | 0 | 1 |",
            "| update policies | 0 | 1 | 0 |",
            "| materialized views | 1 | 0 | 0 |",
        ] {
            assert!(md.contains(row), "{row}: {md}");
        }
    }

    /// Names come from manifests and live systems: a table named with `|`, `<` and backticks
    /// (and a command holding a fence) stays text in its cell, `<summary>` and code block.
    #[test]
    fn markdown_escapes_names_from_manifests_and_live_systems() {
        let mut hostile = change(
            "kusto.db.table.a|b<img src=x onerror=alert(1)>`c`",
            Action::Delete,
            ImpactClass::DataLoss,
        );
        hostile.summary =
            "drop table a|b<img src=x onerror=alert(1)>`c` </summary></details>".into();
        hostile.before = None;
        hostile.after = None;
        hostile.kusto_commands = vec![crate::kusto::render::drop_table("a|b<img>```c\n# injected")];
        // A function body is free text over several lines: a fence and a heading in it must
        // stay inside the code block.
        let mut body = change("kusto.db.function.F", Action::Create, ImpactClass::Safe);
        body.kusto_commands = vec![crate::kusto::render::create_or_alter_function::<&str>(
            "F",
            &[],
            "T\n// ```\n# injected\n| take 1",
            "",
            "",
            false,
        )];
        let mut p = plan(vec![hostile, body]);
        p.stack = "s`x".into();
        p.environment = Some("<b>dev</b>".into());
        let md = markdown(&p, &[]);
        assert!(
            md.starts_with("### kustoplan: stack ``s`x`` · environment `<b>dev</b>`\n"),
            "{md}"
        );
        assert!(
            md.contains("| `-` | `` kusto.db.table.a\\|b<img src=x onerror=alert(1)>`c` `` | data-loss | drop table a\\|b&lt;img src=x onerror=alert(1)&gt;\\`c\\` &lt;/summary&gt;&lt;/details&gt; |\n"),
            "{md}"
        );
        assert!(
            md.contains("<details><summary><code>kusto.db.table.a|b&lt;img src=x onerror=alert(1)&gt;`c`</code> drop table a|b&lt;img src=x onerror=alert(1)&gt;`c` &lt;/summary&gt;&lt;/details&gt;</summary>\n"),
            "{md}"
        );
        assert!(
            md.contains(
                "````kusto\n.drop table ['a|b<img>```c\\n# injected'] ifexists\n````\n</details>\n"
            ),
            "{md}"
        );
        let fenced = md
            .split("````kusto\n.create-or-alter function")
            .nth(1)
            .and_then(|rest| rest.split("\n````\n</details>").next())
            .unwrap_or_else(|| {
                panic!("the function's command is not in a four-backtick block: {md}")
            });
        assert!(
            fenced.contains("\n// ```\n# injected\n"),
            "the body's lines are kept as they are inside the block: {md}"
        );
    }

    #[test]
    fn json_view_has_stable_fields() {
        let p = plan(vec![change(
            "kusto.db.table.T.column.C",
            Action::Delete,
            ImpactClass::DataLoss,
        )]);
        let v: serde_json::Value = serde_json::from_str(&json(&p, &[]).unwrap()).unwrap();
        assert_eq!(v["format_version"], 1);
        assert_eq!(
            v["summary"],
            serde_json::json!({"create": 0, "update": 0, "delete": 1, "refused": 1, "changes": true, "undeclared_principals_left": 0, "managed_elsewhere": 0})
        );
        assert_eq!(v["changes"][0]["action"], "delete");
        assert_eq!(v["changes"][0]["impact"], "data-loss");
        assert_eq!(
            v["changes"][0]["target"],
            serde_json::json!({"system": "kusto", "database": "db"})
        );
        assert_eq!(v["fingerprint"], "f");
        assert_eq!(
            v["changes"][0]["before_state"],
            serde_json::json!({"a": 1, "b": 2})
        );
        assert_eq!(
            v["changes"][0]["after_state"],
            serde_json::json!({"a": 1, "b": 3})
        );
        let mut bare = p.clone();
        bare.changes[0].before_state = None;
        bare.changes[0].after_state = None;
        let v: serde_json::Value = serde_json::from_str(&json(&bare, &[]).unwrap()).unwrap();
        assert!(
            v["changes"][0].get("before_state").is_none()
                && v["changes"][0].get("after_state").is_none(),
            "absent states are left out, as `previous_address` is"
        );
    }

    #[test]
    fn principals_left_in_place_are_said_in_every_view() {
        let mut empty = plan(vec![]);
        empty.undeclared_principals_left = 2;
        let line = "No changes. 2 undeclared principals in roles the manifests do not list were left in place.";
        assert_eq!(text(&empty, &[], false), format!("{line}\n"));
        assert!(markdown(&empty, &[]).contains(&format!("**{line}**")));
        let v: serde_json::Value = serde_json::from_str(&json(&empty, &[]).unwrap()).unwrap();
        assert_eq!(v["summary"]["undeclared_principals_left"], 2);
        assert_eq!(v["summary"]["changes"], false);
        assert_eq!(v["undeclared_principals_left"], 2);
        let mut one = plan(vec![change(
            "kusto.db.table.T.policy.ingestionbatching",
            Action::Update,
            ImpactClass::Safe,
        )]);
        one.undeclared_principals_left = 1;
        assert!(text(&one, &[], false).ends_with("Plan: 0 to create, 1 to update, 0 to delete. 1 undeclared principal in roles the manifests do not list was left in place.\n"));
    }

    #[test]
    fn markdown_lists_every_risky_change_first_whatever_the_size() {
        let mut changes: Vec<Change> = (0..3000)
            .map(|i| {
                change(
                    &format!("kusto.db.table.T{i:04}"),
                    Action::Update,
                    ImpactClass::Safe,
                )
            })
            .collect();
        changes.push(change(
            "kusto.db.table.Z.column.C",
            Action::Delete,
            ImpactClass::DataLoss,
        ));
        changes.push(change(
            "connect.main.connector.sink",
            Action::Update,
            ImpactClass::Restart,
        ));
        let text = markdown(&plan(changes), &[]);
        assert!(text.len() <= MARKDOWN_LIMIT, "{}", text.len());
        let banner = text
            .find("> **2 risky changes**: 1 data-loss, 1 restart.")
            .expect("banner");
        let table = text.find("| | address |").expect("table");
        assert!(banner < table, "the banner comes before any detail");
        for address in [
            "`kusto.db.table.Z.column.C`",
            "`connect.main.connector.sink`",
        ] {
            let at = text.find(address).expect("listed");
            assert!(at < table, "{address} is in the banner");
        }
        assert!(text.contains("not shown in full"), "details were truncated");
        assert!(
            !markdown(
                &plan(vec![change(
                    "kusto.db.table.a",
                    Action::Create,
                    ImpactClass::Safe
                )]),
                &[]
            )
            .contains("risky")
        );
    }
}

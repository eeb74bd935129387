//! Typed documents from located nodes: each document's variable substitution, secret
//! recording, schema check and typed read, on every core for a stack of thousands of documents
//! (a third of loading's time at 10,000 tables was here, on one thread). Documents are read in
//! runs, in order, and the runs joined in order, so the manifests and the problems do not
//! depend on the schedule.

use std::collections::BTreeSet;

use super::Manifests;
use super::de;
use super::node::{Loc, Node, Value};
use super::schema::{self, KINDS, SchemaChecker};
use super::secrets;
use super::spec::{
    DatabaseDoc, FunctionDoc, MaterializedViewDoc, SinkDoc, StackDoc, TableDoc, TopicDoc,
};
use super::vars::{self, Vars};
use crate::diagnostics::Diagnostic;

/// Below this many documents, one thread reads them all.
const PARALLEL_FROM: usize = 512;

/// What one run of documents declares, in document order, and the problems found in it.
#[derive(Default)]
pub(super) struct Read {
    /// `Stack` documents with where each starts: a stack has one, and every later one is a
    /// problem reported where it starts.
    stacks: Vec<(Loc, StackDoc)>,
    databases: Vec<DatabaseDoc>,
    tables: Vec<TableDoc>,
    functions: Vec<FunctionDoc>,
    materialized_views: Vec<MaterializedViewDoc>,
    topics: Vec<TopicDoc>,
    sinks: Vec<SinkDoc>,
    broken: BTreeSet<(String, String)>,
    secrets: secrets::Found,
    problems: Vec<Diagnostic>,
}

impl Read {
    /// Appends this run's documents to `out`, after those of the runs before it, and records
    /// its secrets in `out`'s sources; returns the run's problems.
    pub(super) fn take_into(self, out: &mut Manifests) -> Vec<Diagnostic> {
        for (loc, value) in &self.secrets {
            out.sources.add_secret(*loc, value);
        }
        let mut problems = self.problems;
        for (loc, stack) in self.stacks {
            if out.stack.is_some() {
                problems.push(
                    Diagnostic::at(loc, "a stack has only one Stack document")
                        .hint("merge the Stack documents into one"),
                );
            } else {
                out.stack = Some(stack);
            }
        }
        out.databases.extend(self.databases);
        out.tables.extend(self.tables);
        out.functions.extend(self.functions);
        out.materialized_views.extend(self.materialized_views);
        out.topics.extend(self.topics);
        out.sinks.extend(self.sinks);
        out.broken.extend(self.broken);
        problems
    }
}

/// The kinds of document that name what a plan reads: the targets, the databases and, through
/// the sinks, the Connect clusters.
const HEAD_KINDS: [&str; 3] = ["Stack", "Database", "Sink"];

/// Manifests holding only the documents of [`HEAD_KINDS`], read from copies of them (a few
/// documents: the tables are not touched), or `None` when any of them has a problem (which the
/// read of every document then reports). The documents whose kind names a variable are not
/// among them: the whole read sees them.
pub(super) fn read_heads(
    docs: &[Node],
    vars: &Vars,
    checker: &SchemaChecker,
    environment: Option<String>,
) -> Option<Manifests> {
    let heads: Vec<Node> = docs
        .iter()
        .filter(|doc| {
            doc.get("kind")
                .and_then(Node::as_str)
                .is_some_and(|kind| HEAD_KINDS.contains(&kind))
        })
        .cloned()
        .collect();
    let mut early = Manifests::empty(Default::default(), environment);
    let problems = read_in_runs(heads, vars, checker, 1)
        .into_iter()
        .flat_map(|read| read.take_into(&mut early))
        .count();
    (problems == 0).then_some(early)
}

/// Reads every document with `vars` substituted, each dropped once read (its typed form is all
/// that is kept), in runs of consecutive documents on every core; the runs come back in
/// document order.
pub(super) fn read_documents(docs: Vec<Node>, vars: &Vars, checker: &SchemaChecker) -> Vec<Read> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let runs = if docs.len() < PARALLEL_FROM { 1 } else { cores };
    read_in_runs(docs, vars, checker, runs)
}

/// [`read_documents`] in up to `runs` runs, whatever the number of documents (the tests cut
/// small stacks).
fn read_in_runs(docs: Vec<Node>, vars: &Vars, checker: &SchemaChecker, runs: usize) -> Vec<Read> {
    let read_run = |run: Vec<Node>| {
        let mut read = Read::default();
        for mut doc in run {
            let before = read.problems.len();
            vars::substitute_document(&mut doc, vars, &mut read.problems);
            // Secrets are the values after substitution: a variable's value is the secret.
            secrets::record(&doc, &mut read.secrets);
            // A value whose variable is undefined is already reported; its schema errors would
            // repeat it.
            let undefined: BTreeSet<Loc> = read.problems[before..]
                .iter()
                .filter_map(|d| d.loc)
                .collect();
            let typed_from = read.problems.len();
            read_document(&doc, checker, &mut read);
            let mut typed = read.problems.split_off(typed_from);
            typed.retain(|d| d.loc.is_none_or(|l| !undefined.contains(&l)));
            read.problems.extend(typed);
        }
        read
    };
    if runs < 2 {
        return vec![read_run(docs)];
    }
    let per_run = docs.len().div_ceil(runs);
    let mut runs = Vec::with_capacity(runs);
    let mut docs = docs.into_iter();
    loop {
        let run: Vec<Node> = docs.by_ref().take(per_run).collect();
        if run.is_empty() {
            break;
        }
        runs.push(run);
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = runs
            .into_iter()
            .map(|run| scope.spawn(move || read_run(run)))
            .collect();
        workers.into_iter().map(crate::threads::joined).collect()
    })
}

fn read_document(doc: &Node, checker: &SchemaChecker, out: &mut Read) {
    let problems = &mut out.problems;
    let kinds: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
    if !matches!(doc.value, Value::Map(_)) {
        problems.push(
            Diagnostic::at(
                doc.loc,
                format!(
                    "a manifest document must be a mapping, found {}",
                    doc.value.type_name()
                ),
            )
            .hint(format!(
                "start the document with `kind:` ({})",
                kinds.join(", ")
            )),
        );
        return;
    }
    let Some(kind_node) = doc.get("kind") else {
        problems.push(
            Diagnostic::at(doc.loc, "document has no `kind`")
                .hint(format!("add `kind:` with one of {}", kinds.join(", "))),
        );
        return;
    };
    let kind = kind_node.as_str().unwrap_or_default();
    if !kinds.contains(&kind) {
        let found = kind_node.key_text();
        let d = Diagnostic::at(kind_node.loc, format!("unknown kind `{found}`"));
        problems.push(match schema::closest(&found, kinds.iter().copied()) {
            Some(best) => d.hint(format!("did you mean `{best}`?")),
            None => d.hint(format!("use one of {}", kinds.join(", "))),
        });
        return;
    }
    let structural = checker.check(kind, doc);
    if !structural.is_empty() {
        problems.extend(structural);
        if let Some(name) = doc.get("name").map(Node::key_text) {
            out.broken.insert((kind.to_string(), name));
        }
        return;
    }
    let typed = match kind {
        "Stack" => de::from_node(doc).map(|d| out.stacks.push((doc.loc, d))),
        "Database" => de::from_node(doc).map(|d| out.databases.push(d)),
        "Table" => de::from_node(doc).map(|d| out.tables.push(d)),
        "Function" => de::from_node(doc).map(|d| out.functions.push(d)),
        "MaterializedView" => de::from_node(doc).map(|d| out.materialized_views.push(d)),
        "Topic" => de::from_node(doc).map(|d| out.topics.push(d)),
        _ => de::from_node(doc).map(|d| out.sinks.push(d)),
    };
    if let Err(e) = typed {
        problems.push(
            Diagnostic::at(e.loc.unwrap_or(doc.loc), e.message)
                .hint("see schemas/kustoplan.schema.json for the expected shape"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceMap;

    /// A stack whose runs each hold something order-dependent: two Stack documents far apart
    /// (the second is the problem), a broken document, an unknown kind, variables defined and
    /// undefined, secrets, and documents of every kind in between.
    fn documents() -> Vec<Node> {
        let mut text = String::from(
            "kind: Stack\nname: s\ntargets: {kusto: {cluster: https://x.kusto.windows.net}}\n",
        );
        for i in 0..40 {
            text.push_str(&match i % 5 {
                0 => format!("---\nkind: Database\nname: db{i}\n"),
                1 => format!("---\nkind: Table\nname: T{i}\ndatabase: db0\ncolumns: [{{name: A, type: long}}]\n"),
                2 => format!("---\nkind: Table\nname: Broken{i}\ncolumns: 3\n"),
                3 => format!("---\nkind: Tabel\nname: X{i}\n"),
                _ if i % 10 == 4 => format!("---\nkind: Topic\nname: t{i}\npartitions: ${{var.parts}}\n"),
                _ => format!("---\nkind: Topic\nname: t{i}\npartitions: ${{var.part}}\n---\nkind: Sink\nname: s{i}\nauth: {{app_key: key-{i}}}\n"),
            });
            if i == 30 {
                text.push_str("---\nkind: Stack\nname: again\ntargets: {kusto: {cluster: https://y.kusto.windows.net}}\n");
            }
        }
        crate::manifest::node::parse_documents(&text, 0).expect("yaml")
    }

    fn read(runs: usize) -> (String, Vec<Diagnostic>) {
        let checker = SchemaChecker::new();
        let mut out = Manifests::empty(SourceMap::default(), None);
        let mut problems = Vec::new();
        let vars = Vars::from([(
            "parts".to_string(),
            crate::manifest::node::parse_documents("7", 1)
                .expect("yaml")
                .remove(0),
        )]);
        for read in read_in_runs(documents(), &vars, &checker, runs) {
            problems.extend(read.take_into(&mut out));
        }
        // Loading sorts the problems by position before reporting them.
        problems.sort();
        (format!("{out:?}"), problems)
    }

    #[test]
    fn the_heads_are_the_stack_databases_and_sinks_without_a_problem() {
        let checker = SchemaChecker::new();
        let vars = Vars::new();
        let text = "kind: Stack\nname: s\ntargets: {kusto: {cluster: https://x.kusto.windows.net}}\n---\nkind: Table\nname: T\ndatabase: db\ncolumns: 3\n---\nkind: Database\nname: db\n---\nkind: Sink\nname: k\nauth: {strategy: application, app_id: a, tenant_id: t, app_key: {env: KEY}}\nroutes: [{topic: t, database: db, table: T, format: json}]\n---\nkind: Topic\nname: t\n";
        let docs = crate::manifest::node::parse_documents(text, 0).expect("yaml");
        let heads = read_heads(&docs, &vars, &checker, None).expect("no problem in the heads");
        assert_eq!(heads.stack.map(|s| s.name.value), Some("s".to_string()));
        let databases: Vec<_> = heads.databases.iter().map(|d| &d.name.value).collect();
        assert_eq!(databases, ["db"]);
        assert_eq!(heads.sinks.len(), 1);
        assert!(heads.tables.is_empty() && heads.topics.is_empty());

        // A second Stack document is a problem of the heads: no early manifests.
        assert!(read_heads(&documents(), &vars, &checker, None).is_none());
    }

    #[test]
    fn runs_read_on_every_core_give_what_one_run_gives() {
        let (one, one_problems) = read(1);
        assert!(one.contains("StackDoc { kind: Stack, name: \"s\""), "{one}");
        assert!(
            one_problems
                .iter()
                .any(|d| d.message == "a stack has only one Stack document"),
            "{one_problems:?}"
        );
        assert!(
            one_problems
                .iter()
                .any(|d| d.message.contains("unknown kind"))
        );
        // Four topics take `parts` as a number; four name an undefined variable, reported
        // once each, without the schema error of the empty value it left.
        assert_eq!(one.matches("partitions: 7,").count(), 4, "{one}");
        let undefined: Vec<_> = one_problems
            .iter()
            .filter(|d| d.message == "undefined variable `part`")
            .collect();
        assert_eq!(undefined.len(), 4, "{one_problems:?}");
        for d in undefined {
            assert_eq!(
                one_problems.iter().filter(|p| p.loc == d.loc).count(),
                1,
                "{one_problems:?}"
            );
        }
        for i in [9, 19, 29, 39] {
            assert!(one.contains(&format!("\"key-{i}\"")), "{one}");
        }
        for runs in [2, 3, 7, 64] {
            assert_eq!(
                read(runs),
                (one.clone(), one_problems.clone()),
                "{runs} runs"
            );
        }
    }
}

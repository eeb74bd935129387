//! Materialized views: declared views are created, changed in place or re-created; live ones
//! that are not declared are dropped only when pruning and owned by this stack.
//!
//! - A new view is created with `.create ifnotexists materialized-view`, or with the `async`
//!   form and `backfill=true` when `backfill` is declared (`safe`). Apply does not wait for
//!   the backfill: the service runs it in the background and the view answers queries over
//!   what it has materialized so far (`.show operations <id>` follows it).
//! - A query change that keeps the source table and the `summarize ... by` keys is made in
//!   place with `.alter materialized-view` (`restart`: the records already materialized keep
//!   their old aggregation, only new records get the new query), as are `lookback` and
//!   `autoUpdateSchema` changes. Docstring and folder have their own commands (`safe`).
//! - Any other change of source or query (other, added or removed group-by keys) cannot be
//!   made in place: the view is dropped and created again, which loses every materialized
//!   record (`data-loss`, action `replace`; with `backfill` the new view is refilled from the
//!   source's retained records).
//! - The source must exist once the plan is applied (a declared or live table, or a
//!   declared or live materialized view) and the name must not be taken by a table or a
//!   function: otherwise the plan is refused.

use serde_json::json;

use super::{Action, Ctx, DiffOptions, ImpactClass, Side};
use crate::kusto::render::{self, ViewSource};
use crate::model::kusto::DatabaseState;
use crate::model::{MaterializedView, QueryChange};
use crate::plan::{Address, Phase};

/// The phase of a view's changes: views over views after the views they read.
fn phase(on: ViewSource) -> Phase {
    match on {
        ViewSource::Table => Phase::KustoMaterializedViews,
        ViewSource::MaterializedView => Phase::KustoViewsOverViews,
    }
}

/// A declared materialized view the plan cannot create as declared: the plan is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaterializedViewProblem {
    /// The address of the declared view.
    pub address: Address,
    /// What is wrong and what to do.
    pub message: String,
}

/// Adds the changes of the database's materialized views (see the module docs) to `ctx`,
/// and what stops the plan to `problems`.
pub(super) fn plan(
    ctx: &mut Ctx<'_>,
    want: &DatabaseState,
    have: &DatabaseState,
    options: &DiffOptions,
    problems: &mut Vec<MaterializedViewProblem>,
) {
    let db = ctx.db;
    for (name, view) in &want.materialized_views {
        let addr = Address::kusto_materialized_view(db, name);
        let source = &view.source;
        let over_view = !want.tables.contains_key(source)
            && (want.materialized_views.contains_key(source)
                || have.materialized_views.contains_key(source));
        let source_exists =
            over_view || want.tables.contains_key(source) || have.tables.contains_key(source);
        let on = if over_view {
            ViewSource::MaterializedView
        } else {
            ViewSource::Table
        };
        if !source_exists {
            problems.push(MaterializedViewProblem {
                address: addr.clone(),
                message: format!(
                    "materialized view `{name}` reads from `{source}`, which is neither a table \
                     nor a materialized view of database `{db}` (declared or live): declare \
                     the table, or fix `source`"
                ),
            });
            continue;
        }
        let taken = if have.tables.contains_key(name) {
            Some("table")
        } else if have.functions.contains_key(name) {
            Some("function")
        } else {
            None
        };
        if let Some(kind) = taken {
            problems.push(MaterializedViewProblem {
                address: addr.clone(),
                message: format!(
                    "materialized view `{name}` has the name of a live {kind} of database \
                     `{db}`: a database cannot hold both; rename the view"
                ),
            });
            continue;
        }
        match have.materialized_views.get(name) {
            None => ctx.push(
                addr,
                Action::Create,
                ImpactClass::Safe,
                if view.backfill {
                    format!(
                        "create materialized view {name} over {source}, backfilled from its \
                         existing records (async: the backfill runs in the background)"
                    )
                } else {
                    format!(
                        "create materialized view {name} over {source} (records ingested from \
                         now on; declare `backfill: true` to include existing ones)"
                    )
                },
                None,
                Some(view_side(view)),
                vec![render::create_materialized_view(view, on)],
                phase(on),
            ),
            Some(live) => update(ctx, view, live, on),
        }
    }
    for (name, live) in &have.materialized_views {
        let owned = options.owner.is_some() && live.owner == options.owner;
        if !want.materialized_views.contains_key(name) && owned && options.prune {
            ctx.push(
                Address::kusto_materialized_view(db, name),
                Action::Delete,
                ImpactClass::DataLoss,
                format!(
                    "drop materialized view {name} and all its materialized records (owned by \
                     this stack, no longer declared)"
                ),
                Some(view_side(live)),
                None,
                vec![render::drop_materialized_view(name)],
                Phase::KustoRemovals,
            );
        }
    }
}

fn update(ctx: &mut Ctx<'_>, want: &MaterializedView, have: &MaterializedView, on: ViewSource) {
    let name = want.name.as_str();
    let addr = Address::kusto_materialized_view(ctx.db, name);
    let change = want.query_change(have);
    if change == QueryChange::Recreate {
        let why = if want.source != have.source {
            format!("its source changes from {} to {}", have.source, want.source)
        } else {
            "its group-by keys change, which .alter materialized-view cannot do".to_string()
        };
        ctx.push(
            addr,
            Action::Replace,
            ImpactClass::DataLoss,
            format!(
                "re-create materialized view {name}: {why}; dropping it loses every \
                 materialized record{}",
                if want.backfill {
                    " (the new view is backfilled from the source's retained records)"
                } else {
                    " (the new view starts empty)"
                }
            ),
            Some(view_side(have)),
            Some(view_side(want)),
            vec![
                render::drop_materialized_view(name),
                render::create_materialized_view(want, on),
            ],
            phase(on),
        );
        return;
    }
    let lookback =
        want.lookback.is_some() && have.lookback.is_some() && want.lookback != have.lookback;
    let auto_update =
        have.auto_update_schema.is_some() && want.auto_update_schema != have.auto_update_schema;
    let mut parts = Vec::new();
    if change == QueryChange::InPlace {
        parts.push("query");
    }
    if lookback {
        parts.push("lookback");
    }
    if auto_update {
        parts.push("autoUpdateSchema");
    }
    if !parts.is_empty() {
        ctx.push(
            addr.clone(),
            Action::Update,
            ImpactClass::Restart,
            format!(
                "alter materialized view {name} in place ({}): records already materialized \
                 keep their old aggregation",
                parts.join(", ")
            ),
            Some(view_side(have)),
            Some(view_side(want)),
            vec![render::alter_materialized_view(want, on)],
            phase(on),
        );
    }
    let (want_doc, have_doc) = (want.stored_docstring(), have.stored_docstring());
    // A live view without the marker is adopted as is, like tables and functions: the marker
    // alone is not drift, it is written with the view's next docstring change.
    let marker_only =
        have.owner.is_none() && want.owner.is_some() && want.docstring == have.docstring;
    if want_doc != have_doc && !marker_only {
        ctx.push(
            addr.docstring(),
            Action::Update,
            ImpactClass::Safe,
            "set docstring".to_string(),
            Some(Side::field("docstring", have_doc)),
            Some(Side::field("docstring", want_doc.clone())),
            vec![render::alter_materialized_view_docstring(name, &want_doc)],
            phase(on),
        );
    }
    if want.folder != have.folder {
        ctx.push(
            addr.folder(),
            Action::Update,
            ImpactClass::Safe,
            "set folder".to_string(),
            Some(Side::field("folder", have.folder.clone())),
            Some(Side::field("folder", want.folder.clone())),
            vec![render::alter_materialized_view_folder(name, &want.folder)],
            phase(on),
        );
    }
}

/// How a plan shows a view: its source and properties, then the query (`{"name", "source",
/// "query", "lookback", "auto_update_schema", "folder", "docstring"}`, `lookback` and
/// `auto_update_schema` null where not set or not reported).
pub(super) fn view_side(v: &MaterializedView) -> Side {
    let mut text = format!("{} on table {}\n", v.name, v.source);
    if let Some(lookback) = v.lookback {
        text.push_str(&format!("lookback: {lookback}\n"));
    }
    if v.auto_update_schema == Some(true) {
        text.push_str("autoUpdateSchema: true\n");
    }
    super::push_definition(&mut text, &v.folder, &v.stored_docstring(), &v.query);
    let state = json!({
        "name": v.name,
        "source": v.source,
        "query": super::shown_body(&v.query),
        "lookback": v.lookback.map(|l| l.to_string()),
        "auto_update_schema": v.auto_update_schema,
        "folder": v.folder,
        "docstring": v.stored_docstring(),
    });
    Side::new(text, state)
}

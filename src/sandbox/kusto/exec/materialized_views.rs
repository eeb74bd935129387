//! Materialized views: `.create [async] [ifnotexists] materialized-view`, `.create-or-alter
//! materialized-view`, `.alter materialized-view` (query and properties, or `docstring` /
//! `folder`), `.drop materialized-view`, `.rename materialized-view`, `.show
//! materialized-view(s)` with the documented columns, and `.show operations <id>` for the
//! operation id the async form answers with.
//!
//! The service's checks that the sandbox makes: the name is a valid entity name that no
//! table or function holds; the source is a table or materialized view of the database;
//! the query is not empty, starts from the source and has a `summarize`; `.alter` keeps the
//! source and the `summarize ... by` keys (the documented limits of altering a view) and
//! takes no `backfill`. The sandbox holds no materialized records: a backfill completes at
//! once, and the operation reports `Completed`.

use super::super::clock;
use super::super::error::KustoError;
use super::super::state::{SandboxState, StoredOperation, StoredView};
use super::super::validate;
use super::{Context, database, database_mut, results};
use crate::kusto::command::{Property, ViewMetadata};
use crate::kusto::v1::V1Table;
use crate::model::Timespan;
use crate::model::materialized_view::group_by_keys;

/// The definition shared by `.create` and `.alter materialized-view`.
pub(super) struct Definition<'a> {
    /// View name.
    pub name: &'a str,
    /// Source table or view.
    pub source: &'a str,
    /// The text between the braces.
    pub query: &'a str,
    /// `with (...)`.
    pub properties: &'a [Property],
}

/// How `.create` was written.
#[derive(Debug, Clone, Copy)]
pub(super) struct CreateForm {
    /// `async`: answer with an operation id.
    pub is_async: bool,
    /// `ifnotexists`: succeed without change when the view exists.
    pub if_not_exists: bool,
    /// `.create-or-alter`.
    pub or_alter: bool,
}

/// The properties a command sets.
#[derive(Default)]
struct Properties {
    backfill: bool,
    lookback: Option<String>,
    auto_update_schema: Option<bool>,
    folder: Option<String>,
    docstring: Option<String>,
}

fn bool_value(key: &str, value: &str) -> Result<bool, KustoError> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(KustoError::bad_request(format!(
            "Property '{key}' expects 'true' or 'false', got '{value}'."
        ))),
    }
}

fn properties(list: &[Property], creating: bool) -> Result<Properties, KustoError> {
    let mut out = Properties::default();
    for p in list {
        match p.key.to_ascii_lowercase().as_str() {
            "backfill" if creating => out.backfill = bool_value(&p.key, &p.value)?,
            "lookback" => {
                let t = Timespan::parse(&p.value).ok_or_else(|| {
                    KustoError::bad_request(format!(
                        "Property 'lookback' expects a timespan, got '{}'.",
                        p.value
                    ))
                })?;
                out.lookback = Some(t.to_kusto());
            }
            "autoupdateschema" => {
                out.auto_update_schema = Some(bool_value(&p.key, &p.value)?);
            }
            "folder" => out.folder = Some(p.value.clone()),
            "docstring" => out.docstring = Some(p.value.clone()),
            _ => {
                return Err(KustoError::bad_request(format!(
                    "Property '{}' is not supported by this materialized view command in the sandbox (supported: {}lookback, autoUpdateSchema, folder, docString).",
                    p.key,
                    if creating { "backfill, " } else { "" }
                )));
            }
        }
    }
    Ok(out)
}

/// The service's checks of a definition against the database: a valid name no table or
/// function holds, an existing source, and a query that starts from the source and
/// summarizes.
fn check(state: &SandboxState, db_name: &str, def: &Definition<'_>) -> Result<(), KustoError> {
    validate::entity_name("materialized view", def.name)?;
    let db = database(state, db_name)?;
    if db.tables.contains_key(def.name) {
        return Err(KustoError::already_exists("Table", def.name));
    }
    if db.functions.contains_key(def.name) {
        return Err(KustoError::already_exists("Function", def.name));
    }
    if !db.tables.contains_key(def.source) && !db.materialized_views.contains_key(def.source) {
        return Err(KustoError::entity_not_found("Table", def.source));
    }
    starts_from_source(def)?;
    let query = def.query.trim();
    if group_by_keys(query).is_none() && !query.contains("summarize") {
        return Err(KustoError::bad_request(format!(
            "The query of materialized view '{}' must include a summarize operator.",
            def.name
        )));
    }
    Ok(())
}

/// The query's first word must be the source table (a view reads one table), written bare or
/// bracketed (`['Raw Events']`, as kustoplan quotes a name that is not a plain identifier).
fn starts_from_source(def: &Definition<'_>) -> Result<(), KustoError> {
    if leading_name(def.query).as_deref() != Some(def.source) {
        return Err(KustoError::bad_request(format!(
            "The query of materialized view '{}' must start from its source table '{}'.",
            def.name, def.source
        )));
    }
    Ok(())
}

/// The entity name a query starts with: a bare identifier, or a bracketed `['...']` /
/// `["..."]` name with its backslash escapes undone.
fn leading_name(query: &str) -> Option<String> {
    let query = query.trim_start();
    for quote in ['\'', '"'] {
        let Some(rest) = query.strip_prefix('[').and_then(|q| q.strip_prefix(quote)) else {
            continue;
        };
        let mut name = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => name.push(chars.next()?),
                c if c == quote => return chars.next().filter(|&c| c == ']').map(|_| name),
                c => name.push(c),
            }
        }
        return None;
    }
    query
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .map(str::to_string)
}

/// `.create [async] [ifnotexists] materialized-view` and `.create-or-alter
/// materialized-view`. The sync form answers with the view's `.show` row, the async form
/// with an `OperationId`.
pub(super) fn create(
    state: &mut SandboxState,
    ctx: Context<'_>,
    form: CreateForm,
    def: Definition<'_>,
) -> Result<V1Table, KustoError> {
    let db_name = ctx.resolve(None);
    let exists = database(state, db_name)?
        .materialized_views
        .contains_key(def.name);
    if exists && form.or_alter {
        return alter(state, ctx, def);
    }
    if exists && !form.if_not_exists {
        return Err(KustoError::already_exists("Materialized view", def.name));
    }
    let props = properties(def.properties, true)?;
    if !exists {
        check(state, db_name, &def)?;
    }
    let db = database_mut(state, db_name)?;
    if !exists {
        let now = clock::now();
        db.materialized_views.insert(
            def.name.to_string(),
            StoredView {
                name: def.name.to_string(),
                source: def.source.to_string(),
                query: def.query.trim().to_string(),
                folder: props.folder.unwrap_or_default(),
                docstring: props.docstring.unwrap_or_default(),
                auto_update_schema: props.auto_update_schema.unwrap_or(false),
                lookback: props.lookback,
                effective_date_time: now,
            },
        );
    }
    if form.is_async {
        let id = clock::new_guid();
        let now = clock::now();
        db.operations.insert(
            id.clone(),
            StoredOperation {
                operation: "MaterializedViewCreate".to_string(),
                started_on: now,
                state: "Completed".to_string(),
                status: String::new(),
            },
        );
        return Ok(results::operation_id(&id));
    }
    Ok(results::materialized_views(
        db.materialized_views.get(def.name).into_iter(),
    ))
}

/// `.alter materialized-view [with (...)] V on table T { query }`: a new query and
/// properties for an existing view, within the documented limits.
pub(super) fn alter(
    state: &mut SandboxState,
    ctx: Context<'_>,
    def: Definition<'_>,
) -> Result<V1Table, KustoError> {
    let db_name = ctx.resolve(None);
    let props = properties(def.properties, false)?;
    let current = database(state, db_name)?
        .materialized_views
        .get(def.name)
        .cloned()
        .ok_or_else(|| KustoError::entity_not_found("Materialized view", def.name))?;
    if current.source != def.source {
        return Err(KustoError::bad_request(format!(
            "Cannot alter the source table of materialized view '{}' (from '{}' to '{}'): drop and create the view.",
            def.name, current.source, def.source
        )));
    }
    if group_by_keys(&current.query) != group_by_keys(def.query) {
        return Err(KustoError::bad_request(format!(
            "Cannot alter the group by expressions of materialized view '{}': drop and create the view.",
            def.name
        )));
    }
    starts_from_source(&def)?;
    let db = database_mut(state, db_name)?;
    let view = db
        .materialized_views
        .get_mut(def.name)
        .ok_or_else(|| KustoError::entity_not_found("Materialized view", def.name))?;
    view.query = def.query.trim().to_string();
    if let Some(lookback) = props.lookback {
        view.lookback = Some(lookback);
    }
    if let Some(auto) = props.auto_update_schema {
        view.auto_update_schema = auto;
    }
    if let Some(folder) = props.folder {
        view.folder = folder;
    }
    if let Some(docstring) = props.docstring {
        view.docstring = docstring;
    }
    Ok(results::materialized_views(std::iter::once(&*view)))
}

/// `.alter materialized-view V docstring|folder "text"`.
pub(super) fn alter_metadata(
    state: &mut SandboxState,
    ctx: Context<'_>,
    name: &str,
    field: ViewMetadata,
    value: &str,
) -> Result<V1Table, KustoError> {
    let db = database_mut(state, ctx.resolve(None))?;
    let view = db
        .materialized_views
        .get_mut(name)
        .ok_or_else(|| KustoError::entity_not_found("Materialized view", name))?;
    match field {
        ViewMetadata::DocString => view.docstring = value.to_string(),
        ViewMetadata::Folder => view.folder = value.to_string(),
    }
    Ok(results::materialized_views(std::iter::once(&*view)))
}

/// `.drop materialized-view V [ifexists]`: the result lists the views that remain.
pub(super) fn drop(
    state: &mut SandboxState,
    ctx: Context<'_>,
    name: &str,
    if_exists: bool,
) -> Result<V1Table, KustoError> {
    let db = database_mut(state, ctx.resolve(None))?;
    if let Some(dependent) = db.materialized_views.values().find(|v| v.source == name) {
        return Err(KustoError::bad_request(format!(
            "Cannot drop materialized view '{name}': materialized view '{}' reads from it.",
            dependent.name
        )));
    }
    if db.materialized_views.remove(name).is_none() && !if_exists {
        return Err(KustoError::entity_not_found("Materialized view", name));
    }
    Ok(results::materialized_views(db.materialized_views.values()))
}

/// `.rename materialized-view Old to New`.
pub(super) fn rename(
    state: &mut SandboxState,
    ctx: Context<'_>,
    from: &str,
    to: &str,
) -> Result<V1Table, KustoError> {
    validate::entity_name("materialized view", to)?;
    let db = database_mut(state, ctx.resolve(None))?;
    if db.tables.contains_key(to)
        || db.functions.contains_key(to)
        || db.materialized_views.contains_key(to)
    {
        return Err(KustoError::already_exists("Entity", to));
    }
    let mut view = db
        .materialized_views
        .remove(from)
        .ok_or_else(|| KustoError::entity_not_found("Materialized view", from))?;
    view.name = to.to_string();
    for other in db.materialized_views.values_mut() {
        if other.source == from {
            other.source = to.to_string();
        }
    }
    let result = results::materialized_views(std::iter::once(&view));
    db.materialized_views.insert(to.to_string(), view);
    Ok(result)
}

/// `.show materialized-views`, or `.show materialized-view V` (which fails when V does not
/// exist).
pub(super) fn show(
    state: &SandboxState,
    ctx: Context<'_>,
    name: Option<&str>,
) -> Result<V1Table, KustoError> {
    let db = database(state, ctx.resolve(None))?;
    match name {
        None => Ok(results::materialized_views(db.materialized_views.values())),
        Some(name) => db
            .materialized_views
            .get(name)
            .map(|v| results::materialized_views(std::iter::once(v)))
            .ok_or_else(|| KustoError::entity_not_found("Materialized view", name)),
    }
}

/// `.show operations <id>`: the operation, looked up in every database (operation ids are
/// cluster-wide); no row for an unknown id, as the service answers.
pub(super) fn show_operation(state: &SandboxState, id: &str) -> V1Table {
    let found = state
        .databases
        .iter()
        .find_map(|(name, db)| db.operations.get(id).map(|op| (name.as_str(), op)));
    results::operations(id, found)
}

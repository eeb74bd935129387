//! Stored functions: `.create-or-alter function`, `.drop function`, `.show functions` and
//! `.show function`, with the documented result columns (Name, Parameters, Body, Folder,
//! DocString).
//!
//! The service checks a body against the database's schema unless `skipvalidation` is
//! true; the sandbox has no full query compiler, so it only refuses an empty body.

use super::super::error::KustoError;
use super::super::state::{SandboxState, StoredFunction};
use super::super::validate;
use super::{Context, database, database_mut, results};
use crate::kusto::command::{ColumnDecl, Property};
use crate::kusto::v1::V1Table;

/// The definition of a `.create-or-alter function` command.
pub(super) struct Definition<'a> {
    /// Function name.
    pub name: &'a str,
    /// Scalar parameters.
    pub parameters: &'a [ColumnDecl],
    /// The text between the braces.
    pub body: &'a str,
    /// `with (...)`.
    pub properties: &'a [Property],
}

/// `.create-or-alter function`: creates the function or replaces its whole definition (a
/// property not written is reset, as on the service).
pub(super) fn create_or_alter(
    state: &mut SandboxState,
    ctx: Context<'_>,
    def: Definition<'_>,
) -> Result<V1Table, KustoError> {
    validate::entity_name("function", def.name)?;
    let (mut docstring, mut folder) = (String::new(), String::new());
    for p in def.properties {
        match p.key.to_ascii_lowercase().as_str() {
            "docstring" => docstring.clone_from(&p.value),
            "folder" => folder.clone_from(&p.value),
            "skipvalidation" => {
                if !matches!(p.value.to_ascii_lowercase().as_str(), "true" | "false") {
                    return Err(KustoError::bad_request(format!(
                        "Property 'skipvalidation' expects 'true' or 'false', got '{}'.",
                        p.value
                    )));
                }
            }
            _ => {
                return Err(KustoError::bad_request(format!(
                    "Property '{}' is not supported for functions by the sandbox (supported: docstring, folder, skipvalidation).",
                    p.key
                )));
            }
        }
    }
    for (i, p) in def.parameters.iter().enumerate() {
        validate::entity_name("parameter", &p.name)?;
        if def.parameters[..i].iter().any(|o| o.name == p.name) {
            return Err(KustoError::bad_request(format!(
                "Parameter '{}' is specified more than once.",
                p.name
            )));
        }
    }
    if def.body.trim().is_empty() {
        return Err(KustoError::bad_request(format!(
            "Function '{}' has an empty body.",
            def.name
        )));
    }
    let db = database_mut(state, ctx.resolve(None))?;
    if db.tables.contains_key(def.name) {
        return Err(KustoError::already_exists("Table", def.name));
    }
    let function = StoredFunction {
        name: def.name.to_string(),
        parameters: def
            .parameters
            .iter()
            .map(|p| (p.name.clone(), p.ty))
            .collect(),
        body: format!("{{{}}}", def.body),
        folder,
        docstring,
    };
    let result = results::functions(std::iter::once(&function));
    db.functions.insert(function.name.clone(), function);
    Ok(result)
}

/// `.drop function F [ifexists]`: the result names the dropped function (no row when
/// `ifexists` found none).
pub(super) fn drop(
    state: &mut SandboxState,
    ctx: Context<'_>,
    name: &str,
    if_exists: bool,
) -> Result<V1Table, KustoError> {
    let db = database_mut(state, ctx.resolve(None))?;
    match db.functions.remove(name) {
        Some(f) => Ok(results::function_names(Some(f.name.as_str()))),
        None if if_exists => Ok(results::function_names(None)),
        None => Err(KustoError::entity_not_found("Function", name)),
    }
}

/// `.show functions`, or `.show function F` (which fails when F does not exist).
pub(super) fn show(
    state: &SandboxState,
    ctx: Context<'_>,
    name: Option<&str>,
) -> Result<V1Table, KustoError> {
    let db = database(state, ctx.resolve(None))?;
    match name {
        None => Ok(results::functions(db.functions.values())),
        Some(name) => db
            .functions
            .get(name)
            .map(|f| results::functions(std::iter::once(f)))
            .ok_or_else(|| KustoError::entity_not_found("Function", name)),
    }
}

//! The one way a [`Command`] becomes text: every command kustoplan sends, shows in a plan or
//! answers from the sandbox is printed here, and the parser reads each printed command back to
//! the same value (a property test checks `parse(c.to_string()) == c`).
//!
//! Conventions: names go through [`quote::name`] (bare when a plain identifier, else
//! `['...']`), literals through [`quote::string`] (`"..."` with backslash escapes), and every
//! command is one line except the braces of a function body or a view query, which keep the
//! lines written between them (`.execute database script` splits commands at line starts, and
//! reads a `{ ... }` block as one token).

use std::fmt::{self, Display, Formatter, Write};

use super::ast::*;
use super::quote;
use crate::model::Timespan;

/// A timespan as a KQL literal in its largest whole unit: `365d`, `12h`, `90m`, `10s`,
/// `250ms`.
pub fn timespan_literal(t: Timespan) -> String {
    let ms = t.as_millis();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

impl Display for TableRef {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(database) = &self.database {
            write!(f, "{}.", quote::name(database))?;
        }
        quote::name(&self.table).fmt(f)
    }
}

impl Display for EntityRef {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            EntityRef::Table(table) => write!(f, "table {table}"),
            EntityRef::Database(database) => write!(f, "database {}", quote::name(database)),
        }
    }
}

impl Display for RoleScope {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            RoleScope::Database(database, role) => {
                write!(f, "database {} {}", quote::name(database), role.keyword())
            }
            RoleScope::Table(table, role) => write!(f, "table {table} {}", role.keyword()),
        }
    }
}

impl Display for PolicyValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            PolicyValue::Json(text) => quote::string(text).fmt(f),
            PolicyValue::Switch(true) => f.write_str("enable"),
            PolicyValue::Switch(false) => f.write_str("disable"),
            PolicyValue::Retention {
                soft_delete,
                recoverable,
            } => {
                write!(f, "softdelete = {}", timespan_literal(*soft_delete))?;
                match recoverable {
                    Some(true) => f.write_str(" recoverability = enabled"),
                    Some(false) => f.write_str(" recoverability = disabled"),
                    None => Ok(()),
                }
            }
            PolicyValue::Caching {
                data,
                index,
                windows,
            } => {
                if data == index {
                    write!(f, "hot = {}", timespan_literal(*data))?;
                } else {
                    write!(
                        f,
                        "hotdata = {} hotindex = {}",
                        timespan_literal(*data),
                        timespan_literal(*index)
                    )?;
                }
                for (from, to) in windows {
                    write!(f, ", hot_window = datetime({from}) .. datetime({to})")?;
                }
                Ok(())
            }
        }
    }
}

/// `(a:int, b:string)`.
fn columns(f: &mut Formatter<'_>, columns: &[ColumnDecl]) -> fmt::Result {
    f.write_char('(')?;
    for (n, c) in columns.iter().enumerate() {
        if n > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{}:{}", quote::name(&c.name), c.ty.as_kql())?;
    }
    f.write_char(')')
}

/// `with (k = v, ...)` (`sep` is ` = ` or `=`, as the service writes the command), nothing
/// when there are no properties.
fn properties(f: &mut Formatter<'_>, properties: &[Property], sep: &str) -> fmt::Result {
    if properties.is_empty() {
        return Ok(());
    }
    f.write_str("with (")?;
    for (n, p) in properties.iter().enumerate() {
        if n > 0 {
            f.write_str(", ")?;
        }
        if p.quoted {
            write!(f, "{}{sep}{}", p.key, quote::string(&p.value))?;
        } else {
            write!(f, "{}{sep}{}", p.key, p.value)?;
        }
    }
    f.write_char(')')
}

/// `where tags has "x" and tags !contains "y"`, nothing without filters.
fn tag_filters(f: &mut Formatter<'_>, tags: &[TagFilter]) -> fmt::Result {
    for (n, t) in tags.iter().enumerate() {
        f.write_str(if n == 0 { " where " } else { " and " })?;
        let op = match t.op {
            TagOp::Has => "has",
            TagOp::NotHas => "!has",
            TagOp::Contains => "contains",
            TagOp::NotContains => "!contains",
        };
        write!(f, "tags {op} {}", quote::string(&t.tag))?;
    }
    Ok(())
}

/// `V on table T\n{query}` (or `on materialized-view`).
fn view_definition(
    f: &mut Formatter<'_>,
    name: &str,
    source: &str,
    source_kind: ViewSource,
    query: &str,
) -> fmt::Result {
    let on = match source_kind {
        ViewSource::Table => "table",
        ViewSource::MaterializedView => "materialized-view",
    };
    write!(
        f,
        "{} on {on} {}\n{{{query}}}",
        quote::name(name),
        quote::name(source)
    )
}

fn if_exists(f: &mut Formatter<'_>, if_exists: bool) -> fmt::Result {
    if if_exists {
        f.write_str(" ifexists")?;
    }
    Ok(())
}

/// The header of `.execute database script`, up to and including `<|`.
pub(crate) fn script_header(continue_on_errors: bool, throw_on_errors: bool) -> String {
    let throw = if throw_on_errors {
        ", ThrowOnErrors=true"
    } else {
        ""
    };
    format!(".execute database script with (ContinueOnErrors={continue_on_errors}{throw}) <|")
}

impl Display for Command {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Command::ShowVersion => f.write_str(".show version"),
            Command::ShowDatabases => f.write_str(".show databases"),
            Command::ShowTables => f.write_str(".show tables"),
            Command::ShowDatabaseSchemaJson { database } => {
                write!(f, ".show database {} schema as json", quote::name(database))
            }
            Command::ShowDatabaseSchemaScript { database, options } => {
                write!(
                    f,
                    ".show database {} schema as csl script",
                    quote::name(database)
                )?;
                let off: Vec<&str> = [
                    ("IncludeEncodingPolicies", options.include_encoding_policies),
                    ("IncludeSecuritySettings", options.include_security_settings),
                    (
                        "IncludeIngestionMappings",
                        options.include_ingestion_mappings,
                    ),
                ]
                .into_iter()
                .filter(|(_, on)| !on)
                .map(|(key, _)| key)
                .collect();
                for (n, key) in off.iter().enumerate() {
                    f.write_str(if n == 0 { " with (" } else { ", " })?;
                    write!(f, "{key} = false")?;
                }
                if !off.is_empty() {
                    f.write_char(')')?;
                }
                Ok(())
            }
            Command::ShowTableSchemaJson { table } => {
                write!(f, ".show table {table} schema as json")
            }
            Command::TableSchema {
                verb,
                table,
                columns: cols,
                properties: props,
            } => {
                let verb = match verb {
                    SchemaVerb::Create => "create",
                    SchemaVerb::CreateMerge => "create-merge",
                    SchemaVerb::Alter => "alter",
                    SchemaVerb::AlterMerge => "alter-merge",
                };
                write!(f, ".{verb} table {table} ")?;
                columns(f, cols)?;
                if !props.is_empty() {
                    f.write_char(' ')?;
                    properties(f, props, " = ")?;
                }
                Ok(())
            }
            Command::AlterColumnType { table, column, ty } => write!(
                f,
                ".alter column {table}.{} type={}",
                quote::name(column),
                ty.as_kql()
            ),
            Command::DropColumn {
                table,
                column,
                if_exists: ifx,
            } => {
                write!(f, ".drop column {table}.{}", quote::name(column))?;
                if_exists(f, *ifx)
            }
            Command::DropTable {
                table,
                if_exists: ifx,
            } => {
                write!(f, ".drop table {table}")?;
                if_exists(f, *ifx)
            }
            Command::RenameTable { from, to } => write!(
                f,
                ".rename table {} to {}",
                quote::name(from),
                quote::name(to)
            ),
            Command::RenameColumn { table, from, to } => write!(
                f,
                ".rename column {table}.{} to {}",
                quote::name(from),
                quote::name(to)
            ),
            Command::RenameTables { renames } => {
                f.write_str(".rename tables ")?;
                for (n, r) in renames.iter().enumerate() {
                    if n > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} = {}", quote::name(&r.to), quote::name(&r.from))?;
                    if_exists(f, r.if_exists)?;
                }
                Ok(())
            }
            Command::AlterDocString { table, docstring } => write!(
                f,
                ".alter table {table} docstring {}",
                quote::string(docstring)
            ),
            Command::AlterFolder { table, folder } => {
                write!(f, ".alter table {table} folder {}", quote::string(folder))
            }
            Command::SetMapping {
                verb,
                entity,
                kind,
                name,
                json,
            } => {
                let verb = match verb {
                    MappingVerb::Create => "create",
                    MappingVerb::CreateOrAlter => "create-or-alter",
                    MappingVerb::Alter => "alter",
                };
                write!(
                    f,
                    ".{verb} {entity} ingestion {} mapping {} {}",
                    kind.as_kql(),
                    quote::string(name),
                    quote::string(json)
                )
            }
            Command::DropMapping { entity, kind, name } => write!(
                f,
                ".drop {entity} ingestion {} mapping {}",
                kind.as_kql(),
                quote::string(name)
            ),
            Command::ShowMappings { entity, kind, name } => {
                write!(f, ".show {entity} ingestion ")?;
                match (kind, name) {
                    (Some(kind), Some(name)) => {
                        write!(f, "{} mapping {}", kind.as_kql(), quote::string(name))
                    }
                    (Some(kind), None) => write!(f, "{} mappings", kind.as_kql()),
                    // A name is only written after a kind (the grammar has no other form).
                    (None, _) => f.write_str("mappings"),
                }
            }
            Command::AlterPolicy {
                merge,
                target,
                policy,
                value,
            } => {
                f.write_str(if *merge { ".alter-merge " } else { ".alter " })?;
                match target {
                    PolicyTarget::Tables(tables) if tables.len() == 1 => {
                        write!(f, "table {}", tables[0])?;
                    }
                    PolicyTarget::Tables(tables) => {
                        f.write_str("tables (")?;
                        for (n, t) in tables.iter().enumerate() {
                            if n > 0 {
                                f.write_str(", ")?;
                            }
                            write!(f, "{t}")?;
                        }
                        f.write_char(')')?;
                    }
                    PolicyTarget::Database(database) => {
                        write!(f, "database {}", quote::name(database))?;
                    }
                }
                write!(f, " policy {} {value}", policy.keyword())
            }
            Command::DeletePolicy { entity, policy } => {
                write!(f, ".delete {entity} policy {}", policy.keyword())
            }
            Command::ShowPolicy { target, policy } => {
                match target {
                    PolicyShowTarget::Table(table) => write!(f, ".show table {table}")?,
                    PolicyShowTarget::AllTables => f.write_str(".show table *")?,
                    PolicyShowTarget::Database(database) => {
                        write!(f, ".show database {}", quote::name(database))?;
                    }
                }
                write!(f, " policy {}", policy.keyword())
            }
            Command::Principals {
                action,
                scope,
                principals,
                skip_results,
                notes,
            } => {
                let action = match action {
                    PrincipalAction::Add => "add",
                    PrincipalAction::Drop => "drop",
                    PrincipalAction::Set => "set",
                };
                write!(f, ".{action} {scope} ")?;
                if principals.is_empty() {
                    f.write_str("none")?;
                } else {
                    f.write_char('(')?;
                    for (n, p) in principals.iter().enumerate() {
                        if n > 0 {
                            f.write_str(", ")?;
                        }
                        quote::string(p).fmt(f)?;
                    }
                    f.write_char(')')?;
                }
                if *skip_results {
                    f.write_str(" skip-results")?;
                }
                if let Some(notes) = notes {
                    write!(f, " {}", quote::string(notes))?;
                }
                Ok(())
            }
            Command::ShowDatabasePrincipals { database } => {
                write!(f, ".show database {} principals", quote::name(database))
            }
            Command::ShowTablePrincipals { table } => write!(f, ".show table {table} principals"),
            Command::ShowExtents { table, tags } => {
                write!(f, ".show table {table} extents")?;
                tag_filters(f, tags)
            }
            Command::DropExtents {
                table,
                selection,
                what_if,
            } => {
                f.write_str(".drop extents ")?;
                if *what_if {
                    f.write_str("whatif ")?;
                }
                match selection {
                    ExtentSelection::All => write!(f, "from {table}"),
                    ExtentSelection::Ids(ids) => write!(f, "({}) from {table}", ids.join(", ")),
                    ExtentSelection::Tags(tags) => {
                        write!(f, "<| .show table {table} extents")?;
                        tag_filters(f, tags)
                    }
                }
            }
            Command::DeleteRecords {
                table,
                what_if,
                predicate,
            } => {
                write!(f, ".delete table {table} records ")?;
                if *what_if {
                    f.write_str("with (whatif=true) ")?;
                }
                write!(f, "<| {predicate}")
            }
            Command::IngestInline {
                table,
                properties: props,
                data,
            } => {
                write!(f, ".ingest inline into table {table} ")?;
                if !props.is_empty() {
                    properties(f, props, "=")?;
                    f.write_char(' ')?;
                }
                write!(f, "<|{data}")
            }
            Command::GetIngestionResources => f.write_str(".get ingestion resources"),
            Command::GetKustoIdentityToken => f.write_str(".get kusto identity token"),
            Command::ShowIngestionFailures => f.write_str(".show ingestion failures"),
            Command::CreateOrAlterFunction {
                name,
                parameters,
                body,
                properties: props,
            } => {
                f.write_str(".create-or-alter function ")?;
                if !props.is_empty() {
                    properties(f, props, " = ")?;
                    f.write_char(' ')?;
                }
                quote::name(name).fmt(f)?;
                columns(f, parameters)?;
                write!(f, " {{{body}}}")
            }
            Command::DropFunction {
                name,
                if_exists: ifx,
            } => {
                write!(f, ".drop function {}", quote::name(name))?;
                if_exists(f, *ifx)
            }
            Command::ShowFunctions => f.write_str(".show functions"),
            Command::ShowFunction { name } => write!(f, ".show function {}", quote::name(name)),
            Command::CreateMaterializedView {
                is_async,
                if_not_exists,
                or_alter,
                name,
                source,
                source_kind,
                query,
                properties: props,
            } => {
                if *or_alter {
                    f.write_str(".create-or-alter")?;
                } else {
                    f.write_str(".create")?;
                    if *is_async {
                        f.write_str(" async")?;
                    }
                    if *if_not_exists {
                        f.write_str(" ifnotexists")?;
                    }
                }
                f.write_str(" materialized-view ")?;
                if !props.is_empty() {
                    properties(f, props, "=")?;
                    f.write_char(' ')?;
                }
                view_definition(f, name, source, *source_kind, query)
            }
            Command::AlterMaterializedView {
                name,
                source,
                source_kind,
                query,
                properties: props,
            } => {
                f.write_str(".alter materialized-view ")?;
                if !props.is_empty() {
                    properties(f, props, "=")?;
                    f.write_char(' ')?;
                }
                view_definition(f, name, source, *source_kind, query)
            }
            Command::AlterMaterializedViewMetadata { name, field, value } => {
                let field = match field {
                    ViewMetadata::DocString => "docstring",
                    ViewMetadata::Folder => "folder",
                };
                write!(
                    f,
                    ".alter materialized-view {} {field} {}",
                    quote::name(name),
                    quote::string(value)
                )
            }
            Command::DropMaterializedView {
                name,
                if_exists: ifx,
            } => {
                write!(f, ".drop materialized-view {}", quote::name(name))?;
                if_exists(f, *ifx)
            }
            Command::RenameMaterializedView { from, to } => write!(
                f,
                ".rename materialized-view {} to {}",
                quote::name(from),
                quote::name(to)
            ),
            Command::ShowMaterializedViews => f.write_str(".show materialized-views"),
            Command::ShowMaterializedView { name } => {
                write!(f, ".show materialized-view {}", quote::name(name))
            }
            Command::ShowOperation { id } => write!(f, ".show operations {id}"),
            Command::ExecuteScript {
                continue_on_errors,
                throw_on_errors,
                commands,
            } => {
                f.write_str(&script_header(*continue_on_errors, *throw_on_errors))?;
                for c in commands {
                    write!(f, "\n{}", c.text)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests;

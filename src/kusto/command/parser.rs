//! Recursive-descent parser from tokens to [`Command`].
//!
//! Kusto keywords are case-sensitive and lowercase; anything the grammar below does not
//! describe is a syntax error (never silently accepted), including trailing tokens.

use super::SyntaxError;
use super::ast::*;
use super::lexer::{Token, TokenKind};
use crate::model::{ColumnType, MappingKind};

/// Parses the whole request text: one command whose tokens are `toks`; `inline_data` is the
/// verbatim text after the `<|` of an `.ingest inline` command.
pub(super) fn parse_top(
    src: &str,
    toks: &[Token],
    inline_data: Option<&str>,
) -> Result<Command, SyntaxError> {
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        inline_data,
    };
    let cmd = p.command()?;
    p.end()?;
    Ok(cmd)
}

/// Parses exactly one command from `toks` (a slice of the tokens of `src`), as inside a script
/// (where no command carries inline data).
pub(super) fn parse_one(src: &str, toks: &[Token]) -> Result<Command, SyntaxError> {
    parse_top(src, toks, None)
}

struct Parser<'a> {
    src: &'a str,
    toks: &'a [Token],
    pos: usize,
    /// The text after `<|` of `.ingest inline`, when the lexer stopped there.
    inline_data: Option<&'a str>,
}

fn position_of(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count());
    (line, col)
}

fn describe(kind: &TokenKind) -> String {
    match kind {
        TokenKind::Command(c) => format!("'.{c}'"),
        TokenKind::Ident(s) | TokenKind::Number(s) => format!("'{s}'"),
        TokenKind::Bracketed(s) => format!("'['{s}']'"),
        TokenKind::Str(_) => "string literal".into(),
        TokenKind::LParen => "'('".into(),
        TokenKind::RParen => "')'".into(),
        TokenKind::Comma => "','".into(),
        TokenKind::Colon => "':'".into(),
        TokenKind::Eq => "'='".into(),
        TokenKind::Dot => "'.'".into(),
        TokenKind::Star => "'*'".into(),
        TokenKind::ScriptArrow => "'<|'".into(),
        TokenKind::Pipe => "'|'".into(),
        TokenKind::EqEq => "'=='".into(),
        TokenKind::NotEq => "'!='".into(),
        TokenKind::Lt => "'<'".into(),
        TokenKind::Le => "'<='".into(),
        TokenKind::Gt => "'>'".into(),
        TokenKind::Ge => "'>='".into(),
        TokenKind::Bang => "'!'".into(),
        TokenKind::LiteralBody(s) => format!("'{s}'"),
        TokenKind::Body(_) => "'{'".into(),
    }
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a TokenKind> {
        self.toks.get(self.pos).map(|t| &t.kind)
    }

    fn error(&self, message: String) -> SyntaxError {
        let (line, col) = match self.toks.get(self.pos) {
            Some(t) => (t.line, t.col),
            None => position_of(self.src, self.toks.last().map_or(self.src.len(), |t| t.end)),
        };
        SyntaxError { message, line, col }
    }

    fn found(&self) -> String {
        self.peek()
            .map_or_else(|| "end of command".to_string(), describe)
    }

    fn expected(&self, what: &str) -> SyntaxError {
        self.error(format!("expected {what} but found {}", self.found()))
    }

    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(TokenKind::Ident(w)) if w == kw)
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        let hit = self.peek_keyword(kw);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn keyword(&mut self, kw: &str) -> Result<(), SyntaxError> {
        if self.eat_keyword(kw) {
            Ok(())
        } else {
            Err(self.expected(&format!("'{kw}'")))
        }
    }

    /// One of several keywords; returns which.
    fn one_of(&mut self, kws: &[&'static str]) -> Result<&'static str, SyntaxError> {
        for kw in kws {
            if self.eat_keyword(kw) {
                return Ok(kw);
            }
        }
        let list: Vec<String> = kws.iter().map(|k| format!("'{k}'")).collect();
        Err(self.expected(&format!("one of {}", list.join(", "))))
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        let hit = self.peek() == Some(kind);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn punct(&mut self, kind: TokenKind) -> Result<(), SyntaxError> {
        if self.eat(&kind) {
            Ok(())
        } else {
            Err(self.expected(&describe(&kind)))
        }
    }

    fn end(&self) -> Result<(), SyntaxError> {
        match self.peek() {
            None => Ok(()),
            Some(kind) => Err(self.error(format!(
                "unexpected {} after the end of the command",
                describe(kind)
            ))),
        }
    }

    /// An entity name: identifier or bracketed name.
    fn name(&mut self) -> Result<String, SyntaxError> {
        match self.peek() {
            Some(TokenKind::Ident(s) | TokenKind::Bracketed(s)) => {
                self.pos += 1;
                Ok(s.clone())
            }
            _ => Err(self.expected("a name")),
        }
    }

    /// Dot-separated name parts (`Db.T`, `T.C`, `Db.T.C`).
    fn dotted(&mut self) -> Result<Vec<String>, SyntaxError> {
        let mut parts = vec![self.name()?];
        while self.eat(&TokenKind::Dot) {
            parts.push(self.name()?);
        }
        Ok(parts)
    }

    fn table_ref(&mut self) -> Result<TableRef, SyntaxError> {
        let at = self.pos;
        let mut parts = self.dotted()?;
        match parts.len() {
            1 => Ok(TableRef {
                database: None,
                table: parts.remove(0),
            }),
            2 => {
                let table = parts.remove(1);
                Ok(TableRef {
                    database: Some(parts.remove(0)),
                    table,
                })
            }
            _ => {
                self.pos = at;
                Err(self.error("a table name has at most two parts (Database.Table)".into()))
            }
        }
    }

    /// One or more adjacent string literals, concatenated (Kusto's multi-line idiom).
    fn string(&mut self) -> Result<String, SyntaxError> {
        let mut out = None::<String>;
        while let Some(TokenKind::Str(s)) = self.peek() {
            out.get_or_insert_with(String::new).push_str(s);
            self.pos += 1;
        }
        out.ok_or_else(|| self.expected("a string literal"))
    }

    /// A mapping name: a single string literal or a name.
    fn string_or_name(&mut self) -> Result<String, SyntaxError> {
        match self.peek() {
            Some(TokenKind::Str(s)) => {
                self.pos += 1;
                Ok(s.clone())
            }
            Some(TokenKind::Ident(_) | TokenKind::Bracketed(_)) => self.name(),
            _ => Err(self.expected("a name or string literal")),
        }
    }

    fn command(&mut self) -> Result<Command, SyntaxError> {
        let verb = match self.peek() {
            Some(TokenKind::Command(v)) => v.as_str(),
            _ => return Err(self.expected("a control command starting with '.'")),
        };
        let at = self.pos;
        self.pos += 1;
        match verb {
            "show" => self.show(),
            "create" => self.create(),
            "create-merge" => {
                self.keyword("table")?;
                let table = self.table_ref()?;
                self.schema(SchemaVerb::CreateMerge, table)
            }
            "create-or-alter" => {
                if self.eat_keyword("function") {
                    return self.function();
                }
                if self.eat_keyword("materialized-view") {
                    return self.create_view(false, false, true);
                }
                let entity = self.entity()?;
                self.keyword("ingestion")?;
                self.set_mapping(MappingVerb::CreateOrAlter, entity)
            }
            "alter" => self.alter(),
            "alter-merge" => self.alter_merge(),
            "drop" => self.drop(),
            "rename" => self.rename(),
            "delete" => {
                if self.peek_keyword_pair("table", "records") {
                    return self.delete_records();
                }
                let entity = self.entity()?;
                self.keyword("policy")?;
                let policy = self.policy_kind()?;
                Ok(Command::DeletePolicy { entity, policy })
            }
            "add" => self.principals(PrincipalAction::Add),
            "set" => self.principals(PrincipalAction::Set),
            "execute" => self.execute(),
            "ingest" => self.ingest_inline(),
            "get" => match self.one_of(&["ingestion", "kusto"])? {
                "ingestion" => {
                    self.keyword("resources")?;
                    Ok(Command::GetIngestionResources)
                }
                _ => {
                    self.keyword("identity")?;
                    self.keyword("token")?;
                    Ok(Command::GetKustoIdentityToken)
                }
            },
            other => {
                self.pos = at;
                Err(self.error(format!("unknown or unsupported control command '.{other}'")))
            }
        }
    }

    fn entity(&mut self) -> Result<EntityRef, SyntaxError> {
        match self.one_of(&["table", "database"])? {
            "table" => Ok(EntityRef::Table(self.table_ref()?)),
            _ => Ok(EntityRef::Database(self.name()?)),
        }
    }

    fn policy_kind(&mut self) -> Result<PolicyKind, SyntaxError> {
        match self.one_of(&[
            "ingestionbatching",
            "streamingingestion",
            "retention",
            "caching",
            "update",
        ])? {
            "ingestionbatching" => Ok(PolicyKind::IngestionBatching),
            "streamingingestion" => Ok(PolicyKind::StreamingIngestion),
            "retention" => Ok(PolicyKind::Retention),
            "caching" => Ok(PolicyKind::Caching),
            _ => Ok(PolicyKind::Update),
        }
    }

    fn mapping_kind(&mut self) -> Result<MappingKind, SyntaxError> {
        if let Some(TokenKind::Ident(w)) = self.peek()
            && let Some(kind) = MappingKind::from_keyword(w)
        {
            self.pos += 1;
            return Ok(kind);
        }
        Err(self.expected("a mapping kind (csv, json, avro, parquet, orc, w3clogfile)"))
    }

    fn show(&mut self) -> Result<Command, SyntaxError> {
        match self.one_of(&[
            "version",
            "databases",
            "tables",
            "database",
            "table",
            "ingestion",
            "functions",
            "function",
            "materialized-views",
            "materialized-view",
            "operations",
        ])? {
            "version" => Ok(Command::ShowVersion),
            "materialized-views" => Ok(Command::ShowMaterializedViews),
            "materialized-view" => Ok(Command::ShowMaterializedView { name: self.name()? }),
            "operations" => match self.peek() {
                Some(TokenKind::Ident(s) | TokenKind::Str(s))
                    if uuid::Uuid::parse_str(s).is_ok() =>
                {
                    let id = s.to_ascii_lowercase();
                    self.pos += 1;
                    Ok(Command::ShowOperation { id })
                }
                _ => Err(self.expected("an operation id (a GUID)")),
            },
            "functions" => Ok(Command::ShowFunctions),
            "function" => Ok(Command::ShowFunction { name: self.name()? }),
            "ingestion" => {
                self.keyword("failures")?;
                Ok(Command::ShowIngestionFailures)
            }
            "databases" => Ok(Command::ShowDatabases),
            "tables" => Ok(Command::ShowTables),
            "database" => {
                let database = self.name()?;
                match self.one_of(&["schema", "principals", "ingestion", "policy"])? {
                    "schema" => {
                        self.keyword("as")?;
                        match self.one_of(&["json", "csl"])? {
                            "json" => Ok(Command::ShowDatabaseSchemaJson { database }),
                            _ => {
                                self.keyword("script")?;
                                let options = self.schema_script_options()?;
                                Ok(Command::ShowDatabaseSchemaScript { database, options })
                            }
                        }
                    }
                    "principals" => Ok(Command::ShowDatabasePrincipals { database }),
                    "ingestion" => self.show_mappings(EntityRef::Database(database)),
                    _ => Ok(Command::ShowPolicy {
                        target: PolicyShowTarget::Database(database),
                        policy: self.policy_kind()?,
                    }),
                }
            }
            _ => {
                if self.eat(&TokenKind::Star) {
                    self.keyword("policy")?;
                    return Ok(Command::ShowPolicy {
                        target: PolicyShowTarget::AllTables,
                        policy: self.policy_kind()?,
                    });
                }
                let table = self.table_ref()?;
                match self.one_of(&["ingestion", "policy", "principals", "schema", "extents"])? {
                    "ingestion" => self.show_mappings(EntityRef::Table(table)),
                    "extents" => {
                        self.eat_keyword("hot");
                        let tags = self.tag_filters()?;
                        Ok(Command::ShowExtents { table, tags })
                    }
                    "policy" => Ok(Command::ShowPolicy {
                        target: PolicyShowTarget::Table(table),
                        policy: self.policy_kind()?,
                    }),
                    "principals" => Ok(Command::ShowTablePrincipals { table }),
                    _ => {
                        self.keyword("as")?;
                        self.keyword("json")?;
                        Ok(Command::ShowTableSchemaJson { table })
                    }
                }
            }
        }
    }

    fn show_mappings(&mut self, entity: EntityRef) -> Result<Command, SyntaxError> {
        if self.eat_keyword("mappings") {
            return Ok(Command::ShowMappings {
                entity,
                kind: None,
                name: None,
            });
        }
        let kind = Some(self.mapping_kind()?);
        match self.one_of(&["mappings", "mapping"])? {
            "mappings" => Ok(Command::ShowMappings {
                entity,
                kind,
                name: None,
            }),
            _ => Ok(Command::ShowMappings {
                entity,
                kind,
                name: Some(self.string_or_name()?),
            }),
        }
    }

    fn create(&mut self) -> Result<Command, SyntaxError> {
        let is_async = self.eat_keyword("async");
        let if_not_exists = self.eat_keyword("ifnotexists");
        if is_async || if_not_exists || self.peek_keyword("materialized-view") {
            self.keyword("materialized-view")?;
            return self.create_view(is_async, if_not_exists, false);
        }
        match self.one_of(&["table", "database"])? {
            "table" => {
                let table = self.table_ref()?;
                if self.eat_keyword("ingestion") {
                    return self.set_mapping(MappingVerb::Create, EntityRef::Table(table));
                }
                self.schema(SchemaVerb::Create, table)
            }
            _ => {
                let database = self.name()?;
                self.keyword("ingestion")?;
                self.set_mapping(MappingVerb::Create, EntityRef::Database(database))
            }
        }
    }

    fn schema(&mut self, verb: SchemaVerb, table: TableRef) -> Result<Command, SyntaxError> {
        self.punct(TokenKind::LParen)?;
        let mut columns = Vec::new();
        loop {
            let name = self.name()?;
            self.punct(TokenKind::Colon)?;
            let ty = self.scalar_type()?;
            columns.push(ColumnDecl { name, ty });
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        self.punct(TokenKind::RParen)?;
        let properties = self.with_properties()?;
        Ok(Command::TableSchema {
            verb,
            table,
            columns,
            properties,
        })
    }

    /// After `.create-or-alter function`: `[with (...)] Name(p:type, ...) { body }`. Scalar
    /// parameters only: tabular parameters and default values are reported as unsupported.
    fn function(&mut self) -> Result<Command, SyntaxError> {
        let properties = self.with_properties()?;
        let name = self.name()?;
        self.punct(TokenKind::LParen)?;
        let mut parameters = Vec::new();
        if !self.eat(&TokenKind::RParen) {
            loop {
                let param = self.name()?;
                self.punct(TokenKind::Colon)?;
                if self.peek() == Some(&TokenKind::LParen) {
                    return Err(self.error(
                        "tabular function parameters are not supported by the sandbox".into(),
                    ));
                }
                let ty = self.scalar_type()?;
                if self.peek() == Some(&TokenKind::Eq) {
                    return Err(self.error(
                        "default parameter values are not supported by the sandbox".into(),
                    ));
                }
                parameters.push(ColumnDecl { name: param, ty });
                if !self.eat(&TokenKind::Comma) {
                    break;
                }
            }
            self.punct(TokenKind::RParen)?;
        }
        let body = match self.peek() {
            Some(TokenKind::Body(text)) => {
                self.pos += 1;
                text.clone()
            }
            _ => return Err(self.expected("'{' to open the function body")),
        };
        Ok(Command::CreateOrAlterFunction {
            name,
            parameters,
            body,
            properties,
        })
    }

    /// After `.create [async] [ifnotexists] materialized-view` (or `.create-or-alter
    /// materialized-view`): `[with (...)] V on table T { query }`.
    fn create_view(
        &mut self,
        is_async: bool,
        if_not_exists: bool,
        or_alter: bool,
    ) -> Result<Command, SyntaxError> {
        let properties = self.with_properties()?;
        let (name, source, source_kind, query) = self.view_definition()?;
        Ok(Command::CreateMaterializedView {
            is_async,
            if_not_exists,
            or_alter,
            name,
            source,
            source_kind,
            query,
            properties,
        })
    }

    /// `V on table T { query }` (or `on materialized-view W`): the view, its source and the
    /// query between the braces.
    fn view_definition(&mut self) -> Result<(String, String, ViewSource, String), SyntaxError> {
        let name = self.name()?;
        self.keyword("on")?;
        let source_kind = match self.one_of(&["table", "materialized-view"])? {
            "table" => ViewSource::Table,
            _ => ViewSource::MaterializedView,
        };
        let source = self.name()?;
        let query = match self.peek() {
            Some(TokenKind::Body(text)) => {
                self.pos += 1;
                text.clone()
            }
            _ => return Err(self.expected("'{' to open the materialized view query")),
        };
        Ok((name, source, source_kind, query))
    }

    /// After `.alter materialized-view`: `V docstring "text"`, `V folder "text"`, or
    /// `[with (...)] V on table T { query }`.
    fn alter_view(&mut self) -> Result<Command, SyntaxError> {
        if !self.peek_keyword("with") {
            let at = self.pos;
            let name = self.name()?;
            if self.eat_keyword("docstring") {
                let value = self.string()?;
                return Ok(Command::AlterMaterializedViewMetadata {
                    name,
                    field: ViewMetadata::DocString,
                    value,
                });
            }
            if self.eat_keyword("folder") {
                let value = self.string()?;
                return Ok(Command::AlterMaterializedViewMetadata {
                    name,
                    field: ViewMetadata::Folder,
                    value,
                });
            }
            self.pos = at;
        }
        let properties = self.with_properties()?;
        let (name, source, source_kind, query) = self.view_definition()?;
        Ok(Command::AlterMaterializedView {
            name,
            source,
            source_kind,
            query,
            properties,
        })
    }

    fn scalar_type(&mut self) -> Result<ColumnType, SyntaxError> {
        match self.peek() {
            Some(TokenKind::Ident(w)) => match ColumnType::from_kql(w) {
                Some(ty) => {
                    self.pos += 1;
                    Ok(ty)
                }
                None => Err(self.error(format!("unknown column type '{w}'"))),
            },
            _ => Err(self.expected("a column type")),
        }
    }

    fn with_properties(&mut self) -> Result<Vec<Property>, SyntaxError> {
        let mut props = Vec::new();
        if !self.eat_keyword("with") {
            return Ok(props);
        }
        self.punct(TokenKind::LParen)?;
        loop {
            let key = match self.peek() {
                Some(TokenKind::Ident(k)) => k.clone(),
                _ => return Err(self.expected("a property name")),
            };
            self.pos += 1;
            self.punct(TokenKind::Eq)?;
            let (value, quoted) = match self.peek() {
                Some(TokenKind::Str(_)) => (self.string()?, true),
                Some(TokenKind::Ident(v) | TokenKind::Number(v)) => {
                    self.pos += 1;
                    (v.clone(), false)
                }
                _ => return Err(self.expected("a property value")),
            };
            props.push(Property { key, value, quoted });
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        self.punct(TokenKind::RParen)?;
        Ok(props)
    }

    fn set_mapping(
        &mut self,
        verb: MappingVerb,
        entity: EntityRef,
    ) -> Result<Command, SyntaxError> {
        let kind = self.mapping_kind()?;
        self.keyword("mapping")?;
        let name = self.string_or_name()?;
        let json = self.string()?;
        Ok(Command::SetMapping {
            verb,
            entity,
            kind,
            name,
            json,
        })
    }

    fn alter(&mut self) -> Result<Command, SyntaxError> {
        if self.eat_keyword("materialized-view") {
            return self.alter_view();
        }
        match self.one_of(&["table", "tables", "database", "column"])? {
            "table" => {
                let table = self.table_ref()?;
                if self.peek() == Some(&TokenKind::LParen) {
                    return self.schema(SchemaVerb::Alter, table);
                }
                match self.one_of(&["docstring", "folder", "policy", "ingestion"])? {
                    "docstring" => Ok(Command::AlterDocString {
                        table,
                        docstring: self.string()?,
                    }),
                    "folder" => Ok(Command::AlterFolder {
                        table,
                        folder: self.string()?,
                    }),
                    "policy" => self.alter_policy(false, PolicyTarget::Tables(vec![table])),
                    _ => self.set_mapping(MappingVerb::Alter, EntityRef::Table(table)),
                }
            }
            "tables" => {
                self.punct(TokenKind::LParen)?;
                let mut tables = vec![self.table_ref()?];
                while self.eat(&TokenKind::Comma) {
                    tables.push(self.table_ref()?);
                }
                self.punct(TokenKind::RParen)?;
                self.keyword("policy")?;
                self.alter_policy(false, PolicyTarget::Tables(tables))
            }
            "database" => {
                let database = self.name()?;
                match self.one_of(&["policy", "ingestion"])? {
                    "policy" => self.alter_policy(false, PolicyTarget::Database(database)),
                    _ => self.set_mapping(MappingVerb::Alter, EntityRef::Database(database)),
                }
            }
            _ => {
                let at = self.pos;
                let mut parts = self.dotted()?;
                let (database, table, column) = match parts.len() {
                    2 => (None, parts.remove(0), parts.remove(0)),
                    3 => (Some(parts.remove(0)), parts.remove(0), parts.remove(0)),
                    _ => {
                        self.pos = at;
                        return Err(self.error("expected [Database.]Table.Column".into()));
                    }
                };
                self.keyword("type")?;
                self.punct(TokenKind::Eq)?;
                let ty = self.scalar_type()?;
                Ok(Command::AlterColumnType {
                    table: TableRef { database, table },
                    column,
                    ty,
                })
            }
        }
    }

    fn alter_merge(&mut self) -> Result<Command, SyntaxError> {
        match self.one_of(&["table", "database"])? {
            "table" => {
                let table = self.table_ref()?;
                if self.eat_keyword("policy") {
                    return self.alter_policy(true, PolicyTarget::Tables(vec![table]));
                }
                self.schema(SchemaVerb::AlterMerge, table)
            }
            _ => {
                let database = self.name()?;
                self.keyword("policy")?;
                self.alter_policy(true, PolicyTarget::Database(database))
            }
        }
    }

    fn alter_policy(&mut self, merge: bool, target: PolicyTarget) -> Result<Command, SyntaxError> {
        let policy = self.policy_kind()?;
        // `policy streamingingestion enable|disable`: the documented shorthand for the policy
        // `{"IsEnabled": true|false}`, common in scripts users write.
        let value = match (policy, self.peek()) {
            (PolicyKind::StreamingIngestion, Some(TokenKind::Ident(w)))
                if w == "enable" || w == "disable" =>
            {
                self.pos += 1;
                PolicyValue::Switch(w == "enable")
            }
            (PolicyKind::Retention, Some(TokenKind::Ident(w))) if w == "softdelete" => {
                self.retention_properties()?
            }
            (PolicyKind::Caching, Some(TokenKind::Ident(_))) => self.caching_properties()?,
            _ => PolicyValue::Json(self.string()?),
        };
        Ok(Command::AlterPolicy {
            merge,
            target,
            policy,
            value,
        })
    }

    /// `softdelete = T [recoverability = enabled|disabled]` (the form `.alter-merge ... policy
    /// retention` takes and the schema script writes).
    fn retention_properties(&mut self) -> Result<PolicyValue, SyntaxError> {
        self.keyword("softdelete")?;
        self.punct(TokenKind::Eq)?;
        let soft_delete = self.timespan_literal()?;
        let mut recoverable = None;
        if self.eat_keyword("recoverability") {
            self.punct(TokenKind::Eq)?;
            recoverable = Some(self.one_of(&["enabled", "disabled"])? == "enabled");
        }
        Ok(PolicyValue::Retention {
            soft_delete,
            recoverable,
        })
    }

    /// `hot = T[, hot_window = datetime(A) .. datetime(B)]...` (or the older `hotdata = T
    /// hotindex = T`).
    fn caching_properties(&mut self) -> Result<PolicyValue, SyntaxError> {
        let (data, index) = match self.one_of(&["hot", "hotdata"])? {
            "hot" => {
                self.punct(TokenKind::Eq)?;
                let hot = self.timespan_literal()?;
                (hot, hot)
            }
            _ => {
                self.punct(TokenKind::Eq)?;
                let data = self.timespan_literal()?;
                self.keyword("hotindex")?;
                self.punct(TokenKind::Eq)?;
                (data, self.timespan_literal()?)
            }
        };
        let mut windows = Vec::new();
        while self.peek() == Some(&TokenKind::Comma) {
            self.pos += 1;
            self.keyword("hot_window")?;
            self.punct(TokenKind::Eq)?;
            let from = self.datetime_literal()?;
            self.punct(TokenKind::Dot)?;
            self.punct(TokenKind::Dot)?;
            let to = self.datetime_literal()?;
            windows.push((from, to));
        }
        Ok(PolicyValue::Caching {
            data,
            index,
            windows,
        })
    }

    /// A timespan literal: `7d`, `12h`, `30m`, `10s`, `100ms` (a number with a unit), or
    /// `time(1.02:03:04)` / `timespan(...)`.
    fn timespan_literal(&mut self) -> Result<crate::model::Timespan, SyntaxError> {
        let at = self.pos;
        let text = match self.peek().cloned() {
            Some(TokenKind::Number(n)) => {
                self.pos += 1;
                n
            }
            Some(TokenKind::Ident(w)) if w == "time" || w == "timespan" => {
                self.pos += 1;
                self.literal_body()?
            }
            _ => return Err(self.error("expected a timespan literal such as 7d".into())),
        };
        crate::model::Timespan::parse(&text).ok_or_else(|| {
            self.pos = at;
            self.error(format!("invalid timespan literal '{text}'"))
        })
    }

    /// `datetime(...)`, normalised to `YYYY-MM-DDTHH:MM:SSZ`.
    fn datetime_literal(&mut self) -> Result<String, SyntaxError> {
        let at = self.pos;
        self.keyword("datetime")?;
        let body = self.literal_body()?;
        crate::model::normalize_instant(&body).ok_or_else(|| {
            self.pos = at;
            self.error(format!("invalid datetime literal '{body}'"))
        })
    }

    /// `( body )` of a typed literal, where the lexer took the body verbatim.
    fn literal_body(&mut self) -> Result<String, SyntaxError> {
        self.punct(TokenKind::LParen)?;
        let body = match self.peek().cloned() {
            Some(TokenKind::LiteralBody(b)) => {
                self.pos += 1;
                b
            }
            _ => return Err(self.error("expected a literal value inside the parentheses".into())),
        };
        self.punct(TokenKind::RParen)?;
        Ok(body)
    }

    fn drop(&mut self) -> Result<Command, SyntaxError> {
        match self.one_of(&[
            "table",
            "column",
            "database",
            "extents",
            "extent",
            "function",
            "materialized-view",
        ])? {
            "extents" | "extent" => self.drop_extents(),
            "materialized-view" => {
                let name = self.name()?;
                let if_exists = self.eat_keyword("ifexists");
                Ok(Command::DropMaterializedView { name, if_exists })
            }
            "function" => {
                let name = self.name()?;
                let if_exists = self.eat_keyword("ifexists");
                Ok(Command::DropFunction { name, if_exists })
            }
            "table" => {
                let table = self.table_ref()?;
                if self.eat_keyword("ingestion") {
                    return self.drop_mapping(EntityRef::Table(table));
                }
                if let Some(role) = self.try_table_role() {
                    return self
                        .principal_list(PrincipalAction::Drop, RoleScope::Table(table, role));
                }
                let if_exists = self.eat_keyword("ifexists");
                Ok(Command::DropTable { table, if_exists })
            }
            "column" => {
                let at = self.pos;
                let mut parts = self.dotted()?;
                if parts.len() != 2 {
                    self.pos = at;
                    return Err(self.error("expected Table.Column".into()));
                }
                let column = parts.remove(1);
                let table = TableRef {
                    database: None,
                    table: parts.remove(0),
                };
                let if_exists = self.eat_keyword("ifexists");
                Ok(Command::DropColumn {
                    table,
                    column,
                    if_exists,
                })
            }
            _ => {
                let database = self.name()?;
                if self.eat_keyword("ingestion") {
                    return self.drop_mapping(EntityRef::Database(database));
                }
                let role = self.database_role()?;
                self.principal_list(PrincipalAction::Drop, RoleScope::Database(database, role))
            }
        }
    }

    /// `[where tags OP 'x' [and tags OP 'y' ...]]` after `.show table T extents`.
    fn tag_filters(&mut self) -> Result<Vec<TagFilter>, SyntaxError> {
        let mut filters = Vec::new();
        if !self.eat_keyword("where") {
            return Ok(filters);
        }
        loop {
            self.keyword("tags")?;
            let negated = self.eat(&TokenKind::Bang);
            let op = match (self.one_of(&["has", "contains"])?, negated) {
                ("has", false) => TagOp::Has,
                ("has", true) => TagOp::NotHas,
                (_, false) => TagOp::Contains,
                (_, true) => TagOp::NotContains,
            };
            filters.push(TagFilter {
                op,
                tag: self.string()?,
            });
            if !self.eat_keyword("and") {
                return Ok(filters);
            }
        }
    }

    /// After `.drop extents` / `.drop extent`: `[whatif] <| .show table T extents ...`,
    /// `(id, ...) from T`, `id from T` or `from T`.
    fn drop_extents(&mut self) -> Result<Command, SyntaxError> {
        let what_if = self.eat_keyword("whatif");
        if self.eat(&TokenKind::ScriptArrow) {
            let at = self.pos;
            return match self.command()? {
                Command::ShowExtents { table, tags } => Ok(Command::DropExtents {
                    table,
                    selection: if tags.is_empty() {
                        ExtentSelection::All
                    } else {
                        ExtentSelection::Tags(tags)
                    },
                    what_if,
                }),
                _ => {
                    self.pos = at;
                    Err(self.error(
                        "the query after '.drop extents <|' must be '.show table T extents [where tags ...]'"
                            .into(),
                    ))
                }
            };
        }
        let selection = if self.eat_keyword("from") {
            ExtentSelection::All
        } else {
            let mut ids = Vec::new();
            if self.eat(&TokenKind::LParen) {
                loop {
                    ids.push(self.extent_id()?);
                    if !self.eat(&TokenKind::Comma) {
                        break;
                    }
                }
                self.punct(TokenKind::RParen)?;
            } else {
                ids.push(self.extent_id()?);
            }
            self.keyword("from")?;
            ExtentSelection::Ids(ids)
        };
        let table = self.table_ref()?;
        Ok(Command::DropExtents {
            table,
            selection,
            what_if,
        })
    }

    /// An extent id: a GUID, bare or quoted.
    fn extent_id(&mut self) -> Result<String, SyntaxError> {
        match self.peek() {
            Some(TokenKind::Ident(s) | TokenKind::Str(s)) if uuid::Uuid::parse_str(s).is_ok() => {
                self.pos += 1;
                Ok(s.to_ascii_lowercase())
            }
            _ => Err(self.expected("an extent id (a GUID)")),
        }
    }

    /// Whether the command continues `table NAME WORD2` (`.delete table T records` as opposed
    /// to `.delete table T policy ...`).
    fn peek_keyword_pair(&self, first: &str, third: &str) -> bool {
        let word = |at: usize, want: &str| matches!(self.toks.get(at).map(|t| &t.kind), Some(TokenKind::Ident(w)) if w == want);
        word(self.pos, first) && word(self.pos + 2, third)
    }

    /// `.delete table T records [with (whatif=true)] <| query`: the query is kept verbatim
    /// (the engine parses and checks it against the table).
    fn delete_records(&mut self) -> Result<Command, SyntaxError> {
        self.keyword("table")?;
        let table = self.table_ref()?;
        self.keyword("records")?;
        let mut what_if = false;
        for p in self.with_properties()? {
            if p.key.eq_ignore_ascii_case("whatif") {
                what_if = match p.value.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(self.error("'whatif' must be true or false".into())),
                };
            } else {
                return Err(self.error(format!(
                    "unsupported property '{}' of '.delete table records' (only 'whatif')",
                    p.key
                )));
            }
        }
        self.punct(TokenKind::ScriptArrow)?;
        let (Some(first), Some(last)) = (self.toks.get(self.pos), self.toks.last()) else {
            return Err(self.expected("a predicate query after '<|'"));
        };
        let predicate = self.src[first.start..last.end].to_string();
        self.pos = self.toks.len();
        Ok(Command::DeleteRecords {
            table,
            what_if,
            predicate,
        })
    }

    /// `.ingest inline into table T [with (...)] <| data`; the lexer stopped after `<|`.
    fn ingest_inline(&mut self) -> Result<Command, SyntaxError> {
        self.keyword("inline")?;
        self.keyword("into")?;
        self.keyword("table")?;
        let table = self.table_ref()?;
        let properties = self.with_properties()?;
        self.punct(TokenKind::ScriptArrow)?;
        let Some(data) = self.inline_data else {
            return Err(self.error(
                "'.ingest inline' must be sent on its own, with its data after '<|' (not inside a script)"
                    .into(),
            ));
        };
        Ok(Command::IngestInline {
            table,
            properties,
            data: data.to_string(),
        })
    }

    /// `.rename table Old to New`, `.rename tables New=Old [ifexists], ...` or `.rename column
    /// [Db.]T.Old to New`. Table names are never database-qualified (the docs: the command works
    /// on the database in scope only), so a dot after one is a syntax error; a column is named
    /// through its table, optionally database-qualified, and its new name is a plain name.
    fn rename(&mut self) -> Result<Command, SyntaxError> {
        match self.one_of(&["table", "tables", "column", "materialized-view"])? {
            "materialized-view" => {
                let from = self.name()?;
                self.keyword("to")?;
                let to = self.name()?;
                Ok(Command::RenameMaterializedView { from, to })
            }
            "column" => {
                let at = self.pos;
                let mut parts = self.dotted()?;
                let (database, table, from) = match parts.len() {
                    2 => (None, parts.remove(0), parts.remove(0)),
                    3 => (Some(parts.remove(0)), parts.remove(0), parts.remove(0)),
                    _ => {
                        self.pos = at;
                        return Err(self.error("expected [Database.]Table.Column".into()));
                    }
                };
                self.keyword("to")?;
                let to = self.name()?;
                Ok(Command::RenameColumn {
                    table: TableRef { database, table },
                    from,
                    to,
                })
            }
            "table" => {
                let from = self.name()?;
                self.keyword("to")?;
                let to = self.name()?;
                Ok(Command::RenameTable { from, to })
            }
            _ => {
                let mut renames = Vec::new();
                loop {
                    let to = self.name()?;
                    self.punct(TokenKind::Eq)?;
                    let from = self.name()?;
                    let if_exists = self.eat_keyword("ifexists");
                    renames.push(TableRename {
                        to,
                        from,
                        if_exists,
                    });
                    if !self.eat(&TokenKind::Comma) {
                        break;
                    }
                }
                Ok(Command::RenameTables { renames })
            }
        }
    }

    fn drop_mapping(&mut self, entity: EntityRef) -> Result<Command, SyntaxError> {
        let kind = self.mapping_kind()?;
        self.keyword("mapping")?;
        let name = self.string_or_name()?;
        Ok(Command::DropMapping { entity, kind, name })
    }

    fn try_table_role(&mut self) -> Option<TableRole> {
        let role = match self.peek() {
            Some(TokenKind::Ident(w)) => TableRole::from_keyword(w)?,
            _ => return None,
        };
        self.pos += 1;
        Some(role)
    }

    fn database_role(&mut self) -> Result<DatabaseRole, SyntaxError> {
        if let Some(TokenKind::Ident(w)) = self.peek()
            && let Some(role) = DatabaseRole::from_keyword(w)
        {
            self.pos += 1;
            return Ok(role);
        }
        Err(self.expected(
            "a database role (admins, users, viewers, unrestrictedviewers, ingestors, monitors)",
        ))
    }

    fn principals(&mut self, action: PrincipalAction) -> Result<Command, SyntaxError> {
        let scope = match self.one_of(&["database", "table"])? {
            "database" => {
                let database = self.name()?;
                RoleScope::Database(database, self.database_role()?)
            }
            _ => {
                let table = self.table_ref()?;
                match self.try_table_role() {
                    Some(role) => RoleScope::Table(table, role),
                    None => return Err(self.expected("a table role (admins, ingestors)")),
                }
            }
        };
        self.principal_list(action, scope)
    }

    fn principal_list(
        &mut self,
        action: PrincipalAction,
        scope: RoleScope,
    ) -> Result<Command, SyntaxError> {
        let mut principals = Vec::new();
        if action == PrincipalAction::Set && self.eat_keyword("none") {
            // `.set ... none` clears the role.
        } else {
            self.punct(TokenKind::LParen)?;
            loop {
                principals.push(self.string()?);
                if !self.eat(&TokenKind::Comma) {
                    break;
                }
            }
            self.punct(TokenKind::RParen)?;
        }
        let skip_results = self.eat_keyword("skip-results");
        let notes = match self.peek() {
            Some(TokenKind::Str(_)) => Some(self.string()?),
            _ => None,
        };
        Ok(Command::Principals {
            action,
            scope,
            principals,
            skip_results,
            notes,
        })
    }

    fn execute(&mut self) -> Result<Command, SyntaxError> {
        self.keyword("database")?;
        self.keyword("script")?;
        let mut continue_on_errors = false;
        let mut throw_on_errors = false;
        for (key, flag) in
            self.bool_properties(&["ContinueOnErrors", "ThrowOnErrors"], "script property")?
        {
            match key {
                "ContinueOnErrors" => continue_on_errors = flag,
                _ => throw_on_errors = flag,
            }
        }
        self.punct(TokenKind::ScriptArrow)?;
        let commands = self.script_commands()?;
        Ok(Command::ExecuteScript {
            continue_on_errors,
            throw_on_errors,
            commands,
        })
    }

    /// `with (Key = true|false, ...)` where every key is one of `known` (matched without regard
    /// to case; returned in `known`'s spelling). `what` names the options in errors.
    fn bool_properties(
        &mut self,
        known: &[&'static str],
        what: &str,
    ) -> Result<Vec<(&'static str, bool)>, SyntaxError> {
        let props_at = self.pos;
        let mut out = Vec::new();
        for prop in self.with_properties()? {
            let flag = match prop.value.to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    self.pos = props_at;
                    return Err(self.error(format!(
                        "property '{}' expects true or false, got '{}'",
                        prop.key, prop.value
                    )));
                }
            };
            match known.iter().find(|k| k.eq_ignore_ascii_case(&prop.key)) {
                Some(key) => out.push((*key, flag)),
                None => {
                    self.pos = props_at;
                    return Err(self.error(format!("unknown {what} '{}'", prop.key)));
                }
            }
        }
        Ok(out)
    }

    /// The documented options of `.show database DB schema as csl script`.
    fn schema_script_options(&mut self) -> Result<SchemaScriptOptions, SyntaxError> {
        let mut options = SchemaScriptOptions::default();
        for (key, flag) in self.bool_properties(
            &[
                "IncludeEncodingPolicies",
                "IncludeSecuritySettings",
                "IncludeIngestionMappings",
                "ShowObfuscatedStrings",
            ],
            "schema script option",
        )? {
            match key {
                "IncludeEncodingPolicies" => options.include_encoding_policies = flag,
                "IncludeSecuritySettings" => options.include_security_settings = flag,
                "IncludeIngestionMappings" => options.include_ingestion_mappings = flag,
                // Accepted as documented; kustoplan holds no credentials to obfuscate.
                _ => {}
            }
        }
        Ok(options)
    }

    /// Splits the rest of the tokens into commands: each starts with a `.verb` that begins
    /// its line (or directly follows `<|`), and runs until the next one.
    fn script_commands(&mut self) -> Result<Vec<ScriptCommand>, SyntaxError> {
        let rest = &self.toks[self.pos..];
        if rest.is_empty() {
            return Err(self.expected("at least one command after '<|'"));
        }
        let mut starts = Vec::new();
        for (i, tok) in rest.iter().enumerate() {
            if matches!(tok.kind, TokenKind::Command(_)) && (tok.line_start || i == 0) {
                starts.push(i);
            }
        }
        if starts.first() != Some(&0) {
            return Err(self.expected("a control command after '<|'"));
        }
        let mut commands = Vec::with_capacity(starts.len());
        for (n, &from) in starts.iter().enumerate() {
            let to = starts.get(n + 1).copied().unwrap_or(rest.len());
            let group = &rest[from..to];
            let text = self.src[group[0].start..group[group.len() - 1].end].to_string();
            let command = parse_one(self.src, group)?;
            commands.push(ScriptCommand { text, command });
        }
        self.pos = self.toks.len();
        Ok(commands)
    }
}

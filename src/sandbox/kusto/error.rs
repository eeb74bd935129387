//! Errors the sandbox answers with, shaped like the real service's.
//!
//! Clients (ours and Microsoft's SDKs) branch on HTTP status, `code`, `@type` and
//! `@permanent`, so each constructor reproduces one real failure class rather than a
//! generic error.

use serde_json::{Map, Value, json};

use crate::kusto::command::SyntaxError;
use crate::kusto::v1::{ErrorBody, ErrorEnvelope};

const INVALID_REQUEST: &str = "Request is invalid and cannot be executed.";
const BAD_REQUEST_TYPE: &str = "Kusto.Data.Exceptions.KustoBadRequestException";
/// `@type` of failures of the HTTP request itself (auth, endpoint, method, body).
const REQUEST_TYPE: &str = "Kusto.Data.Exceptions.KustoRequestException";

/// A failed command, with everything needed to render the service's error response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {detail}")]
pub struct KustoError {
    /// HTTP status.
    pub status: u16,
    /// `code` field.
    pub code: String,
    /// `message` field.
    pub message: String,
    /// `@type` field.
    pub exception_type: String,
    /// `@message` field: the specific reason.
    pub detail: String,
    /// `@permanent` field: false means a retry may succeed.
    pub permanent: bool,
    /// `innererror`: the specific exception of a failed query (semantic or syntax error).
    pub inner: Option<Box<InnerError>>,
}

/// The `innererror` of a query failure, as the v2 response docs show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerError {
    /// `code`, e.g. `SEM0100` or `SYN0002`.
    pub code: String,
    /// `message`: the error without its kind prefix.
    pub message: String,
    /// `@type`, e.g. `Kusto.Data.Exceptions.SemanticException`.
    pub exception_type: String,
    /// `@message`: the message with its kind prefix (`Semantic error: ...`).
    pub detail: String,
}

/// Prefix of the `@message` of failed queries.
const QUERY_FAILED: &str = "Request is invalid and cannot be processed";

impl KustoError {
    fn new(
        status: u16,
        code: &str,
        message: &str,
        exception_type: &str,
        detail: String,
        permanent: bool,
    ) -> Self {
        KustoError {
            status,
            code: code.into(),
            message: message.into(),
            exception_type: exception_type.into(),
            detail,
            permanent,
            inner: None,
        }
    }

    /// Ingestion of bad data or with a bad mapping or format: 400 with the documented
    /// ingestion error code (`Stream_WrongNumberOfFields`, `BadRequest_InvalidBlob`, ...).
    pub fn ingestion(code: &str, detail: impl Into<String>) -> Self {
        Self::new(
            400,
            code,
            INVALID_REQUEST,
            BAD_REQUEST_TYPE,
            detail.into(),
            true,
        )
    }

    /// A queued ingestion failure that a retry may cure (storage unreachable or failing):
    /// reported as `Transient`.
    pub fn transient_ingestion(code: &str, detail: impl Into<String>) -> Self {
        Self::new(
            503,
            code,
            INVALID_REQUEST,
            BAD_REQUEST_TYPE,
            detail.into(),
            false,
        )
    }

    /// Streaming ingestion into a table whose (table or database) streaming ingestion policy
    /// is not enabled.
    pub fn streaming_disabled(database: &str, table: &str) -> Self {
        Self::new(
            400,
            "BadRequest_StreamingIngestionPolicyNotEnabled",
            INVALID_REQUEST,
            "Kusto.DataNode.Exceptions.StreamingIngestionPolicyNotEnabledException",
            format!(
                "Streaming ingestion policy is not enabled for the table '{table}' in database '{database}'; enable it with '.alter table {table} policy streamingingestion enable' (or on the database)."
            ),
            true,
        )
    }

    /// A query that names something that does not exist or mixes types: `General_BadRequest`
    /// with a `SemanticException` inner error. `code` is the service's `SEMxxxx` code.
    pub fn query_semantic(code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let detail = format!("Semantic error: {code}: {message}");
        Self::query_failure(InnerError {
            code: code.into(),
            message,
            exception_type: "Kusto.Data.Exceptions.SemanticException".into(),
            detail,
        })
    }

    /// A query that does not parse: `General_BadRequest` with a `SyntaxException` inner error.
    pub fn query_syntax(e: &SyntaxError) -> Self {
        Self::query_failure(InnerError {
            code: "SYN0002".into(),
            message: e.message.clone(),
            exception_type: "Kusto.Data.Exceptions.SyntaxException".into(),
            detail: e.to_string(),
        })
    }

    /// A valid query outside the subset the sandbox evaluates: refused in the same shape,
    /// never answered approximately.
    pub fn query_unsupported(what: impl std::fmt::Display) -> Self {
        let message = format!(
            "{what} is not supported by the kustoplan sandbox, which evaluates only 'T', '| where' (==, !=, <, <=, >, >= between a column or ingestion_time() and a literal, with and/or), '| take'/'| limit', '| count' and '| summarize' with count(), min() and max()"
        );
        Self::query_failure(InnerError {
            code: "General_BadRequest".into(),
            message: message.clone(),
            exception_type: BAD_REQUEST_TYPE.into(),
            detail: message,
        })
    }

    /// A query `| getschema` cannot type: refused in the same shape as other unsupported
    /// queries, saying what it types.
    pub fn getschema_unsupported(what: impl std::fmt::Display) -> Self {
        let message = format!(
            "{what} is not supported by the kustoplan sandbox's getschema, which types table references, functions without parameters (stored or 'let'), '| where', '| take', '| project', '| project-away', '| project-rename' and '| extend' with columns, literals, dynamic paths and casts"
        );
        Self::query_failure(InnerError {
            code: "General_BadRequest".into(),
            message: message.clone(),
            exception_type: BAD_REQUEST_TYPE.into(),
            detail: message,
        })
    }

    fn query_failure(inner: InnerError) -> Self {
        let mut e = Self::new(
            400,
            "General_BadRequest",
            INVALID_REQUEST,
            BAD_REQUEST_TYPE,
            format!("{QUERY_FAILED}: {}", inner.detail),
            true,
        );
        e.inner = Some(Box::new(inner));
        e
    }

    /// A request whose data is over a size limit (413), with the specific reason.
    pub fn payload_too_large_detail(detail: impl Into<String>) -> Self {
        Self::new(
            413,
            "PayloadTooLarge",
            "Request payload exceeded limits.",
            REQUEST_TYPE,
            detail.into(),
            true,
        )
    }

    /// Unparseable or unsupported command text.
    pub fn syntax(e: &SyntaxError) -> Self {
        Self::new(
            400,
            "BadRequest",
            INVALID_REQUEST,
            "Kusto.Data.Exceptions.SyntaxException",
            e.to_string(),
            true,
        )
    }

    /// A request that parsed but is semantically invalid (bad JSON, out-of-range value, ...).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            400,
            "BadRequest",
            INVALID_REQUEST,
            BAD_REQUEST_TYPE,
            detail.into(),
            true,
        )
    }

    /// A database that does not exist: the service answers 404 for databases.
    pub fn database_not_found(name: &str) -> Self {
        let text = format!("Entity name '{name}' of kind 'Database' does not exist.");
        Self::new(
            404,
            "NotFound",
            &text,
            "Kusto.Common.Svc.Exceptions.EntityNameDoesNotExistException",
            text.clone(),
            true,
        )
    }

    /// A missing entity inside a database (table, column, mapping): 400 `BadRequest_EntityNotFound`.
    pub fn entity_not_found(kind: &str, name: &str) -> Self {
        Self::new(
            400,
            "BadRequest_EntityNotFound",
            INVALID_REQUEST,
            "Kusto.Data.Exceptions.EntityNotFoundException",
            format!("Entity ID '{name}' of kind '{kind}' was not found."),
            true,
        )
    }

    /// Creating something that already exists where Kusto refuses to (`.create ... mapping`).
    pub fn already_exists(kind: &str, name: &str) -> Self {
        Self::new(
            400,
            "BadRequest_EntityAlreadyExists",
            INVALID_REQUEST,
            "Kusto.Data.Exceptions.EntityAlreadyExistsException",
            format!("Entity '{name}' of kind '{kind}' already exists."),
            true,
        )
    }

    /// The caller lacks the role the command needs (`action` is `read` or `write`).
    pub fn forbidden(principal: &str, action: &str, database: &str) -> Self {
        Self::new(
            403,
            "Forbidden",
            "Caller is not authorized to perform this action",
            "Kusto.DataNode.Exceptions.UnauthorizedDatabaseAccessException",
            format!("Principal '{principal}' is not authorized to {action} database '{database}'."),
            true,
        )
    }

    /// Injected throttling (HTTP 429); transient.
    pub fn throttled() -> Self {
        Self::new(
            429,
            "TooManyRequests",
            "Request is denied due to throttling.",
            "Kusto.DataNode.Exceptions.ControlCommandThrottledException",
            "The control command was aborted due to throttling. Retrying after some backoff might succeed.".into(),
            false,
        )
    }

    /// Injected unavailability (HTTP 503); transient.
    pub fn unavailable() -> Self {
        Self::new(
            503,
            "ServiceUnavailable",
            "Service is unavailable.",
            "Kusto.Common.Svc.Exceptions.ServiceUnavailableException",
            "The service is temporarily unavailable. Retrying after some backoff might succeed."
                .into(),
            false,
        )
    }

    /// A request without an accepted bearer token (`sandbox serve --token-file`).
    pub fn unauthorized() -> Self {
        Self::new(
            401,
            "Unauthorized",
            "Client needs to authenticate first.",
            REQUEST_TYPE,
            "The request has no valid 'Authorization: Bearer' token.".into(),
            true,
        )
    }

    /// A path the service does not serve.
    pub fn endpoint_not_found(method: &str, path: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            "Request references a non-existing entity.",
            REQUEST_TYPE,
            format!(
                "There is no endpoint '{method} {path}'; the service answers POST /v1/rest/mgmt, /v1/rest/query, /v2/rest/query and /v1/rest/ingest/DATABASE/TABLE."
            ),
            true,
        )
    }

    /// A served path called with the wrong HTTP method.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "The HTTP method is not allowed for this endpoint.",
            REQUEST_TYPE,
            format!("Method '{method}' is not allowed on '{path}'."),
            true,
        )
    }

    /// The request body did not arrive in time; the client may retry.
    pub fn body_timeout(after: std::time::Duration) -> Self {
        Self::new(
            408,
            "RequestTimeout",
            "The request body was not received in time.",
            REQUEST_TYPE,
            format!(
                "The request body did not arrive within {} ms.",
                after.as_millis()
            ),
            false,
        )
    }

    /// A request body over the size limit (413, as the service documents).
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            413,
            "PayloadTooLarge",
            "Request payload exceeded limits.",
            REQUEST_TYPE,
            format!("The request body is larger than {limit} bytes."),
            true,
        )
    }

    /// The sandbox itself failed (for example it could not persist state); transient.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(
            500,
            "InternalServiceError",
            "An internal error occurred while processing the request.",
            "Kusto.Data.Exceptions.KustoServiceException",
            detail.into(),
            false,
        )
    }

    /// The JSON body `{"error":{...}}`; `context` becomes `@context` when non-empty.
    pub fn to_envelope(&self, context: Map<String, Value>) -> ErrorEnvelope {
        let mut extra = Map::new();
        if !context.is_empty() {
            extra.insert("@context".into(), Value::Object(context));
        }
        if let Some(inner) = &self.inner {
            extra.insert(
                "innererror".into(),
                json!({
                    "code": inner.code,
                    "message": inner.message,
                    "@type": inner.exception_type,
                    "@message": inner.detail,
                    "@permanent": self.permanent,
                    "@errorCode": inner.code,
                    "@errorMessage": inner.message,
                }),
            );
        }
        ErrorEnvelope {
            error: ErrorBody {
                code: self.code.clone(),
                message: self.message.clone(),
                exception_type: Some(self.exception_type.clone()),
                detail: Some(self.detail.clone()),
                permanent: Some(self.permanent),
                extra,
            },
        }
    }
}

//! Errors the sandbox answers with, shaped like the real service's.
//!
//! Clients (ours and Microsoft's SDKs) branch on HTTP status, `code`, `@type` and
//! `@permanent`, so each constructor reproduces one real failure class rather than a
//! generic error.

use serde_json::{Map, Value};

use crate::kusto::command::SyntaxError;
use crate::kusto::v1::{ErrorBody, ErrorEnvelope};

const INVALID_REQUEST: &str = "Request is invalid and cannot be executed.";
const BAD_REQUEST_TYPE: &str = "Kusto.Data.Exceptions.KustoBadRequestException";

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
}

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
        }
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

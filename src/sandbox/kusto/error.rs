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
                "There is no endpoint '{method} {path}'; the service answers POST /v1/rest/mgmt and POST /v1/rest/query."
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

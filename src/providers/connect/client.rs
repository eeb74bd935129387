//! The HTTP client for the Kafka Connect REST API.
//!
//! One place implements what users rely on for every Connect call: a per-request timeout,
//! an `X-Request-Id: kustoplan-<uuid>` header (logged, and quoted in errors), optional basic
//! auth with the password taken from an environment variable, and bounded retries with
//! backoff for 5xx, 429, connection failures, timeouts and **409 Conflict**, which Connect
//! answers while the workers rebalance ("Cannot complete request momentarily due to stale
//! configuration"). Every Connect write kustoplan sends is idempotent (PUT config, pause,
//! resume, stop, restart, delete), so a lost response is retried like any transient failure.
//! Secrets in configs, error messages and task traces are masked ([`Masker`]).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;

use super::error::ConnectClientError;
use super::http::HttpConnect;
use super::mask::{MASK, Masker};
use super::request::Answer;
use super::rest::ConnectBackend;
use super::types::{
    ConnectorInfo, ConnectorStatus, ExpandedConnector, PluginInfo, PutAction, PutOutcome,
    RawValidation, RestartOutcome, ServerInfo, SinkOffsets, StatusOnly, ValidationReport,
};
use crate::providers::retry::RetryPolicy;

/// Prefix of every request id, and the `User-Agent` product.
pub const APP_NAME: &str = "kustoplan";

/// The base URL a [`ConnectClient::local`] client reports (never contacted).
pub const LOCAL_BASE: &str = "http://in-process.kustoplan.local";

/// Header carrying the client request id.
pub const REQUEST_ID_HEADER: &str = "X-Request-Id";

/// Basic-auth credentials for a Connect REST API behind `BasicAuthSecurityRestExtension` or a
/// proxy. The password is read from an environment variable so it never sits in a manifest,
/// and `Debug` does not show it.
#[derive(Clone)]
pub struct BasicAuth {
    /// User name.
    pub username: String,
    pub(super) password: String,
}

impl BasicAuth {
    /// Reads the password from `password_env`; fails with a message naming the variable
    /// when it is unset.
    pub fn from_env(
        username: impl Into<String>,
        password_env: &str,
    ) -> Result<Self, ConnectClientError> {
        let password =
            std::env::var(password_env).map_err(|_| ConnectClientError::MissingCredential {
                variable: password_env.to_string(),
            })?;
        Ok(BasicAuth {
            username: username.into(),
            password,
        })
    }

    /// Credentials given directly (tests, or a caller that resolved the secret itself).
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        BasicAuth {
            username: username.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &MASK)
            .finish()
    }
}

/// Timeouts and retry bounds. The defaults allow a rebalance (usually seconds, up to
/// `scheduled.rebalance.max.delay.ms` when a worker left) to finish within one apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectClientOptions {
    /// Time allowed to open a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Time allowed for one attempt, from sending to reading the whole response. Connect's
    /// own request timeout is 90 s; validation of a large config can take a while.
    pub request_timeout: Duration,
    /// When and how often to retry.
    pub retry: RetryPolicy,
}

impl Default for ConnectClientOptions {
    fn default() -> Self {
        ConnectClientOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(95),
            retry: RetryPolicy {
                max_attempts: 8,
                initial_backoff: Duration::from_millis(500),
                max_backoff: Duration::from_secs(15),
                max_elapsed: Duration::from_secs(300),
                max_retry_after: Duration::from_secs(60),
            },
        }
    }
}

/// The typed Connect REST API over any [`ConnectBackend`]: a worker's endpoint
/// ([`ConnectClient::new`]) or a REST API in this process ([`ConnectClient::local`]). Cheap to
/// clone (connections and the set of learnt secrets are shared). Observe and apply are written
/// once against it, so retries, typed parsing and masking are the same for every backend.
#[derive(Clone)]
pub struct ConnectClient {
    base: Url,
    pub(super) options: ConnectClientOptions,
    masker: Arc<Mutex<Masker>>,
    /// Who answers the requests.
    pub(super) backend: Arc<dyn ConnectBackend>,
}

impl fmt::Debug for ConnectClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectClient")
            .field("base", &self.base.as_str())
            .field("options", &self.options)
            .field("in_process", &self.backend.in_process())
            .finish_non_exhaustive()
    }
}

fn lock(m: &Mutex<Masker>) -> MutexGuard<'_, Masker> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ConnectClient {
    /// A client for the worker REST endpoint `base_url` (`http://connect:8083`, or the
    /// sandbox's `http://127.0.0.1:PORT`). No request is sent until a method is called.
    pub fn new(
        base_url: &str,
        auth: Option<BasicAuth>,
        options: ConnectClientOptions,
    ) -> Result<Self, ConnectClientError> {
        let invalid = |reason: &str| ConnectClientError::InvalidUrl {
            url: without_userinfo(base_url),
            reason: reason.to_string(),
        };
        let trimmed = base_url.trim().trim_end_matches('/');
        let base = Url::parse(&format!("{trimmed}/")).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if base.host_str().is_none() {
            return Err(invalid("the URL has no host"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(invalid("the URL must not have a query or fragment"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(invalid(
                "credentials must not be part of the URL: use basic auth with a password \
                 environment variable",
            ));
        }
        let backend = HttpConnect::new(base.clone(), auth, &options)?;
        Ok(Self::over(base, options, Arc::new(backend)))
    }

    /// A client whose requests `backend` answers in this process (the built-in sandbox: the
    /// README's main job, with no external service): the same typed methods, requests and
    /// parsing as over the network.
    pub fn local(backend: Arc<dyn ConnectBackend>) -> Result<Self, ConnectClientError> {
        let base = Url::parse(LOCAL_BASE).map_err(|e| ConnectClientError::InvalidUrl {
            url: LOCAL_BASE.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Self::over(base, ConnectClientOptions::default(), backend))
    }

    /// A client of `backend`, which knows nothing of any secret yet.
    fn over(base: Url, options: ConnectClientOptions, backend: Arc<dyn ConnectBackend>) -> Self {
        ConnectClient {
            base,
            options,
            masker: Arc::new(Mutex::new(Masker::default())),
            backend,
        }
    }

    /// The base URL, with a trailing slash.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// Masks `text` with every secret this client has seen (configs sent or read) and
    /// every secret-looking `key=value` pair: for callers that print Connect-provided text.
    pub fn mask_text(&self, text: &str) -> String {
        lock(&self.masker).mask_text(text)
    }

    /// `config` with secret values masked, including keys validate declared `PASSWORD`.
    pub fn mask_config(&self, config: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        lock(&self.masker).mask_config(config)
    }

    /// `GET /`: the worker's version and Kafka cluster id.
    pub async fn server_info(&self) -> Result<ServerInfo, ConnectClientError> {
        let answer = self.send(Method::GET, &[], &[], None).await?;
        self.parse(&answer, "GET /")
    }

    /// `GET /connector-plugins`: installed connector plugins.
    pub async fn plugins(&self) -> Result<Vec<PluginInfo>, ConnectClientError> {
        let answer = self
            .send(Method::GET, &["connector-plugins"], &[], None)
            .await?;
        self.parse(&answer, "GET /connector-plugins")
    }

    /// `GET /connectors?expand=status&expand=info`: every connector's config, tasks, type,
    /// connector state and task states (with traces, secrets masked), in ONE request
    /// whatever the number of connectors, so observe has a constant cost.
    pub async fn list_expanded(
        &self,
    ) -> Result<BTreeMap<String, ExpandedConnector>, ConnectClientError> {
        let query = [("expand", "status"), ("expand", "info")];
        let answer = self
            .send(Method::GET, &["connectors"], &query, None)
            .await?;
        let mut list: BTreeMap<String, ExpandedConnector> =
            self.parse(&answer, "GET /connectors?expand=status&expand=info")?;
        {
            let mut masker = lock(&self.masker);
            for entry in list.values() {
                masker.learn(entry.info.config.expose());
            }
        }
        for entry in list.values_mut() {
            self.mask_status(&mut entry.status);
        }
        Ok(list)
    }

    /// `GET /connectors?expand=status`: every connector's connector and task states (traces
    /// masked) in ONE request, so waiting for many connectors costs a request per round
    /// instead of one per connector.
    pub async fn list_statuses(
        &self,
    ) -> Result<BTreeMap<String, ConnectorStatus>, ConnectClientError> {
        let answer = self
            .send(Method::GET, &["connectors"], &[("expand", "status")], None)
            .await?;
        let list: BTreeMap<String, StatusOnly> =
            self.parse(&answer, "GET /connectors?expand=status")?;
        Ok(list
            .into_iter()
            .map(|(name, entry)| {
                let mut status = entry.status;
                self.mask_status(&mut status);
                (name, status)
            })
            .collect())
    }

    /// `PUT /connector-plugins/{class}/config/validate`: Connect's verdict on `config`
    /// without writing anything. Keys declared `PASSWORD` are remembered and masked from
    /// then on. Include `name` in `config`: Connect reports it missing otherwise (it is a
    /// required framework key even though `PUT /connectors/{name}/config` adds it itself).
    pub async fn validate(
        &self,
        class: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<ValidationReport, ConnectClientError> {
        lock(&self.masker).learn(config);
        let body = json_body(config);
        let answer = self
            .send(
                Method::PUT,
                &["connector-plugins", class, "config", "validate"],
                &[],
                Some(body),
            )
            .await?;
        let raw: RawValidation =
            self.parse(&answer, "PUT /connector-plugins/CLASS/config/validate")?;
        Ok(ValidationReport::from_raw(raw, &mut lock(&self.masker)))
    }

    /// `PUT /connectors/{name}/config`: creates (201) or updates (200) the connector.
    pub async fn put_config(
        &self,
        name: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<PutOutcome, ConnectClientError> {
        lock(&self.masker).learn(config);
        let answer = self
            .send(
                Method::PUT,
                &["connectors", name, "config"],
                &[],
                Some(json_body(config)),
            )
            .await?;
        let info: ConnectorInfo = self.parse(&answer, "PUT /connectors/NAME/config")?;
        let action = if answer.status == StatusCode::CREATED {
            PutAction::Created
        } else {
            PutAction::Updated
        };
        Ok(PutOutcome { action, info })
    }

    /// `POST /connectors` with `initial_state` (KIP-980, Connect 3.7+): creates the connector in
    /// that state; 409 when it exists.
    pub async fn create(
        &self,
        name: &str,
        config: &BTreeMap<String, String>,
        initial_state: crate::model::connect::RunState,
    ) -> Result<ConnectorInfo, ConnectClientError> {
        lock(&self.masker).learn(config);
        let initial_state = match initial_state {
            crate::model::connect::RunState::Running => "RUNNING",
            crate::model::connect::RunState::Paused => "PAUSED",
            crate::model::connect::RunState::Stopped => "STOPPED",
        };
        let body = serde_json::json!({
            "name": name,
            "config": json_object(config),
            "initial_state": initial_state,
        });
        let answer = self
            .send(
                Method::POST,
                &["connectors"],
                &[],
                Some(body.to_string().into_bytes()),
            )
            .await?;
        self.parse(&answer, "POST /connectors")
    }

    /// `GET /connectors/{name}`: config, tasks and type of one connector.
    pub async fn connector(&self, name: &str) -> Result<ConnectorInfo, ConnectClientError> {
        let answer = self
            .send(Method::GET, &["connectors", name], &[], None)
            .await?;
        let info: ConnectorInfo = self.parse(&answer, "GET /connectors/NAME")?;
        lock(&self.masker).learn(info.config.expose());
        Ok(info)
    }

    /// `GET /connectors/{name}/status`: connector and task states. Traces are masked with
    /// the secrets this client has seen (configs sent or listed) and secret-looking
    /// `key=value` pairs; call [`ConnectClient::list_expanded`] first to mask secrets the
    /// client did not send itself.
    pub async fn status(&self, name: &str) -> Result<ConnectorStatus, ConnectClientError> {
        let answer = self
            .send(Method::GET, &["connectors", name, "status"], &[], None)
            .await?;
        let mut status: ConnectorStatus = self.parse(&answer, "GET /connectors/NAME/status")?;
        self.mask_status(&mut status);
        Ok(status)
    }

    /// `PUT /connectors/{name}/pause` (202): tasks stay assigned but stop consuming.
    pub async fn pause(&self, name: &str) -> Result<(), ConnectClientError> {
        self.send(Method::PUT, &["connectors", name, "pause"], &[], None)
            .await
            .map(drop)
    }

    /// `PUT /connectors/{name}/resume` (202): from `PAUSED` or `STOPPED` back to `RUNNING`.
    pub async fn resume(&self, name: &str) -> Result<(), ConnectClientError> {
        self.send(Method::PUT, &["connectors", name, "resume"], &[], None)
            .await
            .map(drop)
    }

    /// `PUT /connectors/{name}/stop` (204): shuts the tasks down (needed to edit offsets).
    pub async fn stop(&self, name: &str) -> Result<(), ConnectClientError> {
        self.send(Method::PUT, &["connectors", name, "stop"], &[], None)
            .await
            .map(drop)
    }

    /// `POST /connectors/{name}/restart?includeTasks=..&onlyFailed=..`: 204 when only the
    /// connector instance restarted, 202 with the status (traces masked) otherwise.
    pub async fn restart(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<RestartOutcome, ConnectClientError> {
        let flag = |b: bool| if b { "true" } else { "false" };
        let query = [
            ("includeTasks", flag(include_tasks)),
            ("onlyFailed", flag(only_failed)),
        ];
        let answer = self
            .send(Method::POST, &["connectors", name, "restart"], &query, None)
            .await?;
        if answer.status == StatusCode::NO_CONTENT || answer.bytes.is_empty() {
            return Ok(RestartOutcome::Restarted);
        }
        let mut status: ConnectorStatus = self.parse(&answer, "POST /connectors/NAME/restart")?;
        self.mask_status(&mut status);
        Ok(RestartOutcome::Accepted(status))
    }

    /// `GET /connectors/{name}/offsets` (KIP-875, Connect 3.6+): a sink's committed consumer
    /// offsets. Complete only once the connector is stopped (its tasks commit on shutdown).
    pub async fn offsets(&self, name: &str) -> Result<SinkOffsets, ConnectClientError> {
        let answer = self
            .send(Method::GET, &["connectors", name, "offsets"], &[], None)
            .await?;
        self.parse(&answer, "GET /connectors/NAME/offsets")
    }

    /// `PATCH /connectors/{name}/offsets` (KIP-875): sets a stopped sink's consumer offsets
    /// (Connect refuses while it is not `STOPPED`). Setting absolute offsets is idempotent, so
    /// a retried attempt is safe.
    pub async fn alter_offsets(
        &self,
        name: &str,
        offsets: &SinkOffsets,
    ) -> Result<(), ConnectClientError> {
        let entries: Vec<serde_json::Value> = offsets
            .offsets
            .iter()
            .map(|o| {
                serde_json::json!({
                    "partition": {
                        "kafka_topic": o.partition.kafka_topic,
                        "kafka_partition": o.partition.kafka_partition,
                    },
                    "offset": { "kafka_offset": o.offset.kafka_offset },
                })
            })
            .collect();
        let body = serde_json::json!({ "offsets": entries })
            .to_string()
            .into_bytes();
        self.send(
            Method::PATCH,
            &["connectors", name, "offsets"],
            &[],
            Some(body),
        )
        .await
        .map(drop)
    }

    /// `DELETE /connectors/{name}` (204). A 404 on a retried attempt means an earlier
    /// attempt deleted it (its response was lost), which is success; a 404 on the first
    /// attempt is an error ([`ConnectClientError::is_not_found`]).
    pub async fn delete(&self, name: &str) -> Result<(), ConnectClientError> {
        match self
            .send(Method::DELETE, &["connectors", name], &[], None)
            .await
        {
            Ok(_) => Ok(()),
            Err(ConnectClientError::Http {
                status: 404,
                attempts,
                ..
            }) if attempts > 1 => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn mask_status(&self, status: &mut ConnectorStatus) {
        let masker = lock(&self.masker);
        status.map_traces(&|t| masker.mask_text(t));
    }

    pub(super) fn url(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Url, ConnectClientError> {
        let mut url = self.base.clone();
        {
            let mut path =
                url.path_segments_mut()
                    .map_err(|()| ConnectClientError::InvalidUrl {
                        url: self.base.to_string(),
                        reason: "the URL cannot have a path".into(),
                    })?;
            path.pop_if_empty();
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    pub(super) fn parse<T: DeserializeOwned>(
        &self,
        answer: &Answer,
        request: &str,
    ) -> Result<T, ConnectClientError> {
        serde_json::from_slice(&answer.bytes).map_err(|e| ConnectClientError::InvalidResponse {
            message: format!(
                "HTTP {}: {}",
                answer.status.as_u16(),
                without_quoted_data(&e.to_string())
            ),
            request: request.to_string(),
            request_id: answer.request_id.clone(),
        })
    }
}

/// A serde error message with the data it quotes (`invalid type: string "..."`) elided:
/// the quoted text may be a config value, hence a secret. Field names (in backticks) stay.
fn without_quoted_data(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut inside = false;
    for c in message.chars() {
        if c == '"' {
            if inside {
                out.push_str("…\"");
            } else {
                out.push('"');
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

/// `url` with any `user:password@` replaced, so a URL quoted in an error holds no secret.
fn without_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://{MASK}@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// The config as a JSON object. Built from the map directly, so there is no serialization step
/// that could fail (and no error to swallow).
fn json_object(config: &BTreeMap<String, String>) -> serde_json::Value {
    serde_json::Value::Object(
        config
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}

fn json_body(config: &BTreeMap<String, String>) -> Vec<u8> {
    json_object(config).to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_names_and_keep_a_base_path() {
        let c = ConnectClient::new(
            "http://connect:8083/base/",
            None,
            ConnectClientOptions::default(),
        )
        .expect("client");
        let url = c.url(&["connectors", "a b/c", "config"], &[]).expect("url");
        assert_eq!(
            url.as_str(),
            "http://connect:8083/base/connectors/a%20b%2Fc/config"
        );
        let url = c
            .url(&["connectors"], &[("expand", "status"), ("expand", "info")])
            .expect("url");
        assert_eq!(
            super::super::request::describe(&reqwest::Method::GET, &url),
            "GET /base/connectors?expand=status&expand=info"
        );
    }

    #[test]
    fn parse_errors_do_not_quote_data() {
        let e = serde_json::from_str::<BTreeMap<String, u32>>(r#"{"aad.auth.appkey": "s3cr3t"}"#)
            .expect_err("type");
        let shown = without_quoted_data(&e.to_string());
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.starts_with("invalid type: string \"…\""), "{shown}");
    }

    #[test]
    fn bad_urls_are_refused() {
        for bad in [
            "ftp://x",
            "connect:8083",
            "http://u:p@connect:8083",
            "http://x/?a=b",
        ] {
            let e = ConnectClient::new(bad, None, ConnectClientOptions::default()).expect_err(bad);
            assert!(
                matches!(e, ConnectClientError::InvalidUrl { .. }),
                "{bad}: {e}"
            );
            assert!(!e.to_string().contains("u:p@"), "{e}");
        }
    }

    #[test]
    fn basic_auth_debug_hides_the_password_and_env_errors_name_the_variable() {
        let auth = BasicAuth::new("svc", "hunter22");
        assert_eq!(
            format!("{auth:?}"),
            "BasicAuth { username: \"svc\", password: \"****\" }"
        );
        let e = BasicAuth::from_env("svc", "KUSTOPLAN_TEST_SURELY_UNSET_VAR").expect_err("unset");
        assert!(
            e.to_string().contains("KUSTOPLAN_TEST_SURELY_UNSET_VAR"),
            "{e}"
        );
    }
}

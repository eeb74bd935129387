//! A Kafka Connect worker over the network: the [`ConnectBackend`] for live clusters, with the
//! connection and request timeouts, basic auth and the request-id header every call carries.

use std::time::{Instant, SystemTime};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, Url};

use super::client::{APP_NAME, BasicAuth, ConnectClientOptions, REQUEST_ID_HEADER};
use super::error::ConnectClientError;
use super::rest::{ConnectBackend, NoAnswer, RestAnswer, RestRequest};
use crate::providers::kusto::error::error_chain;
use crate::providers::retry::{TransportFault, parse_retry_after};

/// A worker's REST endpoint reached with reqwest.
pub struct HttpConnect {
    http: reqwest::Client,
    base: Url,
    auth: Option<BasicAuth>,
}

impl HttpConnect {
    /// A backend for the worker at `base` (already checked by the client); no request is sent
    /// until one is exchanged.
    pub fn new(
        base: Url,
        auth: Option<BasicAuth>,
        options: &ConnectClientOptions,
    ) -> Result<Self, ConnectClientError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .user_agent(format!("{APP_NAME}/{}", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .build()
            .map_err(|e| ConnectClientError::Setup {
                message: error_chain(&e),
            })?;
        Ok(HttpConnect { http, base, auth })
    }

    /// The URL of `request`: the base's scheme, host and port with the request's path (which
    /// holds the base's own path) and query.
    fn url(&self, request: &RestRequest<'_>) -> Url {
        let mut url = self.base.clone();
        url.set_path(request.path);
        url.set_query((!request.query.is_empty()).then_some(request.query));
        url
    }
}

/// A reqwest failure as the client classifies it.
fn no_answer(e: &reqwest::Error) -> NoAnswer {
    NoAnswer {
        fault: TransportFault::of(e),
        detail: error_chain(e),
    }
}

#[async_trait::async_trait]
impl ConnectBackend for HttpConnect {
    async fn exchange(
        &self,
        request: RestRequest<'_>,
        request_id: &str,
    ) -> Result<RestAnswer, NoAnswer> {
        let method = Method::from_bytes(request.method.as_bytes()).map_err(|e| NoAnswer {
            fault: TransportFault::Invalid,
            detail: e.to_string(),
        })?;
        let mut builder = self
            .http
            .request(method, self.url(&request))
            .header(REQUEST_ID_HEADER, request_id);
        if let Some(auth) = &self.auth {
            builder = builder.basic_auth(&auth.username, Some(&auth.password));
        }
        if !request.body.is_empty() {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(request.body.to_vec());
        }
        let sent = Instant::now();
        let response = builder.send().await.map_err(|e| no_answer(&e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let body = response.bytes().await.map_err(|e| no_answer(&e))?.to_vec();
        tracing::debug!(
            request_id = %request_id,
            status,
            elapsed_ms = u64::try_from(sent.elapsed().as_millis()).unwrap_or(u64::MAX),
            "Kafka Connect answered"
        );
        Ok(RestAnswer {
            status,
            body,
            retry_after,
        })
    }

    fn in_process(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client's request path already holds the base URL's own path (a worker behind a
    /// proxy prefix); the backend must not add it twice or drop the query.
    #[test]
    fn a_request_keeps_the_workers_host_and_its_own_path_and_query() {
        let base = Url::parse("https://connect.example.com:8443/kafka-connect/").expect("url");
        let backend =
            HttpConnect::new(base, None, &ConnectClientOptions::default()).expect("backend");
        let url = backend.url(&RestRequest {
            method: "GET",
            path: "/kafka-connect/connectors/a%20b",
            query: "expand=status&expand=info",
            body: &[],
        });
        assert_eq!(
            url.as_str(),
            "https://connect.example.com:8443/kafka-connect/connectors/a%20b?expand=status&expand=info"
        );
        let url = backend.url(&RestRequest {
            method: "GET",
            path: "/kafka-connect/",
            query: "",
            body: &[],
        });
        assert_eq!(
            url.as_str(),
            "https://connect.example.com:8443/kafka-connect/"
        );
    }
}

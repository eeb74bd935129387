//! Where a live system is: the built-in sandbox or a real endpoint. The word `sandbox` in a
//! target is tested here and nowhere else.

/// The target value that selects the built-in sandbox, for every system.
pub const SANDBOX: &str = "sandbox";

/// The Kusto query URL that connectors writing to the built-in sandbox are given: a name that
/// says where the data would go and can never reach a real cluster (`.localhost`).
pub const SANDBOX_KUSTO_URL: &str = "https://sandbox.kusto.localhost";

/// A system's endpoint as a target names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint<'a> {
    /// The built-in sandbox, persisted under the sandbox directory.
    Sandbox,
    /// A real endpoint: a URL, or Kafka bootstrap servers.
    Live(&'a str),
}

impl<'a> Endpoint<'a> {
    /// The endpoint a target value names (surrounding spaces do not matter).
    pub fn of(value: &'a str) -> Self {
        if value.trim() == SANDBOX {
            Endpoint::Sandbox
        } else {
            Endpoint::Live(value)
        }
    }

    /// The endpoint of an optional target: no target is the sandbox.
    pub fn of_optional(value: Option<&'a str>) -> Self {
        value.map_or(Endpoint::Sandbox, Endpoint::of)
    }

    /// Whether it is the built-in sandbox.
    pub fn is_sandbox(self) -> bool {
        self == Endpoint::Sandbox
    }

    /// The Kusto query URL for a connector that writes to this Kusto endpoint, without a
    /// trailing slash (the sink compares URLs as text).
    pub fn kusto_query_url(self) -> String {
        match self {
            Endpoint::Sandbox => SANDBOX_KUSTO_URL.to_string(),
            Endpoint::Live(cluster) => cluster.trim_end_matches('/').to_string(),
        }
    }
}

/// The Entra ID scope of a Kafka cluster's OAUTHBEARER tokens when the manifest sets none:
/// `https://HOST/.default` for the host of the first bootstrap server, which is Event Hubs'
/// scope for its Kafka endpoint (the namespace, without the Kafka port). `None` when the first
/// server has no host to derive it from.
pub fn oauth_scope_for_bootstrap(bootstrap: &str) -> Option<String> {
    let first = bootstrap.split(',').next()?.trim();
    let server = first.rsplit_once("://").map_or(first, |(_, rest)| rest);
    let host = server
        .rsplit_once(':')
        .filter(|(_, port)| port.parse::<u16>().is_ok())
        .map_or(server, |(host, _)| host);
    let valid = !host.is_empty()
        && !host
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '@' | ':'))
        || host.starts_with('[') && host.ends_with(']');
    valid.then(|| format!("https://{host}/.default"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connectors_get_the_cluster_url_without_a_trailing_slash_and_the_sandbox_a_local_name() {
        assert_eq!(
            Endpoint::of(" sandbox ").kusto_query_url(),
            "https://sandbox.kusto.localhost"
        );
        assert_eq!(
            Endpoint::of("https://c.westeurope.kusto.windows.net/").kusto_query_url(),
            "https://c.westeurope.kusto.windows.net"
        );
    }

    #[test]
    fn the_oauth_scope_is_the_first_bootstrap_host() {
        assert_eq!(
            oauth_scope_for_bootstrap("mynamespace.servicebus.windows.net:9093").as_deref(),
            Some("https://mynamespace.servicebus.windows.net/.default")
        );
        assert_eq!(
            oauth_scope_for_bootstrap(" a.example.com:9093 , b.example.com:9093").as_deref(),
            Some("https://a.example.com/.default")
        );
        assert_eq!(
            oauth_scope_for_bootstrap("SASL_SSL://ns.servicebus.windows.net:9093").as_deref(),
            Some("https://ns.servicebus.windows.net/.default")
        );
        assert_eq!(
            oauth_scope_for_bootstrap("[::1]:9093").as_deref(),
            Some("https://[::1]/.default")
        );
        assert_eq!(
            oauth_scope_for_bootstrap("broker").as_deref(),
            Some("https://broker/.default")
        );
        assert_eq!(oauth_scope_for_bootstrap(""), None);
        assert_eq!(oauth_scope_for_bootstrap(":9093"), None);
        assert_eq!(oauth_scope_for_bootstrap("a b:9093"), None);
    }

    #[test]
    fn only_the_word_sandbox_selects_the_sandbox() {
        assert!(Endpoint::of("sandbox").is_sandbox());
        assert!(Endpoint::of(" sandbox ").is_sandbox());
        assert!(Endpoint::of_optional(None).is_sandbox());
        assert_eq!(
            Endpoint::of("https://sandbox.kusto.windows.net"),
            Endpoint::Live("https://sandbox.kusto.windows.net")
        );
        assert!(
            !Endpoint::of("Sandbox").is_sandbox(),
            "targets are case-sensitive"
        );
    }
}

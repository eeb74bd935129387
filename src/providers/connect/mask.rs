//! Secret masking for connector configs, Connect error messages and task traces.
//!
//! The Connect REST API returns literal secrets verbatim (`GET /connectors/N/config` shows
//! `aad.auth.appkey` as stored), and its error messages and stack traces can quote config
//! values. kustoplan's rule is that secrets never appear in plans, logs or errors, so every
//! value that may hold one passes through here before it is shown. Config-provider
//! placeholders (`${file:/path:key}`, `${env:VAR}`) are references, not secrets, and stay
//! visible: they are what users should write instead of literals.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

pub use crate::model::connect::{MASK, is_placeholder, is_secret_key};

/// What Connect itself shows for `PASSWORD` values in validation answers: already safe.
const HIDDEN: &str = "[hidden]";

/// `name="value"` options inside a JAAS line whose names are secret.
static JAAS_SECRET_OPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(\b[a-z_.]*(?:password|secret|token|key)[a-z_.]*\s*=\s*)"([^"]*)""#)
        .unwrap_or_else(|e| panic!("{e}"))
});

/// `key=value` pairs (Java map rendering `{a=b, c=d}`, properties lines, URL queries) whose
/// key is secret-looking, in free text such as error messages and traces.
static TEXT_SECRET_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(\b[a-z0-9_.-]*(?:password|secret|token|appkey|accesstoken|jaas\.config|user\.info)[a-z0-9_.-]*\s*[=:]\s*"?)([^",}\s;][^",};\n]*)"#,
    )
    .unwrap_or_else(|e| panic!("{e}"))
});

/// The masked form of one value of `key` (`key` must be secret, see [`is_secret_key`]).
fn mask_value(key: &str, value: &str) -> String {
    if value.is_empty() || value == HIDDEN || is_placeholder(value) {
        return value.to_string();
    }
    if key.to_ascii_lowercase().ends_with("jaas.config") {
        // Keep the login module and user name visible; hide the secret options only.
        return JAAS_SECRET_OPTION
            .replace_all(value, |c: &regex::Captures<'_>| {
                let v = &c[2];
                if is_placeholder(v) {
                    c[0].to_string()
                } else {
                    format!("{}\"{MASK}\"", &c[1])
                }
            })
            .into_owned();
    }
    MASK.to_string()
}

/// `config` with the values of secret keys ([`is_secret_key`]) replaced by `****`, except
/// config-provider placeholders (`${provider:...}`) and empty values, which hold no secret.
/// In `sasl.jaas.config` only the secret options (`password="..."`) are masked.
pub fn mask_config(
    config: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    Masker::default().mask_config(config)
}

/// Masks with everything a client has learnt: PASSWORD-type keys reported by validate, and
/// the literal secret values it has seen in configs, so that a secret quoted in an error
/// message or a stack trace is masked too.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    password_keys: BTreeSet<String>,
    secret_values: BTreeSet<String>,
}

/// Values shorter than this are not scrubbed from free text: masking every "1" or "true"
/// in a trace would destroy it, and such values are not credentials anyway.
const MIN_SCRUBBED_LEN: usize = 4;

impl Masker {
    /// Treats `key` as secret (Connect declared it `PASSWORD`).
    pub fn add_password_key(&mut self, key: &str) {
        self.password_keys.insert(key.to_string());
    }

    /// True when `key`'s values are masked.
    pub fn is_secret(&self, key: &str) -> bool {
        self.password_keys.contains(key) || is_secret_key(key)
    }

    /// Remembers the literal secret values of `config` so they are scrubbed from free text.
    pub fn learn<'a>(&mut self, config: impl IntoIterator<Item = (&'a String, &'a String)>) {
        for (key, value) in config {
            if !self.is_secret(key) || value.is_empty() || is_placeholder(value) {
                continue;
            }
            if key.to_ascii_lowercase().ends_with("jaas.config") {
                for c in JAAS_SECRET_OPTION.captures_iter(value) {
                    let v = &c[2];
                    if v.len() >= MIN_SCRUBBED_LEN && !is_placeholder(v) {
                        self.secret_values.insert(v.to_string());
                    }
                }
            }
            if value.len() >= MIN_SCRUBBED_LEN {
                self.secret_values.insert(value.clone());
            }
        }
    }

    /// The shown form of one value of `key`: masked when the key is secret (see
    /// [`mask_config`]), verbatim otherwise.
    pub fn mask_value(&self, key: &str, value: &str) -> String {
        if self.is_secret(key) {
            mask_value(key, value)
        } else {
            value.to_string()
        }
    }

    /// See [`mask_config`]; also masks keys learnt with [`Masker::add_password_key`].
    pub fn mask_config(
        &self,
        config: &std::collections::BTreeMap<String, String>,
    ) -> std::collections::BTreeMap<String, String> {
        config
            .iter()
            .map(|(k, v)| {
                let shown = if self.is_secret(k) {
                    mask_value(k, v)
                } else {
                    v.clone()
                };
                (k.clone(), shown)
            })
            .collect()
    }

    /// Free text (an error message, a stack trace) with every learnt secret value and every
    /// secret-looking `key=value` pair masked.
    pub fn mask_text(&self, text: &str) -> String {
        let mut out = text.to_string();
        // Longest first, so a value containing another is replaced whole.
        let mut values: Vec<&String> = self.secret_values.iter().collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        for v in values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
        }
        TEXT_SECRET_PAIR
            .replace_all(&out, |c: &regex::Captures<'_>| {
                let v = c[2].trim_end();
                if v == MASK || is_placeholder(v) || v.starts_with("${") {
                    c[0].to_string()
                } else {
                    format!("{}{MASK}", &c[1])
                }
            })
            .into_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn secret_keys() {
        for k in [
            "aad.auth.appkey",
            "aad.auth.accesstoken",
            "sasl.jaas.config",
            "consumer.override.sasl.jaas.config",
            "misc.deadletterqueue.sasl.jaas.config",
            "ssl.key.password",
            "ssl.truststore.password",
            "value.converter.basic.auth.user.info",
            "client.secret",
            "ssl.key",
            "my.api.key",
            "AAD.AUTH.APPKEY",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "aad.auth.appid",
            "aad.auth.authority",
            "aad.auth.strategy",
            "key.converter",
            "key.converter.schemas.enable",
            "kusto.ingestion.url",
            "kusto.tables.topics.mapping",
            "topics",
            "ssl.keystore.location",
            "ssl.keystore.type",
            "sasl.mechanism",
            "name",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn placeholders() {
        assert!(is_placeholder("${file:/opt/secrets.properties:appkey}"));
        assert!(is_placeholder("${env:KUSTO_APPKEY}"));
        assert!(is_placeholder(" ${vault:secret/data/kusto:appkey} "));
        assert!(!is_placeholder("${env:A}${env:B}"));
        assert!(!is_placeholder("prefix${env:A}"));
        assert!(!is_placeholder("${noprovider}"));
        assert!(!is_placeholder("s3cr3t"));
    }

    #[test]
    fn mask_config_hides_literals_and_keeps_references() {
        let config = map(&[
            ("aad.auth.appid", "11111111-2222-3333-4444-555555555555"),
            ("aad.auth.appkey", "Sup3r~Secret.Value"),
            ("aad.auth.accesstoken", "eyJ0eXAiOiJKV1Qi"),
            (
                "ssl.key.password",
                "${file:/etc/kafka/secrets.properties:ssl.key.password}",
            ),
            ("client.secret", ""),
            (
                "consumer.override.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"svc\" password=\"hunter22\";",
            ),
            (
                "producer.override.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"svc\" password=\"${env:PW}\";",
            ),
            ("topics", "gameplay"),
        ]);
        let masked = mask_config(&config);
        assert_eq!(
            masked,
            map(&[
                ("aad.auth.appid", "11111111-2222-3333-4444-555555555555"),
                ("aad.auth.appkey", "****"),
                ("aad.auth.accesstoken", "****"),
                (
                    "ssl.key.password",
                    "${file:/etc/kafka/secrets.properties:ssl.key.password}"
                ),
                ("client.secret", ""),
                (
                    "consumer.override.sasl.jaas.config",
                    "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"svc\" password=\"****\";",
                ),
                (
                    "producer.override.sasl.jaas.config",
                    "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"svc\" password=\"${env:PW}\";",
                ),
                ("topics", "gameplay"),
            ])
        );
    }

    #[test]
    fn password_keys_learnt_from_validate_are_masked() {
        let mut m = Masker::default();
        let config = map(&[("odd.name", "plain-looking")]);
        assert_eq!(m.mask_config(&config), config);
        m.add_password_key("odd.name");
        assert_eq!(m.mask_config(&config), map(&[("odd.name", "****")]));
    }

    #[test]
    fn text_is_scrubbed_of_learnt_values_and_secret_pairs() {
        let mut m = Masker::default();
        m.learn(&map(&[
            ("aad.auth.appkey", "Sup3r~Secret.Value"),
            ("topics", "gameplay"),
            (
                "sasl.jaas.config",
                "PlainLoginModule required username=\"svc\" password=\"hunter22\";",
            ),
            ("ssl.key.password", "${env:PW}"),
        ]));
        let trace = "java.lang.IllegalArgumentException: AADSTS7000215 Invalid client secret \
                     provided: 'Sup3r~Secret.Value'\n\tat com.x.Y(Y.java:1)\nCaused by: \
                     login failed for hunter22 on gameplay";
        assert_eq!(
            m.mask_text(trace),
            "java.lang.IllegalArgumentException: AADSTS7000215 Invalid client secret \
             provided: '****'\n\tat com.x.Y(Y.java:1)\nCaused by: login failed for **** on \
             gameplay"
        );
        // Values the client never saw, in Java's map rendering.
        let message = "Connector config {name=noclass, aad.auth.appkey=NeverSeen1, \
                       topics=sink-in, ssl.key.password=${env:PW}} contains no connector type";
        assert_eq!(
            Masker::default().mask_text(message),
            "Connector config {name=noclass, aad.auth.appkey=****, topics=sink-in, \
             ssl.key.password=${env:PW}} contains no connector type"
        );
        assert_eq!(
            Masker::default().mask_text("Invalid value abc for configuration flush.size.bytes"),
            "Invalid value abc for configuration flush.size.bytes"
        );
    }
}

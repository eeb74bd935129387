//! SASL/OAUTHBEARER end to end with real librdkafka clients: the admin client (plan, apply),
//! the offset reader (`status`) and the canary producer (`verify`) of an OAUTHBEARER target get
//! their tokens from azure_identity's `ManagedIdentityCredential`, which asks a loopback fake
//! App Service identity endpoint, and present them to a loopback broker that records the
//! token of each SASL exchange. An identity the endpoint refuses makes requests (and
//! `kustoplan plan`) fail with the credential's error, never with a token.
//!
//! The credential reads the process environment, so this binary holds a single test that
//! sets the variables before any other thread exists.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::identity::{self, IDENTITY_SECRET, SHORT_LIFETIME, SHORT_LIVED, UNASSIGNED};
use common::oauth_broker::OAuthBroker;
use kustoplan::model::auth::{AadCredential, AuthMethod};
use kustoplan::model::kafka_target::{KafkaConnection, KafkaProtocol, SaslMechanism};
use kustoplan::providers::kafka::produce::produce_one;
use kustoplan::providers::kafka::{
    AdminTimeouts, ClientSettings, KafkaAdmin, KafkaError, LagReader,
};
use kustoplan::providers::kusto::TokenError;
use kustoplan::providers::kusto::auth::TokenFault;

const USER_ASSIGNED: &str = "11111111-2222-3333-4444-555555555555";
const METADATA: i16 = 3;

/// A `sasl_plaintext` + OAUTHBEARER target signing in with the user-assigned identity
/// `client_id`, scope derived from the bootstrap server.
fn target(bootstrap: &str, client_id: &str) -> KafkaConnection {
    KafkaConnection {
        bootstrap_servers: bootstrap.to_string(),
        protocol: KafkaProtocol::SaslPlaintext,
        sasl_mechanism: Some(SaslMechanism::OauthBearer),
        auth: Some(AadCredential {
            method: AuthMethod::ManagedIdentity,
            client_id: Some(client_id.to_string()),
            ..AadCredential::default()
        }),
        ..KafkaConnection::default()
    }
}

fn timeouts() -> AdminTimeouts {
    AdminTimeouts {
        request: Duration::from_secs(2),
        operation: Duration::from_secs(1),
    }
}

#[test]
fn oauthbearer_tokens_come_from_the_managed_identity_and_reach_the_broker() {
    let listener = identity::bind_and_export();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let endpoint = identity::serve(listener, 3600).await;
        let broker = OAuthBroker::start().await;

        // The admin client: librdkafka asks for a token before it connects, the pump answers
        // with the identity endpoint's token, the broker receives it in SaslAuthenticate.
        let settings = ClientSettings::from_target(&target(&broker.bootstrap, USER_ASSIGNED))
            .expect("settings");
        let admin = KafkaAdmin::new(&settings, timeouts()).expect("admin");
        let err = admin
            .observe(&["gameplay".to_string()])
            .await
            .expect_err("the fake broker answers no metadata");
        assert!(
            matches!(
                err,
                KafkaError::TimedOut {
                    operation: "Metadata",
                    ..
                }
            ),
            "authenticated, then no metadata: {err}"
        );
        let seen = broker.seen();
        assert!(!seen.tokens.is_empty(), "no SASL exchange: {seen:?}");
        assert!(seen.tokens.iter().all(|t| t == "msi-token-1"), "{seen:?}");
        assert!(
            seen.mechanisms.iter().all(|m| m == "OAUTHBEARER"),
            "{seen:?}"
        );
        assert!(
            seen.api_keys.contains(&METADATA),
            "after authenticating the client asks for metadata: {seen:?}"
        );
        assert_eq!(
            endpoint.requests(),
            [BTreeMap::from([
                ("api-version".to_string(), "2019-08-01".to_string()),
                ("client_id".to_string(), USER_ASSIGNED.to_string()),
                // The scope `https://127.0.0.1/.default`, from the bootstrap server's host.
                ("resource".to_string(), "https://127.0.0.1".to_string()),
            ])]
        );

        // The offset reader (`status`): its own consumer, answered by its own pump, with the
        // token the settings' cache already holds.
        let before = seen.tokens.len();
        let err = LagReader::new(settings.clone())
            .with_timeout(Duration::from_secs(1))
            .read("connect-gameplay", &["gameplay".to_string()])
            .await
            .expect_err("no metadata");
        assert!(!matches!(err, KafkaError::Token { .. }), "{err}");
        let seen = broker
            .wait_for_tokens(before + 1, Duration::from_secs(5))
            .await;
        assert!(
            seen.tokens.len() > before,
            "the offset reader authenticated: {seen:?}"
        );
        assert!(seen.tokens.iter().all(|t| t == "msi-token-1"), "{seen:?}");

        // The canary producer (`verify`): rdkafka's producer thread calls the context.
        let before = seen.tokens.len();
        let producing = tokio::spawn({
            let settings = settings.clone();
            async move { produce_one(&settings, "gameplay", "k", "v").await }
        });
        let seen = broker
            .wait_for_tokens(before + 1, Duration::from_secs(10))
            .await;
        producing.abort();
        assert!(
            seen.tokens.len() > before,
            "the producer authenticated: {seen:?}"
        );
        assert!(seen.tokens.iter().all(|t| t == "msi-token-1"), "{seen:?}");
        assert_eq!(
            endpoint.requests().len(),
            1,
            "one token serves every client"
        );

        // Refresh: librdkafka asks for a new token at 80% of the lifetime the callback gave it
        // (its expiry in milliseconds since the epoch), before the token expires.
        let short =
            ClientSettings::from_target(&target(&broker.bootstrap, SHORT_LIVED)).expect("settings");
        let refreshing = KafkaAdmin::new(&short, timeouts()).expect("admin");
        let started = std::time::Instant::now();
        while endpoint.issued_to(SHORT_LIVED).len() < 2
            && started.elapsed() < Duration::from_secs(2 * SHORT_LIFETIME)
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let issued = endpoint.issued_to(SHORT_LIVED);
        assert!(
            issued.len() >= 2,
            "no refresh within {:?}",
            started.elapsed()
        );
        assert!(
            issued[1] - issued[0] < Duration::from_secs(SHORT_LIFETIME),
            "the second token was asked for {:?} after the first, which lived {SHORT_LIFETIME}s",
            issued[1] - issued[0]
        );
        drop(refreshing);

        // An identity the endpoint refuses: no token, no SASL exchange, and the request fails
        // with the credential's error.
        let refused =
            ClientSettings::from_target(&target(&broker.bootstrap, UNASSIGNED)).expect("settings");
        let admin = KafkaAdmin::new(&refused, timeouts()).expect("admin");
        let before = broker.seen().tokens.len();
        let err = admin
            .observe(&["gameplay".to_string()])
            .await
            .expect_err("no token");
        let KafkaError::Token {
            operation, source, ..
        } = &err
        else {
            panic!("expected a token error, got {err:?}");
        };
        assert_eq!(*operation, "Metadata");
        assert!(
            matches!(
                &**source,
                TokenError::Fetch {
                    fault: TokenFault::Credential,
                    ..
                }
            ),
            "{source:?}"
        );
        assert_eq!(source.kind(), "credential");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "Metadata against {} could not authenticate: cannot get an AAD token \
                 (managed_identity) for scope https://127.0.0.1/.default: credential failure",
                broker.bootstrap
            )),
            "{text}"
        );
        assert!(text.contains("set kafka.security.auth.client_id"), "{text}");
        let everything = format!("{text}\n{err:?}\n{refused:?}\n{settings:?}");
        for secret in [IDENTITY_SECRET, "msi-token"] {
            assert!(
                !everything.contains(secret),
                "{secret} leaked:\n{everything}"
            );
        }
        assert_eq!(broker.seen().tokens.len(), before, "no token was presented");
        assert_eq!(*endpoint.refused.lock().expect("lock"), 0);

        // The same through the CLI: the gameplay example's Kafka target on this broker with
        // OAUTHBEARER, signing in as the refused identity (Kusto and Connect stay in the
        // built-in sandbox). The binary inherits the identity endpoint's variables.
        let stack = common::cli::gameplay_copy();
        let sandbox = tempfile::tempdir().expect("tempdir");
        let mut cmd = common::cli::command();
        cmd.arg("plan")
            .arg(stack.path())
            .args(["--var", &format!("kafka_bootstrap={}", broker.bootstrap)])
            .args(["--var", "kafka_protocol=sasl_plaintext"])
            .args(["--var", "kafka_auth=managed_identity"])
            .args(["--var", &format!("app_id={UNASSIGNED}")])
            .env("KUSTOPLAN_SANDBOX_DIR", sandbox.path())
            .env("NO_COLOR", "1");
        let run = common::cli::Run::from(common::cli::output_off_runtime(cmd).await);
        assert_eq!(run.code, 1, "{}", run.all());
        assert!(
            run.stderr.contains(&format!(
                "Metadata against {} could not authenticate: cannot get an AAD token \
                 (managed_identity) for scope https://127.0.0.1/.default: credential failure",
                broker.bootstrap
            )),
            "{}",
            run.all()
        );
        for secret in [IDENTITY_SECRET, "msi-token"] {
            assert!(
                !run.all().contains(secret),
                "{secret} leaked:\n{}",
                run.all()
            );
        }
    });
}

//! Rules of the `Stack` document: targets, their URLs, AAD auth and Kafka security.

use super::*;

impl<'a> Validator<'a> {
    /// An Entra ID credential (`kusto.auth`, `kafka.security.auth`): the ids and the secret
    /// reference its method needs, and no secret it does not use. `fallback` is where to point
    /// when the method itself was not written.
    pub(super) fn aad_auth(&mut self, auth: &AadAuth, fallback: Loc) {
        let needs_ids = matches!(
            *auth.method,
            AuthMethod::WorkloadIdentity | AuthMethod::ClientSecret
        );
        let at = self.at_or(auth.method.loc, fallback);
        if needs_ids && auth.tenant_id.is_none() {
            self.push(
                Diagnostic::at(at, "this auth method needs `tenant_id`")
                    .hint("add `tenant_id:` with the AAD tenant id"),
            );
        }
        if needs_ids && auth.client_id.is_none() {
            self.push(
                Diagnostic::at(at, "this auth method needs `client_id`")
                    .hint("add `client_id:` with the app registration's client id"),
            );
        }
        match (
            &auth.client_secret,
            *auth.method == AuthMethod::ClientSecret,
        ) {
            (Some(s), true) => self.secret("client_secret", s, false),
            (None, true) => self.push(
                Diagnostic::at(
                    at,
                    "`client_secret` auth needs `client_secret: {env: NAME}`",
                )
                .hint("add `client_secret: {env: AZURE_CLIENT_SECRET}`"),
            ),
            (Some(s), false) => self.push(
                Diagnostic::at(
                    s.loc,
                    "`client_secret` is only used with `method: client_secret`",
                )
                .hint("remove it, or set `method: client_secret`"),
            ),
            (None, false) => {}
        }
    }

    /// `targets.kafka.security`: OAUTHBEARER on a SASL protocol signs in with an Entra ID
    /// credential (`auth`) and nothing else; `auth` and `scope` are refused where no
    /// OAUTHBEARER token is used, so a manifest never looks more secure than it is.
    pub(super) fn kafka_security(&mut self, kafka: &KafkaTarget) {
        let security = &kafka.security;
        if let Some(p) = &security.password {
            self.secret("password", p, false);
        }
        let sasl = matches!(
            security.protocol,
            KafkaProtocol::SaslPlaintext | KafkaProtocol::SaslSsl
        );
        let oauth = security
            .sasl_mechanism
            .as_ref()
            .filter(|m| sasl && ***m == SaslMechanism::OauthBearer);
        let signs_in = security
            .auth
            .as_ref()
            .filter(|a| *a.method != AuthMethod::None);
        let Some(mechanism) = oauth else {
            if let Some(auth) = signs_in {
                self.push(
                    Diagnostic::at(
                        self.at_or(auth.method.loc, kafka.bootstrap_servers.loc),
                        "`auth` is only used with `sasl_mechanism: OAUTHBEARER` on a SASL protocol",
                    )
                    .hint("set `protocol: sasl_ssl` and `sasl_mechanism: OAUTHBEARER`, or `method: none`"),
                );
            }
            if let Some(scope) = &security.scope {
                self.push(
                    Diagnostic::at(
                        scope.loc,
                        "`scope` is only used with `sasl_mechanism: OAUTHBEARER` on a SASL protocol",
                    )
                    .hint("remove it, or set `protocol: sasl_ssl` and `sasl_mechanism: OAUTHBEARER`"),
                );
            }
            return;
        };
        match signs_in {
            Some(auth) => self.aad_auth(auth, mechanism.loc),
            None => self.push(
                Diagnostic::at(
                    security
                        .auth
                        .as_ref()
                        .map_or(mechanism.loc, |a| self.at_or(a.method.loc, mechanism.loc)),
                    "`sasl_mechanism: OAUTHBEARER` needs `auth` with an Entra ID method",
                )
                .hint("add `auth: {method: workload_identity, tenant_id: ..., client_id: ...}` (or managed_identity, azure_cli, client_secret) under `security`"),
            ),
        }
        let user = security.username.as_ref().map(|u| ("username", u.loc));
        let password = security.password.as_ref().map(|p| ("password", p.loc));
        for (what, loc) in user.into_iter().chain(password) {
            self.push(
                Diagnostic::at(loc, format!("`{what}` is not used with OAUTHBEARER"))
                    .hint("remove it: kustoplan signs in with the Entra ID credential in `auth`"),
            );
        }
        match &security.scope {
            Some(scope) if scope.trim().is_empty() => self.push(
                Diagnostic::at(scope.loc, "`scope` is empty")
                    .hint("write the token scope, e.g. `https://mynamespace.servicebus.windows.net/.default`, or remove it"),
            ),
            Some(_) => {}
            None if !Endpoint::of(&kafka.bootstrap_servers).is_sandbox()
                && oauth_scope_for_bootstrap(&kafka.bootstrap_servers).is_none() =>
            {
                self.push(
                    Diagnostic::at(
                        kafka.bootstrap_servers.loc,
                        "cannot derive the OAUTHBEARER token scope: the first bootstrap server has no host",
                    )
                    .hint("write `host:port` servers, or set `security.scope`"),
                );
            }
            None => {}
        }
    }

    pub(super) fn stack(&mut self) {
        let Some(stack) = &self.m.stack else { return };
        if !is_sink_safe_name(&stack.name) {
            self.push(
                Diagnostic::at(stack.name.loc, format!("invalid stack name `{}`", stack.name.value))
                    .hint("use letters, digits, '_', '.', '-' (the name is written into objects as an ownership marker)"),
            );
        }
        let targets = &stack.targets;
        if let Some(kusto) = &targets.kusto {
            self.url("targets.kusto.cluster", &kusto.cluster);
            if let Some(ingest) = &kusto.ingest {
                self.url("targets.kusto.ingest", ingest);
            }
            self.aad_auth(&kusto.auth, kusto.cluster.loc);
        }
        if let Some(kafka) = &targets.kafka {
            self.kafka_security(kafka);
            self.config_secrets(&kafka.properties);
        }
        for (name, connect) in &targets.connect {
            self.url(&format!("targets.connect.{name}.url"), &connect.url);
            if let Some(p) = &connect.password {
                self.secret("password", p, false);
            }
            if let Some(label) = &connect.strimzi_cluster
                && connect.managed_by != ConnectManager::Strimzi
            {
                self.push(
                    Diagnostic::at(
                        label.loc,
                        format!(
                            "targets.connect.{name}.strimzi_cluster names the KafkaConnect resource of a Strimzi-managed cluster, but this cluster is not `managed_by: strimzi`"
                        ),
                    )
                    .hint("set `managed_by: strimzi`, or remove `strimzi_cluster`"),
                );
            }
        }
    }
}

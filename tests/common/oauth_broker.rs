//! A loopback Kafka broker that speaks just enough of the protocol for SASL/OAUTHBEARER, so a
//! test can see the bearer token a real librdkafka client presents: ApiVersions (v3),
//! SaslHandshake (v0-1) and SaslAuthenticate (v0-1) are answered; every other request is
//! recorded and left unanswered (the client's request then times out). Neither tansu nor any
//! Kafka broker that can be installed here implements OAUTHBEARER on the server side.
//!
//! The token is read from the client's first message (RFC 7628):
//! `n,,\x01auth=Bearer TOKEN\x01[key=value\x01]*\x01`. It is accepted without validation.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const API_VERSIONS: i16 = 18;
const SASL_HANDSHAKE: i16 = 17;
const SASL_AUTHENTICATE: i16 = 36;
const METADATA: i16 = 3;

/// What the broker saw, in order.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Mechanisms clients asked for in SaslHandshake.
    pub mechanisms: Vec<String>,
    /// Bearer tokens clients presented in SaslAuthenticate.
    pub tokens: Vec<String>,
    /// The API key of every request.
    pub api_keys: Vec<i16>,
}

/// A running fake broker on a loopback port; stops with the runtime.
pub struct OAuthBroker {
    /// `127.0.0.1:PORT`.
    pub bootstrap: String,
    seen: Arc<Mutex<Seen>>,
}

impl OAuthBroker {
    /// Starts listening on a free loopback port.
    pub async fn start() -> OAuthBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let bootstrap = listener.local_addr().expect("addr").to_string();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&shared)));
            }
        });
        OAuthBroker { bootstrap, seen }
    }

    /// What the broker has seen so far.
    pub fn seen(&self) -> Seen {
        self.seen.lock().expect("lock").clone()
    }

    /// Waits until `n` tokens were presented, at most `limit`; returns what was seen.
    pub async fn wait_for_tokens(&self, n: usize, limit: Duration) -> Seen {
        let start = Instant::now();
        loop {
            let seen = self.seen();
            if seen.tokens.len() >= n || start.elapsed() > limit {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn serve(mut stream: TcpStream, seen: Arc<Mutex<Seen>>) {
    loop {
        let Ok(size) = stream.read_i32().await else {
            return;
        };
        let mut frame = vec![0; usize::try_from(size).unwrap_or(0)];
        if stream.read_exact(&mut frame).await.is_err() || frame.len() < 10 {
            return;
        }
        let api_key = i16::from_be_bytes([frame[0], frame[1]]);
        let correlation = &frame[4..8];
        let client_id_len = i16::from_be_bytes([frame[8], frame[9]]);
        let body = &frame[10 + usize::try_from(client_id_len.max(0)).unwrap_or(0)..];
        seen.lock().expect("lock").api_keys.push(api_key);
        let response = match api_key {
            API_VERSIONS => api_versions(),
            SASL_HANDSHAKE => {
                let mechanism = string(body);
                seen.lock()
                    .expect("lock")
                    .mechanisms
                    .push(mechanism.clone());
                let mut out = 0i16.to_be_bytes().to_vec();
                out.extend(1i32.to_be_bytes());
                out.extend(i16::try_from(mechanism.len()).expect("short").to_be_bytes());
                out.extend(mechanism.as_bytes());
                out
            }
            SASL_AUTHENTICATE => {
                let len = usize::try_from(i32::from_be_bytes([body[0], body[1], body[2], body[3]]))
                    .unwrap_or(0);
                let message = String::from_utf8_lossy(&body[4..4 + len]).into_owned();
                if let Some(token) = bearer(&message) {
                    seen.lock().expect("lock").tokens.push(token);
                }
                let mut out = 0i16.to_be_bytes().to_vec(); // error_code
                out.extend((-1i16).to_be_bytes()); // error_message: null
                out.extend(0i32.to_be_bytes()); // auth_bytes: empty
                out.extend(0i64.to_be_bytes()); // session_lifetime_ms (v1): no re-authentication
                out
            }
            _ => continue,
        };
        let mut reply = i32::try_from(4 + response.len())
            .expect("short")
            .to_be_bytes()
            .to_vec();
        reply.extend(correlation);
        reply.extend(response);
        if stream.write_all(&reply).await.is_err() {
            return;
        }
    }
}

/// ApiVersions v3 (flexible body, v0 response header): the APIs this broker answers, and
/// Metadata so the client goes on to ask (and wait).
fn api_versions() -> Vec<u8> {
    let apis: [(i16, i16, i16); 4] = [
        (API_VERSIONS, 0, 3),
        (SASL_HANDSHAKE, 0, 1),
        (SASL_AUTHENTICATE, 0, 1),
        (METADATA, 0, 4),
    ];
    let mut out = 0i16.to_be_bytes().to_vec(); // error_code
    out.push(u8::try_from(apis.len() + 1).expect("short")); // compact array length + 1
    for (key, min, max) in apis {
        out.extend(key.to_be_bytes());
        out.extend(min.to_be_bytes());
        out.extend(max.to_be_bytes());
        out.push(0); // tagged fields
    }
    out.extend(0i32.to_be_bytes()); // throttle_time_ms
    out.push(0); // tagged fields
    out
}

fn string(body: &[u8]) -> String {
    let len = usize::try_from(i16::from_be_bytes([body[0], body[1]])).unwrap_or(0);
    String::from_utf8_lossy(&body[2..2 + len]).into_owned()
}

/// The token of an OAUTHBEARER client-first message.
fn bearer(message: &str) -> Option<String> {
    message
        .split('\u{1}')
        .find_map(|part| part.strip_prefix("auth=Bearer "))
        .map(str::to_string)
}

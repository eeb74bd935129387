//! The admin writes through librdkafka's C API: CreateTopics, CreatePartitions and
//! IncrementalAlterConfigs; and the OAUTHBEARER refresh pump ([`RefreshPump`]) of the clients
//! whose main queue rdkafka never serves.
//!
//! Why not rdkafka's safe wrappers:
//! - rdkafka 0.39 wraps only the legacy AlterConfigs, which *replaces* every dynamic config of a
//!   topic: a change sent with only the keys to change silently resets all the others, and a
//!   read-modify-write with the full set races with anyone else changing the topic between our
//!   DescribeConfigs and AlterConfigs. librdkafka 2.12 (bundled by rdkafka-sys) implements
//!   IncrementalAlterConfigs (KIP-339), which sets and deletes exactly the named keys; brokers
//!   since Kafka 2.3 support it, and so does tansu, which lacks the legacy call.
//! - rdkafka's CreateTopics/CreatePartitions results keep only the error code and drop the
//!   broker's message, which is what tells users *which* config is unknown or why a replication
//!   factor is refused ("Replication factor: 3 larger than available brokers: 1").
//!
//! Everything unsafe is confined here: every C object is owned by a guard that frees it on every
//! path, results are copied out of the event before it is destroyed, and the client handle
//! outlives each call because the caller lends a reference to the [`AdminClient`]. librdkafka
//! copies the request objects, so they are freed right after submission.

use std::ffi::{CStr, CString, c_char};
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::admin::AdminClient;
use rdkafka::bindings as rd;
use rdkafka::client::Client;
use rdkafka::types::RDKafkaErrorCode;

use super::oauth::{KafkaContext, OAuthBearer};
use super::{ConfigChange, PartitionIncrease};
use crate::model::connect::Topic;
use crate::providers::kusto::auth::TokenError;

/// One topic's result: `None` on success, else the broker's error code and message.
pub(super) struct ResourceResult {
    pub topic: String,
    pub error: Option<(RDKafkaErrorCode, String)>,
}

/// Why the request as a whole failed.
pub(super) enum Failure {
    /// The request could not be built (e.g. a NUL byte in a key).
    Setup(String),
    /// librdkafka reported a request-level error (e.g. the broker lacks the API).
    Request(RDKafkaErrorCode, String),
    /// No result arrived in time.
    TimedOut,
}

/// How long to wait: librdkafka's request timeout, the broker-side operation timeout (only for
/// CreateTopics and CreatePartitions), and the wall-clock limit for the result to arrive.
#[derive(Clone, Copy)]
pub(super) struct Limits {
    pub request: Duration,
    pub operation: Option<Duration>,
    pub wait: Duration,
}

/// A C object freed with its destructor when dropped.
struct Owned<T> {
    ptr: *mut T,
    destroy: unsafe extern "C" fn(*mut T),
}

impl<T> Owned<T> {
    fn new(
        ptr: *mut T,
        destroy: unsafe extern "C" fn(*mut T),
        what: &str,
    ) -> Result<Self, Failure> {
        if ptr.is_null() {
            Err(Failure::Setup(format!(
                "librdkafka could not create {what}"
            )))
        } else {
            Ok(Owned { ptr, destroy })
        }
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        // SAFETY: `ptr` is non-null, was created by the matching constructor, and is freed once.
        unsafe { (self.destroy)(self.ptr) };
    }
}

/// Serves librdkafka's OAUTHBEARER token requests for a client whose main queue nobody polls.
///
/// librdkafka puts its token-refresh request on the client's main queue and connects to no
/// broker until a token is set. rdkafka's producer and consumer serve that queue when polled,
/// but its `AdminClient` only polls its own result queue (rust-rdkafka issue #757), and the
/// offset reader's consumer is never polled (it only sends metadata, watermark and offset
/// requests, which block waiting for the broker). For these clients this thread polls the main
/// queue, answers each refresh request with a token from [`OAuthBearer`] (or its failure), and
/// drops every other event (logs and errors that rdkafka would not deliver either).
pub(super) struct RefreshPump {
    stop: Arc<AtomicBool>,
}

impl RefreshPump {
    /// How long one poll of the main queue waits, so the thread notices [`Drop`] quickly.
    const POLL: Duration = Duration::from_millis(100);

    /// Starts the pump for the client `native` finds in `owner`. The thread keeps `owner`
    /// alive while it runs, so the handle it polls is never freed under it.
    pub(super) fn start<T, C>(
        owner: Arc<T>,
        native: fn(&T) -> &Client<C>,
        oauth: Arc<OAuthBearer>,
    ) -> std::io::Result<RefreshPump>
    where
        T: Send + Sync + 'static,
        C: rdkafka::ClientContext + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("kustoplan-kafka-oauth".into())
            .spawn(move || {
                let rk = native(&owner).native_ptr();
                // SAFETY: `rk` is the live handle of `owner`, held by this thread.
                let Ok(queue) = Owned::new(
                    unsafe { rd::rd_kafka_queue_get_main(rk) },
                    rd::rd_kafka_queue_destroy,
                    "the main queue",
                ) else {
                    oauth.record(Err(&TokenError::TokenThreadStopped {
                        scope: oauth.scope().to_string(),
                    }));
                    return;
                };
                while !stopped.load(Ordering::Relaxed) {
                    // SAFETY: valid queue of a live handle.
                    let event = unsafe { rd::rd_kafka_queue_poll(queue.ptr, millis(Self::POLL)) };
                    if event.is_null() {
                        continue;
                    }
                    let Ok(event) = Owned::new(event, rd::rd_kafka_event_destroy, "an event")
                    else {
                        continue;
                    };
                    // SAFETY: valid event.
                    let kind = unsafe { rd::rd_kafka_event_type(event.ptr) };
                    if kind == rd::RD_KAFKA_EVENT_OAUTHBEARER_TOKEN_REFRESH {
                        answer_refresh(rk, &oauth);
                    }
                }
            })?;
        Ok(RefreshPump { stop })
    }
}

impl Drop for RefreshPump {
    /// Asks the thread to end without waiting for it: it may be inside a token fetch (up to
    /// the fetch limit), and it frees the client itself when it lets go of its owner.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Sets a token from `oauth` on `rk`, or reports the failure to librdkafka (which logs it and
/// asks again later). The token is only handed to librdkafka, never formatted.
fn answer_refresh(rk: *mut rd::rd_kafka_t, oauth: &OAuthBearer) {
    let failure = |message: &str| {
        let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
        // SAFETY: `rk` is live (the pump holds its owner) and `message` is NUL-terminated.
        unsafe { rd::rd_kafka_oauthbearer_set_token_failure(rk, message.as_ptr()) };
    };
    let token = match oauth.token() {
        Ok(token) => token,
        Err(e) => return failure(&e.to_string()),
    };
    let invalid = || TokenError::InvalidToken {
        method: oauth.method(),
    };
    let (Ok(value), Ok(principal)) = (
        CString::new(token.token),
        CString::new(token.principal_name),
    ) else {
        let e = invalid();
        oauth.record(Err(&e));
        return failure(&e.to_string());
    };
    let mut errbuf = [0 as c_char; 512];
    // SAFETY: live handle, NUL-terminated strings, no extensions, a writable buffer.
    let err = unsafe {
        rd::rd_kafka_oauthbearer_set_token(
            rk,
            value.as_ptr(),
            token.lifetime_ms,
            principal.as_ptr(),
            ptr::null_mut(),
            0,
            errbuf.as_mut_ptr(),
            errbuf.len(),
        )
    };
    if !no_error(err) {
        // librdkafka's reason (token syntax, an expired lifetime) never quotes the token.
        let reason = text(errbuf.as_ptr());
        let e = invalid();
        oauth.record(Err(&e));
        failure(&format!("{e}: {reason}"));
    }
}

fn text(ptr: *const c_char) -> String {
    if ptr.is_null() {
        String::new()
    } else {
        // SAFETY: librdkafka returns NUL-terminated strings valid until their owner is
        // destroyed; this copies before that happens.
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned()
    }
}

fn cstring(what: &str, value: &str) -> Result<CString, Failure> {
    CString::new(value).map_err(|_| Failure::Setup(format!("{what} contains a NUL byte")))
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

fn no_error(err: rd::rd_kafka_resp_err_t) -> bool {
    err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
}

/// Sends one admin request (`submit` gets the handle, the options and the result queue) and
/// waits for its result event, checking the request-level error.
fn run(
    client: &AdminClient<KafkaContext>,
    op: rd::rd_kafka_admin_op_t,
    limits: Limits,
    submit: impl FnOnce(
        *mut rd::rd_kafka_t,
        *const rd::rd_kafka_AdminOptions_t,
        *mut rd::rd_kafka_queue_t,
    ),
) -> Result<Owned<rd::rd_kafka_event_t>, Failure> {
    let rk = client.inner().native_ptr();
    // SAFETY: `rk` is the live handle of `client`.
    let options = Owned::new(
        unsafe { rd::rd_kafka_AdminOptions_new(rk, op) },
        rd::rd_kafka_AdminOptions_destroy,
        "admin options",
    )?;
    let mut errbuf = [0 as c_char; 512];
    // SAFETY: valid options and a writable buffer of the given size.
    let set = unsafe {
        rd::rd_kafka_AdminOptions_set_request_timeout(
            options.ptr,
            millis(limits.request),
            errbuf.as_mut_ptr(),
            errbuf.len(),
        )
    };
    if !no_error(set) {
        return Err(Failure::Setup(text(errbuf.as_ptr())));
    }
    if let Some(operation) = limits.operation {
        // SAFETY: as above.
        let set = unsafe {
            rd::rd_kafka_AdminOptions_set_operation_timeout(
                options.ptr,
                millis(operation),
                errbuf.as_mut_ptr(),
                errbuf.len(),
            )
        };
        if !no_error(set) {
            return Err(Failure::Setup(text(errbuf.as_ptr())));
        }
    }
    // SAFETY: `rk` is live. librdkafka reference-counts queues, so a late reply after a
    // timeout is dropped safely when this guard goes.
    let queue = Owned::new(
        unsafe { rd::rd_kafka_queue_new(rk) },
        rd::rd_kafka_queue_destroy,
        "a result queue",
    )?;
    submit(rk, options.ptr, queue.ptr);
    // SAFETY: valid queue.
    let event = unsafe { rd::rd_kafka_queue_poll(queue.ptr, millis(limits.wait)) };
    if event.is_null() {
        return Err(Failure::TimedOut);
    }
    let event = Owned::new(event, rd::rd_kafka_event_destroy, "an event")?;
    // SAFETY: valid event, read before it is destroyed.
    let err = unsafe { rd::rd_kafka_event_error(event.ptr) };
    if !no_error(err) {
        // SAFETY: as above.
        let message = text(unsafe { rd::rd_kafka_event_error_string(event.ptr) });
        return Err(Failure::Request(err.into(), message));
    }
    Ok(event)
}

/// Copies `n` topic results out of a CreateTopics or CreatePartitions result array.
///
/// # Safety
/// `array` must point to `n` valid topic results that outlive this call.
unsafe fn topic_results(
    array: *mut *const rd::rd_kafka_topic_result_t,
    n: usize,
) -> Vec<ResourceResult> {
    (0..n)
        .map(|i| {
            // SAFETY: `i < n` elements of a valid array (the caller's contract).
            let (topic, err, message) = unsafe {
                let r = *array.add(i);
                (
                    text(rd::rd_kafka_topic_result_name(r)),
                    rd::rd_kafka_topic_result_error(r),
                    text(rd::rd_kafka_topic_result_error_string(r)),
                )
            };
            ResourceResult {
                topic,
                error: (!no_error(err)).then(|| (RDKafkaErrorCode::from(err), message)),
            }
        })
        .collect()
}

/// One CreateTopics request. `replication_factor: None` is sent as -1: the broker's default
/// (KIP-464, Kafka 2.4+). Partition counts must fit in an `i32` (checked by the caller).
pub(super) fn create_topics(
    client: &AdminClient<KafkaContext>,
    topics: &[Topic],
    limits: Limits,
) -> Result<Vec<ResourceResult>, Failure> {
    let mut new_topics = Vec::with_capacity(topics.len());
    for t in topics {
        let name = cstring("a topic name", &t.name)?;
        let partitions = i32::try_from(t.partitions)
            .map_err(|_| Failure::Setup(format!("{} partitions is too many", t.partitions)))?;
        let replication = t.replication_factor.map_or(-1, i32::from);
        let mut errbuf = [0 as c_char; 512];
        // SAFETY: valid C string and a writable buffer; the result is owned by the guard.
        let raw = unsafe {
            rd::rd_kafka_NewTopic_new(
                name.as_ptr(),
                partitions,
                replication,
                errbuf.as_mut_ptr(),
                errbuf.len(),
            )
        };
        if raw.is_null() {
            return Err(Failure::Setup(format!(
                "topic {:?}: {}",
                t.name,
                text(errbuf.as_ptr())
            )));
        }
        let new_topic = Owned::new(raw, rd::rd_kafka_NewTopic_destroy, "a new topic")?;
        for (key, value) in &t.configs {
            let (k, v) = (
                cstring("a config name", key)?,
                cstring("a config value", value)?,
            );
            // SAFETY: valid object and C strings; librdkafka copies them.
            let err =
                unsafe { rd::rd_kafka_NewTopic_set_config(new_topic.ptr, k.as_ptr(), v.as_ptr()) };
            if !no_error(err) {
                return Err(Failure::Setup(format!(
                    "config {key:?} of topic {:?} was refused by the client",
                    t.name
                )));
            }
        }
        new_topics.push(new_topic);
    }
    let mut raw: Vec<*mut rd::rd_kafka_NewTopic_t> = new_topics.iter().map(|t| t.ptr).collect();
    let event = run(
        client,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_CREATETOPICS,
        limits,
        |rk, options, queue| {
            // SAFETY: valid handle, objects, options and queue; librdkafka copies the objects.
            unsafe { rd::rd_kafka_CreateTopics(rk, raw.as_mut_ptr(), raw.len(), options, queue) }
        },
    )?;
    // SAFETY: valid event; the result and its array live as long as the event.
    unsafe {
        let result = rd::rd_kafka_event_CreateTopics_result(event.ptr);
        if result.is_null() {
            return Err(unexpected());
        }
        let mut n = 0usize;
        let array = rd::rd_kafka_CreateTopics_result_topics(result, &mut n);
        Ok(topic_results(array, n))
    }
}

/// One CreatePartitions request (`total` is the new partition count).
pub(super) fn create_partitions(
    client: &AdminClient<KafkaContext>,
    increases: &[PartitionIncrease],
    limits: Limits,
) -> Result<Vec<ResourceResult>, Failure> {
    let mut parts = Vec::with_capacity(increases.len());
    for inc in increases {
        let name = cstring("a topic name", &inc.topic)?;
        let mut errbuf = [0 as c_char; 512];
        // SAFETY: valid C string and a writable buffer; the result is owned by the guard.
        let raw = unsafe {
            rd::rd_kafka_NewPartitions_new(
                name.as_ptr(),
                inc.total as usize,
                errbuf.as_mut_ptr(),
                errbuf.len(),
            )
        };
        if raw.is_null() {
            return Err(Failure::Setup(format!(
                "topic {:?}: {}",
                inc.topic,
                text(errbuf.as_ptr())
            )));
        }
        parts.push(Owned::new(
            raw,
            rd::rd_kafka_NewPartitions_destroy,
            "new partitions",
        )?);
    }
    let mut raw: Vec<*mut rd::rd_kafka_NewPartitions_t> = parts.iter().map(|p| p.ptr).collect();
    let event = run(
        client,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_CREATEPARTITIONS,
        limits,
        |rk, options, queue| {
            // SAFETY: valid handle, objects, options and queue; librdkafka copies the objects.
            unsafe {
                rd::rd_kafka_CreatePartitions(rk, raw.as_mut_ptr(), raw.len(), options, queue)
            }
        },
    )?;
    // SAFETY: valid event; the result and its array live as long as the event.
    unsafe {
        let result = rd::rd_kafka_event_CreatePartitions_result(event.ptr);
        if result.is_null() {
            return Err(unexpected());
        }
        let mut n = 0usize;
        let array = rd::rd_kafka_CreatePartitions_result_topics(result, &mut n);
        Ok(topic_results(array, n))
    }
}

/// One IncrementalAlterConfigs request for all `changes`: SET for `set`, DELETE for `delete`.
pub(super) fn incremental_alter_configs(
    client: &AdminClient<KafkaContext>,
    changes: &[ConfigChange],
    limits: Limits,
) -> Result<Vec<ResourceResult>, Failure> {
    let mut resources = Vec::with_capacity(changes.len());
    for change in changes {
        let name = cstring("a topic name", &change.topic)?;
        // SAFETY: valid C string; the resource is owned by the guard.
        let resource = Owned::new(
            unsafe {
                rd::rd_kafka_ConfigResource_new(
                    rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC,
                    name.as_ptr(),
                )
            },
            rd::rd_kafka_ConfigResource_destroy,
            "a config resource",
        )?;
        let ops = change
            .set
            .iter()
            .map(|(k, v)| (k, Some(v)))
            .chain(change.delete.iter().map(|k| (k, None)));
        for (key, value) in ops {
            let key_c = cstring("a config name", key)?;
            let value_c = value.map(|v| cstring("a config value", v)).transpose()?;
            let op = if value_c.is_some() {
                rd::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET
            } else {
                rd::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE
            };
            // SAFETY: valid resource and C strings; librdkafka copies them.
            let error = unsafe {
                rd::rd_kafka_ConfigResource_add_incremental_config(
                    resource.ptr,
                    key_c.as_ptr(),
                    op,
                    value_c.as_ref().map_or(ptr::null(), |v| v.as_ptr()),
                )
            };
            if !error.is_null() {
                // SAFETY: a non-null error is ours to read and destroy.
                let message = unsafe {
                    let m = text(rd::rd_kafka_error_string(error));
                    rd::rd_kafka_error_destroy(error);
                    m
                };
                return Err(Failure::Setup(format!(
                    "config {key:?} of topic {:?}: {message}",
                    change.topic
                )));
            }
        }
        resources.push(resource);
    }
    let mut raw: Vec<*mut rd::rd_kafka_ConfigResource_t> =
        resources.iter().map(|r| r.ptr).collect();
    let limits = Limits {
        // IncrementalAlterConfigs has no broker-side operation timeout.
        operation: None,
        ..limits
    };
    let event = run(
        client,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS,
        limits,
        |rk, options, queue| {
            // SAFETY: valid handle, objects, options and queue; librdkafka copies the objects.
            unsafe {
                rd::rd_kafka_IncrementalAlterConfigs(
                    rk,
                    raw.as_mut_ptr(),
                    raw.len(),
                    options,
                    queue,
                )
            }
        },
    )?;
    // SAFETY: valid event; the result and its array live as long as the event.
    let (array, n) = unsafe {
        let result = rd::rd_kafka_event_IncrementalAlterConfigs_result(event.ptr);
        if result.is_null() {
            return Err(unexpected());
        }
        let mut n = 0usize;
        (
            rd::rd_kafka_IncrementalAlterConfigs_result_resources(result, &mut n),
            n,
        )
    };
    Ok((0..n)
        .map(|i| {
            // SAFETY: `i < n` elements of a valid array, read while the event lives.
            let (topic, err, message) = unsafe {
                let r = *array.add(i);
                (
                    text(rd::rd_kafka_ConfigResource_name(r)),
                    rd::rd_kafka_ConfigResource_error(r),
                    text(rd::rd_kafka_ConfigResource_error_string(r)),
                )
            };
            ResourceResult {
                topic,
                error: (!no_error(err)).then(|| (RDKafkaErrorCode::from(err), message)),
            }
        })
        .collect())
}

fn unexpected() -> Failure {
    Failure::Setup("librdkafka answered with an unexpected event type".into())
}

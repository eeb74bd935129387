//! IncrementalAlterConfigs (KIP-339) through librdkafka's C API.
//!
//! rdkafka 0.39 wraps only the legacy AlterConfigs, which *replaces* every dynamic config of a
//! topic: a change sent with only the keys to change silently resets all the others, and a
//! read-modify-write with the full set races with anyone else changing the topic between our
//! DescribeConfigs and AlterConfigs. librdkafka 2.12 (bundled by rdkafka-sys) implements
//! IncrementalAlterConfigs, which sets and deletes exactly the named keys, and brokers since
//! Kafka 2.3 (and tansu, which lacks the legacy call) support it. So this module calls it
//! directly, through the bindings rdkafka re-exports, on the admin client's own handle.
//!
//! Everything unsafe is confined here: the C objects are owned by guards that free them on every
//! path, the result event is read before it is destroyed, and the client handle outlives the call
//! because the caller lends a reference to the [`AdminClient`].

use std::ffi::{CStr, CString, c_char};
use std::ptr;
use std::time::Duration;

use rdkafka::admin::AdminClient;
use rdkafka::bindings as rd;
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use super::ConfigChange;

/// One topic's result: `None` on success, else the broker's error code and message.
pub(super) struct ResourceResult {
    pub topic: String,
    pub error: Option<(RDKafkaErrorCode, String)>,
}

/// Why the request as a whole failed.
pub(super) enum Failure {
    /// The request could not be built (e.g. a NUL byte in a key).
    Setup(String),
    /// librdkafka reported a request-level error.
    Request(RDKafkaErrorCode, String),
    /// No result arrived in time.
    TimedOut,
}

struct Resources(Vec<*mut rd::rd_kafka_ConfigResource_t>);
impl Drop for Resources {
    fn drop(&mut self) {
        for r in &self.0 {
            // SAFETY: each pointer came from rd_kafka_ConfigResource_new and is freed once.
            unsafe { rd::rd_kafka_ConfigResource_destroy(*r) };
        }
    }
}

struct Options(*mut rd::rd_kafka_AdminOptions_t);
impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: created by rd_kafka_AdminOptions_new, freed once.
        unsafe { rd::rd_kafka_AdminOptions_destroy(self.0) };
    }
}

struct Queue(*mut rd::rd_kafka_queue_t);
impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: created by rd_kafka_queue_new, freed once. librdkafka reference-counts queues,
        // so a late reply after a timeout is dropped safely.
        unsafe { rd::rd_kafka_queue_destroy(self.0) };
    }
}

struct Event(*mut rd::rd_kafka_event_t);
impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: returned by rd_kafka_queue_poll, freed once.
        unsafe { rd::rd_kafka_event_destroy(self.0) };
    }
}

fn text(ptr: *const c_char) -> String {
    if ptr.is_null() {
        String::new()
    } else {
        // SAFETY: librdkafka returns NUL-terminated strings valid until the owner is destroyed;
        // this copies before that happens.
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

/// Sends one IncrementalAlterConfigs request for all `changes` and waits up to `wait` for the
/// result. Blocking: call it from a blocking thread.
pub(super) fn incremental_alter_configs(
    client: &AdminClient<DefaultClientContext>,
    changes: &[ConfigChange],
    request_timeout: Duration,
    wait: Duration,
) -> Result<Vec<ResourceResult>, Failure> {
    let rk = client.inner().native_ptr();
    let mut resources = Resources(Vec::with_capacity(changes.len()));
    for change in changes {
        let name = cstring("a topic name", &change.topic)?;
        // SAFETY: `name` is a valid C string; the resource is owned by `resources`.
        let resource = unsafe {
            rd::rd_kafka_ConfigResource_new(
                rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC,
                name.as_ptr(),
            )
        };
        if resource.is_null() {
            return Err(Failure::Setup(format!(
                "cannot describe topic {:?} for librdkafka",
                change.topic
            )));
        }
        resources.0.push(resource);
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
                    resource,
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
    }

    // SAFETY: `rk` is the live handle of `client`.
    let options = Options(unsafe {
        rd::rd_kafka_AdminOptions_new(
            rk,
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS,
        )
    });
    if options.0.is_null() {
        return Err(Failure::Setup("cannot create admin options".into()));
    }
    let mut errbuf = [0 as c_char; 512];
    // SAFETY: valid options and a writable buffer of the given size.
    let set = unsafe {
        rd::rd_kafka_AdminOptions_set_request_timeout(
            options.0,
            millis(request_timeout),
            errbuf.as_mut_ptr(),
            errbuf.len(),
        )
    };
    if set != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        return Err(Failure::Setup(text(errbuf.as_ptr())));
    }
    // SAFETY: `rk` is live; the queue is owned by `queue`.
    let queue = Queue(unsafe { rd::rd_kafka_queue_new(rk) });
    if queue.0.is_null() {
        return Err(Failure::Setup("cannot create a result queue".into()));
    }
    // SAFETY: all objects are valid; librdkafka copies the resources and options.
    unsafe {
        rd::rd_kafka_IncrementalAlterConfigs(
            rk,
            resources.0.as_mut_ptr(),
            resources.0.len(),
            options.0,
            queue.0,
        );
    }
    // SAFETY: valid queue.
    let event = unsafe { rd::rd_kafka_queue_poll(queue.0, millis(wait)) };
    if event.is_null() {
        return Err(Failure::TimedOut);
    }
    let event = Event(event);
    // SAFETY: valid event, read before `event` is dropped.
    let err = unsafe { rd::rd_kafka_event_error(event.0) };
    if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        // SAFETY: as above.
        let message = text(unsafe { rd::rd_kafka_event_error_string(event.0) });
        return Err(Failure::Request(err.into(), message));
    }
    // SAFETY: as above.
    let result = unsafe { rd::rd_kafka_event_IncrementalAlterConfigs_result(event.0) };
    if result.is_null() {
        return Err(Failure::Setup(
            "librdkafka answered with an unexpected event type".into(),
        ));
    }
    let mut n = 0usize;
    // SAFETY: valid result; the array lives as long as the event.
    let array = unsafe { rd::rd_kafka_IncrementalAlterConfigs_result_resources(result, &mut n) };
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        // SAFETY: `i < n` elements of a valid array, read while the event lives.
        let (topic, err, message) = unsafe {
            let r = *array.add(i);
            (
                text(rd::rd_kafka_ConfigResource_name(r)),
                rd::rd_kafka_ConfigResource_error(r),
                text(rd::rd_kafka_ConfigResource_error_string(r)),
            )
        };
        let error = (err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
            .then(|| (RDKafkaErrorCode::from(err), message));
        out.push(ResourceResult { topic, error });
    }
    Ok(out)
}

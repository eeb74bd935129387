//! Config key definitions the sandbox validates against: the Connect framework's sink keys
//! (as a Connect 4.3 worker reports them) and the Kusto sink's documented keys (types,
//! defaults, groups and rules as in `shared/reference/kusto-sink-properties.md` and the
//! test stand-in plugin under `tests/connect/kusto-sink-standin`).

/// The Kusto sink's connector class.
pub const KUSTO_SINK_CLASS: &str =
    "com.microsoft.azure.kusto.kafka.connect.sink.KustoSinkConnector";
/// The Kusto sink's task class (shown by `GET /connectors/N/tasks`).
pub const KUSTO_SINK_TASK_CLASS: &str =
    "com.microsoft.azure.kusto.kafka.connect.sink.KustoSinkTask";
/// The plugin version the sandbox reports (not a real connector release).
pub const KUSTO_SINK_VERSION: &str = "5.3.0-kustoplan-sandbox";
/// The Kafka Connect version the sandbox answers like (the recorded fixtures' worker).
pub const CONNECT_VERSION: &str = "4.3.0";

/// A ConfigDef type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    String,
    Int,
    Long,
    Short,
    Boolean,
    Class,
    List,
    Password,
}

impl Kind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Kind::String => "STRING",
            Kind::Int => "INT",
            Kind::Long => "LONG",
            Kind::Short => "SHORT",
            Kind::Boolean => "BOOLEAN",
            Kind::Class => "CLASS",
            Kind::List => "LIST",
            Kind::Password => "PASSWORD",
        }
    }
}

/// A ConfigDef validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    None,
    /// `Range.atLeast(n)` (also rejects null).
    AtLeast(i64),
    /// `CaseInsensitiveValidString.in(...)`.
    OneOf(&'static [&'static str]),
    /// An absolute http(s) URL.
    Url,
    /// `kusto.tables.topics.mapping`.
    Mapping,
}

/// One config key.
#[derive(Debug, Clone, Copy)]
pub(super) struct KeyDef {
    pub name: &'static str,
    pub kind: Kind,
    /// `None` with `required` means NO_DEFAULT_VALUE.
    pub default: Option<&'static str>,
    pub required: bool,
    pub importance: &'static str,
    pub documentation: &'static str,
    pub group: &'static str,
    pub order: i32,
    pub width: &'static str,
    pub display: &'static str,
    pub check: Check,
}

const fn key(
    name: &'static str,
    kind: Kind,
    default: Option<&'static str>,
    group: &'static str,
    order: i32,
    display: &'static str,
    documentation: &'static str,
) -> KeyDef {
    KeyDef {
        name,
        kind,
        default,
        required: false,
        importance: "LOW",
        documentation,
        group,
        order,
        width: "MEDIUM",
        display,
        check: Check::None,
    }
}

const fn required(mut k: KeyDef) -> KeyDef {
    k.required = true;
    k.importance = "HIGH";
    k
}

const fn checked(mut k: KeyDef, check: Check) -> KeyDef {
    k.check = check;
    k
}

const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";

/// Keys every sink connector has, in the order a Connect 4.3 worker lists them.
pub(super) const FRAMEWORK_KEYS: &[KeyDef] = &[
    required(key(
        "name",
        Kind::String,
        None,
        "Common",
        1,
        "Connector name",
        "Globally unique name to use for this connector.",
    )),
    required(key(
        "connector.class",
        Kind::String,
        None,
        "Common",
        2,
        "Connector class",
        "Name or alias of the class for this connector. Must be a subclass of org.apache.kafka.connect.connector.Connector.",
    )),
    key(
        "connector.plugin.version",
        Kind::String,
        Some(KUSTO_SINK_VERSION),
        "Common",
        3,
        "Connector version",
        "Version of the connector.",
    ),
    checked(
        key(
            "tasks.max",
            Kind::Int,
            Some("1"),
            "Common",
            4,
            "Tasks max",
            "Maximum number of tasks to use for this connector.",
        ),
        Check::AtLeast(1),
    ),
    key(
        "tasks.max.enforce",
        Kind::Boolean,
        Some("true"),
        "Common",
        5,
        "Enforce tasks max",
        "(Deprecated) Whether to enforce that the tasks.max property is respected by the connector.",
    ),
    key(
        "key.converter",
        Kind::Class,
        Some(JSON_CONVERTER),
        "Common",
        6,
        "Key converter class",
        "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka.",
    ),
    key(
        "key.converter.plugin.version",
        Kind::String,
        Some(CONNECT_VERSION),
        "Common",
        7,
        "Key converter version",
        "Version of the key converter.",
    ),
    key(
        "value.converter",
        Kind::Class,
        Some(JSON_CONVERTER),
        "Common",
        8,
        "Value converter class",
        "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka.",
    ),
    key(
        "value.converter.plugin.version",
        Kind::String,
        Some(CONNECT_VERSION),
        "Common",
        9,
        "Value converter version",
        "Version of the value converter.",
    ),
    key(
        "header.converter",
        Kind::Class,
        Some("org.apache.kafka.connect.storage.SimpleHeaderConverter"),
        "Common",
        10,
        "Header converter class",
        "HeaderConverter class used to convert between Kafka Connect format and the serialized form that is written to Kafka.",
    ),
    key(
        "header.converter.plugin.version",
        Kind::String,
        Some(CONNECT_VERSION),
        "Common",
        11,
        "Header converter version",
        "Version of the header converter.",
    ),
    key(
        "transforms",
        Kind::List,
        Some(""),
        "Transforms",
        12,
        "Transforms",
        "Aliases for the transformations to be applied to records.",
    ),
    key(
        "predicates",
        Kind::List,
        Some(""),
        "Predicates",
        13,
        "Predicates",
        "Aliases for the predicates used by transformations.",
    ),
    key(
        "config.action.reload",
        Kind::String,
        Some("restart"),
        "Common",
        14,
        "Reload Action",
        "The action that Connect should take on the connector when changes in external configuration providers result in a change in the connector's configuration properties.",
    ),
    key(
        "errors.retry.timeout",
        Kind::Long,
        Some("0"),
        "Error Handling",
        1,
        "Retry Timeout for Errors",
        "The maximum duration in milliseconds that a failed operation will be reattempted.",
    ),
    key(
        "errors.retry.delay.max.ms",
        Kind::Long,
        Some("60000"),
        "Error Handling",
        2,
        "Maximum Delay Between Retries for Errors",
        "The maximum duration in milliseconds between consecutive retry attempts.",
    ),
    checked(
        key(
            "errors.tolerance",
            Kind::String,
            Some("none"),
            "Error Handling",
            3,
            "Error Tolerance",
            "Behavior for tolerating errors during connector operation.",
        ),
        Check::OneOf(&["none", "all"]),
    ),
    key(
        "errors.log.enable",
        Kind::Boolean,
        Some("false"),
        "Error Handling",
        4,
        "Log Errors",
        "If true, write each error and the details of the failed operation and problematic record to the Connect application log.",
    ),
    key(
        "errors.log.include.messages",
        Kind::Boolean,
        Some("false"),
        "Error Handling",
        5,
        "Log Error Details",
        "Whether to include in the log the Connect record that resulted in a failure.",
    ),
    key(
        "topics",
        Kind::List,
        Some(""),
        "Common",
        4,
        "Topics",
        "List of topics to consume, separated by commas",
    ),
    key(
        "topics.regex",
        Kind::String,
        Some(""),
        "Common",
        4,
        "Topics regex",
        "Regular expression giving topics to consume.",
    ),
    key(
        "errors.deadletterqueue.topic.name",
        Kind::String,
        Some(""),
        "Error Handling",
        6,
        "Dead Letter Queue Topic Name",
        "The name of the topic to be used as the dead letter queue (DLQ) for messages that result in an error when processed by this sink connector.",
    ),
    key(
        "errors.deadletterqueue.topic.replication.factor",
        Kind::Short,
        Some("3"),
        "Error Handling",
        7,
        "Dead Letter Queue Topic Replication Factor",
        "Replication factor used to create the dead letter queue topic when it doesn't already exist.",
    ),
    key(
        "errors.deadletterqueue.context.headers.enable",
        Kind::Boolean,
        Some("false"),
        "Error Handling",
        8,
        "Enable Error Context Headers",
        "If true, add headers containing error context to the messages written to the dead letter queue.",
    ),
];

const CONN: &str = "Connection";
const WRITE: &str = "Write";
const ERRORS: &str = "Error Handling and Retries";

/// The Kusto sink's own keys.
pub(super) const SINK_KEYS: &[KeyDef] = &[
    checked(
        required(key(
            "kusto.ingestion.url",
            Kind::String,
            None,
            CONN,
            1,
            "Kusto Ingestion URL",
            "Kusto ingestion endpoint URL, e.g. https://ingest-cluster.region.kusto.windows.net.",
        )),
        Check::Url,
    ),
    checked(
        key(
            "kusto.query.url",
            Kind::String,
            None,
            CONN,
            2,
            "Kusto Query URL",
            "Kusto query (engine) endpoint URL, used to validate tables, mappings and permissions.",
        ),
        Check::Url,
    ),
    checked(
        key(
            "aad.auth.strategy",
            Kind::String,
            Some("application"),
            CONN,
            3,
            "Authentication Strategy",
            "Authentication strategy: application, managed_identity, workload_identity or az_dev_token.",
        ),
        Check::OneOf(&[
            "application",
            "managed_identity",
            "workload_identity",
            "az_dev_token",
        ]),
    ),
    key(
        "aad.auth.authority",
        Kind::String,
        None,
        CONN,
        4,
        "Kusto Auth Authority",
        "Azure AD tenant (authority) of the application.",
    ),
    key(
        "aad.auth.appid",
        Kind::String,
        None,
        CONN,
        5,
        "Kusto Auth AppID",
        "Application (client) id for authentication.",
    ),
    key(
        "aad.auth.appkey",
        Kind::Password,
        None,
        CONN,
        6,
        "Kusto Auth AppKey",
        "Application key (client secret) for authentication.",
    ),
    key(
        "aad.auth.accesstoken",
        Kind::Password,
        None,
        CONN,
        7,
        "Kusto Access Token",
        "Access token, used with az_dev_token.",
    ),
    checked(
        required(key(
            "kusto.tables.topics.mapping",
            Kind::String,
            None,
            WRITE,
            1,
            "Kusto Table Topics Mapping",
            "JSON array of {topic, db, table, format, mapping, streaming} (single quotes allowed).",
        )),
        Check::Mapping,
    ),
    key(
        "kusto.validation.table.enable",
        Kind::Boolean,
        Some("false"),
        WRITE,
        2,
        "Validate tables",
        "Check at task start that each route's table and mapping exist and the app may ingest.",
    ),
    checked(
        key(
            "flush.size.bytes",
            Kind::Long,
            Some("1048576"),
            WRITE,
            3,
            "Maximum Flush Size",
            "Max buffer size per topic-partition before a flush.",
        ),
        Check::AtLeast(100),
    ),
    checked(
        key(
            "flush.interval.ms",
            Kind::Long,
            Some("30000"),
            WRITE,
            4,
            "Maximum Flush Interval",
            "Max staleness in milliseconds per topic-partition.",
        ),
        Check::AtLeast(100),
    ),
    key(
        "tempdir.path",
        Kind::String,
        Some("/tmp"),
        WRITE,
        5,
        "Temporary Directory",
        "Directory for buffered files.",
    ),
    checked(
        key(
            "behavior.on.error",
            Kind::String,
            Some("fail"),
            ERRORS,
            1,
            "Behavior On Error",
            "What to do on an ingestion error: fail, log or ignore.",
        ),
        Check::OneOf(&["fail", "log", "ignore"]),
    ),
    key(
        "errors.retry.max.time.ms",
        Kind::Long,
        Some("300000"),
        ERRORS,
        2,
        "Errors Maximum Retry Time",
        "Maximum time to retry transient errors.",
    ),
    key(
        "errors.retry.backoff.time.ms",
        Kind::Long,
        Some("10000"),
        ERRORS,
        3,
        "Errors Retry BackOff Time",
        "Backoff between retries.",
    ),
    key(
        "misc.deadletterqueue.bootstrap.servers",
        Kind::List,
        Some(""),
        ERRORS,
        4,
        "Miscellaneous Dead-Letter Queue Bootstrap Servers",
        "Bootstrap servers of the connector's own dead-letter queue.",
    ),
    key(
        "misc.deadletterqueue.topic.name",
        Kind::String,
        None,
        ERRORS,
        5,
        "Miscellaneous Dead-Letter Queue Topic Name",
        "Topic of the connector's own dead-letter queue.",
    ),
    key(
        "misc.deadletterqueue.security.protocol",
        Kind::String,
        Some("SASL_SSL"),
        ERRORS,
        6,
        "Miscellaneous Dead-Letter Queue Security Protocol",
        "Security protocol of the dead-letter queue producer.",
    ),
    key(
        "misc.deadletterqueue.sasl.mechanism",
        Kind::String,
        Some("PLAIN"),
        ERRORS,
        7,
        "Miscellaneous Dead-Letter Queue SASL Mechanism",
        "SASL mechanism of the dead-letter queue producer.",
    ),
    key(
        "misc.deadletterqueue.sasl.jaas.config",
        Kind::Password,
        None,
        ERRORS,
        8,
        "Miscellaneous Dead-Letter Queue SASL JAAS Config",
        "JAAS configuration of the dead-letter queue producer.",
    ),
    key(
        "proxy.host",
        Kind::String,
        None,
        CONN,
        8,
        "Proxy host",
        "Proxy host.",
    ),
    key(
        "proxy.port",
        Kind::Int,
        Some("-1"),
        CONN,
        9,
        "Proxy port",
        "Proxy port.",
    ),
];

/// True when `class` names the Kusto sink: its full name, or the aliases Connect accepts
/// (simple class name, and the simple name without the `Connector` suffix).
pub fn is_kusto_sink(class: &str) -> bool {
    matches!(
        class.trim(),
        KUSTO_SINK_CLASS | "KustoSinkConnector" | "KustoSink"
    )
}

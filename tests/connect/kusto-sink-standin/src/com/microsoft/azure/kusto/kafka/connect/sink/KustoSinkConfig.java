package com.microsoft.azure.kusto.kafka.connect.sink;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.Width;
import org.apache.kafka.common.config.ConfigException;

/**
 * Test stand-in for the Kusto sink's configuration: the documented keys, types, defaults and
 * validation rules of the real connector (v5.3.x), written from its README and the summary in
 * ../shared/reference/kusto-sink-properties.md. Not the real connector.
 */
public class KustoSinkConfig extends AbstractConfig {
    public static final String KUSTO_INGEST_URL_CONF = "kusto.ingestion.url";
    public static final String KUSTO_ENGINE_URL_CONF = "kusto.query.url";
    public static final String KUSTO_AUTH_STRATEGY_CONF = "aad.auth.strategy";
    public static final String KUSTO_AUTH_AUTHORITY_CONF = "aad.auth.authority";
    public static final String KUSTO_AUTH_APPID_CONF = "aad.auth.appid";
    public static final String KUSTO_AUTH_APPKEY_CONF = "aad.auth.appkey";
    public static final String KUSTO_AUTH_ACCESS_TOKEN_CONF = "aad.auth.accesstoken";
    public static final String KUSTO_TABLES_MAPPING_CONF = "kusto.tables.topics.mapping";
    public static final String KUSTO_VALIDATION_TABLE_ENABLE_CONF = "kusto.validation.table.enable";
    public static final String FLUSH_SIZE_BYTES_CONF = "flush.size.bytes";
    public static final String FLUSH_INTERVAL_MS_CONF = "flush.interval.ms";
    public static final String TEMPDIR_PATH_CONF = "tempdir.path";
    public static final String BEHAVIOR_ON_ERROR_CONF = "behavior.on.error";
    public static final String RETRY_MAX_TIME_MS_CONF = "errors.retry.max.time.ms";
    public static final String RETRY_BACKOFF_TIME_MS_CONF = "errors.retry.backoff.time.ms";
    public static final String DLQ_BOOTSTRAP_SERVERS_CONF = "misc.deadletterqueue.bootstrap.servers";
    public static final String DLQ_TOPIC_NAME_CONF = "misc.deadletterqueue.topic.name";
    public static final String DLQ_SECURITY_PROTOCOL_CONF = "misc.deadletterqueue.security.protocol";
    public static final String DLQ_SASL_MECHANISM_CONF = "misc.deadletterqueue.sasl.mechanism";
    public static final String DLQ_SASL_JAAS_CONFIG_CONF = "misc.deadletterqueue.sasl.jaas.config";
    public static final String PROXY_HOST_CONF = "proxy.host";
    public static final String PROXY_PORT_CONF = "proxy.port";

    /** db, table and mapping names (KQL-injection fix of 5.2.3). */
    static final Pattern NAME = Pattern.compile("^[A-Za-z0-9_.-]+$");
    /** format names (KQL-injection fix of 5.2.3). */
    static final Pattern FORMAT = Pattern.compile("^[A-Za-z0-9]+$");

    public static final ConfigDef CONFIG_DEF = define();

    public KustoSinkConfig(Map<String, String> props) {
        super(CONFIG_DEF, props);
    }

    private static ConfigDef define() {
        String conn = "Connection";
        String write = "Write";
        String errors = "Error Handling and Retries";
        ConfigDef d = new ConfigDef();
        int c = 0;
        int w = 0;
        int e = 0;
        d.define(KUSTO_INGEST_URL_CONF, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new UrlValidator(),
                Importance.HIGH, "Kusto ingestion endpoint URL, e.g. https://ingest-cluster.region.kusto.windows.net.",
                conn, ++c, Width.MEDIUM, "Kusto Ingestion URL");
        d.define(KUSTO_ENGINE_URL_CONF, Type.STRING, null, new UrlValidator(),
                Importance.LOW, "Kusto query (engine) endpoint URL, used to validate tables, mappings and permissions.",
                conn, ++c, Width.MEDIUM, "Kusto Query URL");
        d.define(KUSTO_AUTH_STRATEGY_CONF, Type.STRING, "application",
                ConfigDef.CaseInsensitiveValidString.in("application", "managed_identity", "workload_identity", "az_dev_token"),
                Importance.HIGH, "Authentication strategy: application, managed_identity, workload_identity or az_dev_token.",
                conn, ++c, Width.MEDIUM, "Authentication Strategy");
        d.define(KUSTO_AUTH_AUTHORITY_CONF, Type.STRING, null, Importance.HIGH,
                "Azure AD tenant (authority) of the application.", conn, ++c, Width.MEDIUM, "Kusto Auth Authority");
        d.define(KUSTO_AUTH_APPID_CONF, Type.STRING, null, Importance.HIGH,
                "Application (client) id for authentication.", conn, ++c, Width.MEDIUM, "Kusto Auth AppID");
        d.define(KUSTO_AUTH_APPKEY_CONF, Type.PASSWORD, null, Importance.HIGH,
                "Application key (client secret) for authentication.", conn, ++c, Width.MEDIUM, "Kusto Auth AppKey");
        d.define(KUSTO_AUTH_ACCESS_TOKEN_CONF, Type.PASSWORD, null, Importance.LOW,
                "Access token, used with az_dev_token.", conn, ++c, Width.MEDIUM, "Kusto Access Token");
        d.define(KUSTO_TABLES_MAPPING_CONF, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new MappingValidator(),
                Importance.HIGH, "JSON array of {topic, db, table, format, mapping, streaming} (single quotes allowed).",
                write, ++w, Width.LONG, "Kusto Table Topics Mapping");
        d.define(KUSTO_VALIDATION_TABLE_ENABLE_CONF, Type.BOOLEAN, false, Importance.LOW,
                "Check at task start that each route's table and mapping exist and the app may ingest.",
                write, ++w, Width.SHORT, "Validate tables");
        d.define(FLUSH_SIZE_BYTES_CONF, Type.LONG, 1024L * 1024L, ConfigDef.Range.atLeast(100), Importance.MEDIUM,
                "Max buffer size per topic-partition before a flush.", write, ++w, Width.MEDIUM, "Maximum Flush Size");
        d.define(FLUSH_INTERVAL_MS_CONF, Type.LONG, 30000L, ConfigDef.Range.atLeast(100), Importance.HIGH,
                "Max staleness in milliseconds per topic-partition.", write, ++w, Width.MEDIUM, "Maximum Flush Interval");
        d.define(TEMPDIR_PATH_CONF, Type.STRING, System.getProperty("java.io.tmpdir"), Importance.LOW,
                "Directory for buffered files.", write, ++w, Width.MEDIUM, "Temporary Directory");
        d.define(BEHAVIOR_ON_ERROR_CONF, Type.STRING, "fail",
                ConfigDef.CaseInsensitiveValidString.in("fail", "log", "ignore"), Importance.LOW,
                "What to do on an ingestion error: fail, log or ignore.", errors, ++e, Width.LONG, "Behavior On Error");
        d.define(RETRY_MAX_TIME_MS_CONF, Type.LONG, 300000L, Importance.LOW,
                "Maximum time to retry transient errors.", errors, ++e, Width.MEDIUM, "Errors Maximum Retry Time");
        d.define(RETRY_BACKOFF_TIME_MS_CONF, Type.LONG, 10000L, Importance.LOW,
                "Backoff between retries.", errors, ++e, Width.MEDIUM, "Errors Retry BackOff Time");
        d.define(DLQ_BOOTSTRAP_SERVERS_CONF, Type.LIST, "", Importance.LOW,
                "Bootstrap servers of the connector's own dead-letter queue.", errors, ++e, Width.MEDIUM,
                "Miscellaneous Dead-Letter Queue Bootstrap Servers");
        d.define(DLQ_TOPIC_NAME_CONF, Type.STRING, null, Importance.LOW,
                "Topic of the connector's own dead-letter queue.", errors, ++e, Width.MEDIUM,
                "Miscellaneous Dead-Letter Queue Topic Name");
        d.define(DLQ_SECURITY_PROTOCOL_CONF, Type.STRING, "SASL_SSL", Importance.LOW,
                "Security protocol of the dead-letter queue producer.", errors, ++e, Width.MEDIUM,
                "Miscellaneous Dead-Letter Queue Security Protocol");
        d.define(DLQ_SASL_MECHANISM_CONF, Type.STRING, "PLAIN", Importance.LOW,
                "SASL mechanism of the dead-letter queue producer.", errors, ++e, Width.MEDIUM,
                "Miscellaneous Dead-Letter Queue SASL Mechanism");
        d.define(DLQ_SASL_JAAS_CONFIG_CONF, Type.PASSWORD, null, Importance.LOW,
                "JAAS configuration of the dead-letter queue producer.", errors, ++e, Width.MEDIUM,
                "Miscellaneous Dead-Letter Queue SASL JAAS Config");
        d.define(PROXY_HOST_CONF, Type.STRING, null, Importance.LOW,
                "Proxy host.", conn, ++c, Width.MEDIUM, "Proxy host");
        d.define(PROXY_PORT_CONF, Type.INT, -1, Importance.LOW,
                "Proxy port.", conn, ++c, Width.MEDIUM, "Proxy port");
        return d;
    }

    /** Parses and checks kusto.tables.topics.mapping; throws ConfigException with the first problem. */
    static List<JsonNode> parseMapping(String value) {
        ObjectMapper mapper = new ObjectMapper();
        mapper.configure(JsonParser.Feature.ALLOW_SINGLE_QUOTES, true);
        JsonNode root;
        try {
            root = mapper.readTree(value);
        } catch (Exception ex) {
            throw new ConfigException(KUSTO_TABLES_MAPPING_CONF, value,
                    "Error parsing kusto.tables.topics.mapping as JSON: " + firstLine(ex.getMessage()));
        }
        if (root == null || !root.isArray()) {
            throw new ConfigException(KUSTO_TABLES_MAPPING_CONF, value, "Must be a JSON array of mappings");
        }
        List<JsonNode> routes = new ArrayList<>();
        Iterator<JsonNode> it = root.elements();
        int i = 0;
        while (it.hasNext()) {
            JsonNode route = it.next();
            if (!route.isObject()) {
                throw new ConfigException(KUSTO_TABLES_MAPPING_CONF, value, "Mapping " + i + " is not a JSON object");
            }
            for (String key : new String[] {"topic", "db", "table"}) {
                String v = text(route, key);
                if (v == null || v.isEmpty()) {
                    throw new ConfigException(KUSTO_TABLES_MAPPING_CONF, value,
                            "'" + key + "' must be provided for each mapping");
                }
            }
            checkName(value, route, "db", NAME, true);
            checkName(value, route, "table", NAME, true);
            checkName(value, route, "mapping", NAME, false);
            checkName(value, route, "format", FORMAT, false);
            JsonNode streaming = route.get("streaming");
            if (streaming != null && !streaming.isNull() && !streaming.isBoolean()
                    && !("true".equalsIgnoreCase(streaming.asText()) || "false".equalsIgnoreCase(streaming.asText()))) {
                throw new ConfigException(KUSTO_TABLES_MAPPING_CONF, value,
                        "'streaming' must be true or false in mapping " + i);
            }
            routes.add(route);
            i++;
        }
        return routes;
    }

    private static void checkName(String value, JsonNode route, String key, Pattern pattern, boolean required) {
        String v = text(route, key);
        if (v == null || (v.isEmpty() && !required)) {
            return;
        }
        if (!pattern.matcher(v).matches()) {
            throw new ConfigException(KUSTO_TABLES_MAPPING_CONF, value,
                    "Invalid '" + key + "' value '" + v + "': must match " + pattern.pattern());
        }
    }

    static String text(JsonNode node, String key) {
        JsonNode v = node.get(key);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    static final class MappingValidator implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            if (value == null) {
                return; // "Missing required configuration" is reported by ConfigDef itself.
            }
            parseMapping((String) value);
        }

        @Override
        public String toString() {
            return "JSON array of {topic, db, table, format, mapping, streaming}";
        }
    }

    static final class UrlValidator implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            if (value == null) {
                return;
            }
            String s = ((String) value).trim();
            URI uri;
            try {
                uri = new URI(s);
            } catch (Exception ex) {
                throw new ConfigException(name, value, "Not a valid URL");
            }
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!(scheme.equals("https") || scheme.equals("http")) || uri.getHost() == null) {
                throw new ConfigException(name, value, "Must be an absolute http(s) URL");
            }
        }

        @Override
        public String toString() {
            return "absolute https URL";
        }
    }
}

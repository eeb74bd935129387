package com.microsoft.azure.kusto.kafka.connect.sink;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.util.Collection;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Test stand-in task that ingests like the real sink: records are buffered per topic-partition,
 * flushed by flush.size.bytes / flush.interval.ms, and shipped gzipped to the route's table with
 * queued ingestion through kusto.ingestion.url (streaming ingestion through kusto.query.url for
 * routes with streaming true). Only offsets of shipped data are committed. A record that cannot
 * be written in the route's format is handled by behavior.on.error: fail stops the task, log and
 * ignore skip it. Transient ingestion errors are retried every errors.retry.backoff.time.ms for
 * errors.retry.max.time.ms, then the task fails. A task whose kusto.ingestion.url host is
 * "fail.invalid" fails at start on purpose, so tests can see a FAILED task with a trace.
 */
public class KustoSinkTask extends SinkTask {
    static final String FAILING_HOST = "fail.invalid";
    private static final Logger log = LoggerFactory.getLogger(KustoSinkTask.class);

    private final Map<String, Route> routes = new HashMap<>();
    private final Map<TopicPartition, TopicPartitionWriter> writers = new ConcurrentHashMap<>();
    private KustoIngestClient client;
    private long flushSizeBytes;
    private long flushIntervalMs;
    private long retryBackoffMs;
    private long maxRetryAttempts;
    private String behaviorOnError;
    private ScheduledExecutorService timer;
    /** A failure of the flush timer, thrown from the next put so the task fails. */
    private volatile ConnectException flushError;

    @Override
    public String version() {
        return KustoSinkConnector.VERSION;
    }

    @Override
    public void start(Map<String, String> props) {
        KustoSinkConfig config = new KustoSinkConfig(props);
        for (JsonNode node : KustoSinkConfig.parseMapping(config.getString(KustoSinkConfig.KUSTO_TABLES_MAPPING_CONF))) {
            Route route = new Route(node);
            routes.put(route.topic, route);
        }
        String url = config.getString(KustoSinkConfig.KUSTO_INGEST_URL_CONF);
        String host = URI.create(url.trim()).getHost();
        if (FAILING_HOST.equalsIgnoreCase(host)) {
            throw new ConnectException("Kusto sink stand-in: failing on purpose because "
                    + KustoSinkConfig.KUSTO_INGEST_URL_CONF + " points at host " + FAILING_HOST);
        }
        flushSizeBytes = config.getLong(KustoSinkConfig.FLUSH_SIZE_BYTES_CONF);
        flushIntervalMs = config.getLong(KustoSinkConfig.FLUSH_INTERVAL_MS_CONF);
        retryBackoffMs = Math.max(0L, config.getLong(KustoSinkConfig.RETRY_BACKOFF_TIME_MS_CONF));
        long retryMaxMs = Math.max(0L, config.getLong(KustoSinkConfig.RETRY_MAX_TIME_MS_CONF));
        maxRetryAttempts = retryBackoffMs == 0 ? 0 : retryMaxMs / retryBackoffMs;
        behaviorOnError = config.getString(KustoSinkConfig.BEHAVIOR_ON_ERROR_CONF).toLowerCase(Locale.ROOT);
        client = new KustoIngestClient(url, config.getString(KustoSinkConfig.KUSTO_ENGINE_URL_CONF),
                authorization(config));
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "kusto-sink-standin-flush");
            t.setDaemon(true);
            return t;
        });
        long tick = Math.min(1000L, Math.max(50L, flushIntervalMs / 4));
        timer.scheduleWithFixedDelay(this::flushStale, tick, tick, TimeUnit.MILLISECONDS);
    }

    /**
     * The Authorization header for Kusto. The real sink gets an AAD token (client credentials,
     * managed or workload identity); the stand-in cannot reach AAD, so it presents the configured
     * secret itself: aad.auth.appkey for application, aad.auth.accesstoken for az_dev_token (as
     * the real sink does). The sandbox maps such tokens to principals. The identities send none.
     */
    static String authorization(KustoSinkConfig config) {
        String strategy = config.getString(KustoSinkConfig.KUSTO_AUTH_STRATEGY_CONF).toLowerCase(Locale.ROOT);
        Password secret;
        if (strategy.equals("application")) {
            secret = config.getPassword(KustoSinkConfig.KUSTO_AUTH_APPKEY_CONF);
        } else if (strategy.equals("az_dev_token")) {
            secret = config.getPassword(KustoSinkConfig.KUSTO_AUTH_ACCESS_TOKEN_CONF);
        } else {
            return null;
        }
        return secret == null || secret.value().trim().isEmpty() ? null : "Bearer " + secret.value().trim();
    }

    private Route route(String topic) {
        Route r = routes.get(topic);
        return r != null ? r : routes.get("*");
    }

    @Override
    public void open(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            Route route = route(tp.topic());
            if (route == null) {
                throw new ConnectException("Kusto sink has no ingestion properties mapped for the topic: " + tp.topic()
                        + ". Please check your kusto.tables.topics.mapping configuration.");
            }
            writers.put(tp, new TopicPartitionWriter(tp, route));
        }
    }

    /** Revoked partitions: their unshipped records are dropped; the next owner re-reads them. */
    @Override
    public void close(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            writers.remove(tp);
        }
    }

    @Override
    public void put(Collection<SinkRecord> batch) {
        ConnectException failed = flushError;
        if (failed != null) {
            throw failed;
        }
        for (SinkRecord record : batch) {
            TopicPartition tp = new TopicPartition(record.topic(), record.kafkaPartition());
            TopicPartitionWriter writer = writers.get(tp);
            if (writer == null) {
                throw new ConnectException("Received a record without a mapped writer for topic:partition("
                        + tp.topic() + ":" + tp.partition() + "), dropping record.");
            }
            if (record.value() == null) {
                log.warn("Filtering null value (tombstone) records at offset {}, topic {}, partition {}",
                        record.kafkaOffset(), record.topic(), record.kafkaPartition());
                writer.skip(record.kafkaOffset());
                continue;
            }
            byte[] data;
            try {
                data = writer.route.format.serialize(record.value());
            } catch (DataException e) {
                handleError(record, e);
                writer.skip(record.kafkaOffset());
                continue;
            }
            writer.append(data, record.kafkaOffset(), System.currentTimeMillis());
            if (writer.route.format.onePerBlob() || writer.size() >= flushSizeBytes) {
                flush(writer);
            }
        }
    }

    /** behavior.on.error for a record the sink cannot write: fail the task, or log / ignore it. */
    private void handleError(SinkRecord record, DataException e) {
        String where = record.topic() + "-" + record.kafkaPartition() + "@" + record.kafkaOffset();
        if (behaviorOnError.equals("fail")) {
            throw new ConnectException("Failed to write record " + where + " into file for ingestion: "
                    + e.getMessage(), e);
        }
        if (behaviorOnError.equals("log")) {
            log.error("Failed to write record {} into file for ingestion (behavior.on.error=log): {}", where,
                    e.getMessage());
        } else {
            log.debug("Failed to write record {} into file for ingestion (behavior.on.error=ignore): {}", where,
                    e.getMessage());
        }
    }

    private void flush(TopicPartitionWriter writer) {
        try {
            writer.flush(this::ship);
        } catch (KustoIngestClient.IngestionException e) {
            throw new ConnectException("Retry attempts exhausted, failed to ingest records into KustoDB: "
                    + e.getMessage(), e);
        }
    }

    /** The flush timer: ships every buffer whose oldest record is flush.interval.ms old. */
    private void flushStale() {
        long now = System.currentTimeMillis();
        for (TopicPartitionWriter writer : writers.values()) {
            if (flushError != null || !writer.stale(now, flushIntervalMs)) {
                continue;
            }
            try {
                writer.flush(this::ship);
            } catch (KustoIngestClient.IngestionException | RuntimeException e) {
                log.error("Error in flushByTime for {}: {}", writer.tp, e.getMessage());
                flushError = new ConnectException("Error in flushByTime for " + writer.tp
                        + ", failed to ingest records into KustoDB: " + e.getMessage(), e);
            }
        }
    }

    /** One blob to Kusto, retrying transient failures every errors.retry.backoff.time.ms. */
    private void ship(Route route, byte[] gzipped, long rawSize, String fileName, int records)
            throws KustoIngestClient.IngestionException {
        for (long attempt = 0; ; attempt++) {
            try {
                if (route.streaming) {
                    client.ingestStreaming(route.target(), gzipped);
                } else {
                    client.ingestQueued(route.target(), gzipped, rawSize, fileName);
                }
                log.info("Kusto ingestion: file ({}) of size ({}) with {} record(s) into {}.{} ({})", fileName,
                        rawSize, records, route.database, route.table, route.streaming ? "streaming" : "queued");
                return;
            } catch (KustoIngestClient.IngestionException e) {
                if (!e.retriable || attempt >= maxRetryAttempts) {
                    throw e;
                }
                log.warn("Failed to ingest records into Kusto ({}), backing off and retrying after {} ms",
                        e.getMessage(), retryBackoffMs);
                try {
                    Thread.sleep(retryBackoffMs);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw new KustoIngestClient.IngestionException("retrying was interrupted after attempt "
                            + (attempt + 1), false, e);
                }
            }
        }
    }

    /** Commits only what was shipped to Kusto, like the real sink. */
    @Override
    public Map<TopicPartition, OffsetAndMetadata> preCommit(Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
        Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
        for (TopicPartitionWriter writer : writers.values()) {
            long next = writer.committable();
            if (next >= 0) {
                out.put(writer.tp, new OffsetAndMetadata(next));
            }
        }
        return out;
    }

    @Override
    public void stop() {
        if (timer != null) {
            timer.shutdownNow();
        }
        writers.clear();
    }
}

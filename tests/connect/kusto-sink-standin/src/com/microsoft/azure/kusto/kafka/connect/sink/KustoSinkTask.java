package com.microsoft.azure.kusto.kafka.connect.sink;

import java.net.URI;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;

/**
 * Test stand-in task: checks its configuration like the real task, then accepts records and
 * counts them. A task whose kusto.ingestion.url host is "fail.invalid" fails at start on
 * purpose, so tests can see a FAILED task with a trace.
 */
public class KustoSinkTask extends SinkTask {
    static final String FAILING_HOST = "fail.invalid";

    private final AtomicLong records = new AtomicLong();

    @Override
    public String version() {
        return KustoSinkConnector.VERSION;
    }

    @Override
    public void start(Map<String, String> props) {
        KustoSinkConfig config = new KustoSinkConfig(props);
        KustoSinkConfig.parseMapping(config.getString(KustoSinkConfig.KUSTO_TABLES_MAPPING_CONF));
        String url = config.getString(KustoSinkConfig.KUSTO_INGEST_URL_CONF);
        String host = URI.create(url.trim()).getHost();
        if (FAILING_HOST.equalsIgnoreCase(host)) {
            throw new ConnectException("Kusto sink stand-in: failing on purpose because "
                    + KustoSinkConfig.KUSTO_INGEST_URL_CONF + " points at host " + FAILING_HOST);
        }
    }

    @Override
    public void put(Collection<SinkRecord> batch) {
        records.addAndGet(batch.size());
    }

    @Override
    public void flush(Map<TopicPartition, OffsetAndMetadata> currentOffsets) {}

    @Override
    public void stop() {}
}

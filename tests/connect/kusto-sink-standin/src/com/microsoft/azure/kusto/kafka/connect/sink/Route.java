package com.microsoft.azure.kusto.kafka.connect.sink;

import com.fasterxml.jackson.databind.JsonNode;

/** One entry of kusto.tables.topics.mapping: where a topic's records go and how Kusto reads them. */
final class Route {
    final String topic;
    final String database;
    final String table;
    final RecordFormat format;
    final String mapping;
    final boolean streaming;

    Route(JsonNode node) {
        this.topic = KustoSinkConfig.text(node, "topic");
        this.database = KustoSinkConfig.text(node, "db");
        this.table = KustoSinkConfig.text(node, "table");
        this.format = new RecordFormat(KustoSinkConfig.text(node, "format"));
        String m = KustoSinkConfig.text(node, "mapping");
        this.mapping = m == null || m.isEmpty() ? null : m;
        this.streaming = "true".equalsIgnoreCase(KustoSinkConfig.text(node, "streaming"));
    }

    /** The ingestion target of this route's blobs. */
    KustoIngestClient.Target target() {
        return new KustoIngestClient.Target(database, table, format.kustoFormat(), mapping);
    }
}

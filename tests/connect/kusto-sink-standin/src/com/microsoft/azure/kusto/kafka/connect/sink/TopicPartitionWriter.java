package com.microsoft.azure.kusto.kafka.connect.sink;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.zip.GZIPOutputStream;
import org.apache.kafka.common.TopicPartition;

/**
 * The buffer of one topic-partition, like the real sink's TopicPartitionWriter: records are
 * appended until flush.size.bytes is reached or the oldest buffered record is flush.interval.ms
 * old, then the buffer is shipped (gzip) as one blob. Only offsets whose data was handed to Kusto
 * are committed, so a task that dies before a flush re-reads the buffered records (at least once).
 */
final class TopicPartitionWriter {
    final TopicPartition tp;
    final Route route;
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    private long openedAt;
    private long firstOffset = -1;
    private long lastOffset = -1;
    private int records;
    private long ingestedOffset = -1;

    TopicPartitionWriter(TopicPartition tp, Route route) {
        this.tp = tp;
        this.route = route;
    }

    /** Appends one serialized record; {@code offset} is its Kafka offset. */
    synchronized void append(byte[] data, long offset, long now) {
        if (records == 0) {
            openedAt = now;
            firstOffset = offset;
        }
        buffer.write(data, 0, data.length);
        lastOffset = offset;
        records++;
    }

    /** Marks a record handled without data (a tombstone or a record skipped by behavior.on.error). */
    synchronized void skip(long offset) {
        if (records > 0) {
            // Done once the buffered records before it are ingested.
            lastOffset = Math.max(lastOffset, offset);
        } else if (offset > ingestedOffset) {
            ingestedOffset = offset;
        }
    }

    synchronized long size() {
        return buffer.size();
    }

    synchronized boolean stale(long now, long intervalMs) {
        return records > 0 && now - openedAt >= intervalMs;
    }

    /**
     * Ships the buffer with {@code shipper} when it holds data; the buffer is cleared and its
     * offsets become committable only when shipping succeeds.
     */
    synchronized void flush(Shipper shipper) throws KustoIngestClient.IngestionException {
        if (records == 0) {
            return;
        }
        byte[] raw = buffer.toByteArray();
        String fileName = "kafka_" + tp.topic() + "_" + tp.partition() + "_" + firstOffset + "."
                + route.format.kustoFormat() + ".gz";
        shipper.ship(route, gzip(raw), raw.length, fileName, records);
        buffer.reset();
        records = 0;
        ingestedOffset = lastOffset;
    }

    /** The next offset to commit (one past the last ingested record), or -1 when none. */
    synchronized long committable() {
        return ingestedOffset < 0 ? -1 : ingestedOffset + 1;
    }

    private static byte[] gzip(byte[] raw) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length / 4 + 64);
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(raw);
        } catch (IOException e) {
            throw new IllegalStateException("gzip into memory failed", e);
        }
        return out.toByteArray();
    }

    /** Hands a gzip blob to Kusto (queued or streaming ingestion, with retries). */
    interface Shipper {
        void ship(Route route, byte[] gzipped, long rawSize, String fileName, int records)
                throws KustoIngestClient.IngestionException;
    }
}

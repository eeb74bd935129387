package com.microsoft.azure.kusto.kafka.connect.sink;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;

/**
 * How one route's records become the bytes of a blob, like the real sink's record writers: JSON
 * formats get one compact JSON document per line (a string or bytes value must be valid JSON,
 * else the record fails and behavior.on.error decides), text formats get the value as a line,
 * and binary formats (avro, parquet, orc) get the value's bytes, one blob per record.
 */
final class RecordFormat {
    private static final Set<String> JSON = Set.of("json", "multijson", "singlejson");
    private static final Set<String> BINARY = Set.of("avro", "apacheavro", "parquet", "orc");

    private final ObjectMapper mapper = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    /** The route's format as written in kusto.tables.topics.mapping (default csv, like the SDK). */
    final String name;

    RecordFormat(String format) {
        this.name = format == null || format.isEmpty() ? "csv" : format.toLowerCase(Locale.ROOT);
    }

    /** The format the ingestion message names: the real sink sends json data as multijson. */
    String kustoFormat() {
        return name.equals("json") ? "multijson" : name;
    }

    /** Whether each record is a blob of its own (binary formats cannot be concatenated). */
    boolean onePerBlob() {
        return BINARY.contains(name);
    }

    /** The bytes one record adds to the blob. */
    byte[] serialize(Object value) {
        if (BINARY.contains(name)) {
            return bytes(value);
        }
        if (JSON.contains(name)) {
            return line(json(value));
        }
        if (value instanceof String || value instanceof byte[] || value instanceof ByteBuffer) {
            return line(bytes(value));
        }
        throw new DataException("a " + value.getClass().getSimpleName() + " value cannot be written as " + name
                + " (use a string or bytes converter)");
    }

    private byte[] json(Object value) {
        try {
            if (value instanceof String || value instanceof byte[] || value instanceof ByteBuffer) {
                JsonNode node = mapper.readTree(bytes(value));
                if (node == null || node.isMissingNode()) {
                    throw new DataException("the record value is empty, not JSON");
                }
                return mapper.writeValueAsBytes(node);
            }
            return mapper.writeValueAsBytes(plain(value));
        } catch (JsonProcessingException e) {
            throw new DataException("the record value is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (java.io.IOException e) {
            throw new DataException("the record value cannot be read as JSON: " + e.getMessage(), e);
        }
    }

    private static byte[] line(byte[] data) {
        if (data.length > 0 && data[data.length - 1] == '\n') {
            return data;
        }
        byte[] out = new byte[data.length + 1];
        System.arraycopy(data, 0, out, 0, data.length);
        out[data.length] = '\n';
        return out;
    }

    private static byte[] bytes(Object value) {
        if (value instanceof byte[]) {
            return (byte[]) value;
        }
        if (value instanceof ByteBuffer) {
            ByteBuffer b = ((ByteBuffer) value).duplicate();
            byte[] out = new byte[b.remaining()];
            b.get(out);
            return out;
        }
        if (value instanceof String) {
            return ((String) value).getBytes(StandardCharsets.UTF_8);
        }
        throw new DataException("a " + value.getClass().getSimpleName() + " value is not bytes or a string");
    }

    /** Connect data (Struct, Map, List, logical types) as plain Java values Jackson writes as JSON. */
    private static Object plain(Object value) {
        if (value instanceof Struct) {
            Struct s = (Struct) value;
            Map<String, Object> out = new LinkedHashMap<>();
            for (Field f : s.schema().fields()) {
                out.put(f.name(), plain(s.get(f)));
            }
            return out;
        }
        if (value instanceof Map) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                out.put(String.valueOf(e.getKey()), plain(e.getValue()));
            }
            return out;
        }
        if (value instanceof Collection) {
            List<Object> out = new ArrayList<>();
            for (Object o : (Collection<?>) value) {
                out.add(plain(o));
            }
            return out;
        }
        if (value instanceof byte[] || value instanceof ByteBuffer) {
            return Base64.getEncoder().encodeToString(bytes(value));
        }
        if (value instanceof Date) {
            return ((Date) value).toInstant().toString();
        }
        return value;
    }
}

package com.microsoft.azure.kusto.kafka.connect.sink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;

/**
 * Queued (and streaming) ingestion with plain HTTP, as the Kusto docs' "How to ingest data with
 * the REST API" page describes: {@code .get ingestion resources} and {@code .get kusto identity
 * token} on the ingestion endpoint's {@code /v1/rest/mgmt}, a blob PUT to a TempStorage container
 * SAS URI, and the JSON ingestion message (base64, in {@code <QueueMessage><MessageText>}) posted
 * to a SecuredReadyForAggregationQueue SAS URI. Only the JDK and the Jackson of the Connect
 * worker's class path; the real connector uses the Kusto Java SDK for the same requests.
 */
final class KustoIngestClient {
    /** Like the SDK's resource manager: ingestion resources and the identity token are reused this long. */
    static final long RESOURCES_TTL_MS = 60L * 60L * 1000L;
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
    static final String APP = "Kusto.Kafka.Sink.Standin";

    /** Why an ingestion request failed, and whether retrying can help (5xx, 429, I/O). */
    static final class IngestionException extends Exception {
        private static final long serialVersionUID = 1L;
        final boolean retriable;

        IngestionException(String message, boolean retriable, Throwable cause) {
            super(message, cause);
            this.retriable = retriable;
        }
    }

    /** Where one blob of data goes and how Kusto reads it. */
    static final class Target {
        final String database;
        final String table;
        final String format;
        final String mapping;

        Target(String database, String table, String format, String mapping) {
            this.database = database;
            this.table = table;
            this.format = format;
            this.mapping = mapping;
        }
    }

    private static final class Resources {
        final List<String> queues = new ArrayList<>();
        final List<String> containers = new ArrayList<>();
        final String identityToken;
        final long fetchedAt;

        Resources(String identityToken, long fetchedAt) {
            this.identityToken = identityToken;
            this.fetchedAt = fetchedAt;
        }
    }

    private final HttpClient http;
    private final ObjectMapper mapper = new ObjectMapper();
    private final String ingestUrl;
    private final String engineUrl;
    private final String authorization;
    private Resources resources;
    private int next;

    /**
     * @param ingestUrl the Data Management endpoint (kusto.ingestion.url)
     * @param engineUrl the engine endpoint (kusto.query.url) for streaming ingestion, or null
     * @param authorization the Authorization header value, or null to send none
     */
    KustoIngestClient(String ingestUrl, String engineUrl, String authorization) {
        // HTTP/1.1 like the SDK's clients: no h2c upgrade offers to plain-http emulators.
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
        this.ingestUrl = trimSlash(ingestUrl);
        this.engineUrl = engineUrl == null ? null : trimSlash(engineUrl);
        this.authorization = authorization;
    }

    private static String trimSlash(String url) {
        String u = url.trim();
        while (u.endsWith("/")) {
            u = u.substring(0, u.length() - 1);
        }
        return u;
    }

    /** Queued ingestion of {@code gzipped} (the raw data is {@code rawSize} bytes) as blob {@code fileName}. */
    void ingestQueued(Target target, byte[] gzipped, long rawSize, String fileName) throws IngestionException {
        Resources res = resources(false);
        String blob;
        try {
            blob = upload(res, target, gzipped, fileName);
        } catch (IngestionException e) {
            if (e.retriable) {
                throw e;
            }
            // A SAS may have been rotated: fetch the resources again once.
            res = resources(true);
            blob = upload(res, target, gzipped, fileName);
        }
        enqueue(res, message(res, target, blob, rawSize));
    }

    /** Streaming ingestion into the engine endpoint ({@code POST /v1/rest/ingest/DB/TABLE}). */
    void ingestStreaming(Target target, byte[] gzipped) throws IngestionException {
        if (engineUrl == null) {
            throw new IngestionException("streaming ingestion needs " + KustoSinkConfig.KUSTO_ENGINE_URL_CONF, false,
                    null);
        }
        StringBuilder url = new StringBuilder(engineUrl).append("/v1/rest/ingest/").append(encode(target.database))
                .append('/').append(encode(target.table)).append("?streamFormat=").append(encode(target.format));
        if (target.mapping != null && !target.mapping.isEmpty()) {
            url.append("&mappingName=").append(encode(target.mapping));
        }
        HttpRequest.Builder req = kustoRequest(url.toString())
                .header("Content-Type", "application/octet-stream")
                .header("Content-Encoding", "gzip")
                .POST(HttpRequest.BodyPublishers.ofByteArray(gzipped));
        send(req.build(), 200, "streaming ingestion into " + target.database + "." + target.table);
    }

    private synchronized Resources resources(boolean refresh) throws IngestionException {
        long now = System.currentTimeMillis();
        if (!refresh && resources != null && now - resources.fetchedAt < RESOURCES_TTL_MS) {
            return resources;
        }
        JsonNode rows = mgmt(".get ingestion resources");
        JsonNode tokenRows = mgmt(".get kusto identity token");
        String token = tokenRows.path(0).path(0).asText("");
        if (token.isEmpty()) {
            throw new IngestionException("'.get kusto identity token' returned no token", false, null);
        }
        Resources fresh = new Resources(token, now);
        for (JsonNode row : rows) {
            String kind = row.path(0).asText("");
            String uri = row.path(1).asText("");
            if (kind.equals("SecuredReadyForAggregationQueue")) {
                fresh.queues.add(uri);
            } else if (kind.equals("TempStorage")) {
                fresh.containers.add(uri);
            }
        }
        if (fresh.queues.isEmpty() || fresh.containers.isEmpty()) {
            throw new IngestionException("'.get ingestion resources' returned no SecuredReadyForAggregationQueue "
                    + "or no TempStorage", false, null);
        }
        resources = fresh;
        return fresh;
    }

    /** Rows of the first table a management command returns. */
    private JsonNode mgmt(String csl) throws IngestionException {
        ObjectNode body = mapper.createObjectNode();
        body.put("csl", csl);
        HttpRequest req = kustoRequest(ingestUrl + "/v1/rest/mgmt")
                .header("Content-Type", "application/json; charset=utf-8")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                .build();
        String text = send(req, 200, "'" + csl + "'");
        try {
            JsonNode rows = mapper.readTree(text).path("Tables").path(0).path("Rows");
            if (!rows.isArray()) {
                throw new IngestionException("'" + csl + "' answered without Tables[0].Rows", false, null);
            }
            return rows;
        } catch (IOException e) {
            throw new IngestionException("'" + csl + "' answered with invalid JSON: " + e.getMessage(), false, e);
        }
    }

    private HttpRequest.Builder kustoRequest(String url) throws IngestionException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(url))
                .timeout(REQUEST_TIMEOUT)
                .header("x-ms-app", APP)
                .header("x-ms-client-version", "Kusto.Kafka.Sink:" + KustoSinkConnector.VERSION)
                .header("x-ms-client-request-id", "KKS.standin;" + UUID.randomUUID());
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return b;
    }

    private synchronized int nextIndex(int size) {
        next = (next + 1) % size;
        return next;
    }

    /** PUTs the blob into a TempStorage container (round robin); its URI with the SAS. */
    private String upload(Resources res, Target target, byte[] gzipped, String fileName) throws IngestionException {
        String container = res.containers.get(nextIndex(res.containers.size()));
        String[] parts = container.split("\\?", 2);
        String sas = parts.length == 2 ? "?" + parts[1] : "";
        String name = target.database + "__" + target.table + "__" + UUID.randomUUID() + "__" + fileName;
        String blobUri = parts[0] + "/" + encode(name) + sas;
        HttpRequest req = HttpRequest.newBuilder(uri(blobUri))
                .timeout(REQUEST_TIMEOUT)
                .header("x-ms-blob-type", "BlockBlob")
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(gzipped))
                .build();
        send(req, 201, "blob upload of " + name);
        return blobUri;
    }

    /** The documented ingestion message (queued ingestion, failures reported to the queue). */
    private String message(Resources res, Target target, String blobUri, long rawSize) {
        ObjectNode m = mapper.createObjectNode();
        m.put("Id", UUID.randomUUID().toString());
        m.put("BlobPath", blobUri);
        m.put("RawDataSize", rawSize);
        m.put("DatabaseName", target.database);
        m.put("TableName", target.table);
        m.put("RetainBlobOnSuccess", false);
        m.put("FlushImmediately", false);
        m.put("ReportLevel", 0);
        m.put("ReportMethod", 0);
        ObjectNode props = m.putObject("AdditionalProperties");
        props.put("authorizationContext", res.identityToken);
        props.put("format", target.format);
        if (target.mapping != null && !target.mapping.isEmpty()) {
            props.put("ingestionMappingReference", target.mapping);
        }
        return m.toString();
    }

    /** Posts the message, base64-encoded, to a SecuredReadyForAggregationQueue (round robin). */
    private void enqueue(Resources res, String message) throws IngestionException {
        String queue = res.queues.get(nextIndex(res.queues.size()));
        String[] parts = queue.split("\\?", 2);
        String url = parts[0] + "/messages" + (parts.length == 2 ? "?" + parts[1] : "");
        String body = "<QueueMessage><MessageText>"
                + Base64.getEncoder().encodeToString(message.getBytes(StandardCharsets.UTF_8))
                + "</MessageText></QueueMessage>";
        HttpRequest req = HttpRequest.newBuilder(uri(url))
                .timeout(REQUEST_TIMEOUT)
                .header("Content-Type", "application/xml")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        send(req, 201, "queue message");
    }

    /** Sends and checks the status; 429, 5xx and I/O errors are retriable. The body of the answer. */
    private String send(HttpRequest req, int expected, String what) throws IngestionException {
        HttpResponse<String> resp;
        try {
            resp = http.send(req, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IngestionException(what + " to " + withoutQuery(req.uri()) + " failed: " + e, true, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IngestionException(what + " was interrupted", false, e);
        }
        int status = resp.statusCode();
        if (status != expected) {
            boolean retriable = status == 429 || status >= 500;
            throw new IngestionException(what + " to " + withoutQuery(req.uri()) + " answered HTTP " + status + ": "
                    + abbreviate(resp.body()), retriable, null);
        }
        return resp.body();
    }

    /** A URI for messages: never the SAS (a secret). */
    private static String withoutQuery(URI uri) {
        String s = uri.toString();
        int q = s.indexOf('?');
        return q < 0 ? s : s.substring(0, q);
    }

    private static String abbreviate(String s) {
        String one = s == null ? "" : s.replaceAll("\\s+", " ");
        return one.length() > 500 ? one.substring(0, 500) + "..." : one;
    }

    private static URI uri(String s) throws IngestionException {
        try {
            return URI.create(s);
        } catch (IllegalArgumentException e) {
            throw new IngestionException("not a valid URI: " + withoutQueryText(s), false, e);
        }
    }

    private static String withoutQueryText(String s) {
        int q = s.indexOf('?');
        return q < 0 ? s : s.substring(0, q);
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}

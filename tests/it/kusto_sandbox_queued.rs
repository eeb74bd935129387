//! Queued ingestion in the served sandbox on a real storage emulator (Azurite, started by
//! kustoplan's own code): `.get ingestion resources` SAS URIs that Azurite accepts, blobs
//! uploaded and messages enqueued with plain REST calls as the REST ingestion page describes,
//! then exact rows, extents and tags, blob deletion, status queue messages,
//! `.show ingestion failures`, batching by item count, and an update policy fed by a batch.

use crate::common;

use std::io::Write;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::sandbox::KustoServer;
use reqwest::StatusCode;
use serde_json::{Value, json};

const TEST: &str = "kusto_sandbox_queued";
const DB: &str = "db";

struct Kusto {
    http: reqwest::Client,
    url: String,
}

impl Kusto {
    async fn post(&self, path: &str, csl: &str) -> Value {
        let resp = self
            .http
            .post(format!("{}{path}", self.url))
            .json(&json!({"db": DB, "csl": csl}))
            .send()
            .await
            .expect("send");
        let status = resp.status();
        let body: Value = resp.json().await.expect("json");
        assert_eq!(status, StatusCode::OK, "{csl}: {body}");
        body
    }

    /// Rows of the first table of a management command, as JSON arrays.
    async fn mgmt(&self, csl: &str) -> Vec<Value> {
        let body = self.post("/v1/rest/mgmt", csl).await;
        body["Tables"][0]["Rows"].as_array().expect("rows").clone()
    }

    /// Rows of a v1 query.
    async fn query(&self, csl: &str) -> Vec<Value> {
        let body = self.post("/v1/rest/query", csl).await;
        body["Tables"][0]["Rows"].as_array().expect("rows").clone()
    }

    async fn count(&self, table: &str) -> i64 {
        let rows = self.query(&format!("{table} | count")).await;
        rows[0][0].as_i64().expect("count")
    }

    /// Waits (bounded) until `table` holds `want` rows.
    async fn wait_for_count(&self, table: &str, want: i64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.count(table).await;
            if got == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{table} has {got} rows after 30 s, want {want}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The resources `.get ingestion resources` handed out.
struct Resources {
    ready: String,
    success: String,
    failure: String,
    temp: String,
}

fn split(uri: &str) -> (&str, &str) {
    uri.split_once('?').expect("a SAS")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

struct Setup {
    _azurite: kustoplan::sandbox::azurite::Azurite,
    server: KustoServer,
    kusto: Kusto,
    res: Resources,
    token: String,
    http: reqwest::Client,
}

async fn setup() -> Option<Setup> {
    let azurite = common::azurite::start(TEST).await?;
    let server = KustoServer::start_configured(&[DB], |config| {
        config.queued = Some(azurite.account().clone());
    })
    .await;
    let kusto = Kusto {
        http: reqwest::Client::new(),
        url: server.url(),
    };
    let rows = kusto.mgmt(".get ingestion resources").await;
    let find = |kind: &str| {
        let found: Vec<String> = rows
            .iter()
            .filter(|r| r[0] == kind)
            .map(|r| r[1].as_str().expect("uri").to_string())
            .collect();
        assert_eq!(found.len(), 1, "{kind}: {rows:?}");
        found[0].clone()
    };
    let res = Resources {
        ready: find("SecuredReadyForAggregationQueue"),
        success: find("SuccessfulIngestionsQueue"),
        failure: find("FailedIngestionsQueue"),
        temp: find("TempStorage"),
    };
    assert_eq!(rows.len(), 4, "{rows:?}");
    let token = kusto.mgmt(".get kusto identity token").await[0][0]
        .as_str()
        .expect("token")
        .to_string();
    Some(Setup {
        _azurite: azurite,
        server,
        kusto,
        res,
        token,
        http: reqwest::Client::new(),
    })
}

impl Setup {
    /// Uploads `data` as blob `name` with the TempStorage SAS; the blob URI with SAS.
    async fn upload(&self, name: &str, data: Vec<u8>) -> String {
        let (container, sas) = split(&self.res.temp);
        let url = format!("{container}/{name}?{sas}");
        let resp = self
            .http
            .put(&url)
            .header("x-ms-blob-type", "BlockBlob")
            .body(data)
            .send()
            .await
            .expect("upload");
        assert_eq!(resp.status(), StatusCode::CREATED, "upload {name}");
        url
    }

    /// Posts the documented message (base64 JSON) to the ready-for-aggregation queue.
    async fn enqueue(&self, message: &Value) {
        let (queue, sas) = split(&self.res.ready);
        let body = format!(
            "<QueueMessage><MessageText>{}</MessageText></QueueMessage>",
            BASE64.encode(message.to_string())
        );
        let resp = self
            .http
            .post(format!("{queue}/messages?{sas}"))
            .body(body)
            .send()
            .await
            .expect("enqueue");
        assert_eq!(resp.status(), StatusCode::CREATED, "enqueue");
    }

    fn message(&self, id: &str, blob: &str, table: &str, flush: bool, props: Value) -> Value {
        let mut additional = props;
        additional["authorizationContext"] = json!(self.token);
        json!({
            "Id": id,
            "BlobPath": blob,
            "RawDataSize": 100,
            "DatabaseName": DB,
            "TableName": table,
            "RetainBlobOnSuccess": false,
            "FlushImmediately": flush,
            "ReportLevel": 2,
            "ReportMethod": 0,
            "AdditionalProperties": additional,
        })
    }

    /// Every message of a status queue (dequeued), decoded.
    async fn drain(&self, queue_uri: &str) -> Vec<Value> {
        let (queue, sas) = split(queue_uri);
        let resp = self
            .http
            .get(format!(
                "{queue}/messages?numofmessages=32&visibilitytimeout=60&{sas}"
            ))
            .send()
            .await
            .expect("receive");
        assert_eq!(resp.status(), StatusCode::OK);
        let xml = resp.text().await.expect("xml");
        xml.split("<MessageText>")
            .skip(1)
            .map(|rest| {
                let text = rest.split("</MessageText>").next().expect("end tag");
                let bytes = BASE64.decode(text).expect("base64");
                serde_json::from_slice(&bytes).expect("status json")
            })
            .collect()
    }

    async fn blob_status(&self, url: &str) -> StatusCode {
        self.http.get(url).send().await.expect("get blob").status()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_blobs_become_rows_failures_are_reported_and_batches_seal_by_count() {
    let Some(s) = setup().await else {
        return;
    };
    let k = &s.kusto;
    k.mgmt(".create table Events (Id:long, Name:string)").await;
    k.mgmt(r#".create table Events ingestion json mapping 'events_json' '[{"column":"Id","Properties":{"Path":"$.id"}},{"column":"Name","Properties":{"Path":"$.user.name"}}]'"#).await;
    k.mgmt(".create table Sales (Item:string, Qty:long)").await;
    // An update policy fed by queued ingestion, propagating the source's tags.
    k.mgmt(".create table Names (Name:string)").await;
    k.mgmt(r#".alter table Names policy update @'[{"IsEnabled":true,"Source":"Events","Query":"Events | project Name","IsTransactional":true,"PropagateIngestionProperties":true}]'"#).await;
    k.mgmt(r#".alter table Sales policy ingestionbatching '{"MaximumBatchingTimeSpan":"00:10:00","MaximumNumberOfItems":2,"MaximumRawDataSizeMB":100}'"#).await;

    // A gzip JSON blob with a mapping reference and a drop-by tag.
    let json_blob = s
        .upload(
            "events.json.gz",
            gzip(
                b"{\"id\":1,\"user\":{\"name\":\"ann\"}}\n{\"id\":2,\"user\":{\"name\":\"bob\"}}\n",
            ),
        )
        .await;
    let id = "00000000-0000-4000-8000-000000000001";
    s.enqueue(&s.message(
        id,
        &json_blob,
        "Events",
        true,
        json!({"format": "json", "ingestionMappingReference": "events_json", "tags": "[\"drop-by:load1\"]"}),
    ))
    .await;
    k.wait_for_count("Events", 2).await;
    assert_eq!(
        k.query("Events | where Id == 2").await,
        vec![json!([2, "bob"])]
    );
    assert_eq!(
        k.query("Names | where Name == 'ann'").await,
        vec![json!(["ann"])],
        "the update policy ran on the queued batch"
    );
    assert_eq!(k.count("Names").await, 2);
    assert_eq!(
        k.mgmt(".show table Names extents where tags has 'drop-by:load1'")
            .await
            .len(),
        1,
        "the tag propagated"
    );
    assert_eq!(
        s.blob_status(&json_blob).await,
        StatusCode::NOT_FOUND,
        "the ingested blob is deleted (RetainBlobOnSuccess false)"
    );
    let successes = s.drain(&s.res.success).await;
    assert_eq!(successes.len(), 1, "{successes:?}");
    assert_eq!(successes[0]["IngestionSourceId"], id);
    assert_eq!(successes[0]["Database"], DB);
    assert_eq!(successes[0]["Table"], "Events");
    let path = successes[0]["IngestionSourcePath"].as_str().expect("path");
    assert!(
        path.ends_with("/tempstorage/events.json.gz") && !path.contains('?'),
        "{path}"
    );

    // A CSV blob with a header line, kept on success; an inline CSV mapping.
    let csv_blob = s
        .upload("events.csv", b"Name,Id\ncy,3\n\"d, e\",4\n".to_vec())
        .await;
    let mut csv = s.message(
        "00000000-0000-4000-8000-000000000002",
        &csv_blob,
        "Events",
        true,
        json!({
            "format": "csv",
            "ignoreFirstRecord": true,
            "ingestionMapping": "[{\"column\":\"Name\",\"Properties\":{\"Ordinal\":\"0\"}},{\"column\":\"Id\",\"Properties\":{\"Ordinal\":\"1\"}}]"
        }),
    );
    csv["RetainBlobOnSuccess"] = json!(true);
    s.enqueue(&csv).await;
    k.wait_for_count("Events", 4).await;
    assert_eq!(
        k.query("Events | where Id >= 3").await,
        vec![json!([3, "cy"]), json!([4, "d, e"])]
    );
    assert_eq!(s.blob_status(&csv_blob).await, StatusCode::OK, "retained");

    // Extents: one per batch, the tag on the JSON one; drop by tag.
    let extents = k.mgmt(".show table Events extents").await;
    assert_eq!(extents.len(), 2, "{extents:?}");
    k.mgmt(".drop extents <| .show table Events extents where tags has 'drop-by:load1'")
        .await;
    assert_eq!(
        k.query("Events").await,
        vec![json!([3, "cy"]), json!([4, "d, e"])]
    );

    // A bad blob (wrong field count) and a missing blob: failures on the queue and in
    // `.show ingestion failures`; nothing ingested.
    let bad_blob = s.upload("bad.csv", b"x,1\ny\n".to_vec()).await;
    let bad_id = "00000000-0000-4000-8000-000000000003";
    s.enqueue(&s.message(bad_id, &bad_blob, "Events", true, json!({"format": "csv"})))
        .await;
    let (container, sas) = split(&s.res.temp);
    let missing = format!("{container}/missing.csv?{sas}");
    let missing_id = "00000000-0000-4000-8000-000000000004";
    s.enqueue(&s.message(
        missing_id,
        &missing,
        "Events",
        true,
        json!({"format": "csv"}),
    ))
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let failures = loop {
        let rows = k.mgmt(".show ingestion failures").await;
        if rows.len() >= 2 || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let summary: Vec<(Value, Value, Value, Value, Value)> = failures
        .iter()
        .map(|r| {
            (
                r[1].clone(),
                r[2].clone(),
                r[4].clone(),
                r[6].clone(),
                r[10].clone(),
            )
        })
        .collect();
    let source = |name: &str| json!(format!("{container}/{name}"));
    assert_eq!(
        summary,
        vec![
            (
                json!(DB),
                json!("Events"),
                source("bad.csv"),
                json!("Permanent"),
                json!("Stream_WrongNumberOfFields")
            ),
            (
                json!(DB),
                json!("Events"),
                source("missing.csv"),
                json!("Permanent"),
                json!("Download_SourceNotFound")
            ),
        ]
    );
    let queued_failures = s.drain(&s.res.failure).await;
    let reported: Vec<(Value, Value, Value)> = queued_failures
        .iter()
        .map(|f| {
            (
                f["IngestionSourceId"].clone(),
                f["ErrorCode"].clone(),
                f["FailureStatus"].clone(),
            )
        })
        .collect();
    assert_eq!(
        reported,
        vec![
            (
                json!(bad_id),
                json!("Stream_WrongNumberOfFields"),
                json!("Permanent")
            ),
            (
                json!(missing_id),
                json!("Download_SourceNotFound"),
                json!("Permanent")
            ),
        ]
    );
    assert!(
        !queued_failures
            .iter()
            .any(|f| f.to_string().contains("sig=")),
        "no SAS in failure messages"
    );
    assert_eq!(k.count("Events").await, 2);

    // Batching by item count (policy: 2 items, 10 minutes): one blob waits, the second
    // seals the batch into one extent, a third waits again.
    for (i, item) in ["hat", "cap", "fez"].iter().enumerate() {
        let blob = s
            .upload(
                &format!("sales{i}.csv"),
                format!("{item},{i}\n").into_bytes(),
            )
            .await;
        s.enqueue(&s.message(
            &format!("00000000-0000-4000-8000-00000000010{i}"),
            &blob,
            "Sales",
            false,
            json!({"format": "csv"}),
        ))
        .await;
        if i == 0 || i == 2 {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            assert_eq!(
                k.count("Sales").await,
                if i == 0 { 0 } else { 2 },
                "after blob {i}"
            );
        } else {
            k.wait_for_count("Sales", 2).await;
        }
    }
    assert_eq!(
        k.query("Sales").await,
        vec![json!(["hat", 0]), json!(["cap", 1])]
    );
    assert_eq!(
        k.mgmt(".show table Sales extents").await.len(),
        1,
        "one batch, one extent"
    );
    s.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_without_a_valid_authorization_context_fail() {
    let Some(s) = setup().await else {
        return;
    };
    let k = &s.kusto;
    k.mgmt(".create table T (A:long)").await;
    let blob = s.upload("t.csv", b"1\n".to_vec()).await;
    let mut m = s.message(
        "00000000-0000-4000-8000-000000000009",
        &blob,
        "T",
        true,
        json!({"format": "csv"}),
    );
    m["AdditionalProperties"]["authorizationContext"] = json!("forged.token");
    s.enqueue(&m).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let rows = loop {
        let rows = k.mgmt(".show ingestion failures").await;
        if !rows.is_empty() || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][10], "BadRequest_InvalidAuthorizationContext");
    assert_eq!(k.count("T").await, 0);
    assert_eq!(
        s.blob_status(&blob).await,
        StatusCode::OK,
        "a failed blob is kept"
    );
    s.server.shutdown().await;
}

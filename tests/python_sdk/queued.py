"""Queued ingestion into the sandbox with Microsoft's Python ingest SDK, unchanged.

Usage: python queued.py CLUSTER_URL DATABASE WORK_DIR

The sandbox runs with queued ingestion on Azurite (tests/it/python_sdk_conformance.rs starts
both). `QueuedIngestClient` asks the sandbox for `.get ingestion resources` and
`.get kusto identity token`, uploads to Azurite and posts the message to its queue; the rows
are then read back with azure-kusto-data, exactly. Prints one line per check and exits non-zero
on the first failure.
"""

import io
import os
import sys
import time

from azure.kusto.data import DataFormat, KustoClient, KustoConnectionStringBuilder
from azure.kusto.ingest import (
    IngestionProperties,
    QueuedIngestClient,
    ReportLevel,
    StreamDescriptor,
)
from azure.kusto.ingest.status import KustoIngestStatusQueues

TABLE = "Queued"
MAPPING = "queued_json"
WAIT_SECONDS = 60


class QueuedError(Exception):
    """A check failed."""


def expect_equal(what, got, want):
    if got != want:
        raise QueuedError(f"{what}:\n  got:  {got!r}\n  want: {want!r}")
    print(f"ok   {what}")


def rows(response):
    table = response.primary_results[0]
    names = [c.column_name for c in table.columns]
    return [dict(zip(names, row)) for row in table]


def wait_for_count(client, db, want):
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        got = rows(client.execute_query(db, f"{TABLE} | count"))[0]["Count"]
        if got == want or time.monotonic() > deadline:
            expect_equal(f"{TABLE} | count", got, want)
            return
        time.sleep(0.2)


def check(url, db, work):
    kcsb = KustoConnectionStringBuilder.with_no_authentication(url)
    client = KustoClient(kcsb)
    client.execute_mgmt(db, f".create table {TABLE} (Id:long, Name:string)")
    client.execute_mgmt(
        db,
        f".create table {TABLE} ingestion json mapping '{MAPPING}' "
        """'[{"column":"Id","Properties":{"Path":"$.id"}},{"column":"Name","Properties":{"Path":"$.who"}}]'""",
    )
    ingest = QueuedIngestClient(kcsb)

    # A CSV file (the SDK gzips it on upload), header skipped, flushed at once, reported.
    path = os.path.join(work, "rows.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("Id,Name\n1,ann\n2,bob\n")
    csv_props = IngestionProperties(
        database=db,
        table=TABLE,
        data_format=DataFormat.CSV,
        ignore_first_record=True,
        flush_immediately=True,
        report_level=ReportLevel.FailuresAndSuccesses,
        drop_by_tags=["py-file"],
    )
    file_result = ingest.ingest_from_file(path, ingestion_properties=csv_props)
    expect_equal("file queued", file_result.status.name, "QUEUED")
    wait_for_count(client, db, 2)

    # A JSON stream with a mapping reference.
    json_props = IngestionProperties(
        database=db,
        table=TABLE,
        data_format=DataFormat.JSON,
        ingestion_mapping_reference=MAPPING,
        flush_immediately=True,
        report_level=ReportLevel.FailuresAndSuccesses,
    )
    stream = io.BytesIO(b'{"id":3,"who":"cy"}\n{"id":4,"who":"dee"}\n')
    stream_result = ingest.ingest_from_stream(StreamDescriptor(stream), ingestion_properties=json_props)
    expect_equal("stream queued", stream_result.status.name, "QUEUED")
    wait_for_count(client, db, 4)

    got = rows(client.execute_query(db, f"{TABLE} | where Id >= 2"))
    expect_equal("rows read back", [(r["Id"], r["Name"]) for r in got], [(2, "bob"), (3, "cy"), (4, "dee")])

    extents = rows(client.execute_mgmt(db, f".show table {TABLE} extents where tags has 'drop-by:py-file'"))
    expect_equal("drop-by tag on the file's extent", len(extents), 1)

    # The SDK reads the status queues the sandbox wrote.
    status = KustoIngestStatusQueues(ingest)
    successes = status.success.pop(10)
    expect_equal(
        "success reports",
        sorted(str(m.IngestionSourceId) for m in successes),
        sorted(str(r.source_id) for r in (file_result, stream_result)),
    )
    expect_equal("no failure reports", status.failure.is_empty(), True)
    ingest.close()
    print("python-sdk: queued ingestion passed")


def main():
    url, db, work = sys.argv[1], sys.argv[2], sys.argv[3]
    try:
        check(url, db, work)
    except QueuedError as e:
        print(f"FAIL {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()

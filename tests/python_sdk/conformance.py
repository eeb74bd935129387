"""Conformance of kustoplan's rendered commands and of the sandbox with Microsoft's Python SDK.

Usage: python conformance.py CLUSTER_URL CASE_FILE

CASE_FILE is JSON written by tests/it/python_sdk_conformance.rs:
  {"database": DB, "table": T,
   "setup": [command, ...],                       # run in order with execute_mgmt
   "reads": {"schema": ..., "mappings": ..., "batching": ..., "script": ...},  # read-backs
   "expect": {"columns": [[name, csl_type], ...],
              "mapping": {"Name": ..., "Kind": ..., "Mapping": <json>},
              "batching": <policy json>,
              "script": [command, ...]},   # rows of `.show database DB schema as csl script`
   "data": {"enable": command,                     # optional: rows, after the checks above
            "json_lines": text, "mapping": name,  # streamed gzipped by execute_streaming_ingest
            "count": N,                           # `T | count` through execute_query (v2)
            "where": query, "row": {column: value},  # one typed row read back (v2)
            "unsupported": query}}                # must raise KustoApiError General_BadRequest

Every command goes through azure-kusto-data's KustoClient.execute_mgmt (no authentication:
the sandbox runs without it), so the SDK's request shape, headers and response parsing are
exercised for real. Prints one line per check and exits non-zero on the first failure.
"""

import gzip
import io
import json
import sys
from datetime import datetime

from azure.kusto.data import DataFormat, KustoClient, KustoConnectionStringBuilder
from azure.kusto.data.exceptions import KustoApiError


class ConformanceError(Exception):
    """A check failed."""


def expect_equal(what, got, want):
    if got != want:
        raise ConformanceError(f"{what}:\n  got:  {got!r}\n  want: {want!r}")
    print(f"ok   {what}")


def rows(response):
    """Rows of the primary result as dicts keyed by column name."""
    table = response.primary_results[0]
    names = [c.column_name for c in table.columns]
    return [dict(zip(names, row)) for row in table]


def run(client, database, command):
    try:
        return client.execute_mgmt(database, command)
    except Exception as e:  # the SDK raises several exception types; report any of them
        raise ConformanceError(f"{command!r} failed: {type(e).__name__}: {e}") from e


def check(url, case):
    client = KustoClient(KustoConnectionStringBuilder.with_no_authentication(url))
    db, table = case["database"], case["table"]
    expect = case["expect"]

    for command in case["setup"]:
        run(client, db, command)
        print(f"ok   ran {command[:70]}{'...' if len(command) > 70 else ''}")

    schema_rows = rows(run(client, db, case["reads"]["schema"]))
    expect_equal("schema result has one row", len(schema_rows), 1)
    schema = json.loads(schema_rows[0]["DatabaseSchema"])
    tables = schema["Databases"][db]["Tables"]
    if table not in tables:
        raise ConformanceError(f"table {table!r} missing from schema: {sorted(tables)}")
    columns = [[c["Name"], c["CslType"]] for c in tables[table]["OrderedColumns"]]
    expect_equal("columns and types", columns, expect["columns"])

    mapping_rows = rows(run(client, db, case["reads"]["mappings"]))
    expect_equal("one mapping", len(mapping_rows), 1)
    mapping = mapping_rows[0]
    expect_equal("mapping name", mapping["Name"], expect["mapping"]["Name"])
    expect_equal("mapping kind", mapping["Kind"], expect["mapping"]["Kind"])
    expect_equal("mapping json", json.loads(mapping["Mapping"]), expect["mapping"]["Mapping"])

    policy_rows = rows(run(client, db, case["reads"]["batching"]))
    expect_equal("one batching policy row", len(policy_rows), 1)
    policy = policy_rows[0]
    expect_equal("policy name", policy["PolicyName"], "IngestionBatchingPolicy")
    expect_equal("policy entity", policy["EntityName"], f"[{db}].[{table}]")
    expect_equal("batching policy", json.loads(policy["Policy"]), expect["batching"])

    script = run(client, db, case["reads"]["script"]).primary_results[0]
    expect_equal(
        "schema script columns",
        [(c.column_name, c.column_type) for c in script.columns],
        [("DatabaseSchemaScript", "string")],
    )
    expect_equal(
        "schema script rows", [row["DatabaseSchemaScript"] for row in script], expect["script"]
    )

    if "data" in case:
        check_data(client, db, table, case["data"])


def query(client, database, text):
    try:
        return client.execute_query(database, text)
    except Exception as e:  # as in run()
        raise ConformanceError(f"{text!r} failed: {type(e).__name__}: {e}") from e


def plain(value):
    """A typed SDK value as JSON-comparable data (datetimes as ISO text)."""
    return value.isoformat() if isinstance(value, datetime) else value


def check_data(client, database, table, data):
    """Streams rows through the SDK and reads them back with v2 queries."""
    run(client, database, data["enable"])
    stream = io.BytesIO(gzip.compress(data["json_lines"].encode("utf-8")))
    try:
        client.execute_streaming_ingest(
            database, table, stream, None, DataFormat.JSON, mapping_name=data["mapping"]
        )
    except Exception as e:  # as in run()
        raise ConformanceError(f"streaming ingestion failed: {type(e).__name__}: {e}") from e
    print("ok   streamed gzipped JSON with execute_streaming_ingest")
    quoted = "['" + table.replace("'", "\\'") + "']"
    counted = rows(query(client, database, f"{quoted} | count"))
    expect_equal("T | count through execute_query (v2)", counted, [{"Count": data["count"]}])
    found = rows(query(client, database, f"{quoted} | {data['where']}"))
    expect_equal(
        "typed row through execute_query (v2)",
        [{k: plain(v) for k, v in r.items()} for r in found],
        [data["row"]],
    )
    try:
        client.execute_query(database, f"{quoted} | {data['unsupported']}")
    except KustoApiError as e:
        error = e.get_api_error()
        expect_equal("unsupported query error code", error.code, "General_BadRequest")
        expect_equal("unsupported query permanent", error.permanent, True)
    else:
        raise ConformanceError("an unsupported query was answered")


def main(argv):
    if len(argv) != 3:
        print("usage: conformance.py CLUSTER_URL CASE_FILE", file=sys.stderr)
        return 2
    with open(argv[2], encoding="utf-8") as f:
        case = json.load(f)
    try:
        check(argv[1], case)
    except ConformanceError as e:
        print(f"FAIL {e}")
        return 1
    print("python-sdk: conformance passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

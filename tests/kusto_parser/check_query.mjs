// Types queries with Microsoft's own analyzer (Kusto.Language, as check.mjs uses it) and
// checks their output columns: how CI checks every update policy query kustoplan emits
// against the schemas the manifests declare.
//
// Usage: node check_query.mjs FILE
//   FILE holds one JSON object per line: {"label": TEXT, "query": TEXT, "columns": [[NAME,
//   TYPE], ...]}. The query declares the tables and functions it uses itself (`let T =
//   datatable(...)[]; let F = () { ... };`), so it is analyzed against the declared schemas
//   with no cluster at hand.
//
// A query passes when KustoCode.ParseAndAnalyze reports no diagnostic of severity Error and
// its result is a table with exactly the given columns: same names, same types, same order.
// Prints one line per failing query and a closing "kusto-query: N passed, N failed" line;
// exits 0 when every query passes, 1 when any fails, 2 on bad usage or input.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
require("@kusto/language-service-next/bridge.min.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.min.js");
const { KustoCode, GlobalState } = globalThis.Kusto.Language;

/** The problems of one query (empty when it passes). */
export function check(query, expected) {
  const problems = [];
  const code = KustoCode.ParseAndAnalyze(query, GlobalState.Default);
  const diagnostics = code.GetDiagnostics();
  for (let i = 0; i < diagnostics.Count; i++) {
    const d = diagnostics.getItem(i);
    if (String(d.Severity) === "Error") {
      problems.push(`${d.Code} at ${d.Start}: ${d.Message}`);
    }
  }
  const result = code.ResultType;
  if (!result || !result.Columns) {
    problems.push("the query does not return a table");
    return problems;
  }
  const actual = [];
  for (let i = 0; i < result.Columns.Count; i++) {
    const c = result.Columns.getItem(i);
    actual.push([c.Name, c.Type.Name]);
  }
  const text = (cols) => `(${cols.map(([n, t]) => `${n}:${t}`).join(", ")})`;
  if (text(actual) !== text(expected)) {
    problems.push(`returns ${text(actual)}, expected ${text(expected)}`);
  }
  return problems;
}

function main(argv) {
  if (argv.length !== 1) {
    console.error("usage: node check_query.mjs FILE  (one {label, query, columns} per line)");
    return 2;
  }
  let cases;
  try {
    cases = readFileSync(argv[0], "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l));
  } catch (e) {
    console.error(`check_query.mjs: ${e.message}`);
    return 2;
  }
  if (cases.length === 0 || cases.some((c) => typeof c.query !== "string" || !Array.isArray(c.columns))) {
    console.error(`check_query.mjs: ${argv[0]} holds no query, or a line without query and columns`);
    return 2;
  }
  let failed = 0;
  for (const c of cases) {
    const problems = check(c.query, c.columns);
    if (problems.length > 0) {
      failed++;
      console.log(`FAIL ${c.label}: ${JSON.stringify(c.query)}`);
      for (const p of problems) console.log(`    ${p}`);
    }
  }
  console.log(`kusto-query: ${cases.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));

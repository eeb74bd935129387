// Checks Kusto control commands with Microsoft's own parser (Kusto.Language, compiled to
// JavaScript with Bridge.NET and published on npm as @kusto/language-service-next).
//
// Usage: node check.mjs FILE
//   FILE holds one command per line, each line a JSON value: either a string (the command
//   text) or an object {"command": TEXT, "kind": COMMANDKIND} that also pins the command kind
//   the parser must recognise (e.g. "DropDatabaseRole").
//
// The parser alone is too lenient for this job: it reports no error for an unknown command,
// for text after a complete command, or for broken JSON inside a string literal. So a command
// passes only if ALL of these hold:
//   1. no diagnostic of severity Error from KustoCode.Parse;
//   2. the text is exactly ONE command: one top-level CustomCommand (a known control command)
//      spanning the whole text (surrounding whitespace aside);
//   3. nowhere in the tree an UnknownCommand, BadCommand, SkippedTokens or
//      CommandAndSkippedTokens node, nor a missing (parser-inserted) token;
//   4. for mapping and policy commands (also inside .execute database script), the last
//      string literal is valid JSON: an array for mappings and update policies, an object
//      for other policies;
//   5. the top-level command kind equals "kind" when the line gives one.
//
// Prints one line per failing command and a closing "N passed, N failed" line; exits 0 when
// every command passes, 1 when any fails, 2 on bad usage or input.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
// bridge.js defines the global `Bridge` runtime; the library then defines the global `Kusto`.
require("@kusto/language-service-next/bridge.min.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.min.js");
const { KustoCode } = globalThis.Kusto.Language;
const Bridge = globalThis.Bridge;

/** The short syntax type name of a node: `CustomCommand`, `SkippedTokens`, ... */
function typeName(node) {
  return Bridge.getTypeName(node)
    .replace(/^Kusto\.Language\.Syntax\./, "")
    .replace(/`.*$/, "");
}

function children(node) {
  const out = [];
  for (let i = 0; i < node.ChildCount; i++) {
    const child = node.GetChild(i);
    if (child) out.push(child);
  }
  return out;
}

/** Depth-first walk; `visit(node, insideCommand)` says whether a CustomCommand encloses it. */
function walk(node, visit, insideCommand = false) {
  visit(node, insideCommand);
  const inside = insideCommand || typeName(node) === "CustomCommand";
  for (const child of children(node)) walk(child, visit, inside);
}

const BAD_NODES = new Set([
  "UnknownCommand",
  "BadCommand",
  "SkippedTokens",
  "CommandAndSkippedTokens",
]);

/** Last string literal of a command (its JSON argument for mapping and policy commands). */
function lastStringLiteral(command) {
  let last = null;
  walk(command, (node) => {
    if (typeName(node) === "LiteralExpression" && typeof node.LiteralValue === "string") {
      last = node.LiteralValue;
    }
  });
  return last;
}

/** JSON argument rules by command kind: null when the kind carries no JSON. */
function jsonShape(kind) {
  if (!/^(Create|Alter)/.test(kind)) return null;
  if (/IngestionMapping$/.test(kind)) return "array";
  // Caching takes `hot = 7d, hot_window = ...`; `.alter-merge ... policy retention` takes
  // `softdelete = 365d recoverability = enabled`: properties, not JSON.
  if (/PolicyCaching$/.test(kind) || /^AlterMerge.*PolicyRetention$/.test(kind)) return null;
  // An update policy is an array of entries.
  if (/PolicyUpdate$/.test(kind)) return "array";
  if (/Policy/.test(kind)) return "object";
  return null;
}

function checkJson(command, problems) {
  const kind = command.CommandKind;
  const shape = jsonShape(kind);
  if (!shape) return;
  const text = lastStringLiteral(command);
  if (text === null) {
    problems.push(`${kind}: no string literal holding the JSON`);
    return;
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    problems.push(`${kind}: the JSON literal does not parse (${e.message})`);
    return;
  }
  const isArray = Array.isArray(value);
  const isObject = value !== null && typeof value === "object" && !isArray;
  if ((shape === "array" && !isArray) || (shape === "object" && !isObject)) {
    problems.push(`${kind}: the JSON literal must be a JSON ${shape}`);
  }
}

/** Returns the list of problems with `text` (empty when it passes). */
export function check(text, expectedKind) {
  const problems = [];
  const code = KustoCode.Parse(text);
  const diagnostics = code.GetDiagnostics();
  for (let i = 0; i < diagnostics.Count; i++) {
    const d = diagnostics.getItem(i);
    if (String(d.Severity) === "Error") {
      problems.push(`${d.Code} at ${d.Start}: ${d.Message}`);
    }
  }
  if (code.Kind !== "Command") problems.push(`not a control command (parsed as ${code.Kind})`);

  const topLevel = [];
  const commands = [];
  walk(code.Syntax, (node, insideCommand) => {
    const type = typeName(node);
    if (BAD_NODES.has(type)) {
      problems.push(`${type} at ${node.TextStart}: "${text.slice(node.TextStart, node.End)}"`);
    }
    if (node.IsMissing) problems.push(`missing token at ${node.TextStart}`);
    if (type === "CustomCommand") {
      commands.push(node);
      if (!insideCommand) topLevel.push(node);
    }
  });
  if (topLevel.length !== 1) {
    problems.push(`expected exactly one known command, found ${topLevel.length}`);
  } else {
    const command = topLevel[0];
    const start = text.length - text.trimStart().length;
    const end = text.trimEnd().length;
    if (command.TextStart !== start || command.End !== end) {
      problems.push(
        `the command spans [${command.TextStart}, ${command.End}) of the text [${start}, ${end})`,
      );
    }
    if (expectedKind && command.CommandKind !== expectedKind) {
      problems.push(`parsed as ${command.CommandKind}, expected ${expectedKind}`);
    }
  }
  for (const command of commands) checkJson(command, problems);
  return problems;
}

function readInput(path) {
  const lines = readFileSync(path, "utf8").split("\n");
  const cases = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let value;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(`${path}:${i + 1}: not a JSON value (${e.message})`);
    }
    if (typeof value === "string") {
      cases.push({ line: i + 1, command: value, kind: null });
    } else if (value && typeof value.command === "string") {
      cases.push({ line: i + 1, command: value.command, kind: value.kind ?? null });
    } else {
      throw new Error(`${path}:${i + 1}: expected a string or {"command": ..., "kind": ...}`);
    }
  });
  return cases;
}

function main(argv) {
  if (argv.length !== 1) {
    console.error("usage: node check.mjs FILE  (one JSON string or {command, kind} per line)");
    return 2;
  }
  let cases;
  try {
    cases = readInput(argv[0]);
  } catch (e) {
    console.error(`check.mjs: ${e.message}`);
    return 2;
  }
  if (cases.length === 0) {
    console.error(`check.mjs: ${argv[0]} holds no command`);
    return 2;
  }
  let failed = 0;
  for (const c of cases) {
    const problems = check(c.command, c.kind);
    if (problems.length > 0) {
      failed++;
      console.log(`FAIL line ${c.line}: ${JSON.stringify(c.command)}`);
      for (const p of problems) console.log(`    ${p}`);
    }
  }
  console.log(`kusto-parser: ${cases.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));

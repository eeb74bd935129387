// Validates YAML manifests the way VS Code's YAML extension does: through yaml-language-server,
// spoken to over stdio like an editor, with each file's `$schema` modeline pointing at SCHEMA.
//
// Usage: node lsp-check.mjs SCHEMA.json INPUT.jsonl
// Each input line is {"file": PATH}. One JSON line per file is printed: {"file", "problems"},
// the error diagnostics the server published for it. Exit code 2 when the server does not
// answer in time.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [schemaPath, inputPath] = process.argv.slice(2);
const schemaUri = pathToFileURL(resolve(schemaPath)).href;
const files = readFileSync(inputPath, "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l).file);

const require = createRequire(import.meta.url);
const server = spawn(process.execPath, [require.resolve("yaml-language-server/bin/yaml-language-server"), "--stdio"], {
  stdio: ["pipe", "pipe", "inherit"],
});

let nextId = 1;
const pending = new Map();
function send(message) {
  const body = JSON.stringify({ jsonrpc: "2.0", ...message });
  server.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
function request(method, params) {
  const id = nextId++;
  send({ id, method, params });
  return new Promise((res) => pending.set(id, res));
}

const settings = { yaml: { validate: true, schemaStore: { enable: false }, format: { enable: false } } };
const diagnostics = new Map();
let lastPublish = Date.now();

function onMessage(msg) {
  if (msg.id !== undefined && msg.method === undefined) {
    pending.get(msg.id)?.(msg.result);
    pending.delete(msg.id);
  } else if (msg.method === "workspace/configuration") {
    send({ id: msg.id, result: msg.params.items.map((i) => (i.section ? settings[i.section] ?? null : settings)) });
  } else if (msg.id !== undefined) {
    send({ id: msg.id, result: null });
  } else if (msg.method === "textDocument/publishDiagnostics") {
    diagnostics.set(msg.params.uri, msg.params.diagnostics);
    lastPublish = Date.now();
  }
}

let buffer = Buffer.alloc(0);
server.stdout.on("data", (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  for (;;) {
    const end = buffer.indexOf("\r\n\r\n");
    if (end < 0) return;
    const length = Number(/Content-Length: (\d+)/i.exec(buffer.subarray(0, end).toString())?.[1]);
    if (buffer.length < end + 4 + length) return;
    onMessage(JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString()));
    buffer = buffer.subarray(end + 4 + length);
  }
});

await request("initialize", {
  processId: process.pid,
  rootUri: null,
  capabilities: { workspace: { configuration: true }, textDocument: { publishDiagnostics: {} } },
});
send({ method: "initialized", params: {} });
send({ method: "workspace/didChangeConfiguration", params: { settings } });

const uris = files.map((file) => {
  const uri = pathToFileURL(resolve(file)).href;
  // The modeline's relative path only works in place; point it at the schema under test.
  const text = readFileSync(file, "utf8").replace(/(# yaml-language-server: \$schema=)\S+/g, `$1${schemaUri}`);
  send({ method: "textDocument/didOpen", params: { textDocument: { uri, languageId: "yaml", version: 1, text } } });
  return uri;
});

// Done once every file has diagnostics and none has come for two seconds (a server may publish
// a file again, e.g. once its schema is loaded).
const deadline = Date.now() + 60_000;
while (!uris.every((u) => diagnostics.has(u)) || Date.now() - lastPublish < 2000) {
  if (Date.now() > deadline) {
    console.error(`yaml-language-server published diagnostics for ${diagnostics.size} of ${uris.length} files`);
    process.exit(2);
  }
  await new Promise((r) => setTimeout(r, 100));
}
files.forEach((file, i) => {
  const problems = diagnostics
    .get(uris[i])
    .filter((d) => d.severity === 1)
    .map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1} ${d.message}`);
  console.log(JSON.stringify({ file, problems }));
});
await request("shutdown", null);
send({ method: "exit" });

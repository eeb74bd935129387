// Validates YAML manifests against the committed editor schema with Ajv in strict mode (draft
// 2020-12).
//
// Usage: node check.mjs SCHEMA.json INPUT.jsonl
// Each input line is {"file": PATH}. Every YAML document of the file is validated, and one JSON
// line per file is printed: {"file", "documents", "problems"}. The exit code is 2 when the
// schema does not compile in strict mode or a file is not YAML, 0 otherwise: the caller judges
// the problems (examples must have none, wrong manifests some).
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import YAML from "yaml";

const [schemaPath, inputPath] = process.argv.slice(2);
const schema = JSON.parse(readFileSync(schemaPath, "utf8"));

let validate;
try {
  // Union types (`type: [string, number, boolean]`) are valid JSON Schema; strict mode only asks
  // for them to be allowed explicitly.
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  validate = ajv.compile(schema);
} catch (e) {
  console.error(`schema does not compile in strict mode: ${e.message}`);
  process.exit(2);
}

const files = readFileSync(inputPath, "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l).file);
for (const file of files) {
  const docs = YAML.parseAllDocuments(readFileSync(file, "utf8"));
  const problems = docs.flatMap((doc, i) => {
    if (doc.errors.length > 0) {
      console.error(`${file}: document ${i + 1} is not YAML: ${doc.errors[0].message}`);
      process.exit(2);
    }
    return validate(doc.toJS())
      ? []
      : validate.errors.map((e) => `document ${i + 1}: ${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
  });
  console.log(JSON.stringify({ file, documents: docs.length, problems }));
}

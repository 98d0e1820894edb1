// Compare two OpenAPI documents with api-smart-diff and print its diffs as JSON on stdout.
// Usage: node compare.mjs BEFORE.json AFTER.json
// Used by tests/test_version_diff.py to cross-check rtc_startrecord.migrate.diff_versions.
import { readFileSync } from "node:fs";
import { apiCompare } from "api-smart-diff";

const [before, after] = process.argv.slice(2).map((p) => JSON.parse(readFileSync(p, "utf8")));
const { diffs } = apiCompare(before, after);
const out = diffs.map((d) => ({
  action: d.action,
  type: d.type,
  path: d.path,
  before: d.before ?? null,
  after: d.after ?? null,
  description: d.description ?? null,
}));
process.stdout.write(JSON.stringify(out));

#!/usr/bin/env node
// Parse and analyse every Resource Graph query with the official Kusto language service
// (@kusto/language-service-next), against the Resource Graph tables the queries read, and
// check each query's output columns against its dataset contract in src/model/<dataset>.rs.
//
// usage: node scripts/check-queries.js <node_modules dir> <repo root>
'use strict';
const fs = require('fs');
const path = require('path');

const [modules, root] = [process.argv[2], process.argv[3] || path.join(__dirname, '..')];
if (!modules) {
  console.error('usage: check-queries.js <node_modules dir> [repo root]');
  process.exit(2);
}
require(path.join(modules, '@kusto/language-service-next/bridge.min.js'));
require(path.join(modules, '@kusto/language-service-next/Kusto.Language.Bridge.min.js'));
const K = global.Kusto.Language;

// Every Resource Graph table carries the same standard columns.
const STANDARD = [
  'id:string', 'name:string', "['type']:string", 'tenantId:string', "['kind']:string",
  'location:string', 'resourceGroup:string', 'subscriptionId:string', 'managedBy:string',
  'sku:dynamic', "['plan']:dynamic", 'properties:dynamic', 'tags:dynamic', 'identity:dynamic',
  'zones:dynamic', 'extendedLocation:dynamic',
].join(', ');
const TABLES = ['resources', 'resourcecontainers', 'securityresources',
  'kubernetesconfigurationresources', 'policyresources'];
const db = new K.Symbols.DatabaseSymbol.$ctor1('arg',
  TABLES.map((t) => new K.Symbols.TableSymbol.$ctor7(t, `(${STANDARD})`, null)));
const globals = K.GlobalState.Default.WithDatabase(db);

function contractColumns(dataset) {
  const file = path.join(root, 'src', 'model', `${dataset}.rs`);
  if (!fs.existsSync(file)) return null;
  const text = fs.readFileSync(file, 'utf8');
  const cols = [];
  for (const m of text.matchAll(/\("(\w+)",\s*(Key|Str|Bool|Int|Float|Time|Array|Object)\b/g)) cols.push(m[1]);
  return cols;
}

function lineCol(text, offset) {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

const files = [];
for (const dir of ['queries', path.join('queries', 'legacy')]) {
  const full = path.join(root, dir);
  if (!fs.existsSync(full)) continue;
  for (const f of fs.readdirSync(full).sort()) if (f.endsWith('.kql')) files.push(path.join(dir, f));
}
if (files.length === 0) {
  console.error('no queries found under queries/');
  process.exit(1);
}

let failed = 0;
let passed = 0;
for (const rel of files) {
  const text = fs.readFileSync(path.join(root, rel), 'utf8');
  const problems = [];
  const header = /^\/\/ dataset: (\w+)\s*$/m.exec(text.split('\n')[0]);
  const dataset = header && header[1];
  const expected = dataset && contractColumns(dataset);
  if (!dataset) problems.push('first line must be "// dataset: <name>"');
  else if (!expected) problems.push(`unknown dataset '${dataset}' (no src/model/${dataset}.rs)`);

  const code = K.KustoCode.ParseAndAnalyze(text, globals);
  const diags = code.GetDiagnostics();
  for (let i = 0; i < diags.Count; i++) {
    const d = diags.getItem(i);
    if (String(d.Severity) === 'Error') problems.push(`${lineCol(text, d.Start)} ${d.Message}`);
  }
  // Paging needs a stable order and no operator that truncates the result.
  const body = text.replace(/\/\/.*$/gm, '');
  if (!/\|\s*(order|sort)\s+by\b/.test(body)) problems.push('no "order by": pages would not be stable');
  if (/\|\s*(limit|take|sample|sample-distinct|top)\b/.test(body)) {
    problems.push('limit/take/sample/top truncate the result (resultTruncated, no $skipToken)');
  }
  if (expected && code.ResultType && code.ResultType.Columns) {
    const got = new Set();
    const cols = code.ResultType.Columns;
    for (let i = 0; i < cols.Count; i++) got.add(cols.getItem(i).Name);
    const missing = expected.filter((c) => !got.has(c));
    if (missing.length) problems.push(`missing contract columns: ${missing.join(', ')}`);
    if (!got.has('id')) problems.push("no 'id' column: Resource Graph pages in stable order only with an id");
  }
  if (problems.length) {
    failed++;
    console.log(`FAIL ${rel}`);
    for (const p of problems) console.log(`  ${rel}: ${p}`);
  } else {
    passed++;
    console.log(`ok   ${rel} (dataset ${dataset})`);
  }
}
console.log(`queries: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

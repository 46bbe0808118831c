// The committed terminology data match their source, npm hl7.fhir.r4.expansions
// 4.0.1: src/fhir/cvx_table.c is what src/fhir/gen_cvx.mjs generates now, and
// tests/vectors/fhir-terminology/*.txt are the expansions' code lists.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.env.PHR_SOURCE_DIR || '.';
const pkg = join(root, 'node_modules', 'hl7.fhir.r4.expansions');
let passed = 0, failed = 0;
function check(name, ok) {
  if (ok) { passed++; console.log(`ok - ${name}`); } else { failed++; console.log(`not ok - ${name}`); }
}

const generated = execFileSync('node', [join(root, 'src/fhir/gen_cvx.mjs'), join(pkg, 'ValueSet-vaccine-code.json')],
  { encoding: 'utf8' });
check('cvx_table.c is up to date with the generator and the package',
  generated === readFileSync(join(root, 'src/fhir/cvx_table.c'), 'utf8'));

function codes(file, system) {
  const vs = JSON.parse(readFileSync(join(pkg, file), 'utf8'));
  const out = [];
  const walk = (l) => { for (const c of l || []) { if (c.system === system) out.push(c.code); walk(c.contains); } };
  walk(vs.expansion.contains);
  return out.join('\n') + '\n';
}
const vec = (f) => readFileSync(join(root, 'tests/vectors/fhir-terminology', f), 'utf8');
check('cvx.txt = vaccine-code', codes('ValueSet-vaccine-code.json', 'http://hl7.org/fhir/sid/cvx') === vec('cvx.txt'));
check('loinc.txt = observation-codes', codes('ValueSet-observation-codes.json', 'http://loinc.org') === vec('loinc.txt'));
check('snomed.txt = condition-code', codes('ValueSet-condition-code.json', 'http://snomed.info/sct') === vec('snomed.txt'));
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

// The committed validation tables (src/fhir/defs_table.{c,h}) are exactly what
// src/fhir/gen_defs.mjs makes from the npm packages hl7.fhir.r4.examples and
// hl7.fhir.r4.expansions in node_modules: regenerate into a temporary directory and
// compare byte for byte.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = process.env.PHR_SOURCE_DIR || '.';
const dir = mkdtempSync(join(tmpdir(), 'phr-fhir-gen-'));
let bad = 0;
try {
  const log = execFileSync(process.execPath, [join(root, 'src/fhir/gen_defs.mjs'),
    join(root, 'node_modules/hl7.fhir.r4.examples'), join(root, 'node_modules/hl7.fhir.r4.expansions'), dir],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  process.stdout.write(log);
  for (const f of ['defs_table.c', 'defs_table.h']) {
    const want = readFileSync(join(dir, f));
    const have = readFileSync(join(root, 'src/fhir', f));
    if (!want.equals(have)) {
      console.log(`not ok - src/fhir/${f} differs from the generator's output: run node src/fhir/gen_defs.mjs`);
      bad++;
    } else console.log(`ok - src/fhir/${f} (${have.length} bytes) matches the generator`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(bad ? 1 : 0);

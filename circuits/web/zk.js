// Browser-side proving for the phr ZK credentials, for the portal or any page that has
// loaded snarkjs's browser build (node_modules/snarkjs/build/snarkjs.min.js, which sets
// window.snarkjs). The circuit files (circuits/keys/*.wasm, *.zkey) are fetched from the
// given base URL. The secret never leaves the page: only the proof and the public signals
// are returned.
//
//   import { proveProvider, proveAge, calldata } from './zk.js';
//   const { proof, publicSignals } = await proveProvider(input, '/zk/');
//
// input for proveProvider: { secret, expiry, leafIndex, siblings[20], root, role,
//   currentTime, scope, message } (decimal strings; siblings from
//   CredentialRegistry.siblings(index)); for proveAge: { secret, birthDate, sigR8x, sigR8y,
//   sigS, authorityX, authorityY, today, minAge, scope, message } (the attestation from
//   `phr zk attest`); for proveTrial: { secret, leafIndex, siblings[20], root, trialId,
//   message } (siblings from TrialRegistry.siblings(trialId, index)).

function snarkjs() {
  if (!globalThis.snarkjs) throw new Error('snarkjs browser build not loaded');
  return globalThis.snarkjs;
}

async function prove(circuit, input, base) {
  const t0 = performance.now();
  const { proof, publicSignals } = await snarkjs().groth16.fullProve(input, `${base}${circuit}.wasm`, `${base}${circuit}.zkey`);
  return { circuit, proof, publicSignals, calldata: calldata(proof), proveMs: Math.round(performance.now() - t0) };
}

/** Provider credential proof (circuits/provider_credential.circom). */
export function proveProvider(input, base = './') {
  return prove('provider_credential', input, base);
}

/** Patient age proof (circuits/age_credential.circom). */
export function proveAge(input, base = './') {
  return prove('age_credential', input, base);
}

/** Patient trial-enrolment proof (circuits/trial_enrolment.circom). */
export function proveTrial(input, base = './') {
  return prove('trial_enrolment', input, base);
}

/** snarkjs proof -> ResearchAccess's uint256[8] (B with imaginary parts first). */
export function calldata(proof) {
  return [proof.pi_a[0], proof.pi_a[1], proof.pi_b[0][1], proof.pi_b[0][0], proof.pi_b[1][1], proof.pi_b[1][0],
    proof.pi_c[0], proof.pi_c[1]].map(String);
}

/** Checks a proof in the page (verification key JSON from circuits/keys/<c>_vkey.json). */
export async function verify(vkey, publicSignals, proof) {
  return snarkjs().groth16.verify(vkey, publicSignals, proof);
}

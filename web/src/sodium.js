// libsodium (npm libsodium-wrappers 0.8.4, ISC), loaded once.
import sodium from 'libsodium-wrappers';

let ready = null;

export function sodiumReady() {
  if (!ready) ready = sodium.ready.then(() => sodium);
  return ready;
}

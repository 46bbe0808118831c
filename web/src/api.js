// The node's REST API (docs/api.md) and the contract calls the portal signs
// itself. Keys stay in the page: transactions are signed here and sent to
// /rpc; the node gets ciphertext, capsules, signatures and addresses only.
import { concat, fromBase64, fromHex, toHex, utf8 } from './bytes.js';
import { chainNow, checksum, decode, encodeCall, ethCall, keccak, rpc } from './eth.js';
import { cidOf, decryptRecord, encryptRecord, envelope, newDataKey, openCapsule, openEnvelope, sealKey } from './records.js';
import { wipe } from './bytes.js';
import { setBroadcast } from './keys.js';

export const TYPES = ['General', 'Vaccination', 'Major procedure', 'Chronic condition', 'Preventive care',
  'Lab result', 'Imaging', 'Prescription', 'Clinical note', 'Emergency summary'];
export const PURPOSES = ['Unspecified', 'Treatment', 'Payment', 'Operations', 'Emergency', 'Research', 'Patient request', 'Legal'];
export const LEVELS = ['None', 'Read', 'Write', 'Admin'];
export const ACTIONS = ['View', 'Create', 'Update', 'Share', 'Emergency', 'Revoke', 'Erase', 'Recover'];

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || 'HTTP ' + status);
    this.status = status;
    this.problem = problem;
  }
}

/** One signed-in session: the signer, its X25519 keys, the bearer token, the deployment. */
export const session = { signer: null, box: null, token: null, me: null, info: null };

export async function call(method, path, body, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (session.token) headers.Authorization = 'Bearer ' + session.token;
  let b;
  if (body instanceof Uint8Array) { headers['Content-Type'] = 'application/octet-stream'; b = body; }
  else if (body !== undefined) { headers['Content-Type'] = 'application/json'; b = JSON.stringify(body); }
  const r = await fetch(path, { method, headers, body: b });
  const ct = r.headers.get('Content-Type') || '';
  const j = ct.includes('json') ? await r.json().catch(() => null) : null;
  if (!r.ok) throw new ApiError(r.status, j);
  return j;
}

/*
 * Signed transactions go through the node's relay (POST /api/v1/tx: the node
 * checks signer, chain id and target and asks X-PHR-TOTP for sensitive
 * calls); a node without the relay gets them on /rpc.
 */
setBroadcast(async (raw, opts = {}) => {
  try {
    const r = await call('POST', '/api/v1/tx', { raw: toHex(raw) }, { headers: opts.totp ? { 'X-PHR-TOTP': opts.totp } : {} });
    return r.hash;
  } catch (e) {
    if (e.status === 404 && e.problem && /route/.test(e.problem.detail || '')) return rpc('eth_sendRawTransaction', [toHex(raw)]);
    throw e;
  }
});

export async function info() {
  if (!session.info) session.info = await call('GET', '/api/v1/info');
  return session.info;
}

const dep = (name) => session.info.deployment[name];
const chainId = () => session.info.deployment.chainId;

// --- sign-in (SIWE, EIP-4361) ------------------------------------------------

export function siweMessage({ domain, address, uri, chainId: cid, nonce, issuedAt }) {
  return `${domain} wants you to sign in with your Ethereum account:\n${address}\n\n` +
    'Sign in to the phr portal.\n\n' +
    `URI: ${uri}\nVersion: 1\nChain ID: ${cid}\nNonce: ${nonce}\nIssued At: ${issuedAt}`;
}

export async function signIn(signer) {
  await info();
  const n = await call('POST', '/api/v1/auth/nonce', {});
  const message = siweMessage({
    domain: n.domain, address: signer.address, uri: location.origin, chainId: n.chainId,
    nonce: n.nonce, issuedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  });
  const signature = await signer.signMessage(message);
  const t = await call('POST', '/api/v1/auth/login', { message, signature });
  session.signer = signer;
  session.token = t.token;
  session.box = await signer.boxKeys();
  session.me = await call('GET', '/api/v1/me');
  return session.me;
}

export async function signOut() {
  try { if (session.token) await call('POST', '/api/v1/auth/logout', {}); } catch { /* gone already */ }
  if (session.signer) session.signer.lock();
  if (session.box) wipe(session.box.sk);
  Object.assign(session, { signer: null, box: null, token: null, me: null });
}

export const me = () => session.signer.address;

// --- chain reads --------------------------------------------------------------

export async function balance(addr) {
  return BigInt(await rpc('eth_getBalance', [addr, 'latest']));
}

export async function patientInfo(addr) {
  const [owner, key, at] = decode(['address', 'bytes32', 'uint64'], await ethCall(dep('PatientRegistry'), encodeCall('patientInfo(address)', [addr])));
  return { owner, key: fromHex(key), registeredAt: Number(at) };
}

export async function registerKey() {
  return session.signer.send(dep('PatientRegistry'), encodeCall('register(bytes32)', [session.box.pk]), chainId());
}

export async function emergencyContacts(addr) {
  return decode(['address[]'], await ethCall(dep('PatientRegistry'), encodeCall('emergencyContacts(address)', [addr])))[0];
}

export async function setEmergencyContacts(list) {
  return session.signer.send(dep('PatientRegistry'), encodeCall('setEmergencyContacts(address,address[])', [me(), list]), chainId());
}

export async function guardians(addr) {
  const [g, t, round] = decode(['address[]', 'uint8', 'uint64'], await ethCall(dep('Recovery'), encodeCall('guardiansOf(address)', [addr])));
  const [newOwner, readyAt] = decode(['address', 'uint64'], await ethCall(dep('Recovery'), encodeCall('pendingOf(address)', [addr])));
  return { guardians: g, threshold: Number(t), round: Number(round), pending: { newOwner, readyAt: Number(readyAt) } };
}

export async function setGuardians(list, threshold) {
  return session.signer.send(dep('Recovery'), encodeCall('setGuardians(address,address[],uint8)', [me(), list, threshold]), chainId());
}

export async function cancelRecovery() {
  return session.signer.send(dep('Recovery'), encodeCall('cancelRecovery(address)', [me()]), chainId());
}

export async function isEmergencyProvider(addr) {
  return decode(['bool'], await ethCall(dep('ProviderRegistry'), encodeCall('isEmergencyProvider(address)', [addr])))[0];
}

const pad32 = (a) => '0x' + a.toLowerCase().replace(/^0x/, '').padStart(64, '0');

/** Chain logs of @p contract with topic0 = keccak(@p sig) and the given topics. */
export async function logs(contract, sig, topics = []) {
  const t0 = toHex(keccak(utf8(sig)));
  return rpc('eth_getLogs', [{ address: dep(contract), fromBlock: '0x0', toBlock: 'latest', topics: [t0, ...topics.map((t) => (t ? pad32(t) : null))] }]);
}

// Block timestamps do not change once mined (the embedded chain has no reorgs): kept for the page's life.
const blockTimeCache = new Map();
const BLOCK_CACHE_MAX = 200000;

export async function blockTimes(blocks) {
  const out = new Map();
  const uniq = [];
  for (const b of new Set(blocks)) {
    const t = blockTimeCache.get(Number(b));
    if (t === undefined) uniq.push(b); else out.set(b, t);
  }
  // one JSON-RPC batch for all blocks
  for (let i = 0; i < uniq.length; i += 500) {
    const part = uniq.slice(i, i + 500);
    const r = await fetch('/rpc', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(part.map((b, k) => ({ jsonrpc: '2.0', id: k, method: 'eth_getBlockByNumber', params: ['0x' + Number(b).toString(16), false] }))),
    });
    const j = await r.json();
    for (const e of Array.isArray(j) ? j : []) {
      if (!e.result) continue;
      const t = Number(BigInt(e.result.timestamp));
      out.set(part[e.id], t);
      if (blockTimeCache.size < BLOCK_CACHE_MAX) blockTimeCache.set(Number(part[e.id]), t);
    }
  }
  return out;
}

// --- scopes -----------------------------------------------------------------------

export function scopeBytes(scope) {
  const s = new Uint8Array(32);
  if (!scope || scope === 'all') return s;
  if (scope.category !== undefined) { s[0] = 1; s[31] = Number(scope.category); return s; }
  if (scope.record !== undefined) {
    // PatientRegistry.scopeRecord: 0x02 then the token id in the low 31 bytes
    s[0] = 2;
    let v = BigInt(scope.record);
    for (let i = 31; i > 0; i--) { s[i] = Number(v & 0xffn); v >>= 8n; }
    return s;
  }
  throw new Error('bad scope');
}

export function scopeText(hex) {
  const b = fromHex(hex);
  if (b.every((x) => x === 0)) return 'all records';
  if (b[0] === 1) return 'category: ' + (TYPES[b[31]] || b[31]);
  if (b[0] === 2) return 'record ' + BigInt(toHex(concat(new Uint8Array(1), b.subarray(1)))).toString();
  return hex.slice(0, 10) + '…';
}

// --- records -------------------------------------------------------------------------

export async function listRecords(patient) {
  return (await call('GET', `/api/v1/patients/${patient}/records`)).items;
}

/**
 * Reads record @p id as the signed-in user: logs the View on chain with its
 * own key, fetches ciphertext and capsule, opens and decrypts here and checks
 * the salted hash against the chain. @return { meta, bytes }.
 */
export async function readRecord(id, purpose, onProgress) {
  const patient = (await recordOwner(id));
  onProgress && onProgress('Logging your view on the audit trail…', 0.05);
  const r = await session.signer.send(dep('AuditTrail'), encodeCall('logAccess(address,uint256,uint8,uint8)', [patient, BigInt(id), 0, purpose]), chainId());
  onProgress && onProgress('Fetching the encrypted record…', 0.2);
  const meta = await call('GET', `/api/v1/records/${id}?purpose=${purpose}&auditTx=${r.transactionHash}`);
  let ct;
  if (meta.ciphertext) ct = fromBase64(meta.ciphertext);
  else {
    const resp = await fetch(meta.ciphertextUrl);
    if (!resp.ok) throw new ApiError(resp.status, null);
    ct = new Uint8Array(await resp.arrayBuffer());
  }
  if ((await cidOf(ct)) !== meta.cid) throw new Error('the ciphertext does not match its CID');
  const key = await openCapsule(fromHex(meta.capsule), session.box);
  try {
    const env = await decryptRecord(key, ct, (f) => onProgress && onProgress('Decrypting…', 0.3 + 0.7 * f));
    return { meta, bytes: openEnvelope(env, meta.dataHash) };
  } finally {
    wipe(key);
  }
}

export async function recordOwner(id) {
  const [owner] = decode(['address'], await ethCall(dep('HealthRecordNFT'), encodeCall('ownerOf(uint256)', [BigInt(id)])));
  return owner;
}

/** Provider: encrypts @p bytes here, uploads the ciphertext, mints, uploads both capsules. */
export async function submitRecord(patient, type, bytes, onProgress) {
  const prog = (m, f) => onProgress && onProgress(m, f);
  const info0 = await patientInfo(patient);
  if (!info0.registeredAt) throw new Error('this patient has not registered an encryption key');
  const key = await newDataKey();
  try {
    const { env, hash } = await envelope(bytes);
    prog('Encrypting…', 0.05);
    const ct = await encryptRecord(key, env, undefined, (f) => prog('Encrypting…', 0.05 + 0.3 * f));
    wipe(env);
    const want = await cidOf(ct);
    prog('Uploading the ciphertext…', 0.4);
    const up = await uploadWithProgress('/api/v1/ciphertext', ct, (f) => prog('Uploading the ciphertext…', 0.4 + 0.4 * f));
    if (up.cid !== want) throw new Error('the node stored something else than the ciphertext');
    prog('Minting the record on chain…', 0.85);
    const r = await session.signer.send(dep('HealthRecordNFT'), encodeCall('mintRecord(address,bytes32,string,uint8,uint256)', [patient, hash, want, type, 0n]), chainId());
    const topic = toHex(keccak(utf8('RecordMinted(uint256,address,address,uint8,bytes32,string,uint256)')));
    const ev = r.logs.find((l) => l.topics[0] === topic);
    if (!ev) throw new Error('minted, but no RecordMinted event');
    const id = BigInt(ev.topics[1]).toString();
    prog('Sealing the key to the patient and to you…', 0.95);
    await call('PUT', `/api/v1/records/${id}/capsules/${patient}`, await sealKey(key, info0.key));
    await call('PUT', `/api/v1/records/${id}/capsules/${me()}`, await sealKey(key, session.box.pk));
    prog('Done', 1);
    return { id, cid: want };
  } finally {
    wipe(key);
  }
}

function uploadWithProgress(path, body, onProgress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', path);
    x.setRequestHeader('Authorization', 'Bearer ' + session.token);
    x.setRequestHeader('Content-Type', 'application/octet-stream');
    x.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    x.onload = () => {
      let j = null;
      try { j = JSON.parse(x.responseText); } catch { /* not JSON */ }
      if (x.status >= 200 && x.status < 300) resolve(j);
      else reject(new ApiError(x.status, j));
    };
    x.onerror = () => reject(new Error('network error'));
    x.send(body);
  });
}

// --- grants -------------------------------------------------------------------------------

export async function grants() {
  return (await call('GET', `/api/v1/patients/${me()}/grants`)).items;
}

/**
 * Patient: grantAccess signed here; then every own record in the scope gets a
 * capsule sealed to the provider's registered key. @return records re-sealed.
 */
export async function grant(provider, level, scope, expiry, onProgress) {
  await session.signer.send(dep('PatientRegistry'), encodeCall('grantAccess(address,address,uint8,bytes32,uint64)', [me(), provider, level, scopeBytes(scope), BigInt(expiry)]), chainId());
  return reseal(provider, scope, onProgress);
}

/** The scope object of the contract's 32-byte form. */
export function scopeFromHex(hex) {
  const b = fromHex(hex);
  if (b.every((x) => x === 0)) return 'all';
  if (b[0] === 1) return { category: b[31] };
  if (b[0] === 2) return { record: BigInt(toHex(concat(new Uint8Array(1), b.subarray(1)))).toString() };
  throw new Error('unknown scope');
}

/** Seals the data key of every own record in @p scope to @p provider's registered key. */
export async function reseal(provider, scope, onProgress) {
  const p = await patientInfo(provider);
  if (!p.registeredAt) return { wrapped: 0, note: 'the provider has no registered encryption key: no record keys shared' };
  const items = (await listRecords(me())).filter((r) => inScope(scope, r));
  let n = 0;
  for (const r of items) {
    onProgress && onProgress(`Sharing record keys ${n + 1}/${items.length}…`, n / items.length);
    const c = await call('GET', `/api/v1/records/${r.id}/capsules/${me()}`);
    const resp = await fetch(`/ipfs/${c.cid}?format=raw`, { headers: { Accept: 'application/vnd.ipld.raw' } });
    const blk = new Uint8Array(await resp.arrayBuffer());
    if ((await cidOf(blk)) !== c.cid) throw new Error('capsule block does not match its CID');
    const key = await openCapsule(blk, session.box);
    try {
      await call('PUT', `/api/v1/records/${r.id}/capsules/${provider}`, await sealKey(key, p.key));
    } finally {
      wipe(key);
    }
    n++;
  }
  return { wrapped: n };
}

function inScope(scope, r) {
  if (!scope || scope === 'all') return true;
  if (scope.category !== undefined) return Number(r.type) === Number(scope.category);
  if (scope.record !== undefined) return String(r.id) === String(scope.record);
  return false;
}

export async function extend(provider, scopeHex, expiry) {
  return session.signer.send(dep('PatientRegistry'), encodeCall('extendAccess(address,address,bytes32,uint64)', [me(), provider, scopeHex, BigInt(expiry)]), chainId());
}

export async function revoke(provider, scopeHex) {
  return session.signer.send(dep('PatientRegistry'), encodeCall('revokeAccess(address,address,bytes32)', [me(), provider, scopeHex]), chainId());
}

export async function requests() {
  return (await call('GET', `/api/v1/patients/${me()}/requests`)).items;
}

/** Approves (and shares the record keys in the request's scope) or denies request @p r. */
export async function answerRequest(r, approve, onProgress) {
  await session.signer.send(dep('PatientRegistry'), encodeCall(approve ? 'approveRequest(uint256)' : 'denyRequest(uint256)', [BigInt(r.id)]), chainId());
  return approve ? reseal(r.provider, scopeFromHex(r.scope), onProgress) : null;
}

/** Provider: PatientRegistry.requestAccess signed here. */
export async function requestAccess(patient, purpose, duration, level, scope) {
  return session.signer.send(dep('PatientRegistry'), encodeCall('requestAccess(address,uint8,uint64,uint8,bytes32)', [patient, purpose, BigInt(duration), level, scopeBytes(scope)]), chainId());
}

/** Provider: patients whose grants name this provider (from the chain's events), with the live grant. */
export async function myPatients() {
  const [g, a] = await Promise.all([
    logs('PatientRegistry', 'AccessGranted(address,address,bytes32,uint8,uint64,address)', [null, me()]),
    logs('PatientRegistry', 'RequestApproved(uint256,address,address,uint64)', [null, null, me()]),
  ]);
  const seen = new Map();
  for (const l of g) seen.set(checksum(l.topics[1].slice(26)) + '|' + l.topics[3], { patient: checksum(l.topics[1].slice(26)), scope: l.topics[3] });
  for (const l of a) {
    const p = checksum(l.topics[2].slice(26));
    if (![...seen.values()].some((v) => v.patient === p)) seen.set(p + '|?', { patient: p, scope: null });
  }
  const out = [];
  for (const v of seen.values()) {
    if (!v.scope) { out.push({ ...v, level: 0, expiry: 0, scopeText: 'from an approved request' }); continue; }
    const [level, expiry] = decode(['uint8', 'uint64', 'address'], await ethCall(dep('PatientRegistry'), encodeCall('grantOf(address,address,bytes32)', [v.patient, me(), v.scope])));
    out.push({ ...v, level: Number(level), expiry: Number(expiry), scopeText: scopeText(v.scope) });
  }
  return out;
}

// --- audit, notifications, emergency ---------------------------------------------------------

export async function audit(patient = me()) {
  return (await call('GET', `/api/v1/patients/${patient}/audit`)).items;
}

export async function notifications() {
  const p = me();
  const [em, req, rec, sched] = await Promise.all([
    logs('EmergencyAccess', 'EmergencyAccessOpened(address,address,uint8,bytes32,uint64)', [p]),
    logs('PatientRegistry', 'AccessRequested(uint256,address,address,uint8,bytes32,uint8,uint64)', [null, p]),
    logs('Recovery', 'RecoveryApproved(address,address,address,uint64,uint256)', [p]),
    logs('Recovery', 'RecoveryScheduled(address,address,uint64,uint64)', [p]),
  ]);
  const contact = await logs('EmergencyAccess', 'EmergencyNotification(address,address,address,uint64)', [null, p]);
  const blk = (l) => Number(BigInt(l.blockNumber));
  const out = [];
  for (const l of em) out.push({ block: blk(l), kind: 'emergency', text: `Emergency access opened by ${checksum(l.topics[2].slice(26))}` });
  for (const l of req) out.push({ block: blk(l), kind: 'request', text: `Access request #${BigInt(l.topics[1])} from ${checksum(l.topics[3].slice(26))}` });
  for (const l of rec) out.push({ block: blk(l), kind: 'recovery', text: `A guardian (${checksum(l.topics[2].slice(26))}) approved recovering your account to ${checksum(l.topics[3].slice(26))}` });
  for (const l of sched) out.push({ block: blk(l), kind: 'recovery', text: `Recovery of your account to ${checksum(l.topics[2].slice(26))} is scheduled` });
  // EmergencyNotification also names the patient's own owner: only others' emergencies here
  for (const l of contact.filter((x) => checksum(x.topics[1].slice(26)) !== checksum(p))) out.push({ block: blk(l), kind: 'emergency', text: `You are an emergency contact: ${checksum(l.topics[3].slice(26))} opened emergency access to ${checksum(l.topics[1].slice(26))}` });
  out.sort((x, y) => y.block - x.block);
  const times = await blockTimes(out.map((o) => o.block));
  for (const o of out) o.time = times.get(o.block) || 0;
  return out;
}

export async function emergencySessions(patient) {
  const opened = await logs('EmergencyAccess', 'EmergencyAccessOpened(address,address,uint8,bytes32,uint64)', [patient]);
  const now = await chainNow();
  const out = [];
  for (const l of opened) {
    const provider = checksum(l.topics[2].slice(26));
    const [active] = decode(['bool'], await ethCall(dep('EmergencyAccess'), encodeCall('isActive(address,address)', [patient, provider])));
    const d = fromHex(l.data);
    const expiresAt = Number(BigInt(toHex(d.subarray(64, 96))));
    out.push({ provider, reasonCode: d[31], expiresAt, active: active && expiresAt > now, block: Number(BigInt(l.blockNumber)) });
  }
  return out;
}

export async function closeEmergency(patient, provider) {
  return session.signer.send(dep('EmergencyAccess'), encodeCall('closeEmergencyAccess(address,address)', [patient, provider]), chainId());
}

/** Emergency provider: opens a break-glass session on chain (the reason is hashed; only its hash goes on chain). */
export async function breakGlass(patient, reasonCode, reason, totp) {
  return session.signer.send(dep('EmergencyAccess'), encodeCall('openEmergencyAccess(address,uint8,bytes32)', [patient, reasonCode, keccak(utf8(reason))]), chainId(), { totp });
}

/** AuditTrail.logAccess(patient, 0, action, Emergency): the escrow's Share (setup) and View (read). */
export async function logEmergency(patient, action) {
  return session.signer.send(dep('AuditTrail'), encodeCall('logAccess(address,uint256,uint8,uint8)', [patient, 0n, ACTIONS.indexOf(action), 4]), chainId());
}

export { chainNow };

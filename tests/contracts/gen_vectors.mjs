#!/usr/bin/env node
// Generates tests/contracts/bindings_vectors.json once with ethers v6 (an independent ABI
// implementation): calldata for fixed arguments, encoded results, encoded event logs and
// custom-error revert data. test_contracts_bindings.c feeds the same arguments to the
// generated C bindings and compares. Run: node tests/contracts/gen_vectors.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ethers } from 'ethers';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const iface = (n) => new ethers.Interface(JSON.parse(fs.readFileSync(path.join(root, 'contracts/artifacts', `${n}.json`), 'utf8')).abi);
const A = (b) => ethers.getAddress('0x' + b.repeat(20));
const P = A('11'), Q = A('22'), C1 = A('33'), C2 = A('44'), G3 = A('55');
const H32 = '0x' + 'ab'.repeat(32);
const LIC = '0x' + 'cd'.repeat(32);
const HEAD = '0x' + 'ee'.repeat(32);
const CID = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy';
const SCOPE = ethers.toBeHex((1n << 248n) | 1n, 32);
const BIG = (1n << 200n) + 5n;

const reg = iface('PatientRegistry'), nft = iface('HealthRecordNFT'), rec = iface('Recovery'), gov = iface('GovernanceMultisig');
const aud = iface('AuditTrail'), prov = iface('ProviderRegistry'), em = iface('EmergencyAccess');

const calls = {
  grant_access: reg.encodeFunctionData('grantAccess', [P, Q, 2, SCOPE, 1700000000]),
  mint_record: nft.encodeFunctionData('mintRecord', [P, H32, CID, 1, 7]),
  set_emergency_contacts: reg.encodeFunctionData('setEmergencyContacts', [P, [C1, C2]]),
  set_guardians: rec.encodeFunctionData('setGuardians', [P, [C1, C2, G3], 2]),
  propose: gov.encodeFunctionData('propose', [Q, '0xdeadbeef']),
  log_access: aud.encodeFunctionData('logAccess', [P, 5, 0, 1]),
  safe_transfer_from_4: nft.encodeFunctionData('safeTransferFrom(address,address,uint256,bytes)', [P, Q, 9, '0x0102']),
  verify_provider: prov.encodeFunctionData('verifyProvider', [Q, 3, LIC, 2000000000]),
  request_access: reg.encodeFunctionData('requestAccess', [P, 1, 86400, 1, ethers.ZeroHash]),
  token_uri: nft.encodeFunctionData('tokenURI', [BIG]),
  set_approval_for_all: nft.encodeFunctionData('setApprovalForAll', [Q, true]),
  register: reg.encodeFunctionData('register', [H32]),
};

const results = {
  grant_of: reg.encodeFunctionResult('grantOf', [2, 1700000000, Q]),
  record_of: nft.encodeFunctionResult('recordOf', [[P, 1, 1700000000, Q, 3, 0, H32, CID]]),
  token_uri: nft.encodeFunctionResult('tokenURI', [`ipfs://${CID}`]),
  emergency_contacts: reg.encodeFunctionResult('emergencyContacts', [[C1, C2]]),
  guardians_of: rec.encodeFunctionResult('guardiansOf', [[C1, C2, G3], 2, 4]),
  can_access: reg.encodeFunctionResult('canAccess', [true]),
  total_minted: nft.encodeFunctionResult('totalMinted', [BIG]),
};

const log = (i, name, vals) => {
  const l = i.encodeEventLog(name, vals);
  return { topics: l.topics, data: l.data };
};
const events = {
  record_minted: log(nft, 'RecordMinted', [1, P, Q, 1, H32, CID, 0]),
  audit_logged: log(aud, 'AuditLogged', [P, 5, Q, 0, 1, 1700000000, 3, HEAD]),
  access_granted: log(reg, 'AccessGranted', [P, Q, SCOPE, 2, 1700000000, P]),
  emergency_notification: log(em, 'EmergencyNotification', [P, C1, Q, 1700086400]),
  guardians_set: log(rec, 'GuardiansSet', [P, [C1, C2, G3], 2, 4]),
};

const errors = {
  NotPatientOwner: reg.encodeErrorResult('NotPatientOwner', [P]),
  TokenLocked: nft.encodeErrorResult('TokenLocked', [9]),
  RecoveryTimelocked: rec.encodeErrorResult('RecoveryTimelocked', [P, 1700000000]),
};

const art = (n) => JSON.parse(fs.readFileSync(path.join(root, 'contracts/artifacts', `${n}.json`), 'utf8'));
const deployData = async (n, args) => (await new ethers.ContractFactory(art(n).abi, art(n).bytecode).getDeployTransaction(...args)).data;
const deploy = {
  governance_multisig: await deployData('GovernanceMultisig', [[C1, C2, G3], 2]),
  health_record_nft: await deployData('HealthRecordNFT', [P, Q, C1]),
};

const out = { source: 'ethers ' + ethers.version + ' over contracts/artifacts', calls, results, events, errors, deploy };
fs.writeFileSync(path.join(here, 'bindings_vectors.json'), JSON.stringify(out, null, 2) + '\n');
console.log('wrote tests/contracts/bindings_vectors.json');

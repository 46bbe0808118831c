#!/usr/bin/env node
// The phr contract behaviour suite over JSON-RPC. Deploys every contract from
// contracts/artifacts and exercises every function and rejection path, advancing time with
// evm_increaseTime + evm_mine. The outcome of each step (ok, or the custom error it reverted
// with) is recorded so runs on different chains can be compared.
//
//   node tests/interop/contracts_suite.mjs --chain anvil          start anvil, run, stop it
//   node tests/interop/contracts_suite.mjs --chain phr            run on anvil AND `phr chain --dev`,
//                                                                 compare the outcome sequences
//                                                                 (exit 77 if phr has no chain command)
//   node tests/interop/contracts_suite.mjs --rpc URL              run against a running node
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import {
  startChain, connect, deployAll, allInterface, revertData, phrBinary, waitReceipt,
  scopeAll, scopeCat, scopeRec, AL, RT, ACT, PUR,
} from './contracts_lib.mjs';

const IFACE = allInterface();
const FAIL_GAS = 3_000_000n;

class Runner {
  constructor(provider) {
    this.provider = provider;
    this.outcomes = [];
    this.txs = 0;
    this.reverted = 0;
    this.events = new Set();
  }

  async now() {
    return BigInt((await this.provider.getBlock('latest')).timestamp);
  }

  /**
   * Move the chain's time forward by at least `seconds` past the latest block. A chain whose
   * blocks are each one second after the last (phr) can run ahead of the wall clock, so the
   * increase is repeated for any shortfall.
   */
  async advance(seconds) {
    const target = (await this.now()) + BigInt(seconds);
    let step = BigInt(seconds);
    for (let i = 0; i < 4 && step > 0n; i++) {
      await this.provider.send('evm_increaseTime', [ethers.toQuantity(step)]);
      await this.provider.send('evm_mine', []);
      step = target - (await this.now());
    }
    assert.ok((await this.now()) >= target, `time did not advance to ${target}`);
  }

  /** Send fn(args) from signer; expect 'ok' or the name of the custom error. */
  async tx(name, signer, contract, fn, args, expect = 'ok') {
    const c = contract.connect(signer);
    if (expect === 'ok') {
      let rcpt;
      try {
        const t = await c.getFunction(fn).send(...args);
        rcpt = await waitReceipt(this.provider, t.hash);
      } catch (e) {
        const d = revertData(e);
        const err = d ? IFACE.parseError(d) : null;
        throw new Error(`${name}: expected ok, got ${err ? err.name : e.shortMessage || e.message}`);
      }
      assert.equal(rcpt.status, 1, `${name}: status`);
      // every state change emits at least one event; the names join the outcome so the
      // chains are compared on their logs too
      const names = [];
      for (const l of rcpt.logs) {
        let p = null;
        try {
          p = IFACE.parseLog(l);
        } catch {
          p = null;
        }
        names.push(p ? p.name : `unknown(${l.topics[0]})`);
        if (p) this.events.add(p.name);
      }
      assert.ok(names.length > 0, `${name}: no event emitted`);
      this.txs++;
      this.outcomes.push(`${name}: ok [${names.join(',')}]`);
      return rcpt;
    }
    // 1. the call reverts with the expected custom error
    let got = null;
    try {
      await c.getFunction(fn).staticCall(...args);
      got = 'ok';
    } catch (e) {
      const d = revertData(e);
      if (!d) throw new Error(`${name}: no revert data in ${e.shortMessage || e.message}`);
      const err = IFACE.parseError(d);
      got = err ? err.name : `unknown(${d.slice(0, 10)})`;
    }
    assert.equal(got, expect, `${name}: expected revert ${expect}, got ${got}`);
    // 2. the same transaction, mined, fails and changes nothing
    let status = null;
    try {
      const t = await c.getFunction(fn).send(...args, { gasLimit: FAIL_GAS });
      const r = await waitReceipt(this.provider, t.hash);
      status = r.status;
    } catch (e) {
      status = e.receipt ? e.receipt.status : `error: ${e.shortMessage || e.message}`;
    }
    assert.equal(status, 0, `${name}: mined transaction should fail`);
    this.txs++;
    this.reverted++;
    this.outcomes.push(`${name}: revert ${expect}`);
    return null;
  }

  /** A view that must revert with a custom error. */
  async viewReverts(name, contract, fn, args, expect) {
    let got;
    try {
      await contract[fn](...args);
      got = 'ok';
    } catch (e) {
      const d = revertData(e);
      const err = d ? IFACE.parseError(d) : null;
      got = err ? err.name : `no-data`;
    }
    assert.equal(got, expect, `${name}: expected ${expect}, got ${got}`);
    this.outcomes.push(`${name}: revert ${expect}`);
  }

  check(name, cond) {
    assert.ok(cond, name);
    this.outcomes.push(`${name}: true`);
  }

  eq(name, a, b) {
    assert.deepEqual(a, b, name);
    this.outcomes.push(`${name}: equal`);
  }
}

function eventsOf(rcpt, name) {
  const out = [];
  for (const l of rcpt.logs) {
    let p = null;
    try {
      p = IFACE.parseLog(l);
    } catch {
      p = null;
    }
    if (p && p.name === name) out.push(p);
  }
  return out;
}

export async function runSuite(url) {
  const { provider, wallets } = connect(url);
  const r = new Runner(provider);
  const [deployer, g2, authority, doctor, doctor2, er, patient, patient2, newOwner, stranger] = wallets;
  const g3 = ethers.getAddress('0x' + '66'.repeat(20));
  const contact1 = '0x' + '11'.repeat(20);
  const contact2 = '0x' + '22'.repeat(20);
  const unverified = newOwner; // not a provider until the end of the suite
  const guardA = g2;
  const guardB = patient2;
  const guardC = ethers.getAddress('0x' + '33'.repeat(20));
  const A = (w) => w.address;
  const HASH1 = ethers.keccak256(ethers.toUtf8Bytes('salt1|record1'));
  const CID1 = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy';
  const CID2 = 'bafkreidgvpkjawlxz6sffxzwgooowe5yt7i6wsyg236mfoks77nywkptdq';
  const KEY = ethers.zeroPadValue('0x5851f42d4c957f2d', 32);

  // ---------------------------------------------------------------- deploy + governance
  const { c } = await deployAll(deployer, [A(deployer), A(g2), g3]);
  const { gov, providers, reg, audit, nft, emergency, recovery } = c;
  r.check('deployed 7 contracts', (await provider.getCode(await recovery.getAddress())).length > 2);
  for (const c2 of [reg, audit]) {
    const w = await provider.getLogs({ address: await c2.getAddress(), fromBlock: 0, toBlock: 'latest', topics: [c2.interface.getEvent('Wired').topicHash] });
    r.eq(`Wired event of ${c2 === reg ? 'registry' : 'audit'}`, w.length, 1);
    r.events.add('Wired');
  }
  await r.tx('wire again', deployer, reg, 'wire', [await nft.getAddress(), await emergency.getAddress(), await recovery.getAddress(), await audit.getAddress()], 'AlreadyWired');
  await r.tx('wire by stranger', stranger, reg, 'wire', [await nft.getAddress(), await emergency.getAddress(), await recovery.getAddress(), await audit.getAddress()], 'NotDeployer');
  await r.tx('audit wire again', deployer, audit, 'wire', [[]], 'AlreadyWired');
  await r.tx('audit wire by stranger', stranger, audit, 'wire', [[]], 'NotDeployer');

  const setAuth = providers.interface.encodeFunctionData('setAuthority', [A(authority), true]);
  await r.tx('gov propose by stranger', stranger, gov, 'propose', [await providers.getAddress(), setAuth], 'NotOwner');
  await r.tx('gov propose', deployer, gov, 'propose', [await providers.getAddress(), setAuth]);
  await r.tx('gov execute below threshold', deployer, gov, 'execute', [0], 'ThresholdNotMet');
  await r.tx('gov confirm twice', deployer, gov, 'confirm', [0], 'AlreadyConfirmed');
  await r.tx('gov revoke unconfirmed', g2, gov, 'revokeConfirmation', [0], 'NotConfirmed');
  await r.tx('gov confirm', g2, gov, 'confirm', [0]);
  await r.tx('gov revoke confirmation', g2, gov, 'revokeConfirmation', [0]);
  await r.tx('gov confirm again', g2, gov, 'confirm', [0]);
  await r.tx('gov execute', g2, gov, 'execute', [0]);
  await r.tx('gov execute replay', g2, gov, 'execute', [0], 'AlreadyExecuted');
  await r.tx('gov confirm unknown', g2, gov, 'confirm', [42], 'UnknownProposal');
  r.check('authority appointed', await providers.isAuthority(A(authority)));
  r.eq('gov proposalCount', await gov.proposalCount(), 1n);
  r.eq('gov threshold', await gov.threshold(), 2n);
  r.eq('gov owners', (await gov.owners()).length, 3);
  await r.tx('setAuthority not governance', stranger, providers, 'setAuthority', [A(stranger), true], 'NotGovernance');
  await r.tx('setGovernance not governance', stranger, providers, 'setGovernance', [A(stranger)], 'NotGovernance');
  // failing inner call surfaces as CallFailed and leaves the proposal pending
  const again = providers.interface.encodeFunctionData('setAuthority', [A(authority), true]);
  await r.tx('gov propose dup authority', deployer, gov, 'propose', [await providers.getAddress(), again]);
  await r.tx('gov confirm dup authority', g2, gov, 'confirm', [1]);
  await r.tx('gov execute failing call', g2, gov, 'execute', [1], 'CallFailed');
  r.check('failed proposal still pending', (await gov.proposal(1))[3] === false);

  // ---------------------------------------------------------------- providers
  let now = await r.now();
  const YEAR = 365n * 86400n;
  await r.tx('verify by stranger', stranger, providers, 'verifyProvider', [A(doctor), 1, ethers.ZeroHash, now + YEAR], 'NotAuthority');
  await r.tx('verify zero roles', authority, providers, 'verifyProvider', [A(doctor), 0, ethers.ZeroHash, now + YEAR], 'InvalidRoles');
  await r.tx('verify bad roles', authority, providers, 'verifyProvider', [A(doctor), 4, ethers.ZeroHash, now + YEAR], 'InvalidRoles');
  await r.tx('verify past expiry', authority, providers, 'verifyProvider', [A(doctor), 1, ethers.ZeroHash, now - 1n], 'InvalidExpiry');
  await r.tx('verify zero address', authority, providers, 'verifyProvider', [ethers.ZeroAddress, 1, ethers.ZeroHash, now + YEAR], 'ZeroAddress');
  await r.tx('verify doctor', authority, providers, 'verifyProvider', [A(doctor), 1, ethers.id('licence-doctor'), now + YEAR]);
  await r.tx('verify doctor2', authority, providers, 'verifyProvider', [A(doctor2), 1, ethers.id('licence-doctor2'), now + YEAR]);
  await r.tx('verify er', authority, providers, 'verifyProvider', [A(er), 3, ethers.id('licence-er'), now + YEAR]);
  r.check('doctor verified', await providers.isVerified(A(doctor)));
  r.check('doctor not emergency', !(await providers.isEmergencyProvider(A(doctor))));
  r.check('er emergency', await providers.isEmergencyProvider(A(er)));
  r.eq('providerInfo licence hash', (await providers.providerInfo(A(doctor)))[4], ethers.id('licence-doctor'));
  await r.tx('suspend unknown', authority, providers, 'suspendProvider', [unverified.address, ethers.ZeroHash], 'UnknownProvider');
  await r.tx('reinstate active', authority, providers, 'reinstateProvider', [A(doctor)], 'ProviderNotSuspended');
  await r.tx('suspend by stranger', stranger, providers, 'suspendProvider', [A(doctor2), ethers.ZeroHash], 'NotAuthority');
  await r.tx('suspend doctor2', authority, providers, 'suspendProvider', [A(doctor2), ethers.id('reason')]);
  r.check('suspended not verified', !(await providers.isVerified(A(doctor2))));
  await r.tx('suspend twice', authority, providers, 'suspendProvider', [A(doctor2), ethers.ZeroHash], 'ProviderIsSuspended');
  await r.tx('re-verify suspended', authority, providers, 'verifyProvider', [A(doctor2), 1, ethers.ZeroHash, now + YEAR], 'ProviderIsSuspended');
  await r.tx('reinstate doctor2', authority, providers, 'reinstateProvider', [A(doctor2)]);
  r.check('reinstated verified', await providers.isVerified(A(doctor2)));

  // ---------------------------------------------------------------- patients
  await r.tx('register zero key', patient, reg, 'register', [ethers.ZeroHash], 'InvalidKey');
  const regRcpt = await r.tx('register patient', patient, reg, 'register', [KEY]);
  r.eq('PatientRegistered event', eventsOf(regRcpt, 'PatientRegistered')[0].args[0], A(patient));
  await r.tx('register twice', patient, reg, 'register', [KEY], 'AlreadyRegistered');
  r.check('isRegistered', await reg.isRegistered(A(patient)));
  r.eq('ownerOfPatient', await reg.ownerOfPatient(A(patient)), A(patient));
  r.eq('patientInfo key', (await reg.patientInfo(A(patient)))[1], KEY);
  await r.tx('update key by stranger', stranger, reg, 'updateEncryptionKey', [A(patient), KEY], 'NotPatientOwner');
  await r.tx('update key unregistered', stranger, reg, 'updateEncryptionKey', [A(stranger), KEY], 'NotRegistered');
  await r.tx('update key zero', patient, reg, 'updateEncryptionKey', [A(patient), ethers.ZeroHash], 'InvalidKey');
  await r.tx('update key', patient, reg, 'updateEncryptionKey', [A(patient), ethers.zeroPadValue('0x07', 32)]);
  await r.tx('contacts by stranger', stranger, reg, 'setEmergencyContacts', [A(patient), [contact1]], 'NotPatientOwner');
  await r.tx('contacts too many', patient, reg, 'setEmergencyContacts', [A(patient), Array(6).fill(contact1)], 'TooManyContacts');
  await r.tx('contacts zero', patient, reg, 'setEmergencyContacts', [A(patient), [ethers.ZeroAddress]], 'ZeroAddress');
  await r.tx('set contacts', patient, reg, 'setEmergencyContacts', [A(patient), [contact1, contact2]]);
  r.eq('contacts', (await reg.emergencyContacts(A(patient))).length, 2);
  await r.tx('rotateOwner not recovery', patient, reg, 'rotateOwner', [A(patient), A(newOwner)], 'NotRecovery');

  // ---------------------------------------------------------------- grants
  now = await r.now();
  const DAY = 86400n;
  await r.tx('grant by stranger', stranger, reg, 'grantAccess', [A(patient), A(doctor), AL.Read, scopeAll(), now + DAY], 'NotPatientOwner');
  await r.tx('grant unverified', patient, reg, 'grantAccess', [A(patient), unverified.address, AL.Read, scopeAll(), now + DAY], 'ProviderNotVerified');
  await r.tx('grant level none', patient, reg, 'grantAccess', [A(patient), A(doctor), AL.None, scopeAll(), now + DAY], 'InvalidLevel');
  await r.tx('grant past expiry', patient, reg, 'grantAccess', [A(patient), A(doctor), AL.Read, scopeAll(), now - 10n], 'InvalidExpiry');
  await r.tx('grant bad scope', patient, reg, 'grantAccess', [A(patient), A(doctor), AL.Read, ethers.toBeHex(3n << 248n, 32), now + DAY], 'InvalidScope');
  await r.tx('grant bad category', patient, reg, 'grantAccess', [A(patient), A(doctor), AL.Read, scopeCat(99), now + DAY], 'InvalidScope');
  const gRcpt = await r.tx('grant doctor write all', patient, reg, 'grantAccess', [A(patient), A(doctor), AL.Write, scopeAll(), now + 30n * DAY]);
  r.eq('AccessGranted event provider', eventsOf(gRcpt, 'AccessGranted')[0].args.provider, A(doctor));
  r.check('canAccess write', await reg.canAccess(A(doctor), A(patient), 0, AL.Write));
  r.check('canAccess not admin', !(await reg.canAccess(A(doctor), A(patient), 0, AL.Admin)));
  r.check('canWriteType', await reg.canWriteType(A(doctor), A(patient), RT.Imaging));
  r.eq('grantOf', (await reg.grantOf(A(patient), A(doctor), scopeAll()))[0], BigInt(AL.Write));
  await r.tx('extend not later', patient, reg, 'extendAccess', [A(patient), A(doctor), scopeAll(), now + DAY], 'InvalidExpiry');
  await r.tx('extend by stranger', stranger, reg, 'extendAccess', [A(patient), A(doctor), scopeAll(), now + 60n * DAY], 'NotPatientOwner');
  await r.tx('extend grant', patient, reg, 'extendAccess', [A(patient), A(doctor), scopeAll(), now + 60n * DAY]);
  await r.tx('extend missing', patient, reg, 'extendAccess', [A(patient), A(doctor2), scopeAll(), now + 60n * DAY], 'NoGrant');
  await r.tx('revoke missing', patient, reg, 'revokeAccess', [A(patient), A(doctor2), scopeAll()], 'NoGrant');

  // ---------------------------------------------------------------- records
  await r.tx('mint unregistered patient', doctor, nft, 'mintRecord', [A(stranger), HASH1, CID1, RT.General, 0], 'NotRegistered');
  await r.tx('mint unverified provider', unverified, nft, 'mintRecord', [A(patient), HASH1, CID1, RT.General, 0], 'ProviderNotVerified');
  await r.tx('mint without grant', doctor2, nft, 'mintRecord', [A(patient), HASH1, CID1, RT.General, 0], 'NoWriteAccess');
  await r.tx('mint zero hash', doctor, nft, 'mintRecord', [A(patient), ethers.ZeroHash, CID1, RT.General, 0], 'InvalidDataHash');
  await r.tx('mint empty cid', doctor, nft, 'mintRecord', [A(patient), HASH1, '', RT.General, 0], 'InvalidCid');
  await r.tx('mint bad cid', doctor, nft, 'mintRecord', [A(patient), HASH1, 'ipfs://x', RT.General, 0], 'InvalidCid');
  const mRcpt = await r.tx('mint vaccination', doctor, nft, 'mintRecord', [A(patient), HASH1, CID1, RT.Vaccination, 0]);
  r.eq('Transfer from zero', eventsOf(mRcpt, 'Transfer')[0].args[0], ethers.ZeroAddress);
  r.eq('Locked event', eventsOf(mRcpt, 'Locked').length, 1);
  r.eq('Create audited', Number(eventsOf(mRcpt, 'AuditLogged')[0].args.action), ACT.Create);
  const vac = 1n;
  await r.tx('mint lab', doctor, nft, 'mintRecord', [A(patient), HASH1, CID1, RT.LabResult, 0]);
  const lab = 2n;
  r.eq('ownerOf', await nft.ownerOf(vac), A(patient));
  r.eq('balanceOf', await nft.balanceOf(A(patient)), 2n);
  r.eq('tokenURI', await nft.tokenURI(vac), `ipfs://${CID1}`);
  r.check('locked', await nft.locked(vac));
  r.check('milestone', await nft.isMilestone(vac));
  r.check('lab not milestone', !(await nft.isMilestone(lab)));
  r.eq('name', await nft.name(), 'PHR Health Record');
  r.eq('symbol', await nft.symbol(), 'PHR');
  r.check('ERC-165', await nft.supportsInterface('0x01ffc9a7'));
  r.check('ERC-721', await nft.supportsInterface('0x80ac58cd'));
  r.check('ERC-721 metadata', await nft.supportsInterface('0x5b5e139f'));
  r.check('ERC-5192', await nft.supportsInterface('0xb45a3c0e'));
  r.check('not ffffffff', !(await nft.supportsInterface('0xffffffff')));
  r.eq('getApproved', await nft.getApproved(vac), ethers.ZeroAddress);
  r.check('isApprovedForAll', !(await nft.isApprovedForAll(A(patient), A(doctor))));
  r.eq('recordOf provider', (await nft.recordOf(vac)).provider, A(doctor));
  r.eq('totalMinted', await nft.totalMinted(), 2n);
  await r.tx('transferFrom locked', patient, nft, 'transferFrom', [A(patient), A(stranger), vac], 'TokenLocked');
  await r.tx('safeTransferFrom locked', patient, nft, 'safeTransferFrom(address,address,uint256)', [A(patient), A(stranger), vac], 'TokenLocked');
  await r.tx('safeTransferFrom data locked', patient, nft, 'safeTransferFrom(address,address,uint256,bytes)', [A(patient), A(stranger), vac, '0x'], 'TokenLocked');
  await r.tx('approve locked', patient, nft, 'approve', [A(stranger), vac], 'TokenLocked');
  await r.tx('setApprovalForAll locked', patient, nft, 'setApprovalForAll', [A(stranger), true], 'TokenLocked');
  await r.viewReverts('ownerOf unknown', nft, 'ownerOf', [99], 'NonexistentToken');
  await r.viewReverts('balanceOf zero', nft, 'balanceOf', [ethers.ZeroAddress], 'ZeroAddress');

  // scopes: category and record
  now = await r.now();
  await r.tx('grant doctor2 read vaccination', patient, reg, 'grantAccess', [A(patient), A(doctor2), AL.Read, scopeCat(RT.Vaccination), now + DAY]);
  r.check('category covers vaccination', await reg.canAccess(A(doctor2), A(patient), vac, AL.Read));
  r.check('category excludes lab', !(await reg.canAccess(A(doctor2), A(patient), lab, AL.Read)));
  r.check('category is not all', !(await reg.canAccess(A(doctor2), A(patient), 0, AL.Read)));
  await r.tx('grant doctor2 write lab record', patient, reg, 'grantAccess', [A(patient), A(doctor2), AL.Write, scopeRec(lab), now + DAY]);
  r.check('record scope', await reg.canAccess(A(doctor2), A(patient), lab, AL.Write));
  r.eq('scopeCategory', await reg.scopeCategory(RT.Vaccination), scopeCat(RT.Vaccination));
  r.eq('scopeRecord', await reg.scopeRecord(lab), scopeRec(lab));
  // amendments
  await r.tx('supersede unknown', doctor, nft, 'mintRecord', [A(patient), HASH1, CID2, RT.LabResult, 99], 'NonexistentToken');
  const sRcpt = await r.tx('supersede lab by record-scope writer', doctor2, nft, 'mintRecord', [A(patient), ethers.id('v2'), CID2, RT.LabResult, lab]);
  r.eq('RecordSuperseded', eventsOf(sRcpt, 'RecordSuperseded').length, 1);
  const lab2 = 3n;
  r.eq('supersededBy', (await nft.recordOf(lab)).supersededBy, lab2);
  await r.tx('supersede twice', doctor, nft, 'mintRecord', [A(patient), HASH1, CID2, RT.LabResult, lab], 'AlreadySuperseded');
  await r.tx('amend with another type', doctor, nft, 'mintRecord', [A(patient), HASH1, CID2, RT.Imaging, lab2], 'TypeMismatch');
  await r.tx('record-scope writer cannot mint new', doctor2, nft, 'mintRecord', [A(patient), HASH1, CID2, RT.LabResult, 0], 'NoWriteAccess');
  await r.tx('register patient2', patient2, reg, 'register', [KEY]);
  await r.tx('patient2 grants doctor', patient2, reg, 'grantAccess', [A(patient2), A(doctor), AL.Write, scopeAll(), now + DAY]);
  await r.tx('supersede other patient record', doctor, nft, 'mintRecord', [A(patient2), HASH1, CID2, RT.LabResult, lab2], 'WrongPatient');

  // admin delegate
  await r.tx('grant doctor admin', patient, reg, 'grantAccess', [A(patient), A(doctor), AL.Admin, scopeAll(), now + 30n * DAY]);
  await r.tx('admin grants read', doctor, reg, 'grantAccess', [A(patient), A(doctor2), AL.Read, scopeAll(), now + DAY]);
  await r.tx('admin cannot grant admin', doctor, reg, 'grantAccess', [A(patient), A(doctor2), AL.Admin, scopeAll(), now + DAY], 'NotPatientOwner');
  await r.tx('admin extends', doctor, reg, 'extendAccess', [A(patient), A(doctor2), scopeAll(), now + 2n * DAY]);
  await r.tx('admin revokes', doctor, reg, 'revokeAccess', [A(patient), A(doctor2), scopeAll()]);
  await r.tx('non-admin cannot revoke', doctor2, reg, 'revokeAccess', [A(patient), A(doctor), scopeAll()], 'NotPatientOwner');
  await r.tx('grant doctor2 admin', patient, reg, 'grantAccess', [A(patient), A(doctor2), AL.Admin, scopeAll(), now + DAY]);
  await r.tx('admin cannot overwrite admin', doctor, reg, 'grantAccess', [A(patient), A(doctor2), AL.Read, scopeAll(), now + DAY], 'NotPatientOwner');
  await r.tx('owner revokes doctor2 admin', patient, reg, 'revokeAccess', [A(patient), A(doctor2), scopeAll()]);

  // ---------------------------------------------------------------- audit
  await r.tx('audit record by stranger', stranger, audit, 'record', [A(patient), 0, A(stranger), ACT.View, PUR.Treatment], 'NotAuthorized');
  await r.tx('audit view by doctor', doctor, audit, 'logAccess', [A(patient), vac, ACT.View, PUR.Treatment]);
  await r.tx('audit share by doctor', doctor, audit, 'logAccess', [A(patient), vac, ACT.Share, PUR.Treatment], 'NotAuthorized');
  await r.tx('audit create by doctor', doctor, audit, 'logAccess', [A(patient), vac, ACT.Create, PUR.Treatment], 'ActionNotAllowed');
  await r.tx('audit view without access', stranger, audit, 'logAccess', [A(patient), vac, ACT.View, PUR.Treatment], 'NotAuthorized');
  await r.tx('audit share by patient', patient, audit, 'logAccess', [A(patient), vac, ACT.Share, PUR.PatientRequest]);
  r.check('isModule', await audit.isModule(await nft.getAddress()));
  // completeness proof: fold the patient's AuditLogged events and compare with the head
  {
    const addr = await audit.getAddress();
    const ev = audit.interface.getEvent('AuditLogged');
    const logs = await provider.getLogs({ address: addr, fromBlock: 0, toBlock: 'latest', topics: [ev.topicHash, ethers.zeroPadValue(A(patient), 32)] });
    let head = ethers.ZeroHash;
    let seq = 0n;
    for (const l of logs) {
      const p = audit.interface.parseLog(l);
      assert.equal(p.args.seq, seq, 'audit seq');
      head = ethers.solidityPackedKeccak256(
        ['bytes32', 'uint64', 'address', 'uint256', 'uint64', 'uint8', 'uint8'],
        [head, seq, p.args.accessor, p.args.recordId, p.args.time, p.args.action, p.args.purpose],
      );
      assert.equal(head, p.args.head, 'audit head in event');
      seq++;
    }
    r.eq('audit count equals events', await audit.countOf(A(patient)), seq);
    r.eq('audit head recomputed from logs', await audit.headOf(A(patient)), head);
    r.eq('link() matches', await audit.link(ethers.ZeroHash, 0, A(doctor), 0, 5, ACT.Share, PUR.PatientRequest),
      ethers.solidityPackedKeccak256(['bytes32', 'uint64', 'address', 'uint256', 'uint64', 'uint8', 'uint8'], [ethers.ZeroHash, 0, A(doctor), 0, 5, ACT.Share, PUR.PatientRequest]));
    const perRecord = await provider.getLogs({ address: addr, fromBlock: 0, toBlock: 'latest', topics: [ev.topicHash, null, ethers.toBeHex(vac, 32)] });
    r.eq('per-record query', BigInt(perRecord.length), await audit.recordEntryCount(vac));
  }

  // ---------------------------------------------------------------- requests
  await r.tx('request by unverified', unverified, reg, 'requestAccess', [A(patient), PUR.Treatment, DAY, AL.Read, scopeAll()], 'ProviderNotVerified');
  await r.tx('request unregistered', doctor2, reg, 'requestAccess', [A(stranger), PUR.Treatment, DAY, AL.Read, scopeAll()], 'NotRegistered');
  await r.tx('request level none', doctor2, reg, 'requestAccess', [A(patient), PUR.Treatment, DAY, AL.None, scopeAll()], 'InvalidLevel');
  await r.tx('request no purpose', doctor2, reg, 'requestAccess', [A(patient), PUR.Unspecified, DAY, AL.Read, scopeAll()], 'InvalidPurpose');
  await r.tx('request zero duration', doctor2, reg, 'requestAccess', [A(patient), PUR.Treatment, 0, AL.Read, scopeAll()], 'InvalidDuration');
  await r.tx('request too long', doctor2, reg, 'requestAccess', [A(patient), PUR.Treatment, 366n * DAY, AL.Read, scopeAll()], 'InvalidDuration');
  await r.tx('request bad scope', doctor2, reg, 'requestAccess', [A(patient), PUR.Treatment, DAY, AL.Read, ethers.toBeHex(2n << 248n, 32)], 'InvalidScope');
  await r.tx('request 0', doctor2, reg, 'requestAccess', [A(patient), PUR.Treatment, 3n * DAY, AL.Read, scopeAll()]);
  await r.tx('request while open', doctor2, reg, 'requestAccess', [A(patient), PUR.Treatment, DAY, AL.Read, scopeAll()], 'RequestAlreadyOpen');
  await r.tx('approve by stranger', stranger, reg, 'approveRequest', [0], 'NotPatientOwner');
  await r.tx('approve request 0', patient, reg, 'approveRequest', [0]);
  r.check('approved grant active', await reg.canAccess(A(doctor2), A(patient), vac, AL.Read));
  r.eq('request status approved', (await reg.requestInfo(0)).status, 2n);
  await r.tx('approve twice', patient, reg, 'approveRequest', [0], 'RequestNotPending');
  await r.tx('deny approved', patient, reg, 'denyRequest', [0], 'RequestNotPending');
  await r.tx('request 1', doctor2, reg, 'requestAccess', [A(patient), PUR.Research, DAY, AL.Read, scopeAll()]);
  await r.tx('deny request 1', patient, reg, 'denyRequest', [1]);
  await r.tx('request 2', doctor2, reg, 'requestAccess', [A(patient), PUR.Treatment, DAY, AL.Write, scopeCat(RT.Imaging)]);
  await r.tx('cancel by other', doctor, reg, 'cancelRequest', [2], 'NotAuthorized');
  await r.tx('cancel request 2', doctor2, reg, 'cancelRequest', [2]);
  await r.tx('cancel twice', doctor2, reg, 'cancelRequest', [2], 'RequestNotPending');
  await r.tx('approve unknown', patient, reg, 'approveRequest', [99], 'UnknownRequest');
  await r.tx('cancel unknown', doctor2, reg, 'cancelRequest', [99], 'UnknownRequest');
  await r.viewReverts('requestInfo unknown', reg, 'requestInfo', [99], 'UnknownRequest');
  await r.tx('request 3', doctor2, reg, 'requestAccess', [A(patient), PUR.Treatment, DAY, AL.Read, scopeAll()]);
  r.eq('requestCount', await reg.requestCount(), 4n);
  await r.advance(7n * DAY + 10n);
  await r.tx('approve expired request', patient, reg, 'approveRequest', [3], 'RequestExpired');

  // ---------------------------------------------------------------- expiry and revocation
  // doctor2's 3-day grant from request 0 has expired by now
  r.check('expired grant gives nothing', !(await reg.canAccess(A(doctor2), A(patient), vac, AL.Read)));
  await r.tx('extend expired grant', patient, reg, 'extendAccess', [A(patient), A(doctor2), scopeAll(), (await r.now()) + DAY], 'GrantExpired');
  await r.tx('audit view by expired grantee', doctor2, audit, 'logAccess', [A(patient), vac, ACT.View, PUR.Treatment], 'NotAuthorized');
  await r.tx('revoke doctor admin', patient, reg, 'revokeAccess', [A(patient), A(doctor), scopeAll()]);
  r.check('revoked grant gives nothing', !(await reg.canAccess(A(doctor), A(patient), vac, AL.Read)));
  await r.tx('mint after revoke', doctor, nft, 'mintRecord', [A(patient), HASH1, CID1, RT.General, 0], 'NoWriteAccess');
  await r.tx('revoke by stranger', stranger, reg, 'revokeAccess', [A(patient), A(doctor2), scopeRec(lab)], 'NotPatientOwner');

  // ---------------------------------------------------------------- emergency
  await r.tx('emergency by non-emergency provider', doctor, emergency, 'openEmergencyAccess', [A(patient), 1, ethers.ZeroHash], 'NotEmergencyProvider');
  await r.tx('emergency unregistered', er, emergency, 'openEmergencyAccess', [A(stranger), 1, ethers.ZeroHash], 'NotRegistered');
  await r.tx('emergency no reason', er, emergency, 'openEmergencyAccess', [A(patient), 0, ethers.ZeroHash], 'InvalidReason');
  const eRcpt = await r.tx('open emergency', er, emergency, 'openEmergencyAccess', [A(patient), 2, ethers.id('salt|unconscious')]);
  const notes = eRcpt ? eventsOf(eRcpt, 'EmergencyNotification').map((e) => e.args.recipient) : [];
  r.eq('notified patient and contacts', notes, [A(patient), ethers.getAddress(contact1), ethers.getAddress(contact2)]);
  r.check('emergency active', await emergency.isActive(A(patient), A(er)));
  r.check('break-glass read', await reg.canAccess(A(er), A(patient), vac, AL.Read));
  r.check('break-glass never write', !(await reg.canAccess(A(er), A(patient), vac, AL.Write)));
  r.eq('session reason', (await emergency.sessionOf(A(patient), A(er))).reasonCode, 2n);
  await r.tx('open while active', er, emergency, 'openEmergencyAccess', [A(patient), 2, ethers.ZeroHash], 'SessionActive');
  await r.tx('close by stranger', stranger, emergency, 'closeEmergencyAccess', [A(patient), A(er)], 'NotAuthorized');
  await r.tx('patient closes early', patient, emergency, 'closeEmergencyAccess', [A(patient), A(er)]);
  r.check('closed', !(await emergency.isActive(A(patient), A(er))));
  await r.tx('close twice', patient, emergency, 'closeEmergencyAccess', [A(patient), A(er)], 'NoActiveSession');
  await r.tx('reopen emergency', er, emergency, 'openEmergencyAccess', [A(patient), 1, ethers.ZeroHash]);
  await r.advance(DAY + 10n);
  r.check('emergency expired after 24h', !(await emergency.isActive(A(patient), A(er))));
  r.check('no read after expiry', !(await reg.canAccess(A(er), A(patient), vac, AL.Read)));

  // ---------------------------------------------------------------- erasure
  await r.tx('burn by provider', doctor, nft, 'burn', [vac], 'NotPatientOwner');
  const bRcpt = await r.tx('patient burns record', patient, nft, 'burn', [vac]);
  r.eq('burn Transfer to zero', eventsOf(bRcpt, 'Transfer')[0].args[1], ethers.ZeroAddress);
  r.eq('Erase audited', Number(eventsOf(bRcpt, 'AuditLogged')[0].args.action), ACT.Erase);
  await r.viewReverts('tokenURI burned', nft, 'tokenURI', [vac], 'NonexistentToken');
  await r.viewReverts('recordOf burned', nft, 'recordOf', [vac], 'NonexistentToken');
  await r.tx('burn twice', patient, nft, 'burn', [vac], 'NonexistentToken');
  r.eq('balance after burn', await nft.balanceOf(A(patient)), 2n);

  // ---------------------------------------------------------------- recovery
  await r.tx('guardians by stranger', stranger, recovery, 'setGuardians', [A(patient), [A(guardA), A(guardB), guardC], 2], 'NotPatientOwner');
  await r.tx('guardians duplicate', patient, recovery, 'setGuardians', [A(patient), [A(guardA), A(guardA)], 1], 'InvalidGuardians');
  await r.tx('guardians include owner', patient, recovery, 'setGuardians', [A(patient), [A(guardA), A(patient)], 1], 'InvalidGuardians');
  await r.tx('guardians threshold', patient, recovery, 'setGuardians', [A(patient), [A(guardA), A(guardB)], 3], 'InvalidThreshold');
  await r.tx('set guardians', patient, recovery, 'setGuardians', [A(patient), [A(guardA), A(guardB), guardC], 2]);
  r.eq('guardiansOf', (await recovery.guardiansOf(A(patient)))[0].length, 3);
  await r.tx('approve by non-guardian', stranger, recovery, 'approveRecovery', [A(patient), A(newOwner)], 'NotGuardian');
  await r.tx('vote for taken candidate', guardA, recovery, 'approveRecovery', [A(patient), A(patient2)], 'CandidateTaken');
  await r.tx('guardian A votes', guardA, recovery, 'approveRecovery', [A(patient), A(stranger)]);
  await r.tx('guardian A votes twice', guardA, recovery, 'approveRecovery', [A(patient), A(stranger)], 'AlreadyApproved');
  await r.tx('execute unscheduled', stranger, recovery, 'executeRecovery', [A(patient)], 'NoRecoveryScheduled');
  await r.tx('guardian B votes', guardB, recovery, 'approveRecovery', [A(patient), A(stranger)]);
  r.eq('scheduled candidate', (await recovery.pendingOf(A(patient)))[0], A(stranger));
  await r.tx('vote while scheduled', guardB, recovery, 'approveRecovery', [A(patient), A(newOwner)], 'RecoveryAlreadyScheduled');
  await r.tx('cancel by guardian', guardA, recovery, 'cancelRecovery', [A(patient)], 'NotPatientOwner');
  await r.tx('owner cancels', patient, recovery, 'cancelRecovery', [A(patient)]);
  await r.tx('execute cancelled', stranger, recovery, 'executeRecovery', [A(patient)], 'NoRecoveryScheduled');
  await r.tx('new round vote A', guardA, recovery, 'approveRecovery', [A(patient), A(newOwner)]);
  await r.tx('new round vote B', guardB, recovery, 'approveRecovery', [A(patient), A(newOwner)]);
  await r.advance(DAY);
  await r.tx('execute early', stranger, recovery, 'executeRecovery', [A(patient)], 'RecoveryTimelocked');
  await r.advance(DAY + 10n);
  const rRcpt = await r.tx('execute recovery', stranger, recovery, 'executeRecovery', [A(patient)]);
  r.eq('OwnerRotated', eventsOf(rRcpt, 'OwnerRotated')[0].args.newOwner, A(newOwner));
  r.eq('owner rotated', await reg.ownerOfPatient(A(patient)), A(newOwner));
  await r.tx('execute replay', stranger, recovery, 'executeRecovery', [A(patient)], 'NoRecoveryScheduled');
  r.eq('old votes void', await recovery.votesFor(A(patient), A(newOwner)), 0n);
  await r.tx('old owner locked out', patient, reg, 'updateEncryptionKey', [A(patient), KEY], 'NotPatientOwner');
  await r.tx('new owner acts', newOwner, reg, 'updateEncryptionKey', [A(patient), KEY]);
  await r.tx('new owner burns', newOwner, nft, 'burn', [lab]);
  await r.tx('new owner cannot register', newOwner, reg, 'register', [KEY], 'AlreadyRegistered');
  // a scheduled rotation that is not executed lapses; the next vote opens a new round
  const lapseTo = ethers.getAddress('0x' + '77'.repeat(20));
  await r.tx('lapse vote A', guardA, recovery, 'approveRecovery', [A(patient), lapseTo]);
  await r.tx('lapse vote B', guardB, recovery, 'approveRecovery', [A(patient), lapseTo]);
  await r.advance(9n * DAY + 10n);
  await r.tx('execute lapsed', stranger, recovery, 'executeRecovery', [A(patient)], 'RecoveryLapsed');
  const lRcpt = await r.tx('vote after lapse', guardA, recovery, 'approveRecovery', [A(patient), lapseTo]);
  r.eq('RecoveryScheduleLapsed', eventsOf(lRcpt, 'RecoveryScheduleLapsed').length, 1);
  await r.tx('owner cancels after lapse', newOwner, recovery, 'cancelRecovery', [A(patient)]);
  await r.tx('old owner cannot re-register', patient, reg, 'register', [KEY], 'AlreadyRegistered');

  // ---------------------------------------------------------------- governance hand-over, authority removal
  const rm = providers.interface.encodeFunctionData('setAuthority', [A(authority), false]);
  await r.tx('gov propose remove authority', deployer, gov, 'propose', [await providers.getAddress(), rm]);
  await r.tx('gov confirm remove', g2, gov, 'confirm', [2]);
  await r.tx('gov execute remove', deployer, gov, 'execute', [2]);
  r.check('providers of removed authority unverified', !(await providers.isVerified(A(doctor))));
  const hand = providers.interface.encodeFunctionData('setGovernance', [A(deployer)]);
  await r.tx('gov propose handover', deployer, gov, 'propose', [await providers.getAddress(), hand]);
  await r.tx('gov confirm handover', g2, gov, 'confirm', [3]);
  await r.tx('gov execute handover', g2, gov, 'execute', [3]);
  r.eq('governance handed over', await providers.governance(), A(deployer));
  await r.tx('new governance zero', deployer, providers, 'setGovernance', [ethers.ZeroAddress], 'ZeroAddress');
  await r.tx('new governance appoints', deployer, providers, 'setAuthority', [A(authority), true]);
  await r.advance(YEAR);
  r.check('licence expiry unverifies', !(await providers.isVerified(A(doctor))));

  // every event of every contract was seen, except those a locked token never emits
  const never = new Set(['Approval', 'ApprovalForAll', 'Unlocked']);
  const missing = IFACE.fragments.filter((f) => f.type === 'event' && !never.has(f.name) && !r.events.has(f.name)).map((f) => f.name);
  r.eq('every event emitted somewhere', missing, []);
  return r;
}

async function runOn(kind, phrBin) {
  const chain = await startChain(kind, phrBin);
  const t0 = Date.now();
  try {
    const r = await runSuite(chain.url);
    const ms = Date.now() - t0;
    console.log(`[${kind}] ${r.outcomes.length} outcomes, ${r.txs} transactions (${r.reverted} reverted as expected) in ${ms} ms`);
    return r;
  } finally {
    await chain.stop();
  }
}

function compare(a, b, la, lb) {
  const n = Math.max(a.length, b.length);
  let diffs = 0;
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      if (diffs < 20) console.error(`  #${i}: ${la}: ${a[i]} | ${lb}: ${b[i]}`);
      diffs++;
    }
  }
  return diffs;
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (k) => {
    const i = args.indexOf(k);
    return i >= 0 ? args[i + 1] : null;
  };
  if (opt('--rpc')) {
    const r = await runSuite(opt('--rpc'));
    console.log(r.outcomes.join('\n'));
    console.log(`PASS: ${r.outcomes.length} outcomes`);
    return;
  }
  const chain = opt('--chain') || 'anvil';
  if (chain === 'anvil') {
    const r = await runOn('anvil');
    if (args.includes('--verbose')) console.log(r.outcomes.join('\n'));
    console.log(`PASS: contract suite on anvil, ${r.outcomes.length} outcomes agree with expectations`);
    return;
  }
  const { bin, why } = phrBinary();
  if (!bin) {
    console.log(`SKIP: ${why}`);
    process.exit(77);
  }
  let phrRun;
  try {
    phrRun = await runOn('phr', bin);
  } catch (e) {
    console.error(`FAIL on phr chain: ${e.message}`);
    process.exit(1);
  }
  const anvilRun = await runOn('anvil');
  const diffs = compare(anvilRun.outcomes, phrRun.outcomes, 'anvil', 'phr');
  if (diffs) {
    console.error(`FAIL: ${diffs} outcomes differ between anvil and phr`);
    process.exit(1);
  }
  console.log(`PASS: anvil and phr agree on all ${phrRun.outcomes.length} outcomes`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(`FAIL: ${e.stack || e.message}`);
    process.exit(1);
  });
}

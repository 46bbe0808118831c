// Interop: three FHIR clients from npm drive the FHIR server of `phr node --dev`:
// fhir-kit-client, fhirclient (its FhirClient) and @medplum/core 4.3.6's
// MedplumClient each read the CapabilityStatement, create, read, search,
// update, delete, page through a search and post a transaction Bundle.
import { Client } from 'fhir-kit-client';
import fhirclient from 'fhirclient';
import { MedplumClient } from '@medplum/core';
import { startNode, checker } from './fhir_lib.mjs';

const { check, summary } = checker();
const n = await startNode('fhir-clients');
const token = n.tokens.provider.token;
const patientAddr = n.tokens.patient.address;
const auth = { Authorization: 'Bearer ' + token };

function patient(family, tag) {
  return {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:phr:address', value: patientAddr }, { system: 'urn:test', value: tag }],
    name: [{ family, given: ['Ann'] }], gender: 'female', birthDate: '1980-05-06',
  };
}

function txBundle(tag) {
  return {
    resourceType: 'Bundle', type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:0b1e9c7e-0000-4000-8000-00000000000' + tag.length, resource: patient('Tx' + tag, 'tx-' + tag),
        request: { method: 'POST', url: 'Patient' } },
      { resource: { resourceType: 'Observation', status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject: { reference: 'urn:uuid:0b1e9c7e-0000-4000-8000-00000000000' + tag.length },
        valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' } },
        request: { method: 'POST', url: 'Observation' } },
    ],
  };
}

async function fhirKit() {
  const c = new Client({ baseUrl: n.fhir, customHeaders: auth });
  const cs = await c.capabilityStatement();
  check(cs.resourceType === 'CapabilityStatement' && cs.fhirVersion === '4.0.1', 'fhir-kit: CapabilityStatement');
  const created = await c.create({ resourceType: 'Patient', body: patient('Kit', 'kit-1') });
  check(created.id && created.meta.versionId === '1', 'fhir-kit: create', created);
  const read = await c.read({ resourceType: 'Patient', id: created.id });
  check(read.name[0].family === 'Kit', 'fhir-kit: read');
  const found = await c.search({ resourceType: 'Patient', searchParams: { family: 'kit', identifier: 'urn:test|kit-1' } });
  check(found.total === 1 && found.entry[0].resource.id === created.id, 'fhir-kit: search', found.total);
  read.name[0].given = ['Anna'];
  const upd = await c.update({ resourceType: 'Patient', id: created.id, body: read });
  check(upd.meta.versionId === '2' && upd.name[0].given[0] === 'Anna', 'fhir-kit: update');
  for (let i = 0; i < 3; i++) await c.create({ resourceType: 'Patient', body: patient('KitPage', 'kitp-' + i) });
  let page = await c.search({ resourceType: 'Patient', searchParams: { family: 'kitpage', _count: 2 } });
  const ids = page.entry.map((e) => e.resource.id);
  page = await c.nextPage({ bundle: page });
  ids.push(...(page.entry || []).map((e) => e.resource.id));
  check(ids.length === 3 && new Set(ids).size === 3, 'fhir-kit: nextPage', ids);
  const tx = await c.transaction({ body: txBundle('kit') });
  check(tx.type === 'transaction-response' && tx.entry.every((e) => e.response.status.startsWith('201')), 'fhir-kit: transaction', tx.entry?.map((e) => e.response));
  const obs = await c.search({ resourceType: 'Observation', searchParams: { code: 'http://loinc.org|8867-4', subject: tx.entry[0].resource ? 'Patient/' + tx.entry[0].resource.id : '' } });
  check(obs.total === 1, 'fhir-kit: the transaction resolved urn:uuid references', obs.total);
  await c.delete({ resourceType: 'Patient', id: created.id });
  let gone = false;
  try { await c.read({ resourceType: 'Patient', id: created.id }); } catch (e) { gone = e.response?.status === 410; }
  check(gone, 'fhir-kit: delete (then 410)');
}

async function fhirClient() {
  class Authed extends fhirclient.FhirClient {
    async getRequestDefaults() { return { headers: auth }; }
  }
  const c = new Authed(n.fhir);
  const cs = await c.fhirRequest('metadata');
  check(cs.resourceType === 'CapabilityStatement', 'fhirclient: CapabilityStatement');
  check(await c.getFhirVersion() === '4.0.1', 'fhirclient: getFhirVersion');
  const created = await c.create(patient('Fc', 'fc-1'));
  check(created.id && created.meta.versionId === '1', 'fhirclient: create');
  const read = await c.fhirRequest('Patient/' + created.id);
  check(read.name[0].family === 'Fc', 'fhirclient: read');
  const found = await c.fhirRequest('Patient?identifier=urn:test|fc-1');
  check(found.total === 1, 'fhirclient: search');
  read.gender = 'other';
  const upd = await c.update(read);
  check(upd.meta.versionId === '2' && upd.gender === 'other', 'fhirclient: update');
  for (let i = 0; i < 3; i++) await c.create(patient('FcPage', 'fcp-' + i));
  const ids = [];
  for await (const page of c.pages('Patient?family=fcpage&_count=2')) ids.push(...(page.entry || []).map((e) => e.resource.id));
  check(ids.length === 3 && new Set(ids).size === 3, 'fhirclient: pages', ids);
  const tx = await c.fhirRequest('', { method: 'POST', body: JSON.stringify(txBundle('fc')), headers: { 'content-type': 'application/json' } });
  check(tx.type === 'transaction-response' && tx.entry.length === 2, 'fhirclient: transaction', tx);
  await c.delete('Patient/' + created.id);
  let status = 0;
  try { await c.fhirRequest('Patient/' + created.id); } catch (e) { status = e.status || e.statusCode || 0; }
  check(status === 410, 'fhirclient: delete (then 410)', status);
}

async function medplum() {
  const m = new MedplumClient({ baseUrl: n.url + '/', fhirUrlPath: 'fhir', fetch: globalThis.fetch, cacheTime: 0 });
  m.setAccessToken(token);
  const cs = await m.get(m.fhirUrl('metadata'));
  check(cs.resourceType === 'CapabilityStatement', 'medplum: CapabilityStatement');
  const created = await m.createResource(patient('Med', 'med-1'));
  check(created.id && created.meta.versionId === '1', 'medplum: createResource');
  const read = await m.readResource('Patient', created.id);
  check(read.name[0].family === 'Med', 'medplum: readResource');
  const found = await m.searchResources('Patient', { identifier: 'urn:test|med-1' });
  check(found.length === 1 && found[0].id === created.id, 'medplum: searchResources');
  const upd = await m.updateResource({ ...read, birthDate: '1981-01-01' });
  check(upd.meta.versionId === '2' && upd.birthDate === '1981-01-01', 'medplum: updateResource');
  for (let i = 0; i < 3; i++) await m.createResource(patient('MedPage', 'medp-' + i));
  const ids = [];
  for await (const page of m.searchResourcePages('Patient', { family: 'medpage', _count: 2 })) ids.push(...page.map((p) => p.id));
  check(ids.length === 3 && new Set(ids).size === 3, 'medplum: searchResourcePages', ids);
  const tx = await m.executeBatch(txBundle('med'));
  check(tx.type === 'transaction-response' && tx.entry.length === 2, 'medplum: executeBatch (transaction)', tx);
  await m.deleteResource('Patient', created.id);
  let gone = false;
  try { await m.readResource('Patient', created.id); } catch (e) { gone = true; }
  check(gone, 'medplum: deleteResource');
}

try {
  for (const [name, fn] of [['fhir-kit-client', fhirKit], ['fhirclient', fhirClient], ['medplum', medplum]]) {
    try { await fn(); } catch (e) { check(false, name + ' threw', String(e && (e.stack || e.message || e)) + ' ' + JSON.stringify(e?.response?.data || e?.outcome || '')); }
  }
} finally {
  await n.stop();
}
const s = summary();
console.log(`fhir clients: ${s.passed} passed, ${s.failed} failed`);
process.exit(s.failed ? 1 : 0);

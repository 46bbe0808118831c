// Records rendered for people: FHIR R4 resources (Immunization, Observation,
// Condition, MedicationRequest/Statement, AllergyIntolerance, ImagingStudy,
// DocumentReference, Bundle), DICOM Part 10 metadata, plain text; an SVG
// chart of lab values; and the resources the provider's forms build.
import { h, dateOnly } from './ui.js';

const coding = (cc) => {
  if (!cc) return '—';
  if (cc.text) return cc.text;
  const c = (cc.coding || [])[0];
  return c ? c.display || `${c.system || ''} ${c.code || ''}`.trim() : '—';
};
const code = (cc) => ((cc && cc.coding) || [])[0] || {};

/** Parses record bytes: { kind: 'fhir'|'dicom'|'text'|'binary', resource?, meta?, text? }. */
export function parseRecord(bytes) {
  if (bytes.length > 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d)
    return { kind: 'dicom', meta: dicomMeta(bytes) };
  const t = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 4 << 20));
  const s = t.trimStart();
  if (s.startsWith('{')) {
    try {
      const j = JSON.parse(t);
      if (j && typeof j.resourceType === 'string') return { kind: 'fhir', resource: j };
    } catch { /* not JSON */ }
  }
  // eslint-disable-next-line no-control-regex
  if (!/[\x00-\x08\x0e-\x1f]/.test(t.slice(0, 4096))) return { kind: 'text', text: t };
  return { kind: 'binary' };
}

/** One-line summary of a parsed record. */
export function summary(p) {
  if (p.kind === 'dicom') return `DICOM ${p.meta.Modality || ''} ${p.meta.StudyDescription || ''}`.trim();
  if (p.kind === 'text') return p.text.slice(0, 80);
  if (p.kind !== 'fhir') return 'binary file';
  const r = p.resource;
  switch (r.resourceType) {
    case 'Immunization': return `Immunization: ${coding(r.vaccineCode)}`;
    case 'Observation': return `${coding(r.code)}: ${value(r)}`;
    case 'Condition': return `Condition: ${coding(r.code)}`;
    case 'MedicationRequest': case 'MedicationStatement': return `Medication: ${coding(r.medicationCodeableConcept)}`;
    case 'AllergyIntolerance': return `Allergy: ${coding(r.code)}`;
    case 'ImagingStudy': return `Imaging: ${r.description || ''}`;
    case 'DocumentReference': return `Document: ${r.description || coding(r.type)}`;
    default: return r.resourceType;
  }
}

function value(o) {
  if (o.valueQuantity) return `${o.valueQuantity.value} ${o.valueQuantity.unit || o.valueQuantity.code || ''}`.trim();
  if (o.valueString) return o.valueString;
  if (o.valueCodeableConcept) return coding(o.valueCodeableConcept);
  return '—';
}

function dl(rows) {
  return h('dl.facts', rows.filter(([, v]) => v !== undefined && v !== null && v !== '').flatMap(([k, v]) => [h('dt', k), h('dd', v)]));
}

/** A rendered record (DOM). */
export function render(p) {
  if (p.kind === 'dicom') return h('div', h('h3', 'Imaging study (DICOM)'), dl(Object.entries(p.meta)));
  if (p.kind === 'text') return h('pre.text', p.text);
  if (p.kind === 'binary') return h('p', 'A binary file: use “Save decrypted file” to open it.');
  const r = p.resource;
  switch (r.resourceType) {
    case 'Immunization':
      return h('div', h('h3', 'Immunization'), dl([
        ['Vaccine', coding(r.vaccineCode)], ['CVX code', code(r.vaccineCode).code], ['Date', dateOnly(r.occurrenceDateTime)],
        ['Status', r.status], ['Lot', r.lotNumber], ['Given by', ((r.performer || [])[0] || {}).actor ? r.performer[0].actor.display : undefined],
      ]));
    case 'Observation': {
      const rr = (r.referenceRange || [])[0];
      return h('div', h('h3', 'Lab result'), dl([
        ['Test', coding(r.code)], ['LOINC', code(r.code).code], ['Value', value(r)],
        ['Reference range', rr ? `${rr.low ? rr.low.value : ''} – ${rr.high ? rr.high.value : ''} ${(rr.high || rr.low || {}).unit || ''}` : undefined],
        ['Date', dateOnly(r.effectiveDateTime || r.issued)], ['Status', r.status],
      ]));
    }
    case 'Condition':
      return h('div', h('h3', 'Condition'), dl([
        ['Condition', coding(r.code)], ['Code', code(r.code).code], ['Clinical status', coding(r.clinicalStatus)],
        ['Onset', dateOnly(r.onsetDateTime)], ['Recorded', dateOnly(r.recordedDate)],
      ]));
    case 'MedicationRequest': case 'MedicationStatement':
      return h('div', h('h3', 'Medication'), dl([
        ['Medication', coding(r.medicationCodeableConcept)], ['Status', r.status],
        ['Dosage', ((r.dosageInstruction || r.dosage || [])[0] || {}).text], ['Date', dateOnly(r.authoredOn || r.effectiveDateTime)],
      ]));
    case 'AllergyIntolerance':
      return h('div', h('h3', 'Allergy'), dl([
        ['Substance', coding(r.code)], ['Criticality', r.criticality],
        ['Reaction', ((r.reaction || [])[0] || {}).manifestation ? coding(r.reaction[0].manifestation[0]) : undefined],
        ['Recorded', dateOnly(r.recordedDate)],
      ]));
    case 'ImagingStudy':
      return h('div', h('h3', 'Imaging study'), dl([
        ['Description', r.description], ['Started', dateOnly(r.started)], ['Series', r.numberOfSeries], ['Instances', r.numberOfInstances],
        ['Modality', ((r.series || [])[0] || {}).modality ? r.series[0].modality.code : undefined],
      ]));
    case 'DocumentReference':
      return h('div', h('h3', 'Document'), dl([
        ['Type', coding(r.type)], ['Description', r.description], ['Date', dateOnly(r.date)],
        ['Content', ((r.content || [])[0] || {}).attachment ? r.content[0].attachment.title || r.content[0].attachment.contentType : undefined],
      ]));
    case 'Bundle':
      return h('div', h('h3', `Bundle (${(r.entry || []).length} entries)`),
        h('ul', (r.entry || []).slice(0, 200).map((e) => h('li', e.resource ? summary({ kind: 'fhir', resource: e.resource }) : '—'))));
    default:
      return h('div', h('h3', r.resourceType), h('pre.text', JSON.stringify(r, null, 2)));
  }
}

// --- DICOM Part 10: a few metadata elements (explicit VR little endian) -------------

const DICOM_TAGS = {
  '00080020': 'StudyDate', '00080060': 'Modality', '00081030': 'StudyDescription', '0008103E': 'SeriesDescription',
  '00180015': 'BodyPartExamined', '00280010': 'Rows', '00280011': 'Columns', '00080070': 'Manufacturer',
};

export function dicomMeta(b) {
  const out = {};
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = 132;
  const long = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'UC', 'UR', 'OD', 'OL', 'OV']);
  for (let n = 0; n < 4096 && o + 8 <= b.length; n++) {
    const g = dv.getUint16(o, true);
    const e = dv.getUint16(o + 2, true);
    if (g === 0x7fe0) break;
    const vr = String.fromCharCode(b[o + 4], b[o + 5]);
    if (!/^[A-Z]{2}$/.test(vr)) break; // implicit VR or garbage: stop
    let len;
    let hdr;
    if (long.has(vr)) { if (o + 12 > b.length) break; len = dv.getUint32(o + 8, true); hdr = 12; } else { len = dv.getUint16(o + 6, true); hdr = 8; }
    if (len === 0xffffffff || o + hdr + len > b.length) break;
    const tag = (g.toString(16).padStart(4, '0') + e.toString(16).padStart(4, '0')).toUpperCase();
    if (DICOM_TAGS[tag]) {
      const v = b.subarray(o + hdr, o + hdr + len);
      out[DICOM_TAGS[tag]] = vr === 'US' && len >= 2 ? dv.getUint16(o + hdr, true) : new TextDecoder().decode(v).replace(/[\0 ]+$/, '');
    }
    o += hdr + len;
  }
  if (!Object.keys(out).length) out.Note = 'DICOM Part 10 file (no readable metadata in explicit VR little endian)';
  return out;
}

// --- lab chart ------------------------------------------------------------------------------

/** SVG line chart of { date, value } points (sorted here), with axis labels. */
export function chart(points, title, unit) {
  const NS = 'http://www.w3.org/2000/svg';
  const el = (n, a, text) => {
    const e = document.createElementNS(NS, n);
    for (const [k, v] of Object.entries(a)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const pts = points.filter((p) => Number.isFinite(p.value) && p.date).sort((a, b) => a.date - b.date);
  const W = 560, H = 220, L = 48, R = 12, T = 16, B = 36;
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title}: ${pts.map((p) => `${new Date(p.date).toISOString().slice(0, 10)} ${p.value} ${unit}`).join('; ')}`, class: 'chart' });
  if (!pts.length) return svg;
  const xs = pts.map((p) => p.date), ys = pts.map((p) => p.value);
  let x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (x1 === x0) { x0 -= 86400000; x1 += 86400000; }
  const pad = (y1 - y0) * 0.15 || Math.abs(y1) * 0.1 || 1;
  y0 -= pad; y1 += pad;
  const X = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const Y = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  svg.appendChild(el('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' }));
  svg.appendChild(el('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' }));
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    svg.appendChild(el('text', { x: L - 6, y: Y(v) + 4, 'text-anchor': 'end', class: 'tick' }, v.toFixed(Math.abs(y1 - y0) < 10 ? 1 : 0)));
  }
  svg.appendChild(el('text', { x: L, y: H - 8, class: 'tick' }, new Date(x0).toISOString().slice(0, 10)));
  svg.appendChild(el('text', { x: W - R, y: H - 8, 'text-anchor': 'end', class: 'tick' }, new Date(x1).toISOString().slice(0, 10)));
  svg.appendChild(el('polyline', { points: pts.map((p) => `${X(p.date).toFixed(1)},${Y(p.value).toFixed(1)}`).join(' '), class: 'line' }));
  for (const p of pts) {
    const c = el('circle', { cx: X(p.date).toFixed(1), cy: Y(p.value).toFixed(1), r: 4, class: 'dot' });
    c.appendChild(el('title', {}, `${new Date(p.date).toISOString().slice(0, 10)}: ${p.value} ${unit}`));
    svg.appendChild(c);
  }
  return svg;
}

/** { key, title, unit, date, value } of a lab Observation, or null. */
export function labPoint(p) {
  if (p.kind !== 'fhir' || p.resource.resourceType !== 'Observation' || !p.resource.valueQuantity) return null;
  const r = p.resource;
  const c = code(r.code);
  return { key: c.code || coding(r.code), title: coding(r.code), unit: r.valueQuantity.unit || '', date: Date.parse(r.effectiveDateTime || r.issued || '') || 0, value: Number(r.valueQuantity.value) };
}

// --- resources built by the provider's form --------------------------------------------------

export const FORMS = {
  Immunization: { type: 1, fields: [['vaccine', 'Vaccine (display)', 'COVID-19, mRNA'], ['cvx', 'CVX code', '208'], ['date', 'Date given', ''], ['lot', 'Lot number', '']] },
  Observation: { type: 5, fields: [['test', 'Test (display)', 'Hemoglobin A1c'], ['loinc', 'LOINC code', '4548-4'], ['value', 'Value', ''], ['unit', 'Unit', '%'], ['date', 'Date', '']] },
  Condition: { type: 3, fields: [['condition', 'Condition (display)', ''], ['icd', 'ICD-10-CM code', ''], ['date', 'Onset date', '']] },
  MedicationRequest: { type: 7, fields: [['medication', 'Medication', ''], ['dosage', 'Dosage', ''], ['date', 'Date', '']] },
  AllergyIntolerance: { type: 0, fields: [['substance', 'Substance', ''], ['reaction', 'Reaction', ''], ['criticality', 'Criticality (low, high)', 'low']] },
};

export function buildResource(kind, v) {
  const date = v.date || new Date().toISOString().slice(0, 10);
  switch (kind) {
    case 'Immunization':
      return { resourceType: 'Immunization', status: 'completed', vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: v.cvx, display: v.vaccine }] }, patient: { display: 'Patient' }, occurrenceDateTime: date, lotNumber: v.lot || undefined };
    case 'Observation': {
      const num = Number(v.value);
      if (!Number.isFinite(num)) throw new Error('the value must be a number');
      return { resourceType: 'Observation', status: 'final', category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }], code: { coding: [{ system: 'http://loinc.org', code: v.loinc, display: v.test }] }, subject: { display: 'Patient' }, effectiveDateTime: date, valueQuantity: { value: num, unit: v.unit, system: 'http://unitsofmeasure.org', code: v.unit } };
    }
    case 'Condition':
      return { resourceType: 'Condition', clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] }, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: v.icd, display: v.condition }] }, subject: { display: 'Patient' }, onsetDateTime: date };
    case 'MedicationRequest':
      return { resourceType: 'MedicationRequest', status: 'active', intent: 'order', medicationCodeableConcept: { text: v.medication }, subject: { display: 'Patient' }, authoredOn: date, dosageInstruction: [{ text: v.dosage }] };
    case 'AllergyIntolerance':
      return { resourceType: 'AllergyIntolerance', criticality: v.criticality || 'low', code: { text: v.substance }, patient: { display: 'Patient' }, reaction: [{ manifestation: [{ text: v.reaction }] }], recordedDate: new Date().toISOString().slice(0, 10) };
    default:
      throw new Error('unknown form');
  }
}

/** The record type for an uploaded FHIR resource. */
export function typeOfResource(r) {
  return { Immunization: 1, Observation: 5, Condition: 3, MedicationRequest: 7, MedicationStatement: 7, AllergyIntolerance: 0, ImagingStudy: 6, DocumentReference: 8, Procedure: 2 }[r.resourceType] ?? 0;
}

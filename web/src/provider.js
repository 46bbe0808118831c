// Provider views: patients who granted access, their records, submitting a
// record (FHIR form or file), requesting access, break-glass.
import * as api from './api.js';
import { busy, date, errorText, field, h, progress, select, short, toast } from './ui.js';
import { buildResource, FORMS, parseRecord, render, typeOfResource } from './fhir.js';
import * as escrowLib from './emergency.js';
import { show } from './main.js';
import { recordsOf, timeline } from './patient.js';
import { isAddress } from './eth.js';
import { utf8 } from './bytes.js';

async function patients(_, live) {
  const list = await api.myPatients();
  const now = await api.chainNow();
  const rows = list.map((p) => h('tr', h('td', h('a.mono', { href: '#/p/patient/' + p.patient }, p.patient)), h('td', api.LEVELS[p.level] || '—'),
    h('td', p.scopeText), h('td', p.expiry ? date(p.expiry) : '—'), h('td', p.level && p.expiry > now ? 'active' : 'ended or revoked')));
  const addr = h('input', { type: 'text', placeholder: '0x…', spellcheck: 'false' });
  const go = h('button', { type: 'submit' }, 'Open');
  if (live()) show('Patients',
    h('p', 'Patients who granted you access (from the chain).'),
    list.length ? h('div.scroll', h('table', h('thead', h('tr', ['Patient', 'Level', 'Scope', 'Expires', 'State'].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', rows))) : h('p', 'No grants yet.'),
    h('form.toolbar', { onsubmit: (e) => { e.preventDefault(); if (isAddress(addr.value)) location.hash = '#/p/patient/' + addr.value.trim(); else toast('not a 0x address', 'error'); } },
      field('Patient address', addr), go));
}

async function patientView([addr], live) {
  if (!isAddress(addr)) throw new Error('bad patient address');
  let body;
  try {
    const items = await recordsOf(addr, true);
    body = items.length ? timeline(items) : h('p', 'No records.');
  } catch (e) {
    body = h('p.error', { role: 'alert' }, errorText(e) + ' — you can read single records you were granted by their id.');
  }
  const id = h('input', { type: 'text', inputmode: 'numeric', pattern: '[0-9]+' });
  if (live()) show('Patient ' + short(addr), h('p.mono', addr), body,
    h('form.toolbar', { onsubmit: (e) => { e.preventDefault(); location.hash = '#/records/' + id.value.trim(); } }, field('Open record id', id), h('button', { type: 'submit' }, 'Open')),
    h('p', h('a', { href: '#/p/submit?' + addr }, 'Submit a record for this patient'), ' · ', h('a', { href: '#/p/request?' + addr }, 'Request access')));
}

const preset = () => (location.hash.split('?')[1] || '');

async function submit(_, live) {
  const patient = h('input', { type: 'text', placeholder: '0x…', spellcheck: 'false', required: true, value: preset() });
  const kind = select('kind', [...Object.keys(FORMS).map((k) => [k, k]), ['file', 'Upload a file (FHIR JSON or DICOM)']], 'Immunization');
  const fieldsBox = h('div');
  const inputs = {};
  const file = h('input', { type: 'file', accept: '.json,.dcm,application/json,application/dicom' });
  const ftype = select('ftype', [['auto', 'Detect from the file'], ...api.TYPES.map((t, i) => [i, t])], 'auto');
  const draw = () => {
    fieldsBox.textContent = '';
    for (const k of Object.keys(inputs)) delete inputs[k];
    if (kind.value === 'file') {
      fieldsBox.appendChild(field('File', file, 'At most 16 MiB. Encrypted here before upload.'));
      fieldsBox.appendChild(field('Record type', ftype));
      return;
    }
    for (const [name, label, ph] of FORMS[kind.value].fields) {
      const i = h('input', { type: name === 'date' ? 'date' : 'text', name, placeholder: ph || '' });
      inputs[name] = i;
      fieldsBox.appendChild(field(label, i));
    }
  };
  kind.addEventListener('change', draw);
  draw();
  const prog = progress();
  const btn = h('button', { type: 'submit' }, 'Encrypt and submit');
  const result = h('div', { 'aria-live': 'polite' });
  const form = h('form.card', {
    onsubmit: (e) => {
      e.preventDefault();
      busy(btn, async () => {
        if (!isAddress(patient.value)) throw new Error('the patient must be a 0x address');
        let bytes;
        let type;
        if (kind.value === 'file') {
          const f = file.files[0];
          if (!f) throw new Error('choose a file');
          if (f.size > 16 << 20) throw new Error('at most 16 MiB');
          bytes = new Uint8Array(await f.arrayBuffer());
          const isDicom = bytes.length > 132 && String.fromCharCode(...bytes.subarray(128, 132)) === 'DICM';
          if (ftype.value !== 'auto') type = Number(ftype.value);
          else if (isDicom) type = 6;
          else {
            let j;
            try { j = JSON.parse(new TextDecoder().decode(bytes)); } catch { throw new Error('not JSON and not DICOM: choose the record type'); }
            if (!j || typeof j.resourceType !== 'string') throw new Error('not a FHIR resource (no resourceType)');
            type = typeOfResource(j);
          }
        } else {
          const v = {};
          for (const [k, i] of Object.entries(inputs)) v[k] = i.value.trim();
          const res = buildResource(kind.value, v);
          bytes = utf8(JSON.stringify(res));
          type = FORMS[kind.value].type;
        }
        const r = await api.submitRecord(patient.value.trim(), type, bytes, (m, f) => prog.update(m, f));
        prog.done();
        result.textContent = '';
        result.appendChild(h('p.ok', `Record #${r.id} submitted (${api.TYPES[type]}); ciphertext ${r.cid}.`));
        toast(`Record #${r.id} submitted.`);
      }).finally(() => prog.done());
    },
  }, field('Patient address', patient), field('What', kind), fieldsBox, btn, prog, result);
  if (live()) show('Submit a record', h('p', 'The record is encrypted in this browser with a fresh key, sealed to the patient and to you; the node stores ciphertext only.'), form);
}

async function request(_, live) {
  const patient = h('input', { type: 'text', placeholder: '0x…', spellcheck: 'false', required: true, value: preset() });
  const purpose = select('purpose', api.PURPOSES.map((p, i) => [i, p]).slice(1), 1);
  const days = h('input', { type: 'number', min: 1, max: 365, value: 7 });
  const level = select('level', [[1, 'Read'], [2, 'Write']], 1);
  const btn = h('button', { type: 'submit' }, 'Send request');
  const form = h('form.card', {
    onsubmit: (e) => {
      e.preventDefault();
      busy(btn, async () => {
        if (!isAddress(patient.value)) throw new Error('the patient must be a 0x address');
        await api.requestAccess(patient.value.trim(), Number(purpose.value), Math.round(Number(days.value) * 86400), Number(level.value), 'all');
        toast('Request sent: the patient sees it in their portal.');
      });
    },
  }, field('Patient address', patient), field('Purpose', purpose), field('Level', level), field('Duration (days)', days), btn);
  if (live()) show('Request access', form);
}

async function breakGlass(_, live) {
  const ok = await api.isEmergencyProvider(api.me());
  const patient = h('input', { type: 'text', placeholder: '0x…', spellcheck: 'false', required: true });
  const code = select('code', [[1, '1 — unconscious / cannot consent'], [2, '2 — life-threatening condition'], [3, '3 — other urgent care']], 1);
  const reason = h('textarea', { rows: 3, required: true });
  const totp = h('input', { inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: 6 });
  const btn = h('button.danger', { type: 'submit', disabled: !ok }, 'Open emergency access (24 h)');
  const form = h('form.card#breakglass-form', {
    onsubmit: (e) => {
      e.preventDefault();
      busy(btn, async () => {
        if (!isAddress(patient.value)) throw new Error('the patient must be a 0x address');
        if (reason.value.trim().length < 10) throw new Error('write the reason (at least 10 characters)');
        await api.breakGlass(patient.value.trim(), Number(code.value), reason.value.trim(), totp.value.trim());
        toast('Emergency access open for 24 h. The patient and their contacts are notified; this is audited.');
        location.hash = '#/p/patient/' + patient.value.trim();
      });
    },
  }, field('Patient address', patient), field('Reason code', code), field('Reason (kept by you; only its hash goes on chain)', reason),
  field('Two-factor code', totp, api.session.me.totp ? 'From your authenticator app.' : 'Set up two-factor codes on Home first: the node asks for one.'), btn);
  if (live()) show('Break-glass', ok ? h('p', 'For verified emergency providers. Every use is recorded with its reason.') : h('p.warn', 'Only verified emergency providers can open emergency access.'), form,
    releaseForm(ok),
    h('p.muted', 'Record keys reach an emergency provider only through the patient’s own sharing or a node that holds the patient’s keys; the escrowed summary needs an open session.'));
}

/* Release and read the escrowed emergency summary (after break-glass): t shares, combined and decrypted here. */
function releaseForm(ok) {
  const patient = h('input', { type: 'text', placeholder: '0x…', spellcheck: 'false', required: true });
  const holders = h('textarea', { rows: 2, spellcheck: 'false' });
  holders.value = location.origin;
  const out = h('div#escrow-summary', { 'aria-live': 'polite' });
  const btn = h('button', { type: 'submit', disabled: !ok }, 'Release and read the summary');
  return h('form.card#release-form', {
    onsubmit: (e) => {
      e.preventDefault();
      busy(btn, async () => {
        const p = patient.value.trim();
        if (!isAddress(p)) throw new Error('the patient must be a 0x address');
        out.textContent = 'Asking the escrow holders…';
        const { owner } = await api.patientInfo(p);
        const r = await escrowLib.releaseAndRead(api.session.signer, api.session.box, p, owner, holders.value.split(/\s+/).filter(Boolean));
        await api.logEmergency(p, 'View');
        out.textContent = '';
        out.appendChild(h('p', `Recovered from ${r.used} of ${r.manifest.n} holders (${r.manifest.t} needed); summary ${r.manifest.summaryCid}. Your read is logged on the audit trail.`));
        out.appendChild(render(parseRecord(r.summary)));
        toast('Emergency summary decrypted.');
      });
    },
  }, h('h2', 'Escrowed emergency summary'), field('Patient address', patient), field('Escrow holders (node URLs, one per line; the others are found in the patient’s manifest)', holders), btn, out);
}

export const providerRoutes = {
  '#/p/patients': patients,
  '#/p/patient/*': patientView,
  '#/p/submit': submit,
  '#/p/request': request,
  '#/p/emergency': breakGlass,
};

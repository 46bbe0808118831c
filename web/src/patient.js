// Patient views: timeline, record details, lab charts, sharing (grants),
// requests, who looked, notifications, emergency, recovery, health cards, export.
import * as api from './api.js';
import { busy, date, download, errorText, field, h, progress, select, short, toast } from './ui.js';
import { chart, labPoint, parseRecord, render, summary } from './fhir.js';
import { show, state } from './main.js';
import { toBase64, toHex } from './bytes.js';
import { isAddress } from './eth.js';
import * as escrowLib from './emergency.js';

/** Records of @p patient with block times (cached for the session). */
export async function recordsOf(patient, fresh = false) {
  const k = patient.toLowerCase();
  if (!fresh && state.records.has(k)) return state.records.get(k);
  const items = await api.listRecords(patient);
  const times = await api.blockTimes(items.map((r) => r.block));
  for (const r of items) r.time = times.get(r.block) || 0;
  items.sort((a, b) => b.time - a.time || Number(b.id) - Number(a.id));
  state.records.set(k, items);
  return items;
}

/** The timeline (shared by the provider's patient view). */
export function timeline(items, opts = {}) {
  const filter = select('type', [['', 'All types'], ...api.TYPES.map((t, i) => [i, t])], '');
  const list = h('ol.timeline', { 'aria-label': 'Records, newest first' });
  const count = h('p.muted', { 'aria-live': 'polite' });
  const draw = () => {
    const t = filter.value;
    const shown = t === '' ? items : items.filter((r) => String(r.type) === t);
    list.textContent = '';
    let month = '';
    const frag = document.createDocumentFragment();
    for (const r of shown) {
      const m = r.time ? new Date(r.time * 1000).toISOString().slice(0, 7) : 'unknown date';
      if (m !== month) { month = m; frag.appendChild(h('li.month', h('h3', m))); }
      const p = state.plain.get(String(r.id));
      frag.appendChild(h('li.rec', { 'data-type': r.type },
        h('a', { href: '#/records/' + r.id }, h('span.badge.t' + r.type, api.TYPES[r.type] || 'Type ' + r.type),
          h('span.what', p ? summary(p.parsed) : `Record #${r.id}` + (Number(r.supersedes) ? ` (amends #${r.supersedes})` : '')),
          h('span.when', date(r.time))),
        h('span.by', 'from ' + short(r.provider))));
    }
    list.appendChild(frag);
    count.textContent = `${shown.length} of ${items.length} records`;
  };
  filter.addEventListener('change', draw);
  draw();
  return h('div', opts.title ? h('h2', opts.title) : null, h('div.toolbar', field('Show', filter)), count, list);
}

async function records(_, live) {
  const items = await recordsOf(api.me(), true);
  const body = items.length ? timeline(items) : h('p', state.registered ? 'No records yet. Records appear here when a provider you gave Write access submits one.' : 'No records yet. Register your encryption key on Home first.');
  if (live()) show('My records', body);
}

/** Record details: decrypt on request (each view is logged on the audit trail). */
async function recordView([id], live) {
  if (!/^\d+$/.test(id || '')) throw new Error('bad record id');
  const mine = (state.records.get(api.me().toLowerCase()) || []).find((r) => String(r.id) === id);
  const prog = progress();
  const out = h('div.record', { 'aria-live': 'polite' });
  const purpose = select('purpose', api.PURPOSES.map((p, i) => [i, p]).slice(1), mine ? 6 : 1);
  const btn = h('button', { type: 'button' }, 'Decrypt and show');
  const cached = state.plain.get(id);
  const showPlain = (p) => {
    out.textContent = '';
    out.appendChild(render(p.parsed));
    out.appendChild(h('p.muted', `Decrypted in this browser; hash checked against the chain (${p.meta.dataHash.slice(0, 10)}…).`));
    out.appendChild(h('button', { type: 'button', onclick: () => download(`record-${id}.${p.parsed.kind === 'fhir' ? 'json' : p.parsed.kind === 'dicom' ? 'dcm' : 'bin'}`, p.bytes, 'application/octet-stream') }, 'Save decrypted file'));
  };
  btn.onclick = () => busy(btn, async () => {
    out.textContent = '';
    const r = await api.readRecord(id, Number(purpose.value), (m, f) => prog.update(m, f));
    prog.done();
    const entry = { meta: r.meta, bytes: r.bytes, parsed: parseRecord(r.bytes) };
    state.plain.set(id, entry);
    showPlain(entry);
  }).finally(() => prog.done());
  // others' records are read afresh each time (access may have been revoked meanwhile)
  if (cached && mine) showPlain(cached);
  const meta = mine ? h('dl.facts', h('dt', 'Type'), h('dd', api.TYPES[mine.type]), h('dt', 'From'), h('dd.mono', mine.provider), h('dt', 'Date'), h('dd', date(mine.time)),
    h('dt', 'Content id'), h('dd.mono.wrap', mine.cid)) : null;
  if (live()) show(`Record #${id}`, meta, h('div.toolbar', field('Purpose of this view', purpose, 'Logged on the audit trail with your view.'), btn), prog, out,
    h('p', h('button.link', { type: 'button', onclick: () => history.back() }, '← Back')));
}

async function labs(_, live) {
  const items = (await recordsOf(api.me())).filter((r) => Number(r.type) === 5);
  const box = h('div');
  const prog = progress();
  const draw = () => {
    box.textContent = '';
    const series = new Map();
    for (const r of items) {
      const p = state.plain.get(String(r.id));
      const pt = p && labPoint(p.parsed);
      if (!pt) continue;
      if (!series.has(pt.key)) series.set(pt.key, { title: pt.title, unit: pt.unit, points: [] });
      series.get(pt.key).points.push(pt);
    }
    if (!series.size) box.appendChild(h('p', 'Decrypt your lab results to chart them.'));
    for (const s of series.values()) box.appendChild(h('figure', chart(s.points, s.title, s.unit), h('figcaption', `${s.title} (${s.unit}), ${s.points.length} results`)));
  };
  const todo = items.filter((r) => !state.plain.has(String(r.id)));
  const btn = h('button', { type: 'button', disabled: !todo.length }, todo.length ? `Decrypt ${todo.length} lab results` : 'All lab results decrypted');
  btn.onclick = () => busy(btn, async () => {
    let i = 0;
    for (const r of todo) {
      prog.update(`Decrypting lab result ${++i}/${todo.length}…`, i / todo.length);
      const x = await api.readRecord(r.id, 6);
      state.plain.set(String(r.id), { meta: x.meta, bytes: x.bytes, parsed: parseRecord(x.bytes) });
    }
    prog.done();
    labs(undefined, live);
  });
  draw();
  if (live()) show('Lab results over time', h('p', `${items.length} lab results. Each decryption is logged as your own view.`), btn, prog, box);
}

// --- sharing ------------------------------------------------------------------------------------

function scopeInput() {
  const kind = select('scope', [['all', 'All my records'], ['category', 'One type of record'], ['record', 'One record']], 'all');
  const cat = select('category', api.TYPES.map((t, i) => [i, t]), 1);
  const rec = h('input', { type: 'text', inputmode: 'numeric', pattern: '[0-9]+' });
  const catF = field('Record type', cat);
  const recF = field('Record id', rec);
  const sync = () => { catF.hidden = kind.value !== 'category'; recF.hidden = kind.value !== 'record'; };
  kind.addEventListener('change', sync);
  sync();
  return {
    el: h('div', field('Scope', kind), catF, recF),
    value: () => (kind.value === 'category' ? { category: Number(cat.value) } : kind.value === 'record' ? { record: rec.value.trim() } : 'all'),
  };
}

async function sharing(_, live) {
  const now = await api.chainNow();
  const list = await api.grants();
  const prog = progress();
  const provider = h('input', { type: 'text', autocomplete: 'off', placeholder: '0x…', required: true, spellcheck: 'false' });
  const level = select('level', [[1, 'Read'], [2, 'Write (may submit records)']], 1);
  const days = h('input', { type: 'number', min: 1, max: 3650, value: 30, required: true });
  const scope = scopeInput();
  const btn = h('button', { type: 'submit' }, 'Grant access');
  const form = h('form.card', {
    onsubmit: (e) => {
      e.preventDefault();
      busy(btn, async () => {
        if (!isAddress(provider.value)) throw new Error('the provider must be a 0x address');
        const d = Number(days.value);
        if (!(d >= 1 && d <= 3650)) throw new Error('expiry: 1 to 3650 days');
        const r = await api.grant(provider.value.trim(), Number(level.value), scope.value(), now + Math.round(d * 86400), (m, f) => prog.update(m, f));
        prog.done();
        toast(`Access granted; ${r.wrapped} record keys shared.` + (r.note ? ' ' + r.note : ''));
        sharing(undefined, live);
      }).finally(() => prog.done());
    },
  }, h('h2', 'Grant access'), field('Provider address', provider), field('Level', level), scope.el, field('Expires in (days)', days), btn, prog);
  const rows = list.map((g) => {
    const ext = h('button', { type: 'button' }, 'Extend 30 days');
    ext.onclick = () => busy(ext, async () => { await api.extend(g.provider, g.scope, Math.max(g.expiry, now) + 30 * 86400); toast('Extended.'); sharing(undefined, live); });
    const rev = h('button.danger', { type: 'button' }, 'Revoke');
    rev.onclick = () => busy(rev, async () => {
      if (!confirm(`Revoke ${short(g.provider)}'s access?`)) return;
      await api.revoke(g.provider, g.scope);
      toast('Access revoked: the provider is refused from now on.');
      sharing(undefined, live);
    });
    return h('tr', { 'data-provider': g.provider },
      h('td.mono', { title: g.provider }, short(g.provider)), h('td', api.LEVELS[g.level] || g.level), h('td', api.scopeText(g.scope)),
      h('td', date(g.expiry)), h('td', h('span.state.' + g.state, g.state)),
      h('td', g.state === 'active' ? [ext, ' ', rev] : null));
  });
  if (live()) show('Sharing',
    form,
    h('section', h('h2', 'Who has access'), list.length ? h('div.scroll', h('table', h('caption.sr', 'Grants'),
      h('thead', h('tr', ['Provider', 'Level', 'Scope', 'Expires', 'State', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', rows))) : h('p', 'Nobody has access to your records.')));
}

async function requests(_, live) {
  const list = await api.requests();
  const rows = list.map((r) => {
    const ok = h('button', { type: 'button' }, 'Approve');
    const no = h('button.danger', { type: 'button' }, 'Deny');
    ok.onclick = () => busy(ok, async () => { const x = await api.answerRequest(r, true); toast(`Approved; ${x.wrapped} record keys shared.`); requests(undefined, live); });
    no.onclick = () => busy(no, async () => { await api.answerRequest(r, false); toast('Denied.'); requests(undefined, live); });
    const open = /pending/i.test(String(r.status));
    return h('tr', { 'data-request': r.id }, h('td', '#' + r.id), h('td.mono', { title: r.provider }, short(r.provider)), h('td', api.PURPOSES[r.purpose] || r.purpose),
      h('td', api.LEVELS[r.level] || r.level), h('td', api.scopeText(r.scope)), h('td', Math.round(r.duration / 86400 * 10) / 10 + ' days'), h('td', String(r.status)),
      h('td', open ? [ok, ' ', no] : null));
  });
  if (live()) show('Access requests', list.length ? h('div.scroll', h('table', h('thead', h('tr', ['Request', 'Provider', 'Purpose', 'Level', 'Scope', 'Duration', 'Status', ''].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', rows)))
    : h('p', 'No access requests.'));
}

async function auditView(_, live) {
  const items = await api.audit();
  let denials = [];
  try { denials = (await api.call('GET', `/api/v1/patients/${api.me()}/denials`)).items || []; } catch { /* optional */ }
  const mine = api.me().toLowerCase();
  const rows = items.slice().reverse().map((a) => h('tr', { class: a.accessor.toLowerCase() === mine ? 'self' : 'other', 'data-action': a.action },
    h('td', date(a.time)), h('td.mono', { title: a.accessor }, a.accessor.toLowerCase() === mine ? 'you' : short(a.accessor)),
    h('td', a.action), h('td', a.recordId === '0' ? '—' : '#' + a.recordId), h('td', api.PURPOSES[a.purpose] || a.purpose)));
  const views = items.filter((a) => a.action === 'View' && a.accessor.toLowerCase() !== mine).length;
  if (live()) show('Who looked at my record',
    h('p', `${items.length} entries on the audit trail (checked against its on-chain head); ${views} views by others.`),
    h('div.scroll', h('table#audit', h('thead', h('tr', ['When', 'Who', 'What', 'Record', 'Purpose'].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', rows))),
    denials.length ? h('section', h('h2', 'Refused attempts'), h('ul', denials.map((d) => h('li', `${date(d.time)}: ${short(d.accessor)} — ${d.reason}`)))) : null);
}

async function notificationsView(_, live) {
  const list = await api.notifications();
  const pending = (await api.requests()).filter((r) => /pending/i.test(String(r.status)));
  let node = [];
  try { node = (await api.call('GET', `/api/v1/patients/${api.me()}/notifications?limit=100`)).items || []; } catch { /* older node */ }
  const kinds = { emergency: 'emergency', access_request: 'request', recovery: 'recovery' };
  let hooks = [];
  try { hooks = (await api.call('GET', '/api/v1/me/webhooks')).items || []; } catch { /* older node */ }
  const hookUrl = h('input', { type: 'url', placeholder: 'http://…', spellcheck: 'false' });
  const addHook = h('button', { type: 'submit' }, 'Add webhook');
  const hookForm = h('form.card', {
    onsubmit: (e) => {
      e.preventDefault();
      busy(addHook, async () => {
        if (!/^http:\/\/\S+$/.test(hookUrl.value.trim())) throw new Error('the node posts to http:// URLs (put a TLS proxy in front for https)');
        const secret = toHex(crypto.getRandomValues(new Uint8Array(32)), false);
        await api.call('POST', '/api/v1/me/webhooks', { url: hookUrl.value.trim(), secret });
        toast('Webhook added.');
        await notificationsView(undefined, live);
        document.getElementById('hook-secret').textContent = 'Secret (check X-Phr-Signature with it; shown once): ' + secret;
      });
    },
  }, h('h2', 'Webhooks'), h('p', 'This node can post your notifications to a URL, signed with a secret made here.'), field('Webhook URL', hookUrl), addHook);
  const hookRows = hooks.map((w) => {
    const del = h('button.danger', { type: 'button' }, 'Remove');
    del.onclick = () => busy(del, async () => { await api.call('DELETE', `/api/v1/me/webhooks/${w.id}`); toast('Webhook removed.'); notificationsView(undefined, live); });
    return h('li', { 'data-hook': w.id }, h('span.mono', w.url), ' ', h('span.muted', date(w.createdAt)), ' ', del);
  });
  if (live()) show('Notifications',
    pending.length ? h('p.notice', h('a', { href: '#/requests' }, `${pending.length} access request(s) waiting for your answer`)) : null,
    h('h2', 'From the chain'),
    list.length ? h('ul.notes', list.map((n) => h('li.' + n.kind, h('span.when', date(n.time)), ' ', n.text))) : h('p', 'Nothing yet: emergency access, requests and recovery attempts show up here.'),
    h('h2', 'Sent by this node'),
    node.length ? h('ul.notes', node.map((n) => h('li.' + (kinds[n.kind] || 'other'), h('span.when', date(n.createdAt)), ' ', `${n.kind}${n.payload && n.payload.event ? ': ' + String(n.payload.event).replace(/_/g, ' ') : ''}`,
      n.deliveries && n.deliveries.length ? h('span.muted', ` (${n.deliveries.length} webhook deliveries)`) : null)))
      : h('p.muted', 'None: this node queues notifications for webhooks registered here and for identities it hosts.'),
    hookForm, h('p.mono.wrap#hook-secret', { 'aria-live': 'polite' }),
    hooks.length ? h('ul.hooks', hookRows) : null);
}

// --- emergency, recovery -------------------------------------------------------------------------

function addressList(values) {
  const ta = h('textarea', { rows: 3, spellcheck: 'false' });
  ta.value = values.join('\n');
  return { el: ta, value: () => ta.value.split(/[\s,]+/).filter(Boolean) };
}

async function emergency(_, live) {
  const [contacts, sessions, items, grants] = await Promise.all([
    api.emergencyContacts(api.me()), api.emergencySessions(api.me()), recordsOf(api.me()), api.grants()]);
  const summaries = items.filter((r) => Number(r.type) === 9);
  const ems = [];
  for (const g of grants) if (g.state === 'active' && await api.isEmergencyProvider(g.provider)) ems.push(g);
  let escrow;
  try {
    const e = await api.call('GET', `/api/v1/escrow/${api.me()}`);
    const log = e.releases || e.log || [];
    escrow = h('div', h('p', `This node is an escrow holder of your emergency summary${Array.isArray(log) ? `; ${log.length} release attempts logged` : ''}.`),
      h('details', h('summary', 'What it keeps (no health data)'), h('pre.text', JSON.stringify(e, null, 1))));
  } catch (e) {
    escrow = h('p.muted', e.status === 404 ? 'This node holds no escrowed emergency summary for you (deposits go to the holders you name above).'
      : 'Escrow status unavailable: ' + errorText(e));
  }
  const cl = addressList(contacts);
  const save = h('button', { type: 'submit' }, 'Save contacts');
  const form = h('form.card', {
    onsubmit: (e) => {
      e.preventDefault();
      busy(save, async () => {
        const v = cl.value();
        if (!v.every(isAddress)) throw new Error('contacts must be 0x addresses');
        await api.setEmergencyContacts(v);
        toast('Emergency contacts saved.');
        emergency(undefined, live);
      });
    },
  }, h('h2', 'Emergency contacts'), h('p', 'Notified on chain when someone opens emergency access to your record.'), field('Contact addresses (one per line)', cl.el), save);
  const srows = sessions.map((s) => {
    const b = h('button.danger', { type: 'button' }, 'Close');
    b.onclick = () => busy(b, async () => { await api.closeEmergency(api.me(), s.provider); toast('Closed.'); emergency(undefined, live); });
    return h('tr', h('td.mono', short(s.provider)), h('td', String(s.reasonCode)), h('td', date(s.expiresAt)), h('td', s.active ? 'active' : 'ended'), h('td', s.active ? b : null));
  });
  if (live()) show('Emergency settings',
    escrowForm(),
    h('section.card', h('h2', 'Emergency summary'), summaries.length
      ? h('p', 'Your emergency summary: ', summaries.map((r) => h('a', { href: '#/records/' + r.id }, `record #${r.id} (${date(r.time)})`)))
      : h('p', 'No emergency summary record yet: ask your provider to submit one (type “Emergency summary”).'),
    escrow),
    h('section.card', h('h2', 'Emergency providers with access'), ems.length ? h('ul', ems.map((g) => h('li', `${short(g.provider)}: ${api.LEVELS[g.level]}, ${api.scopeText(g.scope)}, until ${date(g.expiry)}`))) : h('p', 'None. Grant Read to an emergency provider on the Sharing page.')),
    form,
    h('section', h('h2', 'Break-glass sessions'), sessions.length ? h('div.scroll', h('table#sessions', h('thead', h('tr', ['Provider', 'Reason code', 'Expires', 'State', ''].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', srows))) : h('p', 'No emergency access so far.')));
}

/*
 * Escrow of the emergency summary (docs/emergency.md): the Bundle is made and
 * encrypted here, the key split among the holders; each holder gets only its
 * sealed share, the ciphertext and the signed manifest.
 */
function escrowForm() {
  const ta = (rows) => h('textarea', { rows, spellcheck: 'false' });
  const name = h('input', { type: 'text', autocomplete: 'name' });
  const blood = h('input', { type: 'text', placeholder: 'e.g. O Rh-' });
  const allergies = ta(2);
  const meds = ta(2);
  const conds = ta(2);
  const contacts = ta(2);
  const opened = [...state.plain.values()].flatMap((p) => escrowLib.summaryResources(p.parsed));
  const fromRecords = h('input', { type: 'checkbox', checked: opened.length > 0, disabled: opened.length === 0 });
  const holders = ta(3);
  holders.value = location.origin + '\n';
  const th = h('input', { type: 'number', min: 2, max: escrowLib.HOLDERS_MAX, value: 2 });
  const hook = h('input', { type: 'url', placeholder: 'http://…', spellcheck: 'false' });
  const out = h('div', { 'aria-live': 'polite' });
  const btn = h('button', { type: 'submit' }, 'Encrypt and deposit');
  return h('form.card#escrow-form', {
    onsubmit: (e) => {
      e.preventDefault();
      busy(btn, async () => {
        const urls = holders.value.split(/\s+/).filter(Boolean);
        const t = Number(th.value);
        if (urls.length < 2) throw new Error('name at least two escrow holders (phr nodes)');
        if (!(t >= 2 && t <= urls.length)) throw new Error(`the threshold must be between 2 and ${urls.length}`);
        const bundle = escrowLib.buildSummary({ patient: api.me(), name: name.value.trim(), bloodType: blood.value.trim(), allergies: allergies.value,
          medications: meds.value, conditions: conds.value, contacts: contacts.value, resources: fromRecords.checked ? opened : [] });
        if (bundle.entry.length < 2) throw new Error('the summary is empty: fill in at least one item');
        const hookUrl = hook.value.trim();
        if (hookUrl && !/^http:\/\/\S+$/.test(hookUrl)) throw new Error('the holders post to http:// URLs (put a TLS proxy in front for https)');
        const webhook = hookUrl ? { url: hookUrl, secret: toHex(crypto.getRandomValues(new Uint8Array(32))) } : undefined;
        out.textContent = 'Asking the holders for their keys…';
        const his = [];
        for (const u of urls) his.push(await escrowLib.holderInfo(u));
        out.textContent = 'Encrypting and splitting the key…';
        const bytes = new TextEncoder().encode(JSON.stringify(bundle));
        const prep = await escrowLib.prepareDeposits(api.session.signer, api.me(), bytes, t, his, { webhook });
        const res = await escrowLib.deposit(api.me(), prep.deposits);
        const okN = res.filter((r) => r.ok).length;
        out.textContent = '';
        out.appendChild(h('ul#escrow-result', res.map((r) => h('li', `${r.url}: ${r.ok ? 'deposited' : 'refused — ' + r.error}`))));
        if (okN < t) throw new Error(`only ${okN} of ${res.length} holders accepted: fewer than the threshold ${t}; the summary cannot be released`);
        await api.logEmergency(api.me(), 'Share');
        out.appendChild(h('p', `Summary ${prep.cid} (${bytes.length} bytes, ${bundle.entry.length} entries) escrowed with ${okN} holders, ${t} needed to release it. Logged on the audit trail.`));
        if (webhook) out.appendChild(h('p.mono#escrow-hook-secret', `Webhook secret (check X-Phr-Signature with it; shown once): ${webhook.secret.slice(2)}`));
        toast('Emergency summary escrowed.');
      });
    },
  }, h('h2', 'Escrowed emergency summary'),
  h('p', 'Encrypted in this page; the key is split among escrow holders (phr nodes you trust) so that a verified emergency provider with an open break-glass session can read it when you cannot share it. Fewer than the threshold of holders learn nothing.'),
  field('Name', name), field('Blood type', blood), field('Allergies (one per line)', allergies), field('Medications (one per line)', meds),
  field('Conditions (one per line)', conds), field('Emergency contacts (name and phone, one per line)', contacts),
  h('div.field', h('label', fromRecords, ` Include allergies, medications, conditions and immunizations of the ${opened.length} records opened in this session`)),
  field('Escrow holders (node URLs, one per line)', holders, 'Holders on another origin must allow requests from this page.'),
  field('Threshold (holders needed)', th),
  field('Notify me at (webhook URL, optional)', hook, 'Each holder posts a signed notification there when it releases its share.'), btn, out);
}

async function recovery(_, live) {
  const g = await api.guardians(api.me());
  const gl = addressList(g.guardians);
  const th = h('input', { type: 'number', min: 1, max: 10, value: g.threshold || 2 });
  const save = h('button', { type: 'submit' }, 'Save guardians');
  const form = h('form.card', {
    onsubmit: (e) => {
      e.preventDefault();
      busy(save, async () => {
        const v = gl.value();
        if (!v.every(isAddress)) throw new Error('guardians must be 0x addresses');
        const t = Number(th.value);
        if (!(t >= 1 && t <= v.length)) throw new Error('the threshold must be between 1 and the number of guardians');
        await api.setGuardians(v, t);
        toast('Guardians saved.');
        recovery(undefined, live);
      });
    },
  }, h('h2', 'Recovery guardians'), h('p', 'If you lose your key, this many guardians together can move your record to a new key (after a waiting period you can cancel).'),
  field('Guardian addresses (one per line)', gl.el), field('Guardians needed', th), save);
  let pending = null;
  if (g.pending.readyAt) {
    const c = h('button.danger', { type: 'button' }, 'Cancel this recovery');
    c.onclick = () => busy(c, async () => { await api.cancelRecovery(); toast('Recovery cancelled.'); recovery(undefined, live); });
    pending = h('section.card.notice', h('h2', 'Recovery in progress'), h('p', `Your account is being recovered to ${g.pending.newOwner}, possible from ${date(g.pending.readyAt)}. If this is not you, cancel it.`), c);
  }
  if (live()) show('Recovery', pending, h('p', g.guardians.length ? `${g.guardians.length} guardians, ${g.threshold} needed.` : 'No guardians yet.'), form);
}

async function shc(_, live) {
  const items = (await recordsOf(api.me())).filter((r) => Number(r.type) === 1);
  const given = h('input', { type: 'text', autocomplete: 'given-name', required: true });
  const family = h('input', { type: 'text', autocomplete: 'family-name', required: true });
  const birth = h('input', { type: 'date', autocomplete: 'bday', required: true });
  const out = h('div.card-out', { 'aria-live': 'polite' });
  const patient = () => {
    if (!given.value.trim() || !family.value.trim() || !birth.value) throw new Error('name and birth date are required on a card');
    return { resourceType: 'Patient', name: [{ family: family.value.trim(), given: [given.value.trim()] }], birthDate: birth.value };
  };
  const rows = items.map((r) => {
    const btn = h('button', { type: 'button' }, `Get a card for record #${r.id}`);
    btn.onclick = () => busy(btn, async () => {
      const resp = await fetch(`/api/v1/records/${r.id}/shc?format=svg`, {
        method: 'POST', headers: { Authorization: 'Bearer ' + api.session.token, 'Content-Type': 'application/json' }, body: JSON.stringify({ patient: patient() }),
      });
      if (!resp.ok) {
        const pb = await resp.json().catch(() => null);
        throw new api.ApiError(resp.status, pb && /hosts|hosted/.test(pb.detail || '') ? { detail: `${location.host} does not host the provider that recorded this vaccination (${r.provider || 'unknown'}); a node signs cards only for records of the providers it hosts, so ask that provider's node for your card` } : pb);
      }
      const url = URL.createObjectURL(await resp.blob());
      out.textContent = '';
      const dl = h('button', { type: 'button' }, 'Download the .smart-health-card file');
      dl.onclick = () => busy(dl, async () => {
        const j = await api.call('POST', `/api/v1/records/${r.id}/shc`, { patient: patient() });
        download(`vaccination-${r.id}.smart-health-card`, JSON.stringify(j.file), 'application/smart-health-card');
      });
      out.appendChild(h('figure', h('img.qr', { src: url, alt: `SMART Health Card QR code for vaccination record #${r.id}`, width: 320, height: 320 }),
        h('figcaption', 'Scan with a SMART Health Card verifier app.')));
      out.appendChild(dl);
    });
    return h('li', h('a', { href: '#/records/' + r.id }, `Vaccination record #${r.id}, ${date(r.time)}`), ' ', btn);
  });
  if (live()) show('SMART Health Cards',
    h('p', 'A card is a signed copy of a vaccination that verifier apps accept. The node signs it as the issuer, so it reads the vaccination record to do so (a logged view); a node issues cards only for vaccinations recorded by providers it hosts.'),
    items.length ? h('div', h('div.card', field('Given name', given), field('Family name', family), field('Birth date', birth)), h('ul.cards-list', rows), out)
      : h('p', 'No vaccination records.'));
}

// --- export -------------------------------------------------------------------------------------------

async function exportView(_, live) {
  const items = await recordsOf(api.me(), true);
  const prog = progress();
  const btn = h('button', { type: 'button' }, `Decrypt and export all ${items.length} records`);
  const result = h('div', { 'aria-live': 'polite' });
  btn.onclick = () => busy(btn, async () => {
    const entries = [];
    const failed = [];
    let i = 0;
    for (const r of items) {
      prog.update(`Decrypting record ${++i}/${items.length}…`, i / items.length);
      let p = state.plain.get(String(r.id));
      if (!p) {
        try {
          const x = await api.readRecord(r.id, 6);
          p = { meta: x.meta, bytes: x.bytes, parsed: parseRecord(x.bytes) };
          state.plain.set(String(r.id), p);
        } catch (e) { failed.push({ id: r.id, error: errorText(e) }); continue; }
      }
      const ext = [{ url: 'urn:phr:record', extension: [{ url: 'id', valueString: String(r.id) }, { url: 'type', valueInteger: Number(r.type) }, { url: 'provider', valueString: r.provider }, { url: 'cid', valueString: r.cid }, { url: 'dataHash', valueString: r.dataHash }] }];
      entries.push(p.parsed.kind === 'fhir'
        ? { fullUrl: `urn:phr:record:${r.id}`, resource: { ...p.parsed.resource, extension: [...(p.parsed.resource.extension || []), ...ext] } }
        : { fullUrl: `urn:phr:record:${r.id}`, resource: { resourceType: 'Binary', contentType: p.parsed.kind === 'dicom' ? 'application/dicom' : 'application/octet-stream', data: toBase64(p.bytes), extension: ext } });
    }
    prog.update('Adding the audit trail…', 1);
    const audit = await api.audit();
    const bundle = {
      resourceType: 'Bundle', type: 'collection', timestamp: new Date().toISOString(),
      meta: { tag: [{ system: 'urn:phr', code: 'export' }] },
      identifier: { system: 'urn:phr:patient', value: api.me() },
      entry: [...entries, ...audit.map((a) => ({ fullUrl: `urn:phr:audit:${a.seq}`, resource: { resourceType: 'AuditEvent', recorded: new Date(a.time * 1000).toISOString(), action: a.action === 'View' ? 'R' : a.action === 'Create' ? 'C' : 'E', agent: [{ who: { identifier: { value: a.accessor } }, requestor: true }], source: { observer: { display: 'phr AuditTrail' } }, purposeOfEvent: [{ text: api.PURPOSES[a.purpose] }], entity: [{ what: { identifier: { value: a.recordId } } }], extension: [{ url: 'urn:phr:audit', extension: [{ url: 'action', valueString: a.action }, { url: 'head', valueString: a.head }] }] } }))],
    };
    prog.done();
    download(`phr-export-${api.me()}.json`, JSON.stringify(bundle, null, 1));
    result.textContent = '';
    result.appendChild(h('p.ok', `Exported ${entries.length} records and ${audit.length} audit entries as a FHIR Bundle.` + (failed.length ? ` ${failed.length} records could not be decrypted.` : '')));
  }).finally(() => prog.done());
  // the node's access log (who, when, what, why): what the chain shows, no plaintext (GET …/export?part=log)
  const logBtn = (fmt, label, ext) => {
    const b = h('button', { type: 'button' }, label);
    b.onclick = () => busy(b, async () => {
      const r = await fetch(`/api/v1/patients/${api.me()}/export?part=log&format=${fmt}`, { headers: { Authorization: 'Bearer ' + api.session.token } });
      if (!r.ok) throw new api.ApiError(r.status, await r.json().catch(() => null));
      download(`phr-access-log-${api.me()}.${ext}`, await r.text(), fmt === 'csv' ? 'text/csv' : 'application/json');
    });
    return b;
  };
  if (live()) show('Export my data', h('p', 'Everything is decrypted in this browser and saved as one FHIR R4 Bundle (records, plus your audit trail as AuditEvents). Each decryption is logged as your own view.'), btn, prog, result,
    h('section.card', h('h2', 'Access log'), h('p', 'Who read, shared or changed your records, when and why, as the node reads it from the chain (no health data).'),
      h('div.toolbar', logBtn('csv', 'Download the access log (CSV)', 'csv'), logBtn('fhir', 'Download the access log (FHIR AuditEvents)', 'json'))));
}

export const patientRoutes = {
  '#/records': records,
  '#/records/*': recordView,
  '#/labs': labs,
  '#/sharing': sharing,
  '#/requests': requests,
  '#/audit': auditView,
  '#/notifications': notificationsView,
  '#/emergency': emergency,
  '#/recovery': recovery,
  '#/shc': shc,
  '#/export': exportView,
};

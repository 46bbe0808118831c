// The phr portal: shell, sign-in, router. Views in patient.js and provider.js.
import * as api from './api.js';
import { listKeys, putKey } from './db.js';
import { keystoreDecrypt, keystoreEncrypt, LocalSigner, newSeckey, WalletSigner } from './keys.js';
import { busy, download, errorText, field, h, progress, short, toast } from './ui.js';
import { patientRoutes } from './patient.js';
import { providerRoutes } from './provider.js';
import { wipe } from './bytes.js';

const main = () => document.getElementById('main');

export const state = { records: new Map(), plain: new Map(), registered: false, balance: 0n };

const isProvider = () => api.session.me && api.session.me.roles.some((r) => r === 'provider' || r === 'emergency-provider');

function nav() {
  const n = document.getElementById('nav');
  n.textContent = '';
  if (!api.session.token) return;
  const links = [['#/home', 'Home']];
  if (!isProvider() || api.session.me.roles.includes('patient'))
    links.push(['#/records', 'My records'], ['#/labs', 'Lab charts'], ['#/sharing', 'Sharing'], ['#/requests', 'Requests'], ['#/audit', 'Who looked'],
      ['#/notifications', 'Notifications'], ['#/emergency', 'Emergency'], ['#/recovery', 'Recovery'], ['#/shc', 'Health cards'], ['#/export', 'Export']);
  if (isProvider()) links.push(['#/p/patients', 'Patients'], ['#/p/submit', 'Submit record'], ['#/p/request', 'Request access'], ['#/p/emergency', 'Break-glass']);
  const here = location.hash.split('/').slice(0, 2).join('/');
  n.appendChild(h('ul', links.map(([href, t]) => h('li', h('a', { href, 'aria-current': here === href.split('/').slice(0, 2).join('/') ? 'page' : null }, t)))));
  const who = document.getElementById('who');
  who.textContent = '';
  who.appendChild(h('span', { title: api.me() }, short(api.me())));
  who.appendChild(h('button.link', { type: 'button', onclick: signOut }, 'Sign out'));
}

async function signOut() {
  await api.signOut();
  state.records.clear();
  for (const v of state.plain.values()) if (v.bytes) wipe(v.bytes);
  state.plain.clear();
  document.getElementById('who').textContent = '';
  location.hash = '#/';
  route();
}

/** Replaces the main view; focuses its heading for screen readers and keyboards. */
export function show(title, ...content) {
  const m = main();
  m.textContent = '';
  const h1 = h('h1', { tabindex: '-1' }, title);
  m.appendChild(h1);
  for (const c of content) if (c) m.appendChild(c);
  document.title = title + ' · phr';
  h1.focus({ preventScroll: true });
  return m;
}

// --- sign-in ---------------------------------------------------------------------------

async function afterUnlock(signer, btn) {
  await busy(btn, async () => {
    toast('Signing in…');
    await api.signIn(signer);
    const pi = await api.patientInfo(signer.address);
    state.registered = pi.registeredAt > 0;
    toast('Signed in as ' + signer.address);
    location.hash = isProvider() && !api.session.me.roles.includes('patient') ? '#/p/patients' : '#/home';
    route();
  });
}

async function welcome() {
  const keys = await listKeys().catch(() => []);
  const prog = progress();
  const unlockList = h('div.cards', keys.map((k) => {
    const pw = h('input', { type: 'password', autocomplete: 'current-password', required: true });
    const btn = h('button', { type: 'submit' }, 'Unlock and sign in');
    return h('form.card', {
      onsubmit: (e) => {
        e.preventDefault();
        busy(btn, async () => {
          const sk = await keystoreDecrypt(k.keystore, pw.value, (f) => prog.update('Unlocking your key…', f));
          prog.done();
          pw.value = '';
          await afterUnlock(new LocalSigner(sk), btn);
        });
      },
    }, h('h3', k.label || 'Key'), h('p.mono', '0x' + k.address), field('Password for ' + short('0x' + k.address), pw), btn);
  }));

  const name = h('input', { type: 'text', autocomplete: 'off', placeholder: 'e.g. My health key' });
  const pw1 = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const pw2 = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const createBtn = h('button', { type: 'submit' }, 'Create key');
  const create = h('form.card', {
    onsubmit: (e) => {
      e.preventDefault();
      busy(createBtn, async () => {
        if (pw1.value !== pw2.value) throw new Error('the two passwords differ');
        if (pw1.value.length < 8) throw new Error('use a password of at least 8 characters');
        const sk = newSeckey();
        const ks = await keystoreEncrypt(sk, pw1.value, undefined, (f) => prog.update('Encrypting your new key…', f));
        prog.done();
        pw1.value = pw2.value = '';
        await putKey({ address: ks.address, label: name.value || 'My health key', keystore: ks, created: Date.now() });
        toast('Key created and stored encrypted in this browser. Download a backup from Home.');
        await afterUnlock(new LocalSigner(sk), createBtn);
      });
    },
  }, h('h3', 'Create a new key'), h('p', 'Your key is made in this browser and stored here, encrypted with your password. The node never sees it.'),
  field('Name', name), field('Password', pw1, 'At least 8 characters. It cannot be recovered: keep a backup.'), field('Repeat password', pw2), createBtn);

  const file = h('input', { type: 'file', accept: '.json,application/json' });
  const pw3 = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const importBtn = h('button', { type: 'submit' }, 'Import and sign in');
  const imp = h('form.card', {
    onsubmit: (e) => {
      e.preventDefault();
      busy(importBtn, async () => {
        if (!file.files[0]) throw new Error('choose a keystore file');
        if (file.files[0].size > 65536) throw new Error('a keystore is a small JSON file');
        const text = await file.files[0].text();
        const sk = await keystoreDecrypt(text, pw3.value, (f) => prog.update('Unlocking the keystore…', f));
        prog.done();
        pw3.value = '';
        const j = JSON.parse(text);
        const signer = new LocalSigner(sk);
        await putKey({ address: signer.address.slice(2).toLowerCase(), label: file.files[0].name, keystore: j, created: Date.now() });
        await afterUnlock(signer, importBtn);
      });
    },
  }, h('h3', 'Import a keystore'), h('p', 'A Web3 Secret Storage file (from phr account export, geth, MetaMask or ethers).'),
  field('Keystore file', file), field('Keystore password', pw3), importBtn);

  const walletBtn = h('button', { type: 'button', onclick: () => busy(walletBtn, async () => afterUnlock(await WalletSigner.connect(), walletBtn)) }, 'Use browser wallet');
  const wallet = globalThis.ethereum ? h('div.card', h('h3', 'Browser wallet'), h('p', 'Sign in and send transactions with your wallet (EIP-1193).'), walletBtn) : null;

  show('Your health record',
    h('p.lead', 'Sign in with a key that stays in this browser. Records are decrypted here; the node only ever holds ciphertext.'),
    prog,
    keys.length ? h('section', h('h2', 'Keys on this device'), unlockList) : null,
    h('section', h('h2', keys.length ? 'Another key' : 'Get started'), h('div.cards', create, imp, wallet)));
}

// --- home -------------------------------------------------------------------------------------

async function home(_, live) {
  const m = api.session.me;
  const [pi, bal] = await Promise.all([api.patientInfo(api.me()), api.balance(api.me())]);
  state.registered = pi.registeredAt > 0;
  state.balance = bal;
  const keyMatches = pi.registeredAt > 0 && pi.key.every((b, i) => b === api.session.box.pk[i]);
  const regBtn = h('button', { type: 'button' }, 'Register my encryption key');
  regBtn.onclick = () => busy(regBtn, async () => {
    await api.registerKey();
    toast('Registered: providers can now send you records.');
    route();
  });
  const keys = await listKeys().catch(() => []);
  const mine = keys.find((k) => k.address === api.me().slice(2).toLowerCase());
  const backup = mine ? h('button', { type: 'button', onclick: () => download(`phr-keystore-${mine.address}.json`, JSON.stringify(mine.keystore)) }, 'Download key backup (encrypted)') : null;

  const totp = h('div');
  if (!m.totp) {
    const b = h('button', { type: 'button' }, 'Set up two-factor codes (TOTP)');
    b.onclick = () => busy(b, async () => {
      const t = await api.call('POST', '/api/v1/me/totp', {});
      const code = h('input', { inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}' });
      const ok = h('button', { type: 'submit' }, 'Confirm');
      totp.textContent = '';
      totp.appendChild(h('form', {
        onsubmit: (e) => { e.preventDefault(); busy(ok, async () => { await api.call('POST', '/api/v1/me/totp/confirm', { code: code.value }); toast('Two-factor codes are on.'); route(); }); },
      }, h('p', 'Add this secret to your authenticator app, then enter a code:'), h('p.mono', t.secret), field('Code', code), ok));
    });
    totp.appendChild(b);
  } else totp.appendChild(h('p', 'Two-factor codes: on.'));

  if (live()) show('Home',
    h('section.card',
      h('h2', 'Account'),
      h('dl.facts', h('dt', 'Address'), h('dd.mono', api.me()), h('dt', 'Roles'), h('dd', m.roles.length ? m.roles.join(', ') : 'none yet'),
        h('dt', 'Signed with'), h('dd', api.session.signer.kind === 'local' ? 'a key in this browser' : 'a browser wallet'),
        h('dt', 'Balance'), h('dd', (Number(bal) / 1e18).toFixed(4) + ' ETH (pays for transactions)'),
        h('dt', 'Encryption key'), h('dd', pi.registeredAt ? (keyMatches ? 'registered' : 'registered, but not the one this sign-in derives') : 'not registered'))),
    !pi.registeredAt ? h('section.card.notice', h('h2', 'One more step'), h('p', 'Register your public encryption key on the chain so providers can encrypt records for you.'),
      bal === 0n ? h('p.warn', 'This account has no ETH for transaction fees on this chain: ask the node operator to fund ' + api.me() + '.') : null, regBtn) : null,
    h('section.card', h('h2', 'Security'), backup, totp));
}

// --- router -------------------------------------------------------------------------------------

const routes = { '#/home': home, ...patientRoutes, ...providerRoutes };

export async function route() {
  const hash = location.hash || '#/';
  if (!api.session.token) {
    nav();
    try { await welcome(); } catch (e) { show('Error', h('p.error', errorText(e))); }
    return;
  }
  nav();
  const path = hash.split('?')[0];
  const parts = path.split('/');
  const key = Object.keys(routes).find((k) => k === path) || Object.keys(routes).find((k) => k.endsWith('/*') && path.startsWith(k.slice(0, -1)));
  const fn = routes[key] || home;
  const seq = ++routeSeq;
  // A view draws only while it is still the current one: a slower earlier view
  // (say #/home still waiting for its data) must not draw over a later one the
  // user already works in (a decryption running in #/records/4 would then land
  // in a page no longer shown).
  const live = () => seq === routeSeq;
  try {
    // the path segments after the route's own ('#/p/patient/*' -> [address])
    await fn(parts.slice(key ? key.split('/').length - 1 : 2), live);
  } catch (e) {
    if (live()) show('Something went wrong', h('p.error', { role: 'alert' }, errorText(e)));
  }
}

let routeSeq = 0;

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', () => {
  api.info().catch(() => {});
  route();
});

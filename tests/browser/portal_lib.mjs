// Shared by the portal's browser tests: a `phr node --dev` of their own on
// 127.0.0.1 (port 0), headless Debian chromium through playwright-core,
// funding of fresh accounts from a dev key, and small checks.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { png8 } from './png8.mjs';
import { HDNodeWallet, JsonRpcProvider, parseEther } from 'ethers';

export const MNEMONIC = 'test test test test test test test test test test test junk';
export const root = process.env.PHR_SOURCE_DIR || process.cwd();

let failed = 0;
export function check(ok, what) {
  if (ok) console.log('ok  ', what);
  else { failed++; console.error('FAIL', what); }
  return ok;
}
export const failures = () => failed;

/** Starts a dev node; resolves { url, dir, proc, stop(), log } (stderr captured to dir/node.log). */
export async function startNode(extra = []) {
  const bin = process.env.PHR_BIN;
  if (!bin) throw new Error('PHR_BIN is not set');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phr-portal-'));
  const log = path.join(dir, 'node.log');
  const logFd = fs.openSync(log, 'w');
  const proc = spawn(bin, ['node', '--dev', '--datadir', path.join(dir, 'n'), '--listen', '127.0.0.1:0', '--log-level', 'debug', ...extra],
    { stdio: ['ignore', 'pipe', logFd], cwd: root, env: { ...process.env, PHR_PORTAL_DIR: path.join(root, 'web', 'dist') } });
  fs.closeSync(logFd);
  let out = '';
  const url = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('node did not start in 90 s')), 90000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) { clearTimeout(t); resolve(m[1]); }
    });
    proc.on('exit', (c) => { clearTimeout(t); reject(new Error('node exited ' + c)); });
  });
  proc.stdout.on('data', (d) => { out += d; });
  const stop = async () => {
    if (proc.exitCode !== null) return proc.exitCode;
    const done = new Promise((r) => proc.on('exit', (c) => r(c)));
    process.kill(proc.pid, 'SIGTERM');
    const t = setTimeout(() => process.kill(proc.pid, 'SIGKILL'), 15000);
    const c = await done;
    clearTimeout(t);
    return c;
  };
  return { url, dir, datadir: path.join(dir, 'n'), proc, stop, log, stdout: () => out };
}

export async function browser() {
  return chromium.launch({ executablePath: process.env.PHR_CHROMIUM || '/usr/bin/chromium', headless: true });
}

/** Dev account @p i of the mnemonic (funded at genesis). */
export function devWallet(url, i) {
  // no request cache: two transactions sent within 250 ms must not reuse a nonce
  const provider = new JsonRpcProvider(url + '/rpc', undefined, { staticNetwork: true, polling: false, cacheTimeout: -1 });
  return HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).connect(provider);
}

/** Sends @p eth to @p to from dev account @p from. */
export async function fund(url, to, eth = '10', from = 9) {
  const w = devWallet(url, from);
  const tx = await w.sendTransaction({ to, value: parseEther(eth), type: 0 });
  await tx.wait();
}

export function tokens(node) {
  return JSON.parse(fs.readFileSync(path.join(node.datadir, 'dev', 'tokens.json'), 'utf8'));
}

export const keyfile = (node, name) => path.join(node.datadir, 'dev', 'keys', name + '.json');

/** Every file under @p dir, recursively. */
export function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** On a failure: the node's warnings and errors and its last lines, to the test output. */
export function nodeLogTail(node, last = 60) {
  let lines = [];
  try { lines = fs.readFileSync(node.log, 'utf8').split('\n'); } catch { return; }
  const bad = lines.filter((l) => / (warn|error) /.test(l));
  console.error(`--- node log: ${bad.length} warnings/errors\n${bad.slice(-40).join('\n')}`);
  console.error(`--- node log, last ${last} lines\n${lines.slice(-last).join('\n')}`);
}

/** Pages log errors and failed requests to the test output. */
export function watch(page, name) {
  page.on('pageerror', (e) => console.error(`[${name}] page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 404/.test(m.text())) console.error(`[${name}] console: ${m.text()}`); });
}

/** Removes the toasts on screen (a later toast() then waits for a fresh one). */
export async function clear(page) {
  await page.evaluate(() => { for (const id of ['status', 'alert']) { const b = document.getElementById(id); b.textContent = ''; b.hidden = true; } });
}

/**
 * Waits for a toast (status or alert region) matching @p re; returns its text.
 * An error toast that does not match fails at once with its text.
 */
export async function toast(page, re, timeout = 30000) {
  const want = page.locator('#status .toast, #alert .toast').filter({ hasText: re }).first();
  const err = page.locator('#alert .toast').first();
  const got = await Promise.race([
    want.waitFor({ timeout }).then(() => 'want'),
    err.waitFor({ timeout }).then(() => 'err'),
  ]);
  if (got === 'err') {
    const t = await err.innerText();
    if (!re.test(t)) throw new Error('error shown instead of ' + re + ': ' + t);
    return t;
  }
  return want.innerText();
}
/** The patient grants @p who level @p level ('1' Read, '2' Write) for @p days on the Sharing page; returns the toast. */
export async function grantIn(pat, node, who, level, days) {
  await pat.goto(node.url + '/#/sharing');
  await pat.getByLabel('Provider address').fill(who);
  await pat.getByLabel('Level').selectOption(level);
  await pat.getByLabel('Expires in (days)').fill(days);
  await clear(pat);
  await pat.getByRole('button', { name: 'Grant access' }).click();
  return toast(pat, /Access granted/);
}

/** A new browser context (options @p ctxOpts, then @p setup(ctx)) that imports dev keystore @p key (password dev) and signs in. */
export async function signInWith(b, node, key, name, ctxOpts = {}, setup = null) {
  const ctx = await b.newContext({ viewport: { width: 1280, height: 860 }, ...ctxOpts });
  if (setup) await setup(ctx);
  const page = await ctx.newPage();
  watch(page, name);
  await page.goto(node.url + '/');
  await page.getByLabel('Keystore file').setInputFiles(keyfile(node, key));
  await page.getByLabel('Keystore password').fill('dev');
  await page.getByRole('button', { name: 'Import and sign in' }).click();
  await page.locator('h1', { hasText: /^(Home|Patients)$/ }).waitFor({ timeout: 30000 });
  return page;
}

/**
 * Checks of the current screen: every form control has a label, every button
 * a name, images an alt; at phone width (390 px) nothing overflows sideways.
 */
export async function a11y(page, name) {
  const bad = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('input, select, textarea')) if (!el.labels || !el.labels.length) out.push('unlabelled ' + el.outerHTML.slice(0, 60));
    for (const el of document.querySelectorAll('button, a[href]')) if (!el.textContent.trim() && !el.getAttribute('aria-label')) out.push('unnamed ' + el.outerHTML.slice(0, 60));
    for (const el of document.querySelectorAll('img')) if (!el.hasAttribute('alt')) out.push('img without alt');
    return out;
  });
  const vp = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.setViewportSize(vp);
  check(bad.length === 0 && over <= 0, `${name}: labels, names, alt; no sideways overflow at 390 px (${over} px)` + (bad.length ? ': ' + bad.join('; ') : ''));
}

/** Desktop and phone screenshots of @p page into @p shots/NAME-{desktop,phone}.png (palette PNGs). */
export async function shotTo(shots, page, name) {
  fs.mkdirSync(shots, { recursive: true });
  await clear(page);
  await page.waitForTimeout(150);
  fs.writeFileSync(path.join(shots, `${name}-desktop.png`), png8(await page.screenshot()));
  const vp = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(150);
  fs.writeFileSync(path.join(shots, `${name}-phone.png`), png8(await page.screenshot()));
  await page.setViewportSize(vp);
}

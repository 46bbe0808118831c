#!/usr/bin/env node
// Generates src/fhir/defs_table.c (and its header src/fhir/defs_table.h) from the
// official FHIR R4 definitions: the StructureDefinition snapshots of every resource
// type and data type (npm hl7.fhir.r4.examples 4.0.1, CC0) and the expansions of the
// value sets of required bindings (npm hl7.fhir.r4.expansions 4.0.1, CC0).
// Usage: node src/fhir/gen_defs.mjs [EXAMPLES_DIR EXPANSIONS_DIR [OUT_DIR]]
// (default: the packages in node_modules; writes both files next to this script or in
// OUT_DIR). The output depends only on the packages' contents.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';

const here = process.argv[4] ? process.argv[4].replace(/\/?$/, '/') : new URL('.', import.meta.url).pathname;
const exDir = process.argv[2] || new URL('../../node_modules/hl7.fhir.r4.examples/', import.meta.url).pathname;
const vsDir = process.argv[3] || new URL('../../node_modules/hl7.fhir.r4.expansions/', import.meta.url).pathname;
const load = (p) => JSON.parse(readFileSync(p, 'utf8'));
const exPkg = load(exDir + '/package.json');
const vsPkg = load(vsDir + '/package.json');

// --- StructureDefinitions --------------------------------------------------------
const sds = new Map();
for (const f of readdirSync(exDir).sort().filter((n) => n.startsWith('StructureDefinition-') && n.endsWith('.json'))) {
  const sd = load(exDir + '/' + f);
  sds.set(sd.id, sd);
}
const base = [...sds.values()].filter((s) =>
  ['primitive-type', 'complex-type', 'resource'].includes(s.kind) &&
  (s.derivation === 'specialization' || (s.abstract && !s.derivation)) && s.id === s.type);

const SYSTEM_TYPES = {
  String: 'string', Boolean: 'boolean', Date: 'date', DateTime: 'dateTime', Decimal: 'decimal',
  Integer: 'integer', Time: 'time',
};
const fhirType = (t) => {
  const ext = (t.extension || []).find((x) => x.url.endsWith('/structuredefinition-fhir-type'));
  if (ext) return ext.valueUrl;
  if (t.code.startsWith('http://hl7.org/fhirpath/System.')) return SYSTEM_TYPES[t.code.slice(31)];
  return t.code;
};

// type codes used that are profiles of a base type (Age, Duration, SimpleQuantity...)
const aliases = new Map();
const baseIds = new Set(base.map((s) => s.id));
for (const sd of base) {
  for (const e of sd.snapshot.element) {
    for (const t of e.type || []) {
      const c = fhirType(t);
      if (!baseIds.has(c) && sds.has(c)) aliases.set(c, sds.get(c).type);
      else if (!baseIds.has(c)) throw new Error(`${e.path}: unknown type ${c}`);
    }
  }
}

// --- the primitive types' regexes, compiled to DFAs over bytes ----------------------
// The spec's regexes follow XML Schema: \s is space, tab, CR, LF (not JavaScript's
// Unicode spaces), [ \r\n\t\S] is any character. They are matched on the UTF-8 bytes:
// every class is either ASCII-only and positive, or negated (so it takes every byte of
// a multi-byte character), and counted repetitions apply only to positive ASCII
// classes, so byte matching accepts exactly the strings character matching accepts.
const XML_WS = [32, 9, 10, 13];
const parseRegex = (re) => {
  let i = 0;
  const fail = (m) => { throw new Error(`${m} at ${i} in ${re}`); };
  const range = (lo, hi) => Array.from({ length: hi - lo + 1 }, (_, k) => lo + k);
  const all = range(1, 255); // NUL never reaches the matcher
  const escape = (e) => {
    if (e === 's') return { set: XML_WS, ascii: true };
    if (e === 'S') return { set: all.filter((b) => !XML_WS.includes(b)), ascii: false };
    const lit = { r: 13, n: 10, t: 9 }[e] ?? e.charCodeAt(0);
    if (!'rnt.+-*?()|{}^$[]\\/'.includes(e)) fail('unsupported escape \\' + e);
    return { set: [lit], ascii: true };
  };
  const cls = () => {
    let neg = false, set = new Set(), ascii = true;
    if (re[i] === '^') { neg = true; i++; }
    while (re[i] !== ']') {
      if (i >= re.length) fail('unterminated class');
      let lo;
      if (re[i] === '\\') {
        const e = escape(re[i + 1]);
        i += 2;
        if (e.set.length !== 1) { e.set.forEach((b) => set.add(b)); if (!e.ascii) ascii = false; continue; }
        lo = e.set[0];
      } else lo = re.charCodeAt(i++);
      if (re[i] === '-' && re[i + 1] !== ']') {
        const hi = re.charCodeAt(i + 1);
        i += 2;
        range(lo, hi).forEach((b) => set.add(b));
      } else set.add(lo);
    }
    i++;
    if (neg) return { t: 'set', set: all.filter((b) => !set.has(b)), ascii: false };
    return { t: 'set', set: [...set], ascii };
  };
  const atom = () => {
    const c = re[i++];
    if (c === '(') { const n = alt(); if (re[i++] !== ')') fail('missing )'); return n; }
    if (c === '[') return cls();
    if (c === '\\') { const e = escape(re[i++]); return { t: 'set', set: e.set, ascii: e.ascii }; }
    if (c === '.') return { t: 'set', set: all, ascii: false };
    if ('*+?{|)'.includes(c)) fail('unexpected ' + c);
    if (c.charCodeAt(0) > 127) fail('non-ASCII literal');
    return { t: 'set', set: [c.charCodeAt(0)], ascii: true };
  };
  const isAscii = (n) => n.t === 'set' ? n.ascii : n.t === 'cat' || n.t === 'alt' ? n.items.every(isAscii) : isAscii(n.item);
  const repeat = () => {
    let n = atom();
    for (;;) {
      const c = re[i];
      if (c === '*') { i++; n = { t: 'rep', item: n, min: 0, max: Infinity }; }
      else if (c === '+') { i++; n = { t: 'rep', item: n, min: 1, max: Infinity }; }
      else if (c === '?') { i++; n = { t: 'rep', item: n, min: 0, max: 1 }; }
      else if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(re.slice(i));
        if (!m) fail('bad {}');
        i += m[0].length;
        const min = Number(m[1]), max = m[2] ? (m[3] === '' ? Infinity : Number(m[3])) : min;
        if (!isAscii(n)) fail('counted repetition of a multi-byte class');
        n = { t: 'rep', item: n, min, max };
      } else return n;
    }
  };
  const cat = () => {
    const items = [];
    while (i < re.length && re[i] !== '|' && re[i] !== ')') items.push(repeat());
    return { t: 'cat', items };
  };
  const alt = () => {
    const items = [cat()];
    while (re[i] === '|') { i++; items.push(cat()); }
    return items.length === 1 ? items[0] : { t: 'alt', items };
  };
  const n = alt();
  if (i !== re.length) fail('trailing input');
  return n;
};

// Thompson NFA (states: {eps: [], on: [bytes], to}) then subset construction.
const compileRegex = (re) => {
  const nfa = [];
  const state = () => { nfa.push({ eps: [], set: null, to: -1 }); return nfa.length - 1; };
  const build = (n, from) => { // returns the end state
    if (n.t === 'set') {
      const mid = state(), to = state();
      nfa[from].eps.push(mid);
      nfa[mid].set = new Set(n.set);
      nfa[mid].to = to;
      return to;
    }
    if (n.t === 'cat') return n.items.reduce((s, it) => build(it, s), from);
    if (n.t === 'alt') {
      const end = state();
      for (const it of n.items) { const s = state(); nfa[from].eps.push(s); nfa[build(it, s)].eps.push(end); }
      return end;
    }
    // repetition: min copies, then (max - min) optional copies or a loop
    let s = from;
    for (let k = 0; k < n.min; k++) s = build(n.item, s);
    if (n.max === Infinity) {
      const loop = state(), end = state();
      nfa[s].eps.push(loop);
      nfa[loop].eps.push(end);
      const body = state();
      nfa[loop].eps.push(body);
      nfa[build(n.item, body)].eps.push(loop);
      return end;
    }
    const end = state();
    for (let k = n.min; k < n.max; k++) {
      nfa[s].eps.push(end);
      const body = state();
      nfa[s].eps.push(body);
      s = build(n.item, body);
    }
    nfa[s].eps.push(end);
    return end;
  };
  const start = state();
  const accept = build(parseRegex(re), start);
  const closure = (set) => {
    const out = new Set(set), stack = [...set];
    while (stack.length) for (const e of nfa[stack.pop()].eps) if (!out.has(e)) { out.add(e); stack.push(e); }
    return [...out].sort((x, y) => x - y);
  };
  const dstates = [], index = new Map(), trans = [];
  const add = (set) => {
    const key = set.join(',');
    if (!index.has(key)) { index.set(key, dstates.length); dstates.push(set); }
    return index.get(key);
  };
  add(closure([start]));
  for (let d = 0; d < dstates.length; d++) {
    const row = new Array(256).fill(-1);
    for (let b = 1; b < 256; b++) {
      const next = [];
      for (const s of dstates[d]) if (nfa[s].set && nfa[s].set.has(b)) next.push(nfa[s].to);
      if (next.length) row[b] = add(closure(next));
    }
    trans.push(row);
    if (dstates.length > 60000) throw new Error('DFA too large for ' + re);
  }
  return { trans, accept: dstates.map((set) => set.includes(accept)) };
};
// The same language with JavaScript's RegExp (XML Schema's \s spelled out), to check
// the DFAs against.
const toJsRegex = (re) => {
  let out = '', inClass = false;
  for (let i = 0; i < re.length; i++) {
    const c = re[i];
    if (c === '\\') {
      const e = re[++i];
      if (e === 's') out += inClass ? ' \\t\\n\\r' : '[ \\t\\n\\r]';
      else if (e === 'S') {
        // only as [ \r\n\t\S] in the spec: \S with all white space is any character
        if (!inClass) out += '[^ \\t\\n\\r]';
        else { out = out.slice(0, out.lastIndexOf('[')) + '[^'; while (re[i + 1] !== ']') i++; }
      } else out += '\\' + e;
    } else {
      if (c === '[') inClass = true;
      if (c === ']') inClass = false;
      out += c;
    }
  }
  return new RegExp('^(?:' + out + ')$', 'u');
};
const dfaMatch = (dfa, bytes) => {
  let s = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) return false;
    s = dfa.trans[s][bytes[i]];
    if (s < 0) return false;
  }
  return dfa.accept[s];
};

// --- value sets of required bindings ----------------------------------------------
const vsByUrl = new Map();
for (const f of readdirSync(vsDir).sort().filter((n) => n.startsWith('ValueSet-') && n.endsWith('.json'))) {
  const vs = load(vsDir + '/' + f);
  vsByUrl.set(vs.url, vs);
}
const valueSets = []; // {url, codes:[[system, code]]}
const vsIndex = new Map();
const vsSkipped = new Map(); // url -> reason
const bindingOf = (e) => {
  if (!e.binding || e.binding.strength !== 'required' || !e.binding.valueSet) return -1;
  const url = e.binding.valueSet.split('|')[0];
  if (vsIndex.has(url)) return vsIndex.get(url);
  const vs = vsByUrl.get(url);
  let why = null;
  if (!vs) why = 'no expansion in the package';
  else if (!vs.expansion || !vs.expansion.contains) why = 'expansion is empty';
  const codes = [];
  const walk = (list) => {
    for (const c of list || []) {
      if (c.code !== undefined) codes.push([c.system || '', c.code]);
      walk(c.contains);
    }
  };
  if (!why) {
    walk(vs.expansion.contains);
    if (vs.expansion.total !== undefined && vs.expansion.total > codes.length) why = `expansion truncated (${codes.length} of ${vs.expansion.total})`;
    else if ((vs.expansion.parameter || []).some((p) => p.name === 'limitedExpansion')) why = 'limited expansion';
  }
  if (why) { vsSkipped.set(url, why); return -1; }
  codes.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const uniq = codes.filter((c, k) => k === 0 || c[0] !== codes[k - 1][0] || c[1] !== codes[k - 1][1]);
  valueSets.push({ url, codes: uniq });
  vsIndex.set(url, valueSets.length - 1);
  return valueSets.length - 1;
};

// --- types and element trees ---------------------------------------------------------
const JSON_KIND = { boolean: 'BOOL', integer: 'INT', positiveInt: 'INT', unsignedInt: 'INT', decimal: 'NUMBER' };
const typeNames = [...baseIds, ...aliases.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const typeIdx = new Map(typeNames.map((n, i) => [n, i]));
const regexes = [];
const nodes = [];   // {name, min, max, flags, types:[idx], children:[start,n], vs, path}
const typeRefs = [];
const types = typeNames.map((n) => ({ name: n }));

// children of an element path within one snapshot, in snapshot order
const buildTree = (sd) => {
  const byPath = new Map();
  const root = { path: sd.type, kids: [] };
  byPath.set(sd.type, root);
  for (const e of sd.snapshot.element) {
    if (e.sliceName || e.path === sd.type) continue;
    const parentPath = e.path.slice(0, e.path.lastIndexOf('.'));
    const parent = byPath.get(parentPath);
    if (!parent) throw new Error('orphan ' + e.path);
    const n = { path: e.path, e, kids: [] };
    parent.kids.push(n);
    byPath.set(e.path, n);
  }
  return root;
};

const MAX_CHILDREN = 64; // validate.c keeps one slot per element of an object on the stack
const emitBlock = (kids, sd, pathIdx) => {
  if (kids.length > MAX_CHILDREN) throw new Error(`${sd.id}: ${kids.length} elements in one object, raise MAX_CHILDREN`);
  const start = nodes.length;
  for (const k of kids) {
    const e = k.e;
    let name = e.path.slice(e.path.lastIndexOf('.') + 1);
    let flags = [];
    if (name.endsWith('[x]')) { name = name.slice(0, -3); flags.push('CHOICE'); }
    const max = e.max === '*' ? 0xffff : Number(e.max);
    if (max > 1) flags.push('ARRAY');
    let codes = (e.type || []).map(fhirType);
    // Resource.id is of type id (the snapshot says System.String)
    if (sd.kind === 'resource' && e.path === sd.type + '.id') codes = ['id'];
    const n = { name, min: e.min, max, flags, types: codes.map((c) => typeIdx.get(c)), vs: bindingOf(e), path: e.path, k };
    if (k.kids.length || e.contentReference) { n.flags.push('BACKBONE'); n.types = []; }
    nodes.push(n);
    pathIdx.set(e.path, n);
  }
  for (const n of nodes.slice(start, start + kids.length))
    if (n.k.kids.length) n.children = [emitBlock(n.k.kids, sd, pathIdx), n.k.kids.length];
  return start;
};

for (const sd of base) {
  const t = types[typeIdx.get(sd.id)];
  t.kind = sd.kind === 'primitive-type' ? 'PRIMITIVE' : sd.kind === 'resource' ? 'RESOURCE' : 'COMPLEX';
  if (sd.abstract) t.abstract = true;
  if (t.kind === 'PRIMITIVE') {
    const v = sd.snapshot.element.find((e) => e.path === sd.type + '.value');
    const r = v && (v.type[0].extension || []).find((x) => x.url.endsWith('/regex'));
    t.json = JSON_KIND[sd.id] || 'STRING';
    t.regex = -1;
    if (r && t.json === 'STRING') { regexes.push([sd.id, r.valueString, compileRegex(r.valueString)]); t.regex = regexes.length - 1; }
    t.children = [0, 0];
    continue;
  }
  const pathIdx = new Map();
  const root = buildTree(sd);
  t.children = [emitBlock(root.kids, sd, pathIdx), root.kids.length];
  for (const n of pathIdx.values()) {
    const ref = n.k.e.contentReference;
    if (!ref) continue;
    const target = pathIdx.get(ref.slice(1));
    if (!target || !target.children) throw new Error('bad contentReference ' + ref);
    n.children = target.children;
  }
}
for (const [alias, of] of aliases) {
  const t = types[typeIdx.get(alias)];
  Object.assign(t, types[typeIdx.get(of)], { name: alias, aliasOf: of });
}

// data types with both a "system" and a "code" element (Coding, Quantity...): the
// objects the terminology checks apply to
for (const t of types) {
  const kids = t.kind === 'COMPLEX' ? nodes.slice(t.children[0], t.children[0] + t.children[1]).map((n) => n.name) : [];
  t.coded = kids.includes('system') && kids.includes('code') ? 1 : 0;
}

// Check each DFA against JavaScript's RegExp for the same language: on every distinct
// string of the examples up to 64 characters (longer ones are prose, base64 and
// narrative) and on edge cases, each also with a
// character dropped, doubled, and a space, tab, no-break space or NUL inserted.
{
  const samples = new Set(['', ' ', 'a', 'a b', 'a  b', ' a', 'a ', '\t', 'x\u00a0y', '\u00e9', '\u{1F600}',
    '2020', '2020-02-30', '2020-13', '2020-01-01T10:00:00Z', '2020-01-01T10:00:00.1+14:00', '2020-01-01T24:00:00Z',
    '0000', '10:00', '23:59:60', '1.5e3', 'urn:oid:1.2.3', 'urn:oid:1.02', 'urn:uuid:a5afddf4-e880-459b-876e-e4591b0acc11',
    'QUJD', 'QUJ', ' QUJD ', 'QU JD', 'x'.repeat(64), 'x'.repeat(65)]);
  const walkStrings = (v) => {
    if (typeof v === 'string') { if (v.length <= 64) samples.add(v); }
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walkStrings(x);
  };
  for (const f of readdirSync(exDir).sort().filter((n) => n.endsWith('.json') && !n.startsWith('StructureDefinition-') && n !== 'package.json'))
    walkStrings(load(exDir + '/' + f));
  const cases = new Set();
  for (const v of samples) {
    cases.add(v);
    // the variants only of short strings: long ones are prose, one regex shape
    if (v.length <= 64) [v.slice(1), v + v.slice(-1), ' ' + v, v + '\t', v.slice(0, 1) + '\u00a0' + v.slice(1)].forEach((x) => cases.add(x));
  }
  const checks = regexes.map(([name, orig, dfa]) => [name, toJsRegex(orig), dfa]);
  for (const v of cases) {
    if (v.includes('\0')) continue;
    const bytes = Buffer.from(v, 'utf8');
    for (const [name, js, dfa] of checks)
      if (js.test(v) !== dfaMatch(dfa, bytes)) throw new Error(`DFA of ${name} disagrees with RegExp on ${JSON.stringify(v)}`);
  }
  process.stderr.write(`DFAs checked against RegExp on ${cases.size} strings each\n`);
}

// Bytes that every DFA treats alike share one class: tables of states x classes.
const sig = new Map();
const byteClass = new Array(256);
for (let b = 0; b < 256; b++) {
  const key = regexes.map(([, , d]) => d.trans.map((row) => row[b]).join(',')).join(';');
  if (!sig.has(key)) sig.set(key, sig.size);
  byteClass[b] = sig.get(key);
}
const nClasses = sig.size;

// --- output ------------------------------------------------------------------------------
const cstr = (s) => '"' + s.replace(/[\\"]/g, (m) => '\\' + m).replace(/[^\x20-\x7e]/g, (m) =>
  [...Buffer.from(m, 'utf8')].map((b) => '\\' + b.toString(8).padStart(3, '0')).join('')) + '"';
const hdr = `/*
 * Generated by src/fhir/gen_defs.mjs from the FHIR R4 definitions (npm
 * hl7.fhir.r4.examples ${exPkg.version}, hl7.fhir.r4.expansions ${vsPkg.version}, CC0-1.0). Do not edit.
 * Tables used by the validator (validate.c).
 */
#ifndef PHR_FHIR_DEFS_TABLE_H
#define PHR_FHIR_DEFS_TABLE_H

#include <stddef.h>
#include <stdint.h>

enum phr_fhir_def_kind { PHR_FHIR_DEF_PRIMITIVE, PHR_FHIR_DEF_COMPLEX, PHR_FHIR_DEF_RESOURCE };
/** JSON representation of a primitive type. */
enum phr_fhir_def_json { PHR_FHIR_DEF_STRING, PHR_FHIR_DEF_BOOL, PHR_FHIR_DEF_INT, PHR_FHIR_DEF_NUMBER };
enum {
	PHR_FHIR_DEF_CHOICE = 1,   /**< name[x]: member names are name + TypeName */
	PHR_FHIR_DEF_ARRAY = 2,    /**< max > 1: a JSON array */
	PHR_FHIR_DEF_BACKBONE = 4, /**< inline children (or a contentReference), no types */
};
#define PHR_FHIR_DEF_MAX_MANY 0xffff
#define PHR_FHIR_DEF_N_CLASSES ${nClasses} /**< byte classes of the regex DFAs */

/** A data type or resource type (sorted by name). */
struct phr_fhir_def_type {
	const char *name;
	uint8_t kind;       /**< enum phr_fhir_def_kind */
	uint8_t json;       /**< enum phr_fhir_def_json (primitives) */
	uint8_t abstract;   /**< Resource, DomainResource, Element, BackboneElement... */
	int8_t regex;       /**< index in phr_fhir_def_dfa (the type's regex) or -1 */
	uint8_t coded;      /**< a data type with "system" and "code": terminology applies */
	uint32_t children;  /**< first child in phr_fhir_def_nodes */
	uint32_t n_children;
};

/** One element definition (a member of a JSON object). */
struct phr_fhir_def_node {
	const char *name;   /**< last path segment, without [x] */
	uint32_t children, n_children; /**< BACKBONE: its elements */
	uint32_t types;     /**< first type in phr_fhir_def_typerefs */
	uint16_t n_types;
	uint16_t min, max;  /**< max PHR_FHIR_DEF_MAX_MANY for "*" */
	uint8_t flags;
	int16_t vs;         /**< required binding: index in phr_fhir_def_vs, or -1 */
};

struct phr_fhir_def_code {
	const char *system;
	const char *code;
};

/** A value set of a required binding; its codes sorted by code then system. */
struct phr_fhir_def_vs {
	const char *url;
	uint32_t codes, n_codes;
};

extern const struct phr_fhir_def_type phr_fhir_def_types[];
extern const size_t phr_fhir_def_types_len;
extern const struct phr_fhir_def_node phr_fhir_def_nodes[];
extern const uint16_t phr_fhir_def_typerefs[];
extern const struct phr_fhir_def_vs phr_fhir_def_vs[];
extern const struct phr_fhir_def_code phr_fhir_def_codes[];
/**
 * The regex of a primitive type as a DFA over the bytes of the UTF-8 string:
 * state 0 first; next state trans[state * PHR_FHIR_DEF_N_CLASSES +
 * phr_fhir_def_byteclass[byte]], -1 rejects; the string matches when the
 * state after its last byte is accepting.
 */
struct phr_fhir_def_dfa {
	const char *regex;      /**< the specification's regex */
	const int16_t *trans;
	const uint8_t *accept;  /**< one per state */
};
extern const struct phr_fhir_def_dfa phr_fhir_def_dfa[];
extern const size_t phr_fhir_def_dfa_len;
extern const uint8_t phr_fhir_def_byteclass[256];

#endif
`;

let c = `/*
 * Generated by src/fhir/gen_defs.mjs from the FHIR R4 definitions: the
 * StructureDefinition snapshots of ${base.length} resource and data types (npm
 * hl7.fhir.r4.examples ${exPkg.version}) and the expansions of the value sets of required
 * bindings (npm hl7.fhir.r4.expansions ${vsPkg.version}), both CC0-1.0. Do not edit.
 *
 * Required bindings not checked (no usable expansion offline):
${[...vsSkipped].sort().map(([u, w]) => ` *   ${u}: ${w}`).join('\n')}
 */
#include "defs_table.h"

`;
c += 'const uint8_t phr_fhir_def_byteclass[256] = {\n';
for (let b = 0; b < 256; b += 16) c += '\t' + byteClass.slice(b, b + 16).join(', ') + ',\n';
c += '};\n\n';
regexes.forEach(([name, , dfa], k) => {
  if (dfa.trans.length > 32767) throw new Error('DFA too large: ' + name);
  c += `/* ${name}: ${dfa.trans.length} states */\nstatic const int16_t dfa${k}_trans[] = {\n`;
  for (const row of dfa.trans) {
    const byCls = new Array(nClasses);
    for (let b = 0; b < 256; b++) byCls[byteClass[b]] = row[b];
    c += '\t' + byCls.join(', ') + ',\n';
  }
  c += `};\nstatic const uint8_t dfa${k}_accept[] = { ${dfa.accept.map(Number).join(', ')} };\n\n`;
});
c += 'const struct phr_fhir_def_dfa phr_fhir_def_dfa[] = {\n';
regexes.forEach(([, orig], k) => { c += `\t{ ${cstr(orig)}, dfa${k}_trans, dfa${k}_accept },\n`; });
c += `};\nconst size_t phr_fhir_def_dfa_len = ${regexes.length};\n\n`;

for (const n of nodes) { n.typeStart = typeRefs.length; typeRefs.push(...n.types); }
c += 'const struct phr_fhir_def_type phr_fhir_def_types[] = {\n';
for (const t of types)
  c += `\t{ ${cstr(t.name)}, PHR_FHIR_DEF_${t.kind}, PHR_FHIR_DEF_${t.json || 'STRING'}, ${t.abstract ? 1 : 0}, ${t.regex ?? -1}, ${t.coded}, ${t.children[0]}, ${t.children[1]} },\n`;
c += `};\nconst size_t phr_fhir_def_types_len = ${types.length};\n\n`;
c += 'const struct phr_fhir_def_node phr_fhir_def_nodes[] = {\n';
for (const n of nodes) {
  const ch = n.children || [0, 0];
  const fl = n.flags.length ? n.flags.map((f) => 'PHR_FHIR_DEF_' + f).join(' | ') : '0';
  c += `\t{ ${cstr(n.name)}, ${ch[0]}, ${ch[1]}, ${n.typeStart}, ${n.types.length}, ${n.min}, ${n.max}, ${fl}, ${n.vs} },\n`;
}
c += '};\n\n';
c += 'const uint16_t phr_fhir_def_typerefs[] = {\n';
for (let i = 0; i < typeRefs.length; i += 16) c += '\t' + typeRefs.slice(i, i + 16).join(', ') + ',\n';
c += '};\n\n';
const codes = [];
c += 'const struct phr_fhir_def_vs phr_fhir_def_vs[] = {\n';
for (const vs of valueSets) { c += `\t{ ${cstr(vs.url)}, ${codes.length}, ${vs.codes.length} },\n`; codes.push(...vs.codes); }
c += '};\n\n';
c += 'const struct phr_fhir_def_code phr_fhir_def_codes[] = {\n';
for (const [s, k] of codes) c += `\t{ ${cstr(s)}, ${cstr(k)} },\n`;
c += '};\n';

writeFileSync(here + 'defs_table.h', hdr);
writeFileSync(here + 'defs_table.c', c);
process.stderr.write(`${types.length} types (${base.filter((s) => s.kind === 'resource' && !s.abstract).length} resource types), ` +
  `${nodes.length} elements, ${regexes.length} regex DFAs (${regexes.map(([, , d]) => d.trans.length).join('+')} states, ${nClasses} byte classes), ${valueSets.length} value sets (${codes.length} codes), ` +
  `${vsSkipped.size} required value sets without expansion\n`);

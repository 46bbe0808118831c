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

// Translates a regex of the specification to POSIX ERE. The spec's regexes follow XML
// Schema, where \s is only space, tab, CR and LF (not JavaScript's Unicode spaces, not
// POSIX [:space:] with VT and FF); '.' in ERE without REG_NEWLINE matches any character.
const XML_WS = ' \t\n\r';
const toEre = (re) => {
  let out = '';
  for (let i = 0; i < re.length; i++) {
    const c = re[i];
    if (c === '[') {
      let j = i + 1, neg = false;
      const items = [];
      if (re[j] === '^') { neg = true; j++; }
      let hasS = false, hasNotS = false;
      while (re[j] !== ']') {
        if (re[j] === '\\') {
          const e = re[j + 1];
          if (e === 's') hasS = true;
          else if (e === 'S') hasNotS = true;
          else if (e === 'r') items.push('\r');
          else if (e === 'n') items.push('\n');
          else if (e === 't') items.push('\t');
          else items.push(e);
          j += 2;
        } else items.push(re[j++]);
      }
      i = j;
      if (hasNotS) {
        // [ \r\n\t\S]: \S plus every white space character: any character
        if (neg || hasS || [...XML_WS].some((w) => !items.includes(w))) throw new Error('unsupported class in ' + re);
        out += '.';
        continue;
      }
      // a literal '-' goes last in a POSIX bracket; ']' never occurs in these regexes
      const dash = items.some((x, k) => x === '-' && (k === 0 || k === items.length - 1 ||
        !/[A-Za-z0-9]/.test(items[k - 1]) || !/[A-Za-z0-9]/.test(items[k + 1])));
      const lit = items.filter((x, k) => !(x === '-' && (k === 0 || k === items.length - 1 ||
        !/[A-Za-z0-9]/.test(items[k - 1]) || !/[A-Za-z0-9]/.test(items[k + 1])))).join('');
      out += '[' + (neg ? '^' : '') + (hasS ? XML_WS : '') + lit + (dash ? '-' : '') + ']';
    } else if (c === '\\') {
      const e = re[++i];
      if (e === 's') out += '[' + XML_WS + ']';
      else if (e === 'S') out += '[^' + XML_WS + ']';
      else if (e === '-') out += '-';
      else if ('.+*?()|{}^$'.includes(e)) out += '[' + e + ']';
      else throw new Error('unsupported escape \\' + e + ' in ' + re);
    } else out += c;
  }
  return out;
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
    if (r && t.json === 'STRING') { regexes.push([sd.id, r.valueString, toEre(r.valueString)]); t.regex = regexes.length - 1; }
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

/** A data type or resource type (sorted by name). */
struct phr_fhir_def_type {
	const char *name;
	uint8_t kind;       /**< enum phr_fhir_def_kind */
	uint8_t json;       /**< enum phr_fhir_def_json (primitives) */
	uint8_t abstract;   /**< Resource, DomainResource, Element, BackboneElement... */
	int8_t regex;       /**< index in phr_fhir_def_regex or -1 */
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
/** POSIX extended regexes of the primitive types (translated from the spec's). */
extern const char *const phr_fhir_def_regex[];
extern const size_t phr_fhir_def_regex_len;

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
c += 'const char *const phr_fhir_def_regex[] = {\n';
for (const [name, orig, ere] of regexes) c += `\t/* ${name}: ${orig.replace(/\*\//g, '*\\/')} */\n\t${cstr(ere)},\n`;
c += `};\nconst size_t phr_fhir_def_regex_len = ${regexes.length};\n\n`;

for (const n of nodes) { n.typeStart = typeRefs.length; typeRefs.push(...n.types); }
c += 'const struct phr_fhir_def_type phr_fhir_def_types[] = {\n';
for (const t of types)
  c += `\t{ ${cstr(t.name)}, PHR_FHIR_DEF_${t.kind}, PHR_FHIR_DEF_${t.json || 'STRING'}, ${t.abstract ? 1 : 0}, ${t.regex ?? -1}, ${t.children[0]}, ${t.children[1]} },\n`;
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
  `${nodes.length} elements, ${regexes.length} regexes, ${valueSets.length} value sets (${codes.length} codes), ` +
  `${vsSkipped.size} required value sets without expansion\n`);

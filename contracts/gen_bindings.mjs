#!/usr/bin/env node
// Generate typed C bindings from contracts/artifacts/*.json:
//   include/phr/contracts.h        declarations, selector and topic constants
//   src/contracts/contracts_gen.c  implementations: calls with static arguments (or one bytes
//                                  tail) and static results encoded/decoded word by word with
//                                  a constant selector; the others over the eth module's codec
//   tests/contracts/bindings_direct_gen.h  test wrappers of the direct ones
// For each function: phr_contracts_<contract>_<fn>_encode(out, args...) appends calldata;
// for each function with outputs: ..._decode(outs..., data, n) decodes its return data.
// For each event: struct phr_contracts_<contract>_<event>_event and ..._event_decode(ev, topics,
// n_topics, data, n) (+ _event_release when it holds buffers). Custom errors: phr_contracts_error_name().
//   node contracts/gen_bindings.mjs           write the two files
//   node contracts/gen_bindings.mjs --check   exit 1 if they are not up to date
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const { ethers } = createRequire(path.join(root, 'package.json'))('ethers');
const NAMES = ['GovernanceMultisig', 'ProviderRegistry', 'PatientRegistry', 'AuditTrail', 'HealthRecordNFT', 'EmergencyAccess', 'Recovery', 'StudyRegistry'];

const C_KEYWORDS = new Set(['auto', 'break', 'case', 'char', 'const', 'continue', 'default', 'do', 'double', 'else', 'enum', 'extern', 'float', 'for', 'goto', 'if', 'inline', 'int', 'long', 'register', 'restrict', 'return', 'short', 'signed', 'sizeof', 'static', 'struct', 'switch', 'typedef', 'union', 'unsigned', 'void', 'volatile', 'while', 'bool', 'true', 'false', 'out', 'ev', 'abi_data', 'abi_len', 'topics', 'n_topics']);

const snake = (s) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2').toLowerCase();
const ident = (name, fallback) => {
  let n = snake((name || fallback).replace(/_+$/, '').replace(/^_+/, '')) || fallback;
  if (C_KEYWORDS.has(n)) n += '_';
  return n;
};

/** ABI param -> canonical type string (tuples expanded). */
function typeString(p) {
  if (p.type.startsWith('tuple')) return `(${p.components.map(typeString).join(',')})${p.type.slice(5)}`;
  return p.type;
}

function uintBits(t) {
  const m = t.match(/^uint(\d*)$/);
  return m ? Number(m[1] || 256) : null;
}

/** C parameter declaration for an input. */
function inDecl(p, name) {
  const t = p.type;
  const b = uintBits(t);
  if (t === 'address') return [`const uint8_t ${name}[20]`, `phr_contracts_rt_json_address(a, ${name})`];
  if (t === 'bool') return [`bool ${name}`, `phr_contracts_rt_json_bool(a, ${name})`];
  if (b !== null && b <= 64) return [`uint64_t ${name}`, `phr_contracts_rt_json_u64(a, ${name})`];
  if (b !== null) return [`const struct phr_u256 *${name}`, `phr_contracts_rt_json_u256(a, ${name})`];
  let m = t.match(/^bytes(\d+)$/);
  if (m) return [`const uint8_t ${name}[${m[1]}]`, `phr_contracts_rt_json_hex(a, ${name}, ${m[1]})`];
  if (t === 'bytes') return [`const uint8_t *${name}, size_t ${name}_len`, `phr_contracts_rt_json_hex(a, ${name}, ${name}_len)`];
  if (t === 'string') return [`const char *${name}`, `phr_contracts_rt_json_string(a, ${name})`];
  if (t === 'address[]') return [`const uint8_t (*${name})[20], size_t ${name}_count`, `phr_contracts_rt_json_address_array(a, ${name}, ${name}_count)`];
  throw new Error(`unsupported input type ${t}`);
}

/**
 * Flatten an output/event param into leaves: {name, type, path} where path indexes the
 * decoded value tree (e.g. [0, 3] = items[0].items[3]).
 */
function leaves(params, prefix, path0) {
  const out = [];
  params.forEach((p, i) => {
    const name = ident(prefix ? `${prefix}_${snake(p.name || `f${i}`)}` : p.name, `ret${i}`);
    const pth = [...path0, i];
    if (p.type === 'tuple') out.push(...leaves(p.components, name, pth));
    else out.push({ name, type: p.type, path: pth });
  });
  return out;
}

/** Declaration of an output pointer parameter and the copy statement. */
function outDecl(l, valueExpr) {
  const t = l.type;
  const b = uintBits(t);
  const n = l.name;
  if (t === 'address') return [`uint8_t ${n}[20]`, `phr_contracts_rt_get_fixed(${n}, 20, ${valueExpr})`];
  if (t === 'bool') return [`bool *${n}`, `phr_contracts_rt_get_bool(${n}, ${valueExpr})`];
  if (b !== null && b <= 64) return [`uint64_t *${n}`, `phr_contracts_rt_get_u64(${n}, ${valueExpr})`];
  if (b !== null) return [`struct phr_u256 *${n}`, `phr_contracts_rt_get_u256(${n}, ${valueExpr})`];
  const m = t.match(/^bytes(\d+)$/);
  if (m) return [`uint8_t ${n}[${m[1]}]`, `phr_contracts_rt_get_fixed(${n}, ${m[1]}, ${valueExpr})`];
  if (t === 'bytes' || t === 'string') return [`struct phr_buf *${n}`, `phr_contracts_rt_get_buf(${n}, ${valueExpr})`];
  if (t === 'address[]') return [`struct phr_buf *${n}`, `phr_contracts_rt_get_address_array(${n}, ${valueExpr})`];
  throw new Error(`unsupported output type ${t}`);
}

/** Struct field declaration for an event param. */
function fieldDecl(l) {
  const t = l.type;
  const b = uintBits(t);
  if (t === 'address') return `uint8_t ${l.name}[20];`;
  if (t === 'bool') return `bool ${l.name};`;
  if (b !== null && b <= 64) return `uint64_t ${l.name};`;
  if (b !== null) return `struct phr_u256 ${l.name};`;
  const m = t.match(/^bytes(\d+)$/);
  if (m) return `uint8_t ${l.name}[${m[1]}];`;
  if (t === 'bytes' || t === 'string' || t === 'address[]') return `struct phr_buf ${l.name};`;
  throw new Error(`unsupported event type ${t}`);
}

const isBuf = (t) => t === 'bytes' || t === 'string' || t === 'address[]';
const isStaticScalar = (t) => t === 'address' || t === 'bool' || uintBits(t) !== null || /^bytes\d+$/.test(t);

/*
 * Direct encoder: every input a static scalar, or at most one `bytes` or `string` (its tail
 * after the heads; a string must be UTF-8, as jansson required of the JSON path). The selector is a constant, each argument is range-checked in order exactly as the
 * JSON path of phr_abi_encode_call would refuse it, then the words are written in place:
 * no json_t, no type parse, no keccak at run time. Returns null when the function keeps the
 * generic path (address[], more than one bytes/string).
 */
function directEncode(fnDecl, selector, ins) {
  const isTail = (t) => t === 'bytes' || t === 'string';
  if (!ins.every(([p]) => isStaticScalar(p.type) || isTail(p.type))) return null;
  const dyn = ins.filter(([p]) => isTail(p.type));
  if (dyn.length > 1) return null;
  const checks = [];
  const puts = [];
  ins.forEach(([p, n], i) => {
    const t = p.type;
    const b = uintBits(t);
    const w = `w + ${4 + 32 * i}`;
    if (t === 'address') {
      checks.push(`!${n}`);
      puts.push(`phr_contracts_rt_put_address(${w}, ${n});`);
    } else if (t === 'bool') {
      puts.push(`phr_contracts_rt_put_bool(${w}, ${n});`);
    } else if (b !== null && b <= 64) {
      if (b < 64) checks.push(`(${n} >> ${b}) != 0`);
      puts.push(`phr_contracts_rt_put_u64(${w}, ${n});`);
    } else if (b !== null) {
      checks.push(b < 256 ? `!${n} || phr_u256_bits(${n}) > ${b}` : `!${n}`);
      puts.push(`phr_u256_to_be(${w}, ${n});`);
    } else if (t === 'bytes') {
      checks.push(`!${n} && ${n}_len`);
      checks.push([`${n}_len > PHR_CONTRACTS_RT_BYTES_MAX`, 'PHR_ERR_TOO_LARGE']);
      puts.push(`phr_contracts_rt_put_u64(${w}, ${32 * ins.length});`);
    } else if (t === 'string') {
      /* NULL or not UTF-8 (jansson's json_string refused it): PHR_ERR_INVALID */
      checks.push(`!${n} || !phr_contracts_rt_utf8(${n}, &tail_len_)`);
      puts.push(`phr_contracts_rt_put_u64(${w}, ${32 * ins.length});`);
    } else {
      const m = t.match(/^bytes(\d+)$/);
      checks.push(`!${n}`);
      puts.push(`memcpy(${w}, ${n}, ${m[1]});`);
    }
  });
  const head = 4 + 32 * ins.length;
  const L = [`${fnDecl}`, '{', `\tuint8_t w[${head}];`];
  const str = dyn.length && dyn[0][0].type === 'string';
  if (str) L.push('\tsize_t tail_len_;');
  if (dyn.length) L.push('\tint err;');
  L.push('');
  for (const c of checks) {
    const [cond, err] = Array.isArray(c) ? c : [c, 'PHR_ERR_INVALID'];
    L.push(`\tif (${cond})`, `\t\treturn ${err};`);
  }
  L.push('\tmemset(w, 0, sizeof(w));', `\tphr_contracts_rt_put_selector(w, ${selector});`);
  for (const s of puts) L.push(`\t${s}`);
  if (!dyn.length) {
    L.push('\treturn phr_buf_append(out, w, sizeof(w));', '}', '');
    return L.join('\n');
  }
  const n = dyn[0][1];
  const len = str ? 'tail_len_' : `${n}_len`;
  const data = str ? `(const uint8_t *)${n}` : n;
  L.push(`\terr = phr_buf_reserve(out, sizeof(w) + phr_contracts_rt_tail_len(${len}));`,
    '\tif (!err)', '\t\terr = phr_buf_append(out, w, sizeof(w));',
    '\tif (!err)', `\t\terr = phr_contracts_rt_put_tail(out, ${data}, ${len});`, '\treturn err;', '}', '');
  return L.join('\n');
}

/* Local declaration, word check and output copy of static result leaf @p l read from word @p w. */
function staticLeaf(l, v, w) {
  const t = l.type;
  const b = uintBits(t);
  if (t === 'address') return { d: `uint8_t ${v}[20];`, get: `phr_contracts_rt_topic_address(${v}, ${w})`, copy: `memcpy(${l.name}, ${v}, 20);` };
  if (t === 'bool') return { d: `bool ${v};`, get: `phr_contracts_rt_topic_bool(&${v}, ${w})`, copy: `*${l.name} = ${v};` };
  if (b !== null && b <= 64) return { d: `uint64_t ${v};`, get: `phr_contracts_rt_topic_u64(&${v}, ${b}, ${w})`, copy: `*${l.name} = ${v};` };
  if (b !== null) return { d: `struct phr_u256 ${v};`, get: `phr_contracts_rt_word_uint(&${v}, ${b}, ${w})`, copy: `*${l.name} = ${v};` };
  const m = t.match(/^bytes(\d+)$/);
  return { d: `uint8_t ${v}[${m[1]}];`, get: `phr_contracts_rt_topic_fixed(${v}, ${m[1]}, ${w})`, copy: `memcpy(${l.name}, ${v}, ${m[1]});` };
}

/*
 * Direct decoder: every output leaf a static scalar (tuples flattened), so leaf k is word k.
 * Words are checked in order as phr_abi_decode checks them (a short input is TRUNCATED at the
 * first missing word, an earlier bad word NONCANONICAL first) into locals, and the outputs
 * are written only once all passed (untouched on error).
 */
function directDecode(fnDecl, ls) {
  if (!ls.every((l) => isStaticScalar(l.type))) return null;
  const decl = [];
  const steps = [];
  const copies = [];
  ls.forEach((l, k) => {
    const { d, get, copy } = staticLeaf(l, `x${k}_`, k ? `abi_data + ${32 * k}` : 'abi_data');
    decl.push(d);
    copies.push(copy);
    steps.push(`abi_len < ${32 * (k + 1)} ? PHR_ERR_TRUNCATED : ${get}`);
  });
  const L = [fnDecl, '{', ...decl.map((d) => `\t${d}`), '\tint err;', '',
    '\tif (!abi_data && abi_len)', '\t\treturn PHR_ERR_INVALID;', `\terr = ${steps[0]};`];
  for (const s of steps.slice(1)) L.push('\tif (!err)', `\t\terr = ${s};`);
  L.push('\tif (err)', '\t\treturn err;', ...copies.map((c) => `\t${c}`), '\treturn PHR_OK;', '}', '');
  return L.join('\n');
}

/*
 * Direct decoder of a result with string/bytes leaves (e.g. recordOf): outputs that are static
 * scalars, string/bytes, or tuples of those (one level), walked in phr_abi_decode's order with
 * its checks (offsets and lengths by phr_contracts_rt_offset/_bytes, static words by their word
 * helpers); the outputs are written only once everything passed, struct phr_buf ones appended
 * last in output order as the generic copy does. Null when the shape is not covered or could
 * reach phr_abi_decode's value budget (more than 33 values).
 */
function directDecodeDyn(fnDecl, outputs, ls) {
  const isDynLeaf = (t) => t === 'string' || t === 'bytes';
  const okLeaf = (p) => isStaticScalar(p.type) || isDynLeaf(p.type);
  let values = outputs.length;
  for (const p of outputs) {
    if (p.type === 'tuple') {
      if (!p.components.every(okLeaf)) return null;
      values += p.components.length;
    } else if (!okLeaf(p)) return null;
  }
  if (values > 33 || !ls.some((l) => isDynLeaf(l.type))) return null;
  const isDyn = (p) => isDynLeaf(p.type) || (p.type === 'tuple' && p.components.some((c) => isDynLeaf(c.type)));
  const headSize = (p) => (isDyn(p) ? 32 : p.type === 'tuple' ? 32 * p.components.length : 32);
  const decl = ['int err;'];
  const steps = [];
  const copies = [];
  let k = 0;
  let nt = 0;
  const leaf = (t, base, off) => {
    const l = ls[k];
    const v = `x${k}_`;
    k++;
    const at = base === '0' ? `${off}` : off ? `${base} + ${off}` : base;
    if (isDynLeaf(t)) {
      decl.push(`const uint8_t *${v}p;`, `size_t ${v}at, ${v}n;`);
      steps.push(`phr_contracts_rt_offset(&${v}at, abi_data, abi_len, ${at}, ${base})`);
      steps.push(`phr_contracts_rt_bytes(&${v}p, &${v}n, abi_data, abi_len, ${v}at)`);
      copies.push([`err = phr_contracts_rt_put_buf(${l.name}, ${v}p, ${v}n);`, true]);
      return;
    }
    const { d, get, copy } = staticLeaf(l, v, `abi_data + ${at}`);
    decl.push(d);
    steps.push(`phr_contracts_rt_need(abi_len, ${at})`, get);
    copies.push([copy, false]);
  };
  let hp = 0;
  for (const p of outputs) {
    if (p.type === 'tuple') {
      let base = '0';
      let off = hp;
      if (isDyn(p)) {
        base = `t${nt}_`;
        nt++;
        decl.push(`size_t ${base};`);
        steps.push(`phr_contracts_rt_offset(&${base}, abi_data, abi_len, ${hp}, 0)`);
        off = 0;
      }
      let h = 0;
      for (const c of p.components) {
        leaf(c.type, base, off + h);
        h += 32;
      }
    } else {
      leaf(p.type, '0', hp);
    }
    hp += headSize(p);
  }
  const L = [fnDecl, '{', ...decl.map((d) => `\t${d}`), '',
    '\tif (!abi_data && abi_len)', '\t\treturn PHR_ERR_INVALID;', `\terr = ${steps[0]};`];
  for (const st of steps.slice(1)) L.push('\tif (!err)', `\t\terr = ${st};`);
  L.push('\tif (err)', '\t\treturn err;');
  let bufBefore = false;
  for (const [c, isBufCopy] of copies) {
    if (bufBefore) L.push('\tif (!err)', `\t\t${c}`);
    else L.push(`\t${c}`);
    bufBefore = bufBefore || isBufCopy;
  }
  L.push('\treturn err;', '}', '');
  return L.join('\n');
}
const valuePath = (root, pth) => `${root}${pth.map((i, k) => (k === 0 ? `->items[${i}]` : `.items[${i}]`)).join('')}`;
const addr = (e) => (e.startsWith('ev->') || e.startsWith('tmp.') ? e : e);
const hexBytes = (hex) => hex.replace(/^0x/, '').match(/../g).map((b) => `0x${b}`).join(', ');

function natspec(fn) {
  return `${fn.stateMutability === 'view' || fn.stateMutability === 'pure' ? 'view' : 'transaction'}`;
}

/* Test wrappers (tests/contracts/bindings_direct_gen.h): argument i / output k from the
 * generic struct targ / struct tout of test_contracts_direct.c. */
function testArg(t, i) {
  const b = uintBits(t);
  if (t === 'address' || /^bytes\d+$/.test(t)) return `a[${i}].null_ptr ? NULL : a[${i}].b`;
  if (t === 'bool') return `a[${i}].u != 0`;
  if (b !== null && b <= 64) return `a[${i}].u`;
  if (b !== null) return `a[${i}].null_ptr ? NULL : &a[${i}].x`;
  if (t === 'bytes') return `a[${i}].p, a[${i}].len`;
  if (t === 'string') return `a[${i}].null_ptr ? NULL : (const char *)a[${i}].p`;
  throw new Error(`test arg ${t}`);
}

function testOut(t, k) {
  const b = uintBits(t);
  if (t === 'address' || /^bytes\d+$/.test(t)) return `r[${k}].b`;
  if (t === 'bool') return `&r[${k}].o`;
  if (b !== null && b <= 64) return `&r[${k}].u`;
  if (t === 'string' || t === 'bytes') return `&r[${k}].buf`;
  return `&r[${k}].x`;
}

function generate() {
  const H = [];
  const C = [];
  const T = [];
  const TT = [];
  const errors = new Map();
  H.push(`/**
 * @file contracts.h
 * @brief Typed bindings of the phr contracts (module \`contracts\`), generated by
 *        contracts/gen_bindings.mjs from contracts/artifacts/<Name>.json. Do not edit.
 *
 * Functions: phr_contracts_<contract>_<function>_encode(out, args...) appends the calldata
 * (selector + ABI encoding) to @p out; returns PHR_OK, PHR_ERR_INVALID (an argument out of
 * range for its Solidity type, e.g. a uint8 over 255, or a NULL string), PHR_ERR_NOMEM,
 * PHR_ERR_TOO_LARGE. On error @p out may hold a partial append (phr_buf frees itself on a
 * failed append). Overloaded functions carry their argument count as a suffix.
 *
 * Results: ..._decode(outputs..., abi_data, abi_len) decodes the return data of a call
 * strictly (see phr/abi.h): returns PHR_OK, PHR_ERR_TRUNCATED, PHR_ERR_NONCANONICAL,
 * PHR_ERR_TOO_LARGE, PHR_ERR_NOMEM. Scalar outputs are untouched on error; struct phr_buf
 * outputs are appended to (address[] as concatenated 20-byte addresses). Tuple results are
 * flattened into <name>_<member> outputs.
 *
 * Events: struct phr_contracts_<contract>_<event>_event and ..._event_decode(ev, topics, n_topics,
 * abi_data, abi_len): checks topic 0 and the topic count (PHR_ERR_INVALID otherwise), reads
 * indexed fields from the topics and the others from the data. Events with buffer fields
 * have ..._event_release(ev), to be called after a successful decode; on error nothing is left to
 * release and @p ev is untouched.
 *
 * Integers of up to 64 bits are uint64_t; wider ones struct phr_u256. Enums are uint8 in
 * the ABI (values in contracts/src/PhrTypes.sol). Thread safety: no shared state.
 */
#ifndef PHR_CONTRACTS_H
#define PHR_CONTRACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/core.h"
#include "phr/u256.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The name of the phr custom error whose selector starts @p abi_data (revert data of a
 * failed call), e.g. "NotPatientOwner".
 * @return a static string, or NULL when @p abi_len < 4 or the selector is not a phr error.
 */
const char *phr_contracts_error_name(const uint8_t *abi_data, size_t abi_len);
`);
  C.push(`/* Generated by contracts/gen_bindings.mjs from contracts/artifacts/<Name>.json. Do not edit. */
#include <string.h>

#include "phr/contracts.h"
#include "contracts_int.h"
`);

  for (const cname of NAMES) {
    const art = JSON.parse(fs.readFileSync(path.join(here, 'artifacts', `${cname}.json`), 'utf8'));
    const iface = new ethers.Interface(art.abi);
    const cs = snake(cname);
    const CS = cs.toUpperCase();
    H.push(`\n/* ---------------------------------------------------------------- ${cname} */\n`);
    // creation and runtime code, and the deployment (constructor) encoder
    const ctor = art.abi.find((f) => f.type === 'constructor') || { inputs: [] };
    const cins = ctor.inputs.map((p, i) => [p, ident(p.name, `arg${i}`)]);
    const cdecls = cins.map(([p, n]) => inDecl(p, n));
    const cparams = ['struct phr_buf *out', ...cdecls.map((d) => d[0])].join(', ');
    const ctype = `(${ctor.inputs.map(typeString).join(',')})`;
    H.push(`/** Creation code of ${cname} (without constructor arguments). */
extern const uint8_t phr_contracts_${cs}_bytecode[];
/** Length of phr_contracts_${cs}_bytecode. */
extern const size_t phr_contracts_${cs}_bytecode_len;
/** Runtime code of ${cname}, to compare with eth_getCode at a configured address. */
extern const uint8_t phr_contracts_${cs}_deployed_bytecode[];
/** Length of phr_contracts_${cs}_deployed_bytecode. */
extern const size_t phr_contracts_${cs}_deployed_bytecode_len;
/** Deployment data of ${cname}: creation code + ABI-encoded constructor ${ctype}; errors as for calls. */
PHR_WUR int phr_contracts_${cs}_deploy_encode(${cparams});`);
    const bytesArray = (hex) => {
      const b = hex.replace(/^0x/, '').match(/../g);
      const rows = [];
      for (let i = 0; i < b.length; i += 16) rows.push('\t' + b.slice(i, i + 16).map((x) => `0x${x}`).join(', ') + ',');
      return rows.join('\n');
    };
    C.push(`const uint8_t phr_contracts_${cs}_bytecode[] = {
${bytesArray(art.bytecode)}
};
const size_t phr_contracts_${cs}_bytecode_len = sizeof(phr_contracts_${cs}_bytecode);

const uint8_t phr_contracts_${cs}_deployed_bytecode[] = {
${bytesArray(art.deployedBytecode)}
};
const size_t phr_contracts_${cs}_deployed_bytecode_len = sizeof(phr_contracts_${cs}_deployed_bytecode);

int phr_contracts_${cs}_deploy_encode(${cparams})
{
	json_t *a = json_array();
	int err;

	if (!a)
		return PHR_ERR_NOMEM;
	err = phr_buf_append(out, phr_contracts_${cs}_bytecode, phr_contracts_${cs}_bytecode_len);
${cdecls.map((d) => `	if (!err)\n		err = ${d[1]};`).join('\n')}
	if (!err)
		err = phr_contracts_rt_encode_args(out, "${ctype}", a);
	json_decref(a);
	return err;
}
`);
    const fns = art.abi.filter((f) => f.type === 'function').sort((a, b) => (a.name + a.inputs.length).localeCompare(b.name + b.inputs.length));
    const counts = {};
    for (const f of fns) counts[f.name] = (counts[f.name] || 0) + 1;
    for (const f of fns) {
      const frag = iface.getFunction(`${f.name}(${f.inputs.map(typeString).join(',')})`);
      const sig = frag.format('sighash');
      const fnName = `${snake(f.name)}${counts[f.name] > 1 ? `_${f.inputs.length}` : ''}`;
      const base = `phr_contracts_${cs}_${fnName}`;
      const SEL = `PHR_CONTRACTS_${CS}_${fnName.toUpperCase()}_SELECTOR`;
      H.push(`/** Selector of ${cname}.${sig}. */\n#define ${SEL} 0x${frag.selector.slice(2)}u`);
      const ins = f.inputs.map((p, i) => [p, ident(p.name, `arg${i}`)]);
      const decls = ins.map(([p, n]) => inDecl(p, n));
      const params = ['struct phr_buf *out', ...decls.map((d) => d[0])].join(', ');
      H.push(`/** Calldata of ${cname}.${sig} (${natspec(f)}); see the file comment. */\nPHR_WUR int ${base}_encode(${params});`);
      const direct = directEncode(`int ${base}_encode(${params})`, `${SEL}`, ins);
      const tenc = direct ? `enc_${cs}_${fnName}` : 'NULL';
      if (direct) T.push(`static int ${tenc}(struct phr_buf *out, const struct targ *a)\n{\n\treturn ${base}_encode(${['out', ...ins.map(([p], i) => testArg(p.type, i))].join(', ')});\n}\n`);
      if (direct) C.push(direct);
      else C.push(`int ${base}_encode(${params})
{
	json_t *a = json_array();
	int err;

	if (!a)
		return PHR_ERR_NOMEM;
	err = PHR_OK;
${decls.map((d) => `	if (!err)\n		err = ${d[1]};`).join('\n')}
	if (!err)
		err = phr_abi_encode_call(out, "${sig}", a);
	json_decref(a);
	return err;
}
`);
      let tdec = 'NULL';
      let tout = '"()"';
      if (f.outputs.length) {
        const ls = leaves(f.outputs, '', []);
        const outs = ls.map((l) => outDecl(l, `&${valuePath('v', l.path)}`));
        const tstr = `(${f.outputs.map(typeString).join(',')})`;
        H.push(`/** Decodes the result ${tstr} of ${cname}.${f.name}; see the file comment. */\nPHR_WUR int ${base}_decode(${[...outs.map((o) => o[0]), 'const uint8_t *abi_data', 'size_t abi_len'].join(', ')});`);
        const ddecl = `int ${base}_decode(${[...outs.map((o) => o[0]), 'const uint8_t *abi_data', 'size_t abi_len'].join(', ')})`;
        const ddirect = directDecode(ddecl, ls) || directDecodeDyn(ddecl, f.outputs, ls);
        if (ddirect) {
          C.push(ddirect);
          tdec = `dec_${cs}_${fnName}`;
          tout = `"${tstr}"`;
          T.push(`static int ${tdec}(struct tout *r, const uint8_t *d, size_t n)\n{\n\treturn ${base}_decode(${[...ls.map((l, k) => testOut(l.type, k)), 'd', 'n'].join(', ')});\n}\n`);
        }
        else C.push(`${ddecl}
{
	struct phr_abi_type *t = NULL;
	struct phr_abi_value *v = NULL;
	int err = phr_contracts_rt_decode(&t, &v, "${tstr}", abi_data, abi_len);

	if (err)
		return err;
${outs.map((o) => `	if (!err)\n		err = ${o[1]};`).join('\n')}
	phr_abi_value_free(v);
	phr_abi_type_free(t);
	return err;
}
`);
      }
      if (direct || tdec !== 'NULL') TT.push(`\t{ "${cname}.${sig}", "${sig}", ${tout}, ${tenc}, ${tdec} },`);
    }
    // events
    const evs = art.abi.filter((e) => e.type === 'event').sort((a, b) => a.name.localeCompare(b.name));
    for (const e of evs) {
      const frag = iface.getEvent(`${e.name}(${e.inputs.map(typeString).join(',')})`);
      const sig = frag.format('sighash');
      const es = snake(e.name);
      const base = `phr_contracts_${cs}_${es}_event`;
      const sname = `struct ${base}`;
      const fields = e.inputs.map((p, i) => ({ name: ident(p.name, `f${i}`), type: p.type, indexed: p.indexed, idx: i }));
      const hasBuf = fields.some((f) => isBuf(f.type));
      H.push(`/** Topic 0 of ${cname} event ${sig}. */\nextern const uint8_t ${base}_topic[32];`);
      H.push(`/** ${cname} event ${sig}. */\n${sname} {\n${fields.map((f) => `\t${fieldDecl(f)}${f.indexed ? ' /**< indexed */' : ''}`).join('\n')}\n};`);
      H.push(`/** Decodes a ${e.name} log of ${cname}; see the file comment. */\nPHR_WUR int ${base}_decode(${sname} *ev, const uint8_t (*topics)[32], size_t n_topics, const uint8_t *abi_data, size_t abi_len);`);
      if (hasBuf) H.push(`/** Frees the buffers of a decoded ${e.name}. */\nvoid ${base}_release(${sname} *ev);`);
      C.push(`const uint8_t ${base}_topic[32] = { ${hexBytes(frag.topicHash)} };
`);
      const indexed = fields.filter((f) => f.indexed);
      const plain = fields.filter((f) => !f.indexed);
      const body = [];
      indexed.forEach((f, k) => {
        const t = `topics[${k + 1}]`;
        const b = uintBits(f.type);
        if (isBuf(f.type)) throw new Error(`indexed dynamic field ${e.name}.${f.name}`);
        if (f.type === 'address') body.push(`phr_contracts_rt_topic_address(tmp.${f.name}, ${t})`);
        else if (f.type === 'bool') body.push(`phr_contracts_rt_topic_bool(&tmp.${f.name}, ${t})`);
        else if (b !== null && b <= 64) body.push(`phr_contracts_rt_topic_u64(&tmp.${f.name}, ${b}, ${t})`);
        else if (b !== null) body.push(`phr_contracts_rt_topic_u256(&tmp.${f.name}, ${t})`);
        else if (/^bytes\d+$/.test(f.type)) body.push(`phr_contracts_rt_topic_fixed(tmp.${f.name}, ${f.type.slice(5)}, ${t})`);
        else throw new Error(`indexed type ${f.type}`);
      });
      const dstr = `(${plain.map((f) => typeString(e.inputs[f.idx])).join(',')})`;
      const dataCopies = plain.map((f, k) => {
        const l = { name: f.name, type: f.type };
        const ex = `&v->items[${k}]`;
        const b = uintBits(f.type);
        if (f.type === 'address') return `phr_contracts_rt_get_fixed(tmp.${f.name}, 20, ${ex})`;
        if (f.type === 'bool') return `phr_contracts_rt_get_bool(&tmp.${f.name}, ${ex})`;
        if (b !== null && b <= 64) return `phr_contracts_rt_get_u64(&tmp.${f.name}, ${ex})`;
        if (b !== null) return `phr_contracts_rt_get_u256(&tmp.${f.name}, ${ex})`;
        if (/^bytes\d+$/.test(f.type)) return `phr_contracts_rt_get_fixed(tmp.${f.name}, ${f.type.slice(5)}, ${ex})`;
        if (f.type === 'address[]') return `phr_contracts_rt_get_address_array(&tmp.${f.name}, ${ex})`;
        if (isBuf(f.type)) return `phr_contracts_rt_get_buf(&tmp.${f.name}, ${ex})`;
        throw new Error(`event type ${l.type}`);
      });
      const bufs = fields.filter((f) => isBuf(f.type));
      C.push(`int ${base}_decode(${sname} *ev, const uint8_t (*topics)[32], size_t n_topics, const uint8_t *abi_data, size_t abi_len)
{
	${sname} tmp;
	struct phr_abi_type *t = NULL;
	struct phr_abi_value *v = NULL;
	int err = phr_contracts_rt_event_check(topics, n_topics, ${base}_topic, ${indexed.length});

	if (err)
		return err;
	memset(&tmp, 0, sizeof(tmp));
${bufs.map((f) => `	phr_buf_init(&tmp.${f.name}, 0);`).join('\n')}
${body.map((s) => `	if (!err)\n		err = ${s};`).join('\n')}
	if (!err)
		err = phr_contracts_rt_decode(&t, &v, "${dstr}", abi_data, abi_len);
${dataCopies.map((s) => `	if (!err)\n		err = ${s};`).join('\n')}
	phr_abi_value_free(v);
	phr_abi_type_free(t);
	if (err) {
${bufs.map((f) => `		phr_buf_release(&tmp.${f.name});`).join('\n') || '		/* nothing to release */'}
		return err;
	}
	*ev = tmp;
	return PHR_OK;
}
`);
      if (hasBuf) {
        C.push(`void ${base}_release(${sname} *ev)
{
${bufs.map((f) => `	phr_buf_release(&ev->${f.name});`).join('\n')}
}
`);
      }
    }
    for (const e of art.abi.filter((x) => x.type === 'error')) {
      const frag = iface.getError(`${e.name}(${e.inputs.map(typeString).join(',')})`);
      errors.set(frag.selector, e.name);
    }
  }
  const errs = [...errors.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  C.push(`static const struct {
	uint8_t selector[4];
	const char *name;
} phr_contracts_errors[] = {
${errs.map(([s, n]) => `	{ { ${hexBytes(s)} }, "${n}" },`).join('\n')}
};

const char *phr_contracts_error_name(const uint8_t *abi_data, size_t abi_len)
{
	if (!abi_data || abi_len < 4)
		return NULL;
	for (size_t i = 0; i < PHR_ARRAY_LEN(phr_contracts_errors); i++)
		if (memcmp(phr_contracts_errors[i].selector, abi_data, 4) == 0)
			return phr_contracts_errors[i].name;
	return NULL;
}
`);
  H.push(`
#ifdef __cplusplus
}
#endif
#endif /* PHR_CONTRACTS_H */
`);
  const t = `/* Generated by contracts/gen_bindings.mjs. Do not edit. Included by test_contracts_direct.c:
 * a wrapper per directly encoded call and directly decoded result, and their table. */
${T.join('\n')}
static const struct direct_fn direct_fns[] = {
${TT.join('\n')}
};
`;
  return { h: H.join('\n') + '\n', c: C.join('\n'), t };
}

const { h, c, t } = generate();
const hp = path.join(root, 'include/phr/contracts.h');
const cp = path.join(root, 'src/contracts/contracts_gen.c');
const tp = path.join(root, 'tests/contracts/bindings_direct_gen.h');
if (process.argv.includes('--check')) {
  const same = [[hp, h], [cp, c], [tp, t]].every(([p, x]) => fs.existsSync(p) && fs.readFileSync(p, 'utf8') === x);
  if (!same) {
    console.error('C bindings are out of date: run node contracts/gen_bindings.mjs');
    process.exit(1);
  }
  console.log('C bindings up to date');
} else {
  fs.mkdirSync(path.dirname(cp), { recursive: true });
  fs.writeFileSync(hp, h);
  fs.writeFileSync(cp, c);
  fs.writeFileSync(tp, t);
  console.log(`wrote ${path.relative(root, hp)} (${h.length} bytes), ${path.relative(root, cp)} (${c.length} bytes)`);
}

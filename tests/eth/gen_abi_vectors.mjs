// Generates tests/vectors/abi/ethers_cases.json: ABI encodings made by ethers v6
// (an independent implementation) for a spread of static, dynamic and nested types.
// Usage: node tests/eth/gen_abi_vectors.mjs > tests/vectors/abi/ethers_cases.json
import { AbiCoder, id } from 'ethers';

const coder = AbiCoder.defaultAbiCoder();
const A1 = '0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826';
const A2 = '0x000000000000000000000000000000000000dEaD';
const cases = [
  ['(uint256)', ['98127491']],
  ['(uint8,int8,int256,uint32)', ['255', '-128', '-1', '4294967295']],
  ['(int256)', ['-57896044618658097711785492504343953926634992332820282019728792003956564819968']],
  ['(int24,int64)', ['-8388608', '9223372036854775807']],
  ['(address,bool,bool)', [A1, true, false]],
  ['(bytes1,bytes3,bytes32)', ['0xff', '0x616263', '0x' + '11'.repeat(32)]],
  ['(bytes)', ['0x']],
  ['(bytes,string)', ['0x' + 'ab'.repeat(33), 'Hello, world!']],
  ['(string)', ['héllo wörld ✓']],
  ['(uint256[])', [[]]],
  ['(uint256[],uint32[3])', [['1', '2', '3'], ['4', '5', '6']]],
  ['(bytes,bool,uint256[])', ['0x64617665', true, ['1', '2', '3']]],
  ['(uint256[][],string[])', [[['1', '2'], ['3']], ['one', 'two', 'three']]],
  ['(uint256,uint32[],bytes10,bytes)', ['291', ['1110', '1929'], '0x31323334353637383930', '0x48656c6c6f2c20776f726c6421']],
  ['((uint256,address),bool)', [['7', A2], true]],
  ['((uint256,string),(bytes,bool)[])', [['7', 'x'], [['0x01', true], ['0x', false]]]],
  ['(string[2],bytes32[2][])', [['a', 'bb'], [['0x' + '00'.repeat(32), '0x' + '01'.repeat(32)]]]],
  ['(address[],(string,uint8)[2])', [[A1, A2], [['p', '1'], ['q', '2']]]],
  ['()', []],
  ['(bytes[])', [['0x', '0x00', '0x' + 'ff'.repeat(64)]]],
  ['((uint256[],string)[],uint256)', [[[['1'], 'a'], [[], '']], '9']],
];
const out = [];
for (const [type, value] of cases) {
  const inner = type.slice(1, -1);
  const types = [];
  // split the top-level tuple members for ethers
  let depth = 0, cur = '';
  for (const ch of inner) {
    if (ch === ',' && depth === 0) { types.push(cur); cur = ''; continue; }
    if (ch === '(' || ch === '[') depth++;
    if (ch === ')' || ch === ']') depth--;
    cur += ch;
  }
  if (cur) types.push(cur);
  const toEthers = (v) => (Array.isArray(v) ? v.map(toEthers) : v);
  const enc = coder.encode(types, toEthers(value));
  out.push({ type, value, encoded: enc, selector: id('f' + type).slice(0, 10) });
}
console.log(JSON.stringify(out, null, 1));

// Prints the creation bytecode of the seal benchmark's contract (solc, cancun).
import solc from 'solc';
const src = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract MintLike {
    struct R { uint256 id; bytes32 h; uint256 at; address patient; uint96 kind; address provider; }
    mapping(uint256 => R) recs;
    mapping(address => uint256[]) byPatient;
    uint256 next;
    event Transfer(address indexed from, address indexed to, uint256 indexed id);
    event Locked(uint256 id);
    event Minted(uint256 indexed id, address indexed patient, address indexed provider, bytes32 h, string cid);
    function mint(uint256 n, address patient) external {
        for (uint256 i = 0; i < n; i++) {
            uint256 id = ++next;
            bytes32 h = keccak256(abi.encode(id, patient));
            recs[id] = R(id, h, block.number, patient, 7, msg.sender);
            byPatient[patient].push(id);
            emit Transfer(address(0), patient, id);
            emit Locked(id);
            emit Minted(id, patient, msg.sender, h, "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy");
        }
    }
}`;
const input = { language: 'Solidity', sources: { 'm.sol': { content: src } },
  settings: { evmVersion: 'cancun', optimizer: { enabled: true, runs: 200 }, outputSelection: { '*': { '*': ['evm.bytecode.object'] } } } };
const out = JSON.parse(solc.compile(JSON.stringify(input)));
if (out.errors && out.errors.some((e) => e.severity === 'error')) { console.error(out.errors); process.exit(1); }
console.log(out.contracts['m.sol'].MintLike.evm.bytecode.object);

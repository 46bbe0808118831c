// Interop: Foundry's cast against `phr chain --dev`: chain-id, block-number,
// balance, send (value and contract creation), call, receipt, logs.
import { spawnSync } from 'node:child_process';
import { compile, startPhr, rmrf, check, CAST, DEV_KEY0, DEV_ADDR1 } from './chain_lib.mjs';

function cast(args) {
  const r = spawnSync(CAST, args, { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) throw new Error(`cast ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout.trim();
}

const { bytecode } = compile();
const node = await startPhr();
let failed = false;
try {
  const rpc = ['--rpc-url', node.url];
  check(cast(['chain-id', ...rpc]) === '31337', 'chain-id');
  check(cast(['block-number', ...rpc]) === '0', 'block-number');
  check(cast(['balance', DEV_ADDR1, ...rpc]) === '10000000000000000000000', 'balance');
  cast(['send', '--private-key', DEV_KEY0, DEV_ADDR1, '--value', '1ether', ...rpc]);
  check(cast(['balance', DEV_ADDR1, ...rpc]) === '10001000000000000000000', 'balance after send');
  const created = JSON.parse(cast(['send', ...rpc, '--private-key', DEV_KEY0, '--json', '--create', bytecode]));
  check(created.status === '0x1' && created.contractAddress, 'create');
  const addr = created.contractAddress;
  const sent = JSON.parse(cast(['send', '--private-key', DEV_KEY0, '--json', addr, 'inc(string)', 'from cast', ...rpc]));
  check(sent.status === '0x1' && sent.logs.length === 1, 'inc via cast');
  check(cast(['call', addr, 'count()(uint256)', ...rpc]) === '1', 'call count');
  const receipt = JSON.parse(cast(['receipt', '--json', sent.transactionHash, ...rpc]));
  check(receipt.blockNumber === sent.blockNumber, 'receipt');
  const logs = cast(['logs', '--from-block', '0', '--address', addr, 'Incremented(address indexed,uint256 indexed,string)', ...rpc]);
  check(logs.includes(sent.transactionHash), 'cast logs');
  check(cast(['block-number', ...rpc]) === '3', 'three blocks');
  console.log(`cast: ok (contract ${addr})`);
} catch (e) {
  console.error(e);
  failed = true;
} finally {
  const { code } = await node.stop();
  if (code !== 0) { console.error(`phr chain exit ${code}`); failed = true; }
  rmrf(node.dir);
}
process.exit(failed ? 1 : 0);

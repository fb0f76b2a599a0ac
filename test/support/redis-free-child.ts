// Run as a child process by node.redis-free.test.ts, so that what it loads is its own: loads every node
// of the package into a Node-RED (the test helper), has px-echo answer one message through a px-pacs
// configured as argv says, and prints the answer, px-echo's statuses and the Redis modules loaded.
import type { NodeMessage } from 'node-red';
import { helper, nextMessage, nodeModules, onTab, statusLog } from './flow';

const [host, port, redis, fallback] = process.argv.slice(2);
// Every node type the package registers, as Node-RED would load them.
const TYPES = Object.keys((require('../../../package.json') as { 'node-red': { nodes: Record<string, string> } })['node-red'].nodes);

void (async () => {
  await helper.startServer();
  const pacs = { id: 'pacs', type: 'px-pacs', aet: 'REDISFREE', aec: 'ORTHANC', host, port: Number(port), timeout: 5, redis: redis ?? '', redisFallback: fallback === 'fallback' };
  await helper.load(nodeModules(...TYPES), onTab([pacs, { id: 'echo', type: 'px-echo', pacs: 'pacs', wires: [['out']] }, { id: 'out', type: 'helper' }]));
  const answer = nextMessage<NodeMessage & { payload: { status: string; data: string } }>('out');
  helper.getNode('echo')?.receive({ payload: '' } as NodeMessage);
  const { payload } = await answer;
  const loaded = Object.keys(require.cache).filter((file) => /node_modules\/(ioredis|redis-semaphore)\//.test(file));
  process.stdout.write(JSON.stringify({ payload, statuses: statusLog('echo'), loaded }));
  await helper.unload();
  await helper.stopServer();
  process.exit(0);
})();

// px-send of 2,000 small instances (a folder) into storescp, against storescu alone sending the same
// folder into the same storescp (until each has had every C-STORE answered). The Node-RED is
// node-red-node-test-helper's runtime without its test spies (bench/runtime.ts). Every DCMTK process
// runs with TCP_NODELAY=1; the two alternate, median of 5.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { runDcmtk } from '../lib/dcmtk/run';
import { writeSampleInstances } from '../testbed/generate';
import { freePort } from '../testbed/orthanc';
import { helper, nextMessage, nodeModules, onTab } from '../test/support/flow';
import { alternatingPairs, type Figure, median, timed, timedWithCpu } from './figures';
import { withoutTestSpies } from './runtime';
import type { SendPayload } from '../lib/ops/send/types';

const INSTANCES = 2000;
const RUNS = 5;

/**
 * storescp in its fastest configuration: TCP_NODELAY=1, -od, nothing else; a fresh folder per run, in
 * memory (/dev/shm) where there is one: on this machine's shared disk its writes took 0.6 to 1.1 s a run,
 * which measured the disk more than either sender.
 */
async function withStorescp<T>(root: string, port: number, run: () => Promise<T>): Promise<T> {
  const out = await mkdtemp(path.join(existsSync('/dev/shm') ? '/dev/shm' : root, 'bench-send-scp-'));
  const scp: ChildProcess = spawn('storescp', ['-aet', 'STORESCP', '-od', out, String(port)], { env: { ...process.env, TCP_NODELAY: '1' }, detached: true, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  try {
    const result = await run();
    const written = (await readdir(out)).length;
    if (written !== INSTANCES) throw new Error(`storescp received ${written} of ${INSTANCES} instances`);
    return result;
  } finally {
    process.kill(-(scp.pid as number), 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    await rm(out, { recursive: true, force: true });
  }
}

async function storescuAlone(root: string, folder: string, port: number): Promise<number> {
  return withStorescp(root, port, () => timed(async () => {
    const run = await runDcmtk('storescu', ['+sd', '-aec', 'STORESCP', '-aet', 'STORESCU', '127.0.0.1', String(port), folder], { timeoutMs: 300000 });
    if (run.exitCode !== 0) throw new Error(`storescu failed: ${run.output}`);
  }));
}

/** `cpuMs` is given the CPU time Node-RED's process spent. */
async function pxSend(root: string, folder: string, port: number, cpuMs: number[]): Promise<number> {
  await helper.load(nodeModules('px-pacs', 'px-send'), onTab([
    { id: 'pacs', type: 'px-pacs', aet: 'PXSEND', aec: 'STORESCP', host: '127.0.0.1', port, timeout: 60 },
    { id: 'send', type: 'px-send', pacs: 'pacs', retries: 0, wires: [['out']] },
    { id: 'out', type: 'helper' },
  ]));
  try {
    withoutTestSpies();
    const { ms, cpuMs: used } = await withStorescp(root, port, () => timedWithCpu(async () => {
      const out = nextMessage<NodeMessage & { payload: SendPayload }>('out', 300000);
      helper.getNode('send')?.receive({ payload: folder } as NodeMessage);
      const { payload } = await out;
      if (payload.status !== 'success' || payload.sent !== INSTANCES) throw new Error(`px-send: ${JSON.stringify({ ...payload, data: payload.data.slice(0, 3) })}`);
    }));
    cpuMs.push(used);
    return ms;
  } finally {
    await helper.unload();
  }
}

export default async function benchSend(): Promise<Figure[]> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'bench-send-'));
  const port = await freePort();
  try {
    const folder = path.join(root, 'files');
    await writeSampleInstances(folder, { patients: [{ id: 'BS1', name: 'Bench^Send', charset: '' }], seriesPerStudy: 20, instancesPerSeries: INSTANCES / 20, seed: 'bench-send' });
    await storescuAlone(root, folder, port);
    await pxSend(root, folder, port, []);
    const cpuMs: number[] = [];
    const { alone: aloneMs, ours: nodeRedMs } = await alternatingPairs(RUNS, () => storescuAlone(root, folder, port), () => pxSend(root, folder, port, cpuMs), (i, alone, ours) => {
      process.stderr.write(`  send run ${i + 1}: storescu ${alone.toFixed(0)} ms, px-send ${ours.toFixed(0)} ms\n`);
    });
    const rate = (ms: number) => INSTANCES / (ms / 1000);
    return [
      { name: `send: storescu alone, ${INSTANCES} small instances`, value: rate(median(aloneMs)), unit: 'instances/s' },
      { name: `send: px-send in Node-RED, ${INSTANCES} small instances`, value: rate(median(nodeRedMs)), unit: 'instances/s' },
      { name: 'send: px-send time / storescu alone', value: median(nodeRedMs.map((ms, i) => ms / (aloneMs[i] as number))), unit: 'ratio', target: 1.1, better: 'lower' },
      { name: 'send: CPU time of Node-RED\'s process per instance sent', value: (median(cpuMs) * 1000) / INSTANCES, unit: 'µs' },
    ];
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

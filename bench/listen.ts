// px-listen against storescp alone: 4 parallel storescu senders of 2,000 small instances in all,
// instances per second received (and, for px-listen, filed and emitted) in a running Node-RED.
// Then Node-RED's memory over 50,000 instances. The Node-RED is node-red-node-test-helper's runtime
// without its test spies (bench/runtime.ts).
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import path from 'node:path';
import { alternatingPairs, type Figure, median, SetAside, settleDisk, timed, timedWithCpu } from './figures';
import { pinned } from './pinning';
import { withoutTestSpies } from './runtime';
import { SAMPLE_PATIENTS, writeSampleInstances } from '../testbed/generate';
import { helper, nodeModules, onTab } from '../test/support/flow';
import { freeTcpPort } from '../test/support/store';

const SENDERS = 4;
const RUNS = 5;
/** Each run's folders, kept until the benchmark ends (see SetAside). */
const finished = (root: string) => new SetAside(path.join(root, 'finished'));
/** Memory: rounds of the same 2,000 instances. */
const ROUNDS = 25;

async function senderFolders(root: string, perSender: number, seed: string): Promise<string[]> {
  return Promise.all(Array.from({ length: SENDERS }, async (_, i) => {
    const dir = path.join(root, `${seed}-send${i}`);
    await writeSampleInstances(dir, { patients: [SAMPLE_PATIENTS[i] as (typeof SAMPLE_PATIENTS)[number]], seriesPerStudy: 4, instancesPerSeries: perSender / 4, seed });
    return dir;
  }));
}

/**
 * The 4 senders, as fast as storescu goes: TCP_NODELAY=1 and no -v, which prints a line or more per
 * instance and a progress dot per PDU. Those lines would be read by this process, whose one thread is
 * also Node-RED's: the receiver must not share it with the senders' output. Resolves once each has
 * exited 0; what arrived is counted on the receiving side.
 */
function sendAll(port: number, folders: string[]): Promise<void> {
  return Promise.all(folders.map((dir) => new Promise<void>((resolve, reject) => {
    execFile('storescu', ['-aec', 'NODERED', '-aet', 'SENDER', '+sd', '127.0.0.1', String(port), dir], { env: { ...process.env, TCP_NODELAY: '1' } }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`storescu failed: ${stderr || err.message}`));
      else resolve();
    });
  }))).then(() => undefined);
}

/** storescp in its fastest configuration: --fork, TCP_NODELAY=1, nothing else. */
async function storescpAlone(root: string, folders: string[], total: number): Promise<number> {
  const port = await freeTcpPort();
  const out = await mkdtemp(path.join(root, 'scp-'));
  const scp = spawn('storescp', ['--fork', '-od', out, String(port)], { env: { ...process.env, TCP_NODELAY: '1' }, detached: true, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  try {
    await settleDisk();
    const ms = await timed(() => sendAll(port, folders));
    const stored = (await readdir(out)).length;
    if (stored !== total) throw new Error(`storescp alone stored ${stored} of ${total}`);
    return total / (ms / 1000);
  } finally {
    process.kill(-(scp.pid as number), 'SIGKILL');
    await finished(root).put(out);
  }
}

async function deployListener(root: string): Promise<{ port: number; emitted: () => number; stop: () => Promise<void> }> {
  const port = await freeTcpPort();
  const dataDir = await mkdtemp(path.join(root, 'data-'));
  await helper.load(nodeModules('px-listen'), onTab([
    { id: 'listen', type: 'px-listen', aet: 'NODERED', port, dataDir, tmpDir: '', logDir: '', seriesTimeout: 5, wires: [['count'], []] },
    { id: 'count', type: 'helper' },
  ]));
  let emitted = 0;
  (helper.getNode('count') as unknown as { on(e: 'input', f: () => void): void }).on('input', () => emitted++);
  for (let i = 0; i < 100; i++) {
    const status = (helper.getNode('listen') as unknown as { status: { args: Array<[{ fill?: string }]> } }).status.args;
    if (status.some(([s]) => s.fill === 'green')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  withoutTestSpies();
  return { port, emitted: () => emitted, stop: async () => { await helper.unload(); await finished(root).put(dataDir); } };
}

async function until(check: () => boolean): Promise<void> {
  for (const end = Date.now() + 300000; !check(); ) {
    if (Date.now() > end) throw new Error('px-listen did not emit every instance within 5 minutes');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Instances per second; `cpuMs` is given the CPU time Node-RED's process spent. */
async function pxListen(root: string, folders: string[], total: number, cpuMs: number[]): Promise<number> {
  const listener = await deployListener(root);
  try {
    await settleDisk();
    const { ms, cpuMs: used } = await timedWithCpu(async () => {
      await sendAll(listener.port, folders);
      await until(() => listener.emitted() >= total);
    });
    if (listener.emitted() !== total) throw new Error(`px-listen emitted ${listener.emitted()} of ${total}`);
    cpuMs.push(used);
    return total / (ms / 1000);
  } finally {
    await listener.stop();
  }
}

async function memory(root: string): Promise<Figure[]> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (() => void) | undefined;
  const listener = await deployListener(root);
  try {
    const folders = await senderFolders(root, 500, 'memory');
    gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
    // 50,000 instances: the same 2,000 25 times (re-sends are filed again as duplicates).
    for (let round = 1; round <= ROUNDS; round++) {
      await sendAll(listener.port, folders);
      await until(() => listener.emitted() >= round * 2000);
    }
    clearInterval(sampler);
    gc?.();
    const after = process.memoryUsage().rss;
    return [
      { name: `listen: Node-RED peak RSS over ${ROUNDS * 2000} instances`, value: peak / 2 ** 20, unit: 'MB' },
      { name: `listen: Node-RED RSS growth over ${ROUNDS * 2000} instances${gc ? '' : ' (no --expose-gc)'}`, value: (after - before) / 2 ** 20, unit: 'MB', target: 50, better: 'lower' },
    ];
  } finally {
    await listener.stop();
  }
}

export default async function run(): Promise<Figure[]> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'bench-listen-'));
  try {
    const total = 2000;
    const folders = await senderFolders(root, total / SENDERS, 'speed');
    const cpuMs: number[] = [];
    const { alone, ours: listen } = await alternatingPairs(RUNS, () => storescpAlone(root, folders, total), () => pxListen(root, folders, total, cpuMs), (i, alone, ours) => {
      process.stderr.write(`  listen run ${i + 1}: storescp alone ${alone.toFixed(0)}/s, px-listen ${ours.toFixed(0)}/s\n`);
    });
    return [
      { name: 'listen: storescp alone, 4 senders', value: median(alone), unit: 'instances/s' },
      { name: 'listen: px-listen received+filed+emitted, 4 senders', value: median(listen), unit: 'instances/s' },
      { name: 'listen: px-listen / storescp alone', value: median(listen.map((v, i) => v / (alone[i] as number))), unit: 'ratio', target: 0.8, pinnedTarget: 0.95, better: 'higher' },
      { name: 'listen: CPU time of Node-RED\'s process per instance received', value: (median(cpuMs) * 1000) / total, unit: 'µs', pinnedTarget: 50, better: 'lower' },
      // Memory is measured once, unpinned.
      ...(pinned() ? [] : await memory(root)),
    ];
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

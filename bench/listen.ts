// px-listen against storescp alone: 4 parallel storescu senders of 2,000 small instances in all,
// instances per second received (and, for px-listen, filed and emitted) in a running Node-RED.
// Then Node-RED's memory over 50,000 instances. The Node-RED is node-red-node-test-helper's runtime
// without its test spies (bench/runtime.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import path from 'node:path';
import { alternatingPairs, type Figure, median, SetAside, settleDisk, timed, timedWithCpu } from './figures';
import { pinned, TOOLS_CORE } from './pinning';
import { profiled } from './profile';
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

export async function senderFolders(root: string, perSender: number, seed: string): Promise<string[]> {
  return Promise.all(Array.from({ length: SENDERS }, async (_, i) => {
    const dir = path.join(root, `${seed}-send${i}`);
    await writeSampleInstances(dir, { patients: [SAMPLE_PATIENTS[i] as (typeof SAMPLE_PATIENTS)[number]], seriesPerStudy: 4, instancesPerSeries: perSender / 4, seed });
    return dir;
  }));
}

/**
 * The 4 senders, as fast as storescu goes: TCP_NODELAY=1 and no -v, which prints a line or more per
 * instance and a progress dot per PDU. Those lines would be read by this process, whose one thread is
 * also Node-RED's: the receiver must not share it with the senders' output. They are started by a
 * shell started once (on the DCMTK core when pinned), not by this process: starting 4 processes from
 * Node.js with Node-RED's heap took 10-30 ms of this process's CPU a run, which a receiver whose
 * senders are on other machines never spends. `send` resolves once each storescu has exited 0; what
 * arrived is counted on the receiving side.
 */
export class Senders {
  private readonly shell: ChildProcess;
  private readonly waiting: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  /** What the senders print, read only when one fails. */
  private readonly log = path.join(os.tmpdir(), `pypx-bench-senders-${process.pid}-${Date.now()}.log`);

  constructor(folders: string[]) {
    const script = [
      'while read -r port; do',
      '  pids=(); for dir in "$@"; do storescu -aec NODERED -aet SENDER +sd 127.0.0.1 "$port" "$dir" 2>>"$0" & pids+=($!); done',
      '  failed=0; for pid in "${pids[@]}"; do wait "$pid" || failed=1; done; echo "$failed"',
      'done',
    ].join('\n');
    const shell = pinned() ? ['taskset', ['-c', String(TOOLS_CORE), 'bash']] as const : ['bash', []] as const;
    this.shell = spawn(shell[0], [...shell[1], '-c', script, this.log, ...folders], { env: { ...process.env, TCP_NODELAY: '1' }, stdio: ['pipe', 'pipe', 'inherit'] });
    let buffered = '';
    this.shell.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
        const failed = buffered.slice(0, end) !== '0';
        buffered = buffered.slice(end + 1);
        const next = this.waiting.shift();
        if (failed) next?.reject(new Error(`storescu failed: ${readFileSync(this.log, 'utf8').trim().split('\n').slice(-3).join(' / ')}`));
        else next?.resolve();
      }
    });
  }

  send(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.shell.stdin?.write(`${port}\n`);
    });
  }

  stop(): void {
    this.shell.stdin?.end();
    rmSync(this.log, { force: true });
  }
}

/** storescp in its fastest configuration: --fork, TCP_NODELAY=1, nothing else. */
async function storescpAlone(root: string, senders: Senders, total: number): Promise<number> {
  const port = await freeTcpPort();
  const out = await mkdtemp(path.join(root, 'scp-'));
  const scp = spawn('storescp', ['--fork', '-od', out, String(port)], { env: { ...process.env, TCP_NODELAY: '1' }, detached: true, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  try {
    await settleDisk();
    const ms = await timed(() => senders.send(port));
    const stored = (await readdir(out)).length;
    if (stored !== total) throw new Error(`storescp alone stored ${stored} of ${total}`);
    return total / (ms / 1000);
  } finally {
    process.kill(-(scp.pid as number), 'SIGKILL');
    await finished(root).put(out);
  }
}

export async function deployListener(root: string): Promise<{ port: number; emitted: () => number; stop: () => Promise<void> }> {
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

export async function until(check: () => boolean): Promise<void> {
  for (const end = Date.now() + 300000; !check(); ) {
    if (Date.now() > end) throw new Error('px-listen did not emit every instance within 5 minutes');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Instances per second; `cpuMs` is given the CPU time Node-RED's process spent. */
async function pxListen(root: string, senders: Senders, total: number, cpuMs: number[]): Promise<number> {
  const listener = await deployListener(root);
  try {
    await settleDisk();
    const { ms, cpuMs: used } = await timedWithCpu(() => profiled('listen', async () => {
      await senders.send(listener.port);
      await until(() => listener.emitted() >= total);
    }));
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
    const senders = new Senders(await senderFolders(root, 500, 'memory'));
    gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
    // 50,000 instances: the same 2,000 25 times (re-sends are filed again as duplicates).
    for (let round = 1; round <= ROUNDS; round++) {
      await senders.send(listener.port);
      await until(() => listener.emitted() >= round * 2000);
    }
    senders.stop();
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
    const senders = new Senders(await senderFolders(root, total / SENDERS, 'speed'));
    const cpuMs: number[] = [];
    const { alone, ours: listen } = await alternatingPairs(RUNS, () => storescpAlone(root, senders, total), () => pxListen(root, senders, total, cpuMs), (i, alone, ours) => {
      process.stderr.write(`  listen run ${i + 1}: storescp alone ${alone.toFixed(0)}/s, px-listen ${ours.toFixed(0)}/s (Node-RED ${((cpuMs.at(-1) ?? 0) * 1000 / total).toFixed(0)} µs/instance)\n`);
    });
    senders.stop();
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

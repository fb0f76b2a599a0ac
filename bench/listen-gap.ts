// Where px-listen's gap to storescp alone is (`npm run bench -- --pinned listen-gap`; not part of the
// default set): the same 4 senders of 2,000 instances into storescp run ever closer to the way
// px-listen runs it, one step added at a time, each step's rate against storescp alone in the same
// round (rounds rotate which goes first), with this process's CPU per instance:
//   options   storescp with px-listen's options and log configuration, its log read by this process;
//   read      and each file's header read once storescp has written it, as filing reads it;
//   rename    and each file renamed out of storescp's folder (into one flat folder) once written;
//   px-listen the node itself, filing into pypx's layout and announcing each instance.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { dieWithThisProcess, endGroup } from '../lib/dcmtk/processes';
import { spawnDcmtk } from '../lib/dcmtk/run';
import { readReceivedHeader } from '../lib/filing/header';
import { buildStorescpArgs, GROUP_REAPER, LOG_CONFIG_TEXT } from '../lib/ops/listen/storescp-command';
import { StorescpLog } from '../lib/ops/listen/storescp-log';
import type { ResolvedListenerOptions } from '../lib/ops/listen/options';
import { freeTcpPort } from '../test/support/store';
import { type Figure, median, SetAside, settleDisk, timedWithCpu } from './figures';
import { deployListener, Senders, senderFolders, until } from './listen';

const TOTAL = 2000;
const ROUNDS = 5;

type Step = 'alone' | 'options' | 'read' | 'rename' | 'px-listen';
const STEPS: Step[] = ['alone', 'options', 'read', 'rename', 'px-listen'];

interface Run { rate: number; cpuUs: number }

async function storescpStep(root: string, senders: Senders, step: Exclude<Step, 'px-listen'>): Promise<Run> {
  const port = await freeTcpPort();
  const out = await mkdtemp(path.join(root, `${step}-`));
  const moved = path.join(out, '..', `${path.basename(out)}-moved`);
  mkdirSync(moved);
  let written = 0;
  const onWritten = (file: string) => {
    if (step === 'read') readReceivedHeader(file, true);
    if (step === 'rename') renameSync(file, path.join(moved, path.basename(file)));
    written++;
  };
  let group: number;
  if (step === 'alone') {
    const scp = spawn('storescp', ['--fork', '-od', out, String(port)], { env: { ...process.env, TCP_NODELAY: '1' }, detached: true, stdio: 'ignore' });
    group = scp.pid as number;
  } else {
    const logConfig = path.join(root, `${step}.cfg`);
    writeFileSync(logConfig, LOG_CONFIG_TEXT);
    const options = { aet: 'NODERED', port, tmpDir: out, tls: false } as unknown as ResolvedListenerOptions;
    const log = new StorescpLog(out, onWritten, () => undefined, () => undefined);
    const { process: child } = await spawnDcmtk('storescp', buildStorescpArgs(options, logConfig), { service: true, umask: 0o027, runUnder: [...(await dieWithThisProcess('TERM')), ...GROUP_REAPER], onLine: (line) => log.onLine(line) });
    child.catch(() => undefined);
    group = child.pid as number;
  }
  await new Promise((r) => setTimeout(r, 300));
  try {
    await settleDisk();
    const { ms, cpuMs } = await timedWithCpu(async () => {
      await senders.send(port);
      if (step !== 'alone') await until(() => written >= TOTAL);
    });
    const stored = step === 'rename' ? written : (await readdir(out)).filter((f) => !f.endsWith('.cfg')).length;
    if (stored < TOTAL) throw new Error(`${step}: ${stored} of ${TOTAL} stored`);
    return { rate: TOTAL / (ms / 1000), cpuUs: (cpuMs * 1000) / TOTAL };
  } finally {
    await endGroup(group, 1000);
    const aside = new SetAside(path.join(root, 'finished'));
    await aside.put(out);
    await aside.put(moved);
  }
}

async function pxListenStep(root: string, senders: Senders): Promise<Run> {
  const listener = await deployListener(root);
  try {
    await settleDisk();
    const { ms, cpuMs } = await timedWithCpu(async () => {
      await senders.send(listener.port);
      await until(() => listener.emitted() >= TOTAL);
    });
    return { rate: TOTAL / (ms / 1000), cpuUs: (cpuMs * 1000) / TOTAL };
  } finally {
    await listener.stop();
  }
}

export default async function benchListenGap(): Promise<Figure[]> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'bench-listen-gap-'));
  const senders = new Senders(await senderFolders(root, TOTAL / 4, 'gap'));
  try {
    const runs = new Map<Step, Run[]>(STEPS.map((s) => [s, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = STEPS.map((_, i) => STEPS[(i + round) % STEPS.length] as Step);
      for (const step of order) {
        const run = step === 'px-listen' ? await pxListenStep(root, senders) : await storescpStep(root, senders, step);
        runs.get(step)?.push(run);
      }
      const alone = runs.get('alone')?.[round] as Run;
      process.stderr.write(`  round ${round + 1}: ${STEPS.map((s) => `${s} ${(runs.get(s)?.[round] as Run).rate.toFixed(0)}/s (${((runs.get(s)?.[round] as Run).rate / alone.rate).toFixed(2)}, ${(runs.get(s)?.[round] as Run).cpuUs.toFixed(0)} µs)`).join(', ')}\n`);
    }
    const alone = runs.get('alone') as Run[];
    return STEPS.filter((s) => s !== 'alone').flatMap((step) => {
      const mine = runs.get(step) as Run[];
      return [
        { name: `listen gap: ${step} / storescp alone`, value: median(mine.map((r, i) => r.rate / (alone[i] as Run).rate)), unit: 'ratio' },
        { name: `listen gap: ${step}, CPU of this process per instance`, value: median(mine.map((r) => r.cpuUs)), unit: 'µs' },
      ];
    }).concat([{ name: 'listen gap: storescp alone', value: median(alone.map((r) => r.rate)), unit: 'instances/s' }]);
  } finally {
    senders.stop();
    await rm(root, { recursive: true, force: true });
  }
}

// What every benchmark reports: one entry per figure, as written to bench/results.json.
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** For a ratio: the target it is judged against, and which direction is better. */
  target?: number;
  better?: 'lower' | 'higher';
  /** The target when measured with `--pinned`, where it differs. */
  pinnedTarget?: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * The disk's earlier writes flushed (sync), before a timed run: what a previous run wrote and the kernel
 * still writes back slows the next run's file creation, whichever side it is. Never timed.
 */
export function settleDisk(): Promise<void> {
  return new Promise<void>((resolve) => execFile('sync', () => resolve()));
}

/**
 * Where the folders of finished runs go until the benchmark ends, instead of being deleted between
 * runs: ext4 looks at recently deleted inodes when it allocates new ones, so deleting a run's thousands
 * of files slows the next run's file creation (measured here: a third of storescp's CPU time in a run
 * after one whose 2,000 files had just been deleted). One folder, on the file system of the runs'.
 */
export class SetAside {
  constructor(private readonly folder: string) {}

  async put(finished: string): Promise<void> {
    await mkdir(this.folder, { recursive: true });
    await rename(finished, path.join(this.folder, String(process.hrtime.bigint()))).catch(() => rm(finished, { recursive: true, force: true }));
  }

  async clear(): Promise<void> {
    await rm(this.folder, { recursive: true, force: true });
  }
}

/**
 * `runs` pairs, side by side: each pair alternates which goes first, so that neither always runs in the
 * wake of the other and a machine getting busier or quieter favours neither. `report` is told each pair.
 */
export async function alternatingPairs(runs: number, alone: () => Promise<number>, ours: () => Promise<number>, report: (i: number, alone: number, ours: number) => void): Promise<{ alone: number[]; ours: number[] }> {
  const pairs = { alone: [] as number[], ours: [] as number[] };
  for (let i = 0; i < runs; i++) {
    if (i % 2) {
      pairs.ours.push(await ours());
      pairs.alone.push(await alone());
    } else {
      pairs.alone.push(await alone());
      pairs.ours.push(await ours());
    }
    report(i, pairs.alone[i] as number, pairs.ours[i] as number);
  }
  return pairs;
}

export async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/**
 * Wall time of `run` and the CPU time this process spent meanwhile (all its threads), in ms: for a node
 * running in this process, its work per instance, which the machine's noise changes far less than wall time.
 */
export async function timedWithCpu(run: () => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const ms = await timed(run);
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000 };
}

export interface ProcessTime {
  wallMs: number;
  /** User and system time of the process and its children (findscu under px-find). */
  cpuMs: number;
}

let measured = 0;
/** One whole process under /usr/bin/time, stdout dropped: wall and CPU time; rejects unless it exits 0. */
export function measureProcess(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ProcessTime> {
  const report = path.join(os.tmpdir(), `pypx-bench-time-${process.pid}-${measured++}`);
  return new Promise((resolve, reject) => {
    const options = { env: { ...process.env, TCP_NODELAY: '1', ...env }, maxBuffer: 256 * 1024 * 1024 };
    execFile('/usr/bin/time', ['-o', report, '-f', '%e %U %S', file, ...args], options, (err) => {
      void (async () => {
        const text = await readFile(report, 'utf8').catch(() => '');
        await rm(report, { force: true });
        if (err) throw new Error(`${path.basename(file)} failed: ${err.message}`);
        const [wall, user, system] = (text.trim().split('\n').at(-1) ?? '').split(' ').map(Number) as [number, number, number];
        return { wallMs: wall * 1000, cpuMs: (user + system) * 1000 };
      })().then(resolve, reject);
    });
  });
}

// A bare storescp as the C-MOVE destination, and what the PACS holds, to compare against.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, type RunningOrthanc } from '../../testbed/orthanc';
import { readDicomHeader } from '../../lib/dicom/read-file';
import { untilListening } from './pacs';

export interface Receiver {
  aet: string;
  port: number;
  dir: string;
  /** storescp's process id (for tests that freeze it). */
  pid: number;
  /** SOP Instance UIDs read from the files received so far. */
  received(): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * storescp on a free port, storing into a temp folder. `nagle: true` leaves TCP_NODELAY unset, which
 * makes each instance cost a delayed ACK: moves then last long enough to watch them run. `abortAfter`:
 * it aborts each association when the first C-STORE request has come, before answering it.
 */
export async function startReceiver(options: { aet?: string; port?: number; fork?: boolean; nagle?: boolean; abortAfter?: boolean } = {}): Promise<Receiver> {
  const aet = options.aet ?? 'RECEIVER';
  const port = options.port ?? (await freePort());
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-receiver-'));
  const args = [...(options.fork ? ['--fork'] : []), ...(options.abortAfter ? ['--abort-after'] : []), '-od', dir, '-aet', aet, String(port)];
  const env = options.nagle ? { PATH: process.env.PATH } : { PATH: process.env.PATH, TCP_NODELAY: '1' };
  const child: ChildProcess = spawn('storescp', args, { stdio: 'ignore', env });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await untilListening('storescp', port, () => child.exitCode !== null || child.signalCode !== null, 5000);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    aet,
    port,
    dir,
    pid: child.pid as number,
    async received() {
      const files = (await readdir(dir)).filter((f) => !f.startsWith('.'));
      // A receiver killed mid-transfer leaves the file it was writing cut short: named, not read.
      const uids = await Promise.all(files.map(async (f) => (await readDicomHeader(path.join(dir, f)).catch(() => undefined))?.text('x00080018') ?? `unreadable ${f}`));
      return uids.sort();
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface OrthancResource {
  ID: string;
  MainDicomTags: Record<string, string>;
}

/** SOP Instance UIDs the PACS holds for a study, a series or an instance (by DICOM UID). */
export async function instancesInPacs(pacs: RunningOrthanc, level: 'studies' | 'series' | 'instances', uid: string): Promise<string[]> {
  const key = { studies: 'StudyInstanceUID', series: 'SeriesInstanceUID', instances: 'SOPInstanceUID' }[level];
  const resources = await pacs.get<OrthancResource[]>(`/${level}?expand`);
  const match = resources.find((r) => r.MainDicomTags[key] === uid);
  if (!match) return [];
  if (level === 'instances') return [uid];
  const instances = await pacs.get<OrthancResource[]>(`/${level}/${match.ID}/instances`);
  return instances.map((i) => i.MainDicomTags.SOPInstanceUID).sort();
}

/** Polls `count` (e.g. movescu processes in the process table) while `during` runs; the highest it saw. */
export async function maxAlive(count: () => number, during: Promise<unknown>): Promise<number> {
  let max = 0;
  let running = true;
  const watching = (async () => {
    while (running) {
      max = Math.max(max, count());
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  try {
    await during;
  } finally {
    running = false;
    await watching;
  }
  return max;
}

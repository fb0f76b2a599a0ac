// The demo as its tests run it: on ports moved out of the way, in a folder of their own.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isPortInUse } from '../../lib/ops/listen/port';
import { DEMO } from '../../testbed/demo';
import { REPO_ROOT } from '../../testbed/node-red';
import { processesIn } from '../../testbed/processes';
import { until } from './until';

export const DEMO_JS = path.join(REPO_ROOT, 'dist', 'testbed', 'demo.js');

/** An offset that moves every port of the demo onto free ones, below the ephemeral range. */
export async function freeOffset(): Promise<number> {
  const ports = [DEMO.nodeRedPort, DEMO.pacs.dicomPort, DEMO.pacs.httpPort, ...DEMO.listeners.map((l) => l.port)];
  for (let attempt = 0; attempt < 50; attempt++) {
    const offset = 15000 + Math.floor(Math.random() * 1200) * 10;
    if (!(await Promise.all(ports.map((p) => isPortInUse(p + offset)))).some(Boolean)) return offset;
  }
  throw new Error('no free set of ports for the demo');
}

export interface Running {
  /** The process the test kills: the demo itself, or the shell standing for npm. */
  child: ChildProcess;
  output: () => string;
  url: string;
}

export async function startDemo(command: string, args: string[], dir: string, offset: number): Promise<Running> {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYPX_DEMO_DIR: dir, PYPX_DEMO_PORT_OFFSET: String(offset) },
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    await until('the demo says it is running', () => {
      if (child.exitCode !== null) throw new Error(`the demo exited at start:\n${output}`);
      return /is running on/.test(output);
    }, { timeoutMs: 120000, intervalMs: 100, describe: () => output });
  } catch (err) {
    // Nothing of a demo that did not start may keep running (nor keep this test run from ending).
    // Again until none is found: one may have been forked between a look and the kill.
    await until('nothing is left of the demo that did not start', () => {
      const left = demoProcesses(dir);
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* ended meanwhile */
        }
      }
      return !left.length;
    }, { timeoutMs: 10000 }).catch(() => undefined);
    throw err;
  }
  return { child, output: () => output, url: `http://127.0.0.1:${DEMO.nodeRedPort + offset}` };
}

/** Waits until no process has the demo folder in its command line or working folder. */
export async function nothingLeftIn(dir: string): Promise<void> {
  await until('nothing runs in the demo folder after the demo ended (a storescp here: px-listen must start it with a parent-death signal)',
    () => processesIn(dir).length === 0, { timeoutMs: 20000, intervalMs: 100, describe: () => processesIn(dir) });
}


/** Every process of the demo run in `dir`: the demo, the shells around it and what it started all carry PYPX_DEMO_DIR. */
function demoProcesses(dir: string): number[] {
  const mark = `PYPX_DEMO_DIR=${dir}`;
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid).map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(mark);
    } catch {
      return false;
    }
  });
}

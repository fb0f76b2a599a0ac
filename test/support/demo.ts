// The demo as its tests run it: on ports moved out of the way, in a folder of their own.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { isPortInUse } from '../../lib/ops/listen/port';
import { DEMO } from '../../testbed/demo';
import { REPO_ROOT } from '../../testbed/node-red';
import { processesIn } from '../../testbed/processes';

export const DEMO_JS = path.join(REPO_ROOT, 'dist', 'testbed', 'demo.js');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  for (let i = 0; i < 1200 && !/is running on/.test(output); i++) {
    if (child.exitCode !== null) throw new Error(`the demo exited at start:\n${output}`);
    await sleep(100);
  }
  assert.match(output, /is running on/, output);
  return { child, output: () => output, url: `http://127.0.0.1:${DEMO.nodeRedPort + offset}` };
}

/** Waits until no process has the demo folder in its command line or working folder. */
export async function nothingLeftIn(dir: string): Promise<void> {
  for (let i = 0; i < 200 && processesIn(dir).length; i++) await sleep(100);
  assert.deepEqual(processesIn(dir), [], 'still running after the demo ended (a storescp here: px-listen must start it with a parent-death signal)');
}


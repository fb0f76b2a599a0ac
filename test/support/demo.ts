// The demo as its tests run it: on ports moved out of the way, in a folder of their own.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { isPortInUse } from '../../lib/listener';
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
  await until('the demo says it is running', () => {
    if (child.exitCode !== null) throw new Error(`the demo exited at start:\n${output}`);
    return /is running on/.test(output);
  }, { timeoutMs: 120000, intervalMs: 100, describe: () => output });
  return { child, output: () => output, url: `http://127.0.0.1:${DEMO.nodeRedPort + offset}` };
}

/** Waits until no process has the demo folder in its command line or working folder. */
export async function nothingLeftIn(dir: string): Promise<void> {
  await until('nothing runs in the demo folder after the demo ended (a storescp here: px-listen must start it with a parent-death signal)',
    () => processesIn(dir).length === 0, { timeoutMs: 20000, intervalMs: 100, describe: () => processesIn(dir) });
}


// The package as a user gets it: `npm pack`, installed into a clean Node-RED user folder.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { REPO_ROOT } from '../../testbed/node-red';
import { until } from './until';

const run = promisify(execFile);
let installed: Promise<string> | undefined;

/** A user folder with only the packed tarball installed (runtime dependencies, no dev ones). Made once per test run. */
export function packagedUserDir(): Promise<string> {
  installed ??= (async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'pypx-packed-'));
    // The test run has already built dist/; --ignore-scripts keeps prepack from rebuilding it under running tests.
    await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: REPO_ROOT });
    const tarball = (await readdir(work)).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack wrote no tarball');
    const userDir = path.join(work, 'user');
    await run('mkdir', ['-p', userDir]);
    await writeFile(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--omit=dev', '--prefer-offline', path.join(work, tarball)], {
      cwd: userDir,
      maxBuffer: 16 * 1024 * 1024,
    });
    return userDir;
  })();
  return installed;
}

/** What the editor's debug sidebar receives: subscribes to the runtime's comms like the editor does. */
export class DebugSidebar {
  readonly messages: Array<{ id: string; name?: string; msg: string; format: string }> = [];
  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: WebSocket.Data) => {
      const events = JSON.parse(data.toString()) as Array<{ topic: string; data: { id: string; name?: string; msg: string; format: string } }>;
      for (const event of [events].flat()) if (event.topic === 'debug') this.messages.push(event.data);
    });
  }

  static async open(url: string): Promise<DebugSidebar> {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/comms`);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.send(JSON.stringify({ subscribe: 'debug' }));
    return new DebugSidebar(socket);
  }

  async next(predicate: (m: { id: string; msg: string }) => boolean = () => true, ms = 30000): Promise<{ id: string; msg: string }> {
    await until('the debug sidebar shows a matching message', () => this.messages.some(predicate), { timeoutMs: ms, describe: () => this.messages });
    return this.messages.splice(this.messages.findIndex(predicate), 1)[0] as { id: string; msg: string };
  }

  close(): void {
    this.socket.close();
  }
}

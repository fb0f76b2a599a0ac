// A Redis server and an HAProxy of the tests' own: plain processes on loopback, configured by the test,
// dying with the test run, never a system service.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { dyingWithParent } from '../../testbed/processes';
import { freeTcpPort } from './store';
import { until } from './until';

export interface RunningServer {
  port: number;
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function startServer(program: string, args: string[], port: number, url: string, dir: string): Promise<RunningServer> {
  const [file, wrapped] = await dyingWithParent(program, args);
  const child = spawn(file, wrapped, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await until(`${program} accepts connections on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`${program} exited with code ${child.exitCode}: ${stderr}`);
    return accepts(port);
  }, { timeoutMs: 20000 });
  return {
    port,
    url,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** redis-server on 127.0.0.1 and a free port, keeping nothing on disk; `password` makes it ask for one. */
export async function startRedis({ password, port: given }: { password?: string; port?: number } = {}): Promise<RunningServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-redis-'));
  const port = given ?? (await freeTcpPort());
  const config = [
    'bind 127.0.0.1',
    `port ${port}`,
    `dir ${dir}`,
    "save ''",
    'appendonly no',
    'daemonize no',
    ...(password ? [`requirepass ${password}`] : []),
  ].join('\n');
  const configFile = path.join(dir, 'redis.conf');
  await writeFile(configFile, `${config}\n`);
  return startServer('/usr/bin/redis-server', [configFile, '--save', '', '--appendonly', 'no'], port, `redis://127.0.0.1:${port}`, dir);
}

/** HAProxy in TCP mode on a free port, spreading connections over the given ports (round robin). */
export async function startHaproxy(backendPorts: number[]): Promise<RunningServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-haproxy-'));
  const port = await freeTcpPort();
  const config = [
    'global',
    '  maxconn 256',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    'frontend dicom',
    `  bind 127.0.0.1:${port}`,
    '  default_backend receivers',
    'backend receivers',
    '  balance roundrobin',
    ...backendPorts.map((backend, i) => `  server listen${i} 127.0.0.1:${backend}`),
  ].join('\n');
  const configFile = path.join(dir, 'haproxy.cfg');
  await writeFile(configFile, `${config}\n`);
  return startServer('/usr/sbin/haproxy', ['-db', '-f', configFile], port, `127.0.0.1:${port}`, dir);
}

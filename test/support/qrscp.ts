// DCMTK's dcmqrscp as a second kind of PACS: it serves C-FIND and C-GET from any AE title, never
// converts what it holds, and (with +xt) accepts JPEG-LS before uncompressed syntaxes. It follows
// hierarchical retrieve strictly: a series moved or got without its study's UID sends nothing. It moves
// only to the destinations of its HostTable.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../testbed/orthanc';
import { untilListening } from './pacs';

export interface QrScp {
  aet: string;
  port: number;
  stop(): Promise<void>;
}

/** A C-MOVE destination dcmqrscp knows: its AE title and port on 127.0.0.1. */
export interface QrDestination {
  aet: string;
  port: number;
}

export async function startQrScp(files: string[], preference: string[] = [], destinations: QrDestination[] = []): Promise<QrScp> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-qrscp-'));
  const db = path.join(dir, 'db');
  await mkdir(db);
  const port = await freePort();
  const config = path.join(dir, 'dcmqrscp.cfg');
  const hosts = destinations.map((d, i) => `dest${i} = (${d.aet}, 127.0.0.1, ${d.port})\n`).join('');
  await writeFile(config, `NetworkTCPPort = ${port}\nMaxPDUSize = 16384\nMaxAssociations = 4\nHostTable BEGIN\n${hosts}HostTable END\nVendorTable BEGIN\nVendorTable END\nAETable BEGIN\nQRSCP ${db} RW (200, 1024mb) ANY\nAETable END\n`);
  execFileSync('dcmqridx', [db, ...files]);
  const child: ChildProcess = spawn('dcmqrscp', [...preference, '-c', config], { stdio: 'ignore', env: { ...process.env, TCP_NODELAY: '1' } });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await untilListening('dcmqrscp', port, () => child.exitCode !== null || child.signalCode !== null);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    aet: 'QRSCP',
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

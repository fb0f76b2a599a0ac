// The announcement journal across a crash, made certain: a listener whose consumer never confirms
// what it emitted is killed (SIGKILL, in a process of its own); the next start announces each of
// those instances again, flagged duplicate, and nothing else twice.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Listener } from '../lib/ops/listen/listener';
import { SAMPLE_PATIENTS, writeSampleInstances } from '../testbed/generate';
import { processesMentioning } from './support/processes';
import { freeTcpPort, storescu } from './support/store';
import type { InstancePayload } from '../lib/filing/file-instance';

// Runs in the child: a listener that emits but never confirms (a flow that never got the messages).
const CHILD = `
const { Listener } = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'index.js'))});
const [port, dataDir, confirmUpTo] = process.argv.slice(1);
const listener = new Listener({ aet: 'JOURNAL', port: Number(port), dataDir, seriesTimeout: 60, confirmByCaller: true });
listener.on('instance', (p) => {
  if (listener.lastAnnounced <= Number(confirmUpTo)) listener.confirmAnnounced(listener.lastAnnounced);
  process.stdout.write(JSON.stringify(p) + '\\n');
});
listener.start().then(() => process.stdout.write('listening\\n'));
`;

describe('px-listen announcement journal across a crash', function () {
  this.timeout(60000);

  it('announces again, flagged duplicate, exactly what was emitted but not confirmed', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'px-listen-journal-'));
    const dataDir = path.join(work, 'data');
    const port = await freeTcpPort();
    try {
      const child = spawn(process.execPath, ['-e', CHILD, String(port), dataDir, '3'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const emitted: InstancePayload[] = [];
      let listening = false;
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) if (line === 'listening') listening = true; else emitted.push(JSON.parse(line) as InstancePayload);
      });
      for (let i = 0; i < 200 && !listening; i++) await new Promise((r) => setTimeout(r, 50));
      await writeSampleInstances(path.join(work, 'send'), { patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 1, instancesPerSeries: 8 });
      assert.equal((await storescu(port, [path.join(work, 'send')], { aec: 'JOURNAL' })).stored.length, 8);
      for (let i = 0; i < 200 && emitted.length < 8; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(emitted.length, 8);
      // A confirmation reaches the disk with the next batch or within a second.
      await new Promise((r) => setTimeout(r, 1500));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      for (let i = 0; i < 40 && processesMentioning(dataDir).length; i++) await new Promise((r) => setTimeout(r, 25));

      const again: InstancePayload[] = [];
      const listener = new Listener({ aet: 'JOURNAL', port, dataDir, seriesTimeout: 60 });
      listener.on('instance', (p) => again.push(p));
      await listener.start();
      await new Promise((r) => setTimeout(r, 300));
      await listener.close();
      // The first 3 were confirmed; the other 5 were emitted to a consumer that never said it had them.
      const unconfirmed = emitted.slice(3);
      assert.deepEqual(again.map((p) => p.SOPInstanceUID).sort(), unconfirmed.map((p) => p.SOPInstanceUID).sort());
      assert.ok(again.every((p) => p.duplicate && existsSync(p.path) && p.calledAET === 'JOURNAL'));
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

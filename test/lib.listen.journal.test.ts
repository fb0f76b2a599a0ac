// The announcement journal across a crash, made certain: a listener whose consumer never confirms
// what it emitted is killed (SIGKILL, in a process of its own); the next start announces each of
// those instances again, flagged duplicate, and nothing else twice.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Listener } from '../lib/ops/listen/listener';
import { SAMPLE_PATIENTS, writeSampleInstances } from '../testbed/generate';
import { processesMentioning } from './support/processes';
import { freeTcpPort, storescu } from './support/store';
import type { InstancePayload } from '../lib/filing/file-instance';
import { until } from './support/until';

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
    let child: ChildProcess | undefined;
    let listener: Listener | undefined;
    try {
      child = spawn(process.execPath, ['-e', CHILD, String(port), dataDir, '3'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const emitted: InstancePayload[] = [];
      let listening = false;
      let buffered = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) if (line === 'listening') listening = true; else emitted.push(JSON.parse(line) as InstancePayload);
      });
      await until('the listener in the child process listens', () => listening, { timeoutMs: 10000 });
      await writeSampleInstances(path.join(work, 'send'), { patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 1, instancesPerSeries: 8 });
      assert.equal((await storescu(port, [path.join(work, 'send')], { aec: 'JOURNAL' })).stored.length, 8);
      await until('8 instances emitted', () => emitted.length >= 8, { timeoutMs: 5000, describe: () => ({ emitted: emitted.length }) });
      assert.equal(emitted.length, 8);
      // A confirmation reaches the disk with the next batch or within a second: the journal's marker ".3".
      const journal = path.join(dataDir, 'incoming', '.px-listen-announced.jsonl');
      const marked = () => existsSync(journal) && readFileSync(journal, 'utf8').split('\n').includes('.3');
      await until('the confirmation of the first 3 is on disk', marked, { timeoutMs: 5000, describe: () => (existsSync(journal) ? readFileSync(journal, 'utf8') : 'no journal') });
      const crashed = child;
      const exited = new Promise((r) => crashed.once('exit', r));
      crashed.kill('SIGKILL');
      await exited;
      await until('nothing the child started outlives it', () => processesMentioning(dataDir).length === 0, { timeoutMs: 5000, describe: () => processesMentioning(dataDir) });

      const again: InstancePayload[] = [];
      listener = new Listener({ aet: 'JOURNAL', port, dataDir, seriesTimeout: 60 });
      listener.on('instance', (p) => again.push(p));
      await listener.start();
      // What the crashed run left was queued for filing at start, before anything received: once an
      // instance sent now is emitted, any announcement of what the crash left has been made.
      const [late] = await writeSampleInstances(path.join(work, 'late'), { patients: SAMPLE_PATIENTS.slice(5, 6), seriesPerStudy: 1, instancesPerSeries: 1, seed: 'late' });
      assert.equal((await storescu(port, [path.join(work, 'late')], { aec: 'JOURNAL' })).stored.length, 1);
      await until('the instance sent after the restart is emitted', () => again.some((p) => p.SOPInstanceUID === late?.sopInstanceUID), { timeoutMs: 10000 });
      await listener.close();
      const announcedAgain = again.filter((p) => p.SOPInstanceUID !== late?.sopInstanceUID);
      // The first 3 were confirmed; the other 5 were emitted to a consumer that never said it had them.
      const unconfirmed = emitted.slice(3);
      assert.deepEqual(announcedAgain.map((p) => p.SOPInstanceUID).sort(), unconfirmed.map((p) => p.SOPInstanceUID).sort());
      assert.ok(announcedAgain.every((p) => p.duplicate && existsSync(p.path) && p.calledAET === 'JOURNAL'));
    } finally {
      // A failure half-way leaves neither listener running (the test run would not end).
      if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await listener?.close();
      await rm(work, { recursive: true, force: true });
    }
  });
});

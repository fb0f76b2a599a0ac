// px-send against a PACS that fails mid-transfer (issue 20, point 4): killed and started again, or frozen
// (SIGSTOP) past storescu's DIMSE timeout and woken. What the PACS did not confirm goes again on a new
// association; the result counts each file once, and every file ends up stored.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runSend } from '../lib/ops/send';
import { collectSendFiles } from '../lib/ops/send/files';
import { writeSampleInstances } from '../testbed/generate';
import { freePort, type RunningOrthanc, startOrthanc } from '../testbed/orthanc';
import { dcmtkSpy } from './support/dcmtk-spy';
import { startReceiver } from './support/receiver';
import { transcode } from './support/transcode';
import { until } from './support/until';

const INSTANCES = 300;

describe('px-send through a PACS that fails mid-transfer', function () {
  this.timeout(120000);
  let dir = '';
  let sources = '';
  let orthanc: RunningOrthanc | undefined;
  let orthancDir = '';

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-send-faults-'));
    sources = path.join(dir, 'source');
    await writeSampleInstances(sources, { patients: [{ id: 'FAULT1', name: 'Fault^One', charset: '' }], seriesPerStudy: 3, instancesPerSeries: INSTANCES / 3, seed: 'send-faults', imageSize: 8 });
  });
  beforeEach(async () => {
    orthancDir = await mkdtemp(path.join(os.tmpdir(), 'pypx-send-faults-pacs-'));
    orthanc = await startOrthanc({ dir: orthancDir, httpPort: await freePort(), dicomPort: await freePort() });
  });
  afterEach(async () => {
    await orthanc?.stop();
    await rm(orthancDir, { recursive: true, force: true });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const stored = async (pacs: RunningOrthanc) => (await pacs.get<{ CountInstances: number }>('/statistics')).CountInstances;
  const settings = (pacs: RunningOrthanc) => ({ aet: 'SENDER', aec: pacs.aet, host: pacs.host, port: pacs.dicomPort, timeout: 2 });

  function assertExact(payload: { status: string; sent: number; failed: number; warning: number; data: Array<{ file: string }> }) {
    assert.deepEqual({ status: payload.status, sent: payload.sent, failed: payload.failed, warning: payload.warning, data: payload.data.length },
      { status: 'success', sent: INSTANCES, failed: 0, warning: 0, data: 0 }, JSON.stringify(payload.data.slice(0, 3), null, 1));
  }

  it('a PACS killed mid-transfer and started again: every file stored, each counted once', async () => {
    const first = orthanc as RunningOrthanc;
    const sending = runSend(settings(first), await collectSendFiles(sources), { retries: 5, retryDelayMs: 500 });
    await until('Orthanc holds some of the files', async () => (await stored(first)) > INSTANCES / 10, { intervalMs: 20 });
    first.process.kill('SIGKILL');
    await new Promise((resolve) => first.process.once('exit', resolve));
    orthanc = await startOrthanc({ dir: orthancDir, httpPort: first.httpPort, dicomPort: first.dicomPort });
    const outcome = await sending;
    assertExact(outcome.payload);
    assert.equal(await stored(orthanc), INSTANCES);
  });

  it('a PACS frozen (SIGSTOP) past the DIMSE timeout and woken: every file stored, each counted once', async () => {
    const pacs = orthanc as RunningOrthanc;
    const pid = pacs.process.pid as number;
    let outcome: Awaited<ReturnType<typeof runSend>> | undefined;
    const spy = await dcmtkSpy({ execs: true });
    try {
      const sending = runSend({ ...settings(pacs), dcmtkDir: spy.dir }, await collectSendFiles(sources), { retries: 5, retryDelayMs: 500 });
      await until('Orthanc holds some of the files', async () => (await stored(pacs)) > INSTANCES / 10, { intervalMs: 20 });
      process.kill(pid, 'SIGSTOP');
      try {
        // Frozen until storescu has given up on it (its DIMSE timeout has passed) and a new association is tried.
        await until('storescu has given up on the frozen PACS and tries again', () => spy.started().length > 1, { describe: () => spy.started() });
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      outcome = await sending;
    } finally {
      await spy.remove();
    }
    assert.ok(outcome);
    assertExact(outcome.payload);
    assert.equal(await stored(pacs), INSTANCES);
  });

  it('dcmsend\'s pass through a receiver killed mid-transfer and started again: every file stored, each counted once', async () => {
    const compressed = path.join(dir, 'jpeg-ls-killed');
    await mkdir(compressed);
    const some = (await readdir(sources)).slice(0, 80);
    for (const file of some) transcode(path.join(sources, file), path.join(compressed, file), 'jpeg-ls');
    const first = await startReceiver({ aet: 'PLAIN' });
    let second: Awaited<ReturnType<typeof startReceiver>> | undefined;
    const spy = await dcmtkSpy({ execs: true });
    try {
      const sending = runSend({ aet: 'SENDER', aec: 'PLAIN', host: '127.0.0.1', port: first.port, timeout: 2, dcmtkDir: spy.dir }, await collectSendFiles(compressed), { retries: 5, retryDelayMs: 500 });
      await until('dcmsend has begun and the receiver holds some of its files', async () => spy.started().includes('dcmsend') && (await readdir(first.dir)).length > 10, { intervalMs: 20 });
      process.kill(first.pid, 'SIGKILL');
      second = await startReceiver({ aet: 'PLAIN', port: first.port });
      const outcome = await sending;
      assert.deepEqual({ status: outcome.payload.status, sent: outcome.payload.sent, failed: outcome.payload.failed, data: outcome.payload.data.length }, { status: 'success', sent: some.length, failed: 0, data: 0 }, JSON.stringify(outcome.payload.data.slice(0, 3)));
      const stored = [...(await first.received()), ...(await second.received())].filter((uid) => !uid.startsWith('unreadable'));
      assert.equal(new Set(stored).size, some.length, 'every instance stored by one receiver or the other');
    } finally {
      await spy.remove();
      await first.stop();
      await second?.stop();
    }
  });

  it('dcmsend\'s pass (files the receiver takes only uncompressed) through a receiver frozen past the DIMSE timeout: every file stored, each counted once', async () => {
    const compressed = path.join(dir, 'jpeg-ls');
    await mkdir(compressed);
    const some = (await readdir(sources)).slice(0, 80);
    for (const file of some) transcode(path.join(sources, file), path.join(compressed, file), 'jpeg-ls');
    const receiver = await startReceiver({ aet: 'PLAIN' });
    const spy = await dcmtkSpy({ execs: true });
    try {
      const sending = runSend({ aet: 'SENDER', aec: 'PLAIN', host: '127.0.0.1', port: receiver.port, timeout: 2, dcmtkDir: spy.dir }, await collectSendFiles(compressed), { retries: 5, retryDelayMs: 500 });
      await until('dcmsend has begun and the receiver holds some of its files', async () => spy.started().includes('dcmsend') && (await readdir(receiver.dir)).length > 10, { intervalMs: 20 });
      process.kill(receiver.pid, 'SIGSTOP');
      try {
        await until('dcmsend has given up on the frozen receiver and tries again', () => spy.started().filter((tool) => tool === 'dcmsend').length > 1, { describe: () => spy.started() });
      } finally {
        process.kill(receiver.pid, 'SIGCONT');
      }
      const outcome = await sending;
      assert.deepEqual({ status: outcome.payload.status, sent: outcome.payload.sent, failed: outcome.payload.failed, data: outcome.payload.data.length }, { status: 'success', sent: some.length, failed: 0, data: 0 }, JSON.stringify(outcome.payload.data.slice(0, 3)));
      assert.equal(new Set(await receiver.received()).size, some.length);
    } finally {
      await spy.remove();
      await receiver.stop();
    }
  });
});

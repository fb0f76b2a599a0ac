// Node-RED killed hard (kill -9: the OOM killer, a power cut) while 4 senders send to its px-listen:
// nothing it started outlives it, and once it starts again every instance a sender was told is
// stored is on disk and announced at least once (again with duplicate: true where the first
// announcement cannot be proved), and every series ends with the count of what is on disk.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SeriesComplete } from '../lib/filing/series';
import { type RunningNodeRed, startNodeRed } from '../testbed/node-red';
import { freePort } from '../testbed/orthanc';
import { SAMPLE_PATIENTS, type SamplePatient, writeSampleInstances } from '../testbed/generate';
import { processesMentioning } from './support/processes';
import { freeTcpPort, storescu } from './support/store';
import type { InstancePayload } from '../lib/filing/file-instance';
import { bytesUnder, startTcpProxy } from './support/tcp-proxy';
import { until } from './support/until';

function lines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as T);
}

describe('px-listen in a Node-RED that is killed mid-transfer', function () {
  this.timeout(240000);
  let work: string;
  let nodeRed: RunningNodeRed | undefined;

  beforeEach(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'px-listen-crash-'));
  });
  afterEach(async () => {
    await nodeRed?.stop();
    nodeRed = undefined;
    await rm(work, { recursive: true, force: true });
  });

  it('leaves nothing running, and after a restart has filed and announced everything acknowledged', async () => {
    const dataDir = path.join(work, 'data');
    const instancesLog = path.join(work, 'instances.jsonl');
    const seriesLog = path.join(work, 'series.jsonl');
    const port = await freeTcpPort();
    // Function nodes write each message synchronously: what reached the flow is on disk when Node-RED dies.
    const record = (file: string) => `global.get('fs').appendFileSync(${JSON.stringify(file)}, JSON.stringify(msg.payload.data) + '\\n'); return null;`;
    const flows = [
      { id: 'crashtab', type: 'tab', label: 'crash' },
      { id: 'listen', z: 'crashtab', type: 'px-listen', aet: 'CRASHTEST', port, dataDir, tmpDir: '', logDir: '', seriesTimeout: 2, x: 100, y: 100, wires: [['instances'], ['series']] },
      { id: 'instances', z: 'crashtab', type: 'function', func: record(instancesLog), outputs: 1, x: 300, y: 80, wires: [[]] },
      { id: 'series', z: 'crashtab', type: 'function', func: record(seriesLog), outputs: 1, x: 300, y: 120, wires: [[]] },
    ];
    const start = async () => startNodeRed({ userDir: path.join(work, 'node-red'), port: await freePort(), flows, linkThisPackage: true, functionGlobalModules: ['fs'] });
    const folders = await Promise.all([0, 1, 2, 3].map(async (i) => {
      const dir = path.join(work, `send${i}`);
      await writeSampleInstances(dir, { patients: [SAMPLE_PATIENTS[i] as SamplePatient], seriesPerStudy: 2, instancesPerSeries: 200, imageSize: 64, seed: 'crash' });
      return dir;
    }));

    nodeRed = await start();
    await until('px-listen started storescp', () => processesMentioning(dataDir).some((p) => p.command === 'storescp'), { timeoutMs: 20000 });
    // Half of what the senders have reaches px-listen, then they wait: the crash comes in the middle of
    // the transfer however fast this machine sends.
    const proxy = await startTcpProxy(port, { holdAfterBytes: bytesUnder(...folders) / 2 });
    let sent: Awaited<ReturnType<typeof storescu>>[];
    try {
      const sending = Promise.all(folders.map((dir) => storescu(proxy.port, [dir], { aec: 'CRASHTEST' })));
      await until('100 instances announced', () => lines(instancesLog).length >= 100, { timeoutMs: 60000, describe: () => ({ announced: lines(instancesLog).length, forwarded: proxy.forwarded() }) });
      const died = new Promise((resolve) => nodeRed?.process.once('exit', resolve));
      nodeRed.process.kill('SIGKILL');
      await died;
      await until('nothing Node-RED started outlives it (by a second at most)', () => processesMentioning(dataDir).length === 0,
        { timeoutMs: 1000, describe: () => processesMentioning(dataDir) });
      sent = await sending;
    } finally {
      await proxy.stop();
    }
    const stored = new Set(sent.flatMap((s) => s.stored.map((f) => path.basename(f, '.dcm'))));
    assert.ok(stored.size < 1600, 'the crash cut the transfer short');

    nodeRed = await start();
    const announced = () => new Set(lines<InstancePayload>(instancesLog).map((p) => p.SOPInstanceUID));
    await until('every acknowledged instance announced', () => [...stored].every((uid) => announced().has(uid)),
      { timeoutMs: 60000, describe: () => `${[...stored].filter((uid) => !announced().has(uid)).length} of ${stored.size} missing` });
    const records = lines<InstancePayload>(instancesLog);
    for (const uid of stored) {
      const filed = records.filter((p) => p.SOPInstanceUID === uid);
      assert.ok(existsSync(filed[0]?.path as string), `${uid} is on disk where it was announced`);
      assert.ok(filed.slice(1).every((p) => p.duplicate), `${uid}: an announcement after the first is flagged duplicate`);
    }
    // Every series ends with a message whose count is what is on disk.
    const seriesDirs = new Set(records.map((p) => path.dirname(p.path)));
    await until('every series complete with the count on disk', () => {
      const last = new Map(lines<SeriesComplete>(seriesLog).map((s) => [s.path, s]));
      return [...seriesDirs].every((dir) => last.get(dir)?.count === readdirSync(dir).filter((n) => n.endsWith('.dcm')).length);
    }, { timeoutMs: 30000 });

    await nodeRed.stop();
    nodeRed = undefined;
    assert.deepEqual(processesMentioning(dataDir), [], 'storescp outlived a stopped Node-RED');
  });
});

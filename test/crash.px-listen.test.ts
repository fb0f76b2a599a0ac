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

function lines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as T);
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  for (const end = Date.now() + ms; !check();) {
    if (Date.now() > end) throw new Error(`not in ${ms / 1000} s: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
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
    await until(() => processesMentioning(dataDir).some((p) => p.command === 'storescp'), 20000, 'px-listen started storescp');
    const sending = Promise.all(folders.map((dir) => storescu(port, [dir], { aec: 'CRASHTEST' })));
    await until(() => lines(instancesLog).length >= 100, 60000, '100 instances announced');
    nodeRed.process.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(processesMentioning(dataDir), [], 'storescp or one of its children outlived Node-RED by a second');
    const sent = await sending;
    const stored = new Set(sent.flatMap((s) => s.stored.map((f) => path.basename(f, '.dcm'))));
    assert.ok(stored.size < 1600, 'the crash cut the transfer short');

    nodeRed = await start();
    const announced = () => new Set(lines<InstancePayload>(instancesLog).map((p) => p.SOPInstanceUID));
    await until(() => [...stored].every((uid) => announced().has(uid)), 60000,
      `every acknowledged instance announced (${[...stored].filter((uid) => !announced().has(uid)).length} of ${stored.size} missing)`);
    const records = lines<InstancePayload>(instancesLog);
    for (const uid of stored) {
      const filed = records.filter((p) => p.SOPInstanceUID === uid);
      assert.ok(existsSync(filed[0]?.path as string), `${uid} is on disk where it was announced`);
      assert.ok(filed.slice(1).every((p) => p.duplicate), `${uid}: an announcement after the first is flagged duplicate`);
    }
    // Every series ends with a message whose count is what is on disk.
    const seriesDirs = new Set(records.map((p) => path.dirname(p.path)));
    await until(() => {
      const last = new Map(lines<SeriesComplete>(seriesLog).map((s) => [s.path, s]));
      return [...seriesDirs].every((dir) => last.get(dir)?.count === readdirSync(dir).filter((n) => n.endsWith('.dcm')).length);
    }, 30000, 'every series complete with the count on disk');

    await nodeRed.stop();
    nodeRed = undefined;
    assert.deepEqual(processesMentioning(dataDir), [], 'storescp outlived a stopped Node-RED');
  });
});

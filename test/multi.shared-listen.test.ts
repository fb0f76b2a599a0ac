// Two Node-RED processes, each with a px-listen filing to one shared data folder, behind an HAProxy in
// TCP mode (one port for the senders), share their view of series through a Redis the test starts.
// Four senders send at once, each series over several associations that HAProxy spreads over both:
// every instance is filed once, and every series is announced complete once, with its full count.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { InstancePayload } from '../lib/filing/file-instance';
import type { SeriesComplete } from '../lib/filing/series';
import { SAMPLE_PATIENTS, type SamplePatient, writeSampleInstances } from '../testbed/generate';
import { type RunningNodeRed, startNodeRed } from '../testbed/node-red';
import { freePort } from '../testbed/orthanc';
import { processesMentioning } from './support/processes';
import { type RunningServer, startHaproxy, startRedis } from './support/redis';
import { freeTcpPort, storescu } from './support/store';
import { until } from './support/until';

const AET = 'SHARED';
const SERIES_PER_SENDER = 2;
const INSTANCES_PER_SERIES = 30;
/** Files per association: each series reaches the receivers over several. */
const PER_ASSOCIATION = 10;

function lines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as T);
}

/** Series a receiver's journal has open: opened (+) and not yet decided (-). */
function openInJournal(journal: string): number {
  if (!existsSync(journal)) return 0;
  const open = new Set<string>();
  for (const line of readFileSync(journal, 'utf8').split('\n')) {
    if (line.startsWith('+')) open.add((JSON.parse(line.slice(1)) as { path: string }).path);
    else if (line.startsWith('-')) open.delete(JSON.parse(line.slice(1)) as string);
  }
  return open.size;
}

describe('two px-listen behind HAProxy sharing their series view through Redis', function () {
  this.timeout(300000);
  let work = '';
  let redis: RunningServer | undefined;
  let haproxy: RunningServer | undefined;
  const runtimes: RunningNodeRed[] = [];

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'pypx-shared-listen-'));
    redis = await startRedis();
  });
  // Each runtime's DCMTK processes end with it, before the check that none outlives the test.
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.stop()));
  });
  after(async () => {
    await haproxy?.stop();
    await redis?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('files every instance once and announces every series once, with the count of both receivers', async () => {
    const dataDir = path.join(work, 'data');
    const ports = [await freeTcpPort(), await freeTcpPort()];
    const receivers = await Promise.all(ports.map(async (port, i) => {
      const instances = path.join(work, `instances${i}.jsonl`);
      const series = path.join(work, `series${i}.jsonl`);
      const record = (file: string) => `global.get('fs').appendFileSync(${JSON.stringify(file)}, JSON.stringify(msg.payload.data) + '\\n'); return null;`;
      const flows = [
        { id: 'tab', type: 'tab', label: 'listen' },
        { id: 'listen', z: 'tab', type: 'px-listen', aet: AET, port, dataDir, tmpDir: path.join(work, `incoming${i}`), logDir: '', seriesTimeout: 2, redis: redis?.url, x: 100, y: 100, wires: [['instances'], ['series']] },
        { id: 'instances', z: 'tab', type: 'function', func: record(instances), outputs: 1, x: 300, y: 80, wires: [[]] },
        { id: 'series', z: 'tab', type: 'function', func: record(series), outputs: 1, x: 300, y: 120, wires: [[]] },
      ];
      const runtime = await startNodeRed({ userDir: path.join(work, `node-red${i}`), port: await freePort(), flows, linkThisPackage: true, functionGlobalModules: ['fs'] });
      runtimes.push(runtime);
      // Each receiver has a folder of its own for what storescp writes.
      const journal = path.join(work, `incoming${i}`, '.px-listen-series.jsonl');
      return { instances, series, journal };
    }));
    await until('both px-listen run storescp', () => processesMentioning(work).filter((p) => p.command === 'storescp').length === 2, { timeoutMs: 30000 });
    haproxy = await startHaproxy(ports);

    const senders = await Promise.all([0, 1, 2, 3].map(async (i) => {
      const dir = path.join(work, `send${i}`);
      const sample = await writeSampleInstances(dir, { patients: [SAMPLE_PATIENTS[i] as SamplePatient], seriesPerStudy: SERIES_PER_SENDER, instancesPerSeries: INSTANCES_PER_SERIES, imageSize: 32, seed: 'shared-listen' });
      return sample.map((s) => path.join(dir, `${s.sopInstanceUID}.dcm`));
    }));
    const proxyPort = haproxy.port;
    const sent = await Promise.all(senders.map(async (files) => {
      const stored: string[] = [];
      for (let at = 0; at < files.length; at += PER_ASSOCIATION) {
        const result = await storescu(proxyPort, files.slice(at, at + PER_ASSOCIATION), { aec: AET });
        assert.equal(result.exitCode, 0, result.output);
        stored.push(...result.stored);
      }
      return stored;
    }));
    const sentUids = sent.flat().map((file) => path.basename(file, '.dcm'));
    assert.equal(sentUids.length, 4 * SERIES_PER_SENDER * INSTANCES_PER_SERIES, 'every instance acknowledged');

    const announced = () => receivers.flatMap((r) => lines<InstancePayload>(r.instances));
    await until('every instance announced', () => announced().length >= sentUids.length, { timeoutMs: 60000, describe: () => announced().length });
    // Both receivers have decided about every series they saw: announced it, or left it to the other.
    await until('no series left open in either receiver', () => receivers.every((r) => existsSync(r.journal) && openInJournal(r.journal) === 0),
      { timeoutMs: 60000, describe: () => receivers.map((r) => openInJournal(r.journal)) });

    const instances = announced();
    assert.deepEqual(instances.map((p) => p.SOPInstanceUID).sort(), [...sentUids].sort(), 'every instance announced once, by one receiver');
    assert.ok(instances.every((p) => !p.duplicate && existsSync(p.path)), 'each filed once, where it was announced');
    const byReceiver = receivers.map((r) => new Set(lines<InstancePayload>(r.instances).map((p) => p.SeriesInstanceUID)));
    assert.ok([...(byReceiver[0] ?? [])].some((uid) => byReceiver[1]?.has(uid)), 'some series reached both receivers (HAProxy spread the associations)');

    const completed = receivers.flatMap((r) => lines<SeriesComplete>(r.series));
    const seriesUids = new Set(instances.map((p) => p.SeriesInstanceUID));
    assert.equal(seriesUids.size, 4 * SERIES_PER_SENDER);
    assert.deepEqual(completed.map((s) => s.SeriesInstanceUID).sort(), [...seriesUids].sort(), 'each series announced complete exactly once');
    for (const series of completed) {
      assert.equal(series.count, INSTANCES_PER_SERIES, `series ${series.SeriesInstanceUID} complete with the instances of both receivers`);
      assert.equal(series.files.length, INSTANCES_PER_SERIES);
    }
  });
});

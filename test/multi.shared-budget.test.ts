// Three Node-RED processes retrieve from one Orthanc through px-pacs configs with concurrency 2 that
// share their budget through a Redis the test starts. Counted at the PACS (its established DICOM
// connections, sampled all along): never more than 2 associations at once, whoever opens them. One
// process killed hard while it holds both slots: its slots expire with their lease, and the others go on.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { budgetKey, LEASE_MS } from '../lib/core/shared-budget';
import type { MovePayload } from '../lib/ops/move/types';
import { generateSampleInstances, type SampleInstance } from '../testbed/generate';
import { type RunningNodeRed, startNodeRed } from '../testbed/node-red';
import { freePort } from '../testbed/orthanc';
import { useOrthanc } from './support/pacs';
import { type RunningServer, startRedis } from './support/redis';
import { until } from './support/until';

const run = promisify(execFile);
const CONCURRENCY = 2;

/**
 * Associations open at the PACS now: its established TCP connections on the DICOM port, as
 * `ss -Htn state established '( sport = :PORT )'` counts them, read from /proc/net/tcp and tcp6 (what ss
 * reads too): ss alone, started again and again on a loaded machine, samples only every tenth of a second or so.
 */
async function associationsAt(port: number): Promise<number> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  // A table that changes while it is read may show a connection twice: each counts once.
  const connections = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const [, local, remote, state] = line.trim().split(/\s+/);
      if (state === '01' && local?.endsWith(`:${hexPort}`)) connections.add(`${local} ${remote}`);
    }
  }
  return connections.size;
}

/** The same count by ss itself. */
async function associationsBySs(port: number): Promise<number> {
  const { stdout } = await run('ss', ['-Htn', 'state', 'established', `( sport = :${port} )`]);
  return stdout.split('\n').filter(Boolean).length;
}

/**
 * Counts the PACS's associations until stopped: from /proc every 10 ms, and by ss as often as it can
 * start; keeps the most either saw, the latest /proc count, and how many samples each took.
 */
function sampleAssociations(port: number) {
  const seen = { most: 0, now: 0, samples: 0, ssSamples: 0, mostBySs: 0 };
  let stopped = false;
  const proc = (async () => {
    while (!stopped) {
      seen.now = await associationsAt(port);
      seen.most = Math.max(seen.most, seen.now);
      seen.samples++;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const ss = (async () => {
    while (!stopped) {
      seen.mostBySs = Math.max(seen.mostBySs, await associationsBySs(port));
      seen.most = Math.max(seen.most, seen.mostBySs);
      seen.ssSamples++;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return { seen, stop: async () => { stopped = true; await Promise.all([proc, ss]); } };
}

function lines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as T);
}

interface Retrieve {
  StudyInstanceUID: string;
  SeriesInstanceUID: string;
}

function seriesOf(instances: SampleInstance[]): Retrieve[] {
  const series = new Map<string, Retrieve>();
  for (const i of instances) series.set(i.seriesInstanceUID, { StudyInstanceUID: i.studyInstanceUID, SeriesInstanceUID: i.seriesInstanceUID });
  return [...series.values()];
}

describe('px-get in three Node-RED processes sharing one PACS budget through Redis', function () {
  this.timeout(300000);
  const pacs = useOrthanc({ extra: { DicomAlwaysAllowGet: true, DicomAlwaysAllowFind: true } });
  let work = '';
  let redis: RunningServer | undefined;
  const runtimes: RunningNodeRed[] = [];

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'pypx-shared-budget-'));
    redis = await startRedis();
  });
  // Each runtime's DCMTK processes end with it, before the check that none outlives the test.
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.stop()));
  });
  after(async () => {
    await redis?.stop();
    await rm(work, { recursive: true, force: true });
  });

  /** One Node-RED whose POST /go retrieves each series given, recording each answer in results<i>.jsonl. */
  async function startRuntime(i: number): Promise<{ runtime: RunningNodeRed; results: string; go(series: Retrieve[]): Promise<void> }> {
    const results = path.join(work, `results${i}.jsonl`);
    const record = `global.get('fs').appendFileSync(${JSON.stringify(results)}, JSON.stringify(msg.payload) + '\\n'); return null;`;
    const flows = [
      { id: 'tab', type: 'tab', label: 'budget' },
      { id: 'pacs', type: 'px-pacs', aet: `GETTER${i}`, aec: pacs().aet, host: '127.0.0.1', port: pacs().dicomPort, timeout: 30, concurrency: CONCURRENCY, redis: redis?.url, redisFallback: false },
      { id: 'go', z: 'tab', type: 'http in', url: '/go', method: 'post', x: 100, y: 100, wires: [['split', 'ok']] },
      { id: 'ok', z: 'tab', type: 'http response', statusCode: '200', x: 300, y: 60, wires: [] },
      { id: 'split', z: 'tab', type: 'function', func: 'for (const series of msg.payload) node.send({ payload: series }); return null;', outputs: 1, x: 300, y: 100, wires: [['get']] },
      { id: 'get', z: 'tab', type: 'px-get', pacs: 'pacs', dataDir: path.join(work, `data${i}`), seriesTimeout: 10, x: 500, y: 100, wires: [[], ['record']] },
      { id: 'record', z: 'tab', type: 'function', func: record, outputs: 1, x: 700, y: 100, wires: [[]] },
    ];
    const runtime = await startNodeRed({ userDir: path.join(work, `node-red${i}`), port: await freePort(), flows, linkThisPackage: true, functionGlobalModules: ['fs'] });
    runtimes.push(runtime);
    const go = async (series: Retrieve[]) => {
      const response = await fetch(`${runtime.url}/go`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(series) });
      assert.equal(response.status, 200, await response.text());
    };
    return { runtime, results, go };
  }

  it('never opens more than the concurrency at the PACS, retrieves everything, and outlives a process killed holding slots', async () => {
    const small = [...generateSampleInstances({ patients: [{ id: 'BUDGET1', name: 'Budget^Small', charset: '' }], seriesPerStudy: 6, instancesPerSeries: 20, imageSize: 32, seed: 'budget-small' })];
    const large = [...generateSampleInstances({ patients: [{ id: 'BUDGET2', name: 'Budget^Large', charset: '' }], seriesPerStudy: 2, instancesPerSeries: 300, imageSize: 64, seed: 'budget-large' })];
    await pacs().upload([...small, ...large].map((s) => s.bytes), 4);
    const [a, b, c] = await Promise.all([1, 2, 3].map((i) => startRuntime(i)));
    if (!a || !b || !c) throw new Error('three runtimes');
    const port = pacs().dicomPort;
    const sampler = sampleAssociations(port);
    try {
      // Every process asks for six retrieves at once: each alone would open two associations, together six.
      await Promise.all([a, b, c].map((p) => p.go(seriesOf(small))));
      const answered = (): [number, number, number] => [lines<MovePayload>(a.results).length, lines<MovePayload>(b.results).length, lines<MovePayload>(c.results).length];
      await until('every retrieve answered', () => answered().every((n) => n === 6), { timeoutMs: 180000, describe: answered });
      for (const p of [a, b, c]) {
        for (const result of lines<MovePayload>(p.results)) assert.deepEqual([result.status, result.completed, result.failed], ['success', 20, 0], JSON.stringify(result));
      }
      assert.ok(sampler.seen.most <= CONCURRENCY, `at most ${CONCURRENCY} associations at the PACS at once; saw ${sampler.seen.most} (${sampler.seen.samples} samples from /proc, ${sampler.seen.ssSamples} by ss)`);

      // c takes both slots with two long retrieves, and is killed holding them.
      // Killed as soon as Redis shows both slots taken (the PACS's side may lag, or count one about to end).
      const client = new Redis(redis?.url as string);
      const slots = `semaphore:${budgetKey({ host: '127.0.0.1', port, aec: pacs().aet })}`;
      const died = new Promise((resolve) => c.runtime.process.once('exit', resolve));
      let slotsHeld = 0;
      try {
        await c.go(seriesOf(large));
        await until('c holds both slots', async () => (await client.zcard(slots)) === CONCURRENCY, { timeoutMs: 60000, intervalMs: 5, describe: () => ({ associations: sampler.seen, c: lines(c.results) }) });
        c.runtime.process.kill('SIGKILL');
        await died;
        slotsHeld = await client.zcard(slots);
      } finally {
        client.disconnect();
      }
      assert.equal(slotsHeld, CONCURRENCY, 'the killed process still held both slots when it died');
      // a and b ask while the dead process's slots still stand in Redis: they wait for the leases to expire.
      await Promise.all([a, b].map((p) => p.go(seriesOf(small))));
      // Retrieves of 20 instances take a second or two here: the first answer comes soon after the leases end.
      await until('a or b answers a retrieve once the dead process\'s leases expire', () => answered()[0] + answered()[1] > 12,
        { timeoutMs: LEASE_MS + 10000, describe: () => ({ answered: answered(), associations: sampler.seen }) });
      await until('every retrieve of a and b answered', () => [a, b].every((p) => lines<MovePayload>(p.results).length === 12), { timeoutMs: 180000, describe: answered });
      for (const p of [a, b]) {
        for (const result of lines<MovePayload>(p.results)) assert.deepEqual([result.status, result.failed], ['success', 0], JSON.stringify(result));
      }
    } finally {
      await sampler.stop();
    }
    assert.ok(sampler.seen.most <= CONCURRENCY, `never more than ${CONCURRENCY} associations at the PACS; saw ${JSON.stringify(sampler.seen)}`);
  });
});

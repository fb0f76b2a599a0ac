// Examples 06 and 07 as shipped, against Orthanc, with only addresses and folders changed as a site would.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { generateSampleInstances } from '../testbed/generate';
import { freePort, type RunningOrthanc, startOrthanc } from '../testbed/orthanc';
import { type FlowNode, helper, nodeModules, shown, statusLog } from './support/flow';
import { useOrthanc } from './support/pacs';
import { until } from './support/until';

const core = (file: string) => require(`@node-red/nodes/core/${file}`) as (RED: unknown) => void;
const example = (name: string) => JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'examples', `${name}.json`), 'utf8')) as FlowNode[];
const sample = [...generateSampleInstances({ studiesPerPatient: 2, seriesPerStudy: 2, instancesPerSeries: 3, seed: 'examples-sendget' })];
const CORE = ['common/20-inject.js', 'common/90-comment.js', 'common/25-catch.js', 'function/10-switch.js', 'function/10-function.js', 'sequence/17-split.js'];

async function load(flow: FlowNode[], types: string[]): Promise<void> {
  const tab = { id: 'tab', type: 'tab', label: 'example' };
  await helper.load([...nodeModules('px-pacs', ...types), ...CORE.map(core)], [tab, ...flow.map((n) => (n.type === 'px-pacs' ? n : { z: 'tab', ...n }))]);
}

describe('examples 06 and 07 as shipped', function () {
  this.timeout(90000);
  let routerPort = 0;
  let work = '';
  before(async () => {
    routerPort = await freePort();
    work = await mkdtemp(path.join(os.tmpdir(), 'pypx-examples-sendget-'));
  });
  const pacs = useOrthanc({
    modalities: {
      nodered: ['NODERED', '127.0.0.1', 11113],
      get router(): [string, string, number] {
        return ['ROUTER', '127.0.0.1', routerPort];
      },
    },
    extra: { DicomAlwaysAllowGet: true },
  });
  before(async () => {
    await pacs().upload(sample.map((s) => s.bytes));
  });
  afterEach(() => helper.unload());
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('06 routes the CT instances it receives to the archive and keeps the MR ones', async () => {
    let archive: RunningOrthanc | undefined;
    try {
      archive = await startOrthanc({ aet: 'ARCHIVE' });
      const target = archive;
      const flow = example('06 - Route received series').map((n): FlowNode => {
        if (n.type === 'px-pacs' && n.aec === 'ARCHIVE') return { ...n, port: String(target.dicomPort) };
        if (n.type === 'px-pacs') return { ...n, port: String(pacs().dicomPort) };
        if (n.type === 'px-listen') return { ...n, port: routerPort, dataDir: path.join(work, 'router') };
        if (n.type === 'debug') return { id: n.id, type: 'helper', name: n.name };
        return n;
      });
      await load(flow, ['px-find', 'px-move', 'px-listen', 'px-send']);
      const routed = shown(flow, 'routed to ARCHIVE');
      const kept = shown(flow, 'not CT: kept here');
      const errors = shown(flow, 'what went wrong');
      const listener = flow.find((n) => n.type === 'px-listen')?.id as string;
      await until('px-listen listens (green status)', () => statusLog(listener).some((st) => st.fill === 'green'), { timeoutMs: 45000, describe: () => statusLog(listener) });
      helper.getNode(flow.find((n) => n.type === 'inject')?.id as string)?.receive({} as NodeMessage);
      const ct = sample.filter((s) => s.patientID === 'PX0002' && s.modality === 'CT');
      const mr = sample.filter((s) => s.patientID === 'PX0002' && s.modality === 'MR');
      assert.deepEqual([ct.length, mr.length], [6, 6]);
      await until(`${ct.length} routed and ${mr.length} kept`, () => routed.length === ct.length && kept.length === mr.length,
        { timeoutMs: 45000, describe: () => ({ routed: routed.length, kept: kept.length, errors }) });
      assert.ok(routed.every((m) => (m.payload as { status: string; sent: number }).status === 'success' && (m.payload as { sent: number }).sent === 1));
      const held = await target.get<Array<{ MainDicomTags: { SOPInstanceUID: string } }>>('/instances?expand');
      assert.deepEqual(held.map((i) => i.MainDicomTags.SOPInstanceUID).sort(), ct.map((s) => s.sopInstanceUID).sort());
      assert.deepEqual(errors, []);
    } finally {
      await archive?.stop();
    }
  });

  it('07 retrieves each series of PX0004 with C-GET and makes one job per complete series', async () => {
    const flow = example('07 - Retrieve with C-GET').map((n): FlowNode => {
      if (n.type === 'px-pacs') return { ...n, port: String(pacs().dicomPort) };
      if (n.type === 'px-get') return { ...n, dataDir: path.join(work, 'get') };
      if (n.type === 'debug') return { id: n.id, type: 'helper', name: n.name };
      return n;
    });
    await load(flow, ['px-find', 'px-get']);
    const jobs = shown(flow, 'series ready');
    const results = shown(flow, 'all results');
    const errors = shown(flow, 'why a retrieve failed');
    helper.getNode(flow.find((n) => n.type === 'inject')?.id as string)?.receive({} as NodeMessage);
    const series = new Set(sample.filter((s) => s.patientID === 'PX0004').map((s) => s.seriesInstanceUID));
    await until('the join of all retrieves', () => results.length === 1, { timeoutMs: 45000, describe: () => ({ jobs: jobs.length, errors }) });
    assert.equal(jobs.length, series.size);
    for (const job of jobs) {
      const payload = job.payload as { patient: string; series: string; images: number; folder: string };
      assert.equal(payload.patient, 'PX0004');
      assert.ok(series.has(payload.series));
      assert.equal(payload.images, 3);
      assert.ok(payload.folder.startsWith(path.join(work, 'get')));
    }
    assert.deepEqual((results[0]?.payload as Array<{ status: string; completed: number }>).map((p) => [p.status, p.completed]), Array(series.size).fill(['success', 3]));
  });
});

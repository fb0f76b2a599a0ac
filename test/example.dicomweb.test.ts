// Example 08 as shipped, against two Orthancs with their DICOMweb plugin, only their URLs and the data folder changed as a site would.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { generateSampleInstances } from '../testbed/generate';
import { type RunningOrthanc, startOrthanc } from '../testbed/orthanc';
import { type FlowNode, helper, nodeModules, shown } from './support/flow';
import { useOrthanc } from './support/pacs';
import { until } from './support/until';

const core = (file: string) => require(`@node-red/nodes/core/${file}`) as (RED: unknown) => void;
const CORE = ['common/20-inject.js', 'common/90-comment.js', 'common/25-catch.js', 'function/10-function.js', 'sequence/17-split.js'];
const sample = [...generateSampleInstances({ studiesPerPatient: 2, seriesPerStudy: 2, instancesPerSeries: 3, seed: 'example-dicomweb' })];

describe('example 08 - DICOMweb as shipped', function () {
  this.timeout(90000);
  const pacs = useOrthanc({ dicomweb: true, defaultEncoding: 'Utf8' });
  let archive: RunningOrthanc | undefined;
  let work = '';
  before(async () => {
    await pacs().upload(sample.map((s) => s.bytes));
    archive = await startOrthanc({ aet: 'ARCHIVE', dicomweb: true });
    work = await mkdtemp(path.join(os.tmpdir(), 'pypx-example-dicomweb-'));
  });
  after(async () => {
    await archive?.stop();
    await rm(work, { recursive: true, force: true });
  });
  afterEach(() => helper.unload());

  it('echoes, finds the studies of Yama*, gets them over WADO-RS and sends every series on to ARCHIVE over STOW-RS', async () => {
    const shipped = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'examples', '08 - DICOMweb.json'), 'utf8')) as FlowNode[];
    const flow = shipped.map((n): FlowNode => {
      if (n.type === 'px-pacs') return { ...n, url: n.aec === 'ARCHIVE' ? archive?.dicomwebUrl : pacs().dicomwebUrl };
      if (n.type === 'px-get') return { ...n, dataDir: path.join(work, 'data') };
      if (n.type === 'debug') return { id: n.id, type: 'helper', name: n.name };
      return n;
    });
    const tab = { id: 'tab', type: 'tab', label: 'example' };
    await helper.load([...nodeModules('px-pacs', 'px-echo', 'px-find', 'px-get', 'px-send'), ...CORE.map(core)], [tab, ...flow.map((n) => (n.type === 'px-pacs' ? n : { z: 'tab', ...n }))]);
    const echoed = shown(flow, 'echo answer');
    const found = shown(flow, 'studies found');
    const stored = shown(flow, 'stored at ARCHIVE');
    const errors = shown(flow, 'what went wrong');
    const inject = (name: string) => helper.getNode(flow.find((n) => n.type === 'inject' && n.name === name)?.id as string)?.receive({} as NodeMessage);

    inject('echo');
    await until('the echo answered', () => echoed.length === 1, { timeoutMs: 45000, describe: () => ({ errors }) });
    assert.equal((echoed[0]?.payload as { status: string }).status, 'success');

    inject('studies of Yama*');
    const wanted = sample.filter((s) => s.patientName.startsWith('Yama'));
    const series = new Set(wanted.map((s) => s.seriesInstanceUID));
    await until(`${series.size} series stored at ARCHIVE`, () => stored.length === series.size,
      { timeoutMs: 45000, describe: () => ({ stored: stored.length, errors: errors.map((e) => (e as { error?: { message: string } }).error?.message) }) });
    assert.equal((found[0]?.payload as { data: unknown[] }).data.length, 2, 'two studies found');
    assert.ok(stored.every((m) => (m.payload as { status: string; sent: number }).status === 'success' && (m.payload as { sent: number }).sent === 3));
    const held = await (archive as RunningOrthanc).get<Array<{ MainDicomTags: { SOPInstanceUID: string } }>>('/instances?expand');
    assert.deepEqual(held.map((i) => i.MainDicomTags.SOPInstanceUID).sort(), wanted.map((s) => s.sopInstanceUID).sort());
    assert.deepEqual(errors, []);
  });
});

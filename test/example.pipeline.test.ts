import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { generateSampleInstances, SAMPLE_PATIENTS } from '../testbed/generate';
import { freePort } from '../testbed/orthanc';
import { type FlowNode, helper, nodeModules, statusLog } from './support/flow';
import { useOrthanc } from './support/pacs';
import { until } from './support/until';

const core = (file: string) => require(`@node-red/nodes/core/${file}`) as (RED: unknown) => void;
const EXAMPLE = path.join(__dirname, '..', '..', 'examples', '05 - Retrieval pipeline.json');
const sample = [...generateSampleInstances({ patients: SAMPLE_PATIENTS.slice(1, 3), studiesPerPatient: 2, seriesPerStudy: 2, instancesPerSeries: 3 })];

interface Manifest {
  PatientID: string;
  StudyInstanceUID: string;
  SeriesInstanceUID: string;
  count: number;
  files: string[];
}

describe('example "05 - Retrieval pipeline" as shipped', () => {
  let listenPort = 0;
  let work = '';
  before(async () => {
    listenPort = await freePort();
    work = await mkdtemp(path.join(os.tmpdir(), 'pypx-pipeline-'));
  });
  const pacs = useOrthanc({
    modalities: {
      nodered: ['NODERED', '127.0.0.1', 11113],
      get pipeline(): [string, string, number] {
        return ['PIPELINE', '127.0.0.1', listenPort];
      },
    },
  });
  before(async function () {
    this.timeout(60000);
    await pacs().upload(sample.map((s) => s.bytes));
  });
  afterEach(() => helper.unload());
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('moves every series of PX0003 into its px-listen and writes a manifest beside each series', async function () {
    this.timeout(60000);
    // As a site would: the PACS config pointed at this PACS, the listener at a free port and a scratch folder.
    const flow = (JSON.parse(readFileSync(EXAMPLE, 'utf8')) as FlowNode[]).map((n): FlowNode => {
      if (n.type === 'px-pacs') return { ...n, host: pacs().host, port: String(pacs().dicomPort), aec: pacs().aet };
      if (n.type === 'px-listen') return { ...n, port: listenPort, dataDir: path.join(work, 'data'), seriesTimeout: 1 };
      if (n.type === 'debug') return { id: n.id, type: 'helper', name: n.name };
      return n;
    });
    const tab = { id: 'tab', type: 'tab', label: 'example 05' };
    const placed = [tab, ...flow.map((n) => (n.type === 'px-pacs' ? n : { z: 'tab', ...n }))];
    await helper.load(
      [
        ...nodeModules('px-pacs', 'px-find', 'px-move', 'px-listen'),
        core('common/20-inject.js'), core('common/90-comment.js'),
        core('function/15-change.js'), core('parsers/70-JSON.js'), core('storage/10-file.js'),
      ],
      placed,
    );
    const byName = (name: string) => flow.find((n) => n.name === name)?.id as string;
    const errors: string[] = [];
    for (const name of ['why it failed']) {
      (helper.getNode(byName(name)) as unknown as NodeJS.EventEmitter).on('input', (msg: { error?: { message: string } }) => errors.push(msg.error?.message ?? '?'));
    }
    const patientSeries = new Set(sample.filter((s) => s.patientID === 'PX0003').map((s) => s.seriesInstanceUID));
    assert.equal(patientSeries.size, 4);
    const manifests: string[] = [];
    (helper.getNode(byName('manifest written')) as unknown as NodeJS.EventEmitter).on('input', (msg: { filename: string }) => manifests.push(msg.filename));
    // Wait until the receiver listens (green status), then click the inject.
    const listener = flow.find((n) => n.type === 'px-listen')?.id as string;
    await until('the receiver listens (green status)', () => statusLog(listener).some((st) => st.fill === 'green'), { timeoutMs: 10000, describe: () => statusLog(listener) });
    helper.getNode(byName('patient PX0003'))?.receive({} as NodeMessage);

    await until(`${patientSeries.size} manifests written`, () => manifests.length >= patientSeries.size, { timeoutMs: 45000, describe: () => ({ manifests, errors }) });
    assert.deepEqual(errors, []);
    const seen = new Set<string>();
    for (const file of manifests) {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
      const folder = path.dirname(file);
      const images = readdirSync(folder).filter((f) => f.endsWith('.dcm')).sort();
      assert.equal(manifest.PatientID, 'PX0003');
      assert.ok(patientSeries.has(manifest.SeriesInstanceUID), `a series of PX0003: ${manifest.SeriesInstanceUID}`);
      assert.ok(folder.endsWith(manifest.SeriesInstanceUID), `manifest beside its series: ${file}`);
      assert.equal(manifest.count, 3);
      assert.deepEqual(manifest.files, images);
      seen.add(manifest.SeriesInstanceUID);
    }
    assert.equal(seen.size, 4, 'one manifest per series of the patient');
    const patients = readdirSync(path.join(work, 'data')).filter((d) => d.startsWith('PX'));
    assert.deepEqual(patients.map((d) => d.slice(0, 6)), ['PX0003'], 'only the asked-for patient was moved');
  });
});

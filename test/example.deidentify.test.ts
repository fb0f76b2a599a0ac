// Example 09 as shipped, against a real ARCHIVE (Orthanc), with only addresses and folders changed as a
// site would, and its key given as the demo gives it: the credential ${PX_DEID_KEY}, from the environment.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SAMPLE_PATIENTS, writeSampleInstances } from '../testbed/generate';
import { freePort, type RunningOrthanc, startOrthanc } from '../testbed/orthanc';
import { type FlowNode, helper, nodeModules, shown, statusLog } from './support/flow';
import { storescu } from './support/store';
import { until } from './support/until';

const core = (file: string) => require(`@node-red/nodes/core/${file}`) as (RED: unknown) => void;
const EXAMPLE = path.join(__dirname, '..', '..', 'examples', '09 - De-identify and forward.json');

interface HeldInstance {
  ID: string;
  MainDicomTags: { SOPInstanceUID: string };
}

describe('example 09 - De-identify and forward as shipped', function () {
  this.timeout(90000);
  let work = '';
  let archive: RunningOrthanc | undefined;
  const savedKey = process.env.PX_DEID_KEY;
  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'pypx-example-deid-'));
    archive = await startOrthanc({ aet: 'ARCHIVE' });
    process.env.PX_DEID_KEY = 'example-09-test-key';
  });
  afterEach(() => helper.unload());
  after(async () => {
    if (savedKey === undefined) delete process.env.PX_DEID_KEY;
    else process.env.PX_DEID_KEY = savedKey;
    await archive?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('sends a study it receives on to ARCHIVE de-identified: every instance, none with the patient\'s name or ID', async () => {
    const target = archive as RunningOrthanc;
    const port = await freePort();
    const flow = (JSON.parse(readFileSync(EXAMPLE, 'utf8')) as FlowNode[]).map((n): FlowNode => {
      if (n.type === 'px-pacs' && n.aec === 'ARCHIVE') return { ...n, port: String(target.dicomPort) };
      if (n.type === 'px-listen') return { ...n, port, dataDir: path.join(work, 'received'), seriesTimeout: 1 };
      if (n.type === 'px-deidentify') return { ...n, outDir: path.join(work, 'deidentified') };
      if (n.type === 'debug') return { id: n.id, type: 'helper', name: n.name };
      return n;
    });
    const deid = flow.find((n) => n.type === 'px-deidentify') as FlowNode;
    const tab = { id: 'tab', type: 'tab', label: 'example 09' };
    await helper.load(
      [...nodeModules('px-pacs', 'px-find', 'px-move', 'px-listen', 'px-deidentify', 'px-send'), ...['common/20-inject.js', 'common/90-comment.js', 'common/25-catch.js'].map(core)],
      [tab, ...flow.map((n) => (n.type === 'px-pacs' ? n : { z: 'tab', ...n }))],
      { [deid.id]: { key: '${PX_DEID_KEY}' } },
    );
    const sent = shown(flow, 'sent to ARCHIVE');
    const errors = shown(flow, 'what went wrong');
    const listener = flow.find((n) => n.type === 'px-listen')?.id as string;
    await until('px-listen listens (green status)', () => statusLog(listener).some((s) => s.fill === 'green'), { timeoutMs: 45000, describe: () => statusLog(listener) });

    const patient = SAMPLE_PATIENTS[2] as (typeof SAMPLE_PATIENTS)[number]; // Иванов^Иван, ISO_IR 144
    const study = await writeSampleInstances(path.join(work, 'study'), { patients: [patient], seriesPerStudy: 2, instancesPerSeries: 3, seed: 'example-09' });
    const stored = await storescu(port, [path.join(work, 'study')], { aec: 'DEIDENTIFY', aet: 'MODALITY' });
    assert.equal(stored.stored.length, study.length, stored.output);
    await until(`${study.length} sent to ARCHIVE`, () => sent.length === study.length || errors.length > 0, { timeoutMs: 60000, describe: () => ({ sent: sent.length, errors }) });
    assert.deepEqual(errors.map((m) => (m as { error?: { message: string } }).error?.message), []);
    assert.ok(sent.every((m) => (m.payload as { status: string }).status === 'success'));

    const held = await target.get<HeldInstance[]>('/instances?expand');
    assert.equal(held.length, study.length, 'ARCHIVE holds as many instances as were sent');
    const originals = new Set(study.flatMap((s) => [s.sopInstanceUID, s.seriesInstanceUID, s.studyInstanceUID]));
    for (const instance of held) {
      const tags = await target.get<Record<string, string>>(`/instances/${instance.ID}/simplified-tags`);
      assert.notEqual(tags.PatientID, patient.id);
      assert.ok(!String(tags.PatientName).includes('Иванов'), `PatientName ${tags.PatientName}`);
      assert.equal(tags.PatientIdentityRemoved, 'YES');
      assert.ok(!originals.has(instance.MainDicomTags.SOPInstanceUID), 'a new SOP Instance UID');
      assert.ok(!JSON.stringify(tags).includes(patient.id) && !JSON.stringify(tags).includes('Иван'), 'no trace of the patient in any tag');
    }
    assert.equal(new Set(await target.get<string[]>('/studies')).size, 1, 'one study, as sent');
  });
});

// px-deidentify in Node-RED: after a real px-listen receiving from a real storescu, and given paths and
// folders. What a user sees: one answer per input on output 2, one message per instance written on output 1,
// failures to Catch once, and no original identifier in any message the node sends.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { type SampleInstance, SAMPLE_PATIENTS, writeSampleInstances } from '../testbed/generate';
import { freePort } from '../testbed/orthanc';
import { type FlowNode, helper, nodeModules, onTab, statusLog } from './support/flow';
import { storescu } from './support/store';
import { until } from './support/until';

interface Msg extends NodeMessage {
  payload: { status: string; command?: string; data?: unknown; deidentified?: number; failed?: number; refused?: number };
  error?: { message: string; source?: { id: string } };
  parts?: { id: string; index: number; count: number };
  [key: string]: unknown;
}
interface Written {
  path: string;
  PatientID: string;
  PatientName: string;
  StudyInstanceUID: string;
  SeriesInstanceUID: string;
  SOPInstanceUID: string;
}

const KEY = 'node-test-key-0123456789';
const PATIENTS = [SAMPLE_PATIENTS[1], SAMPLE_PATIENTS[4]] as [typeof SAMPLE_PATIENTS[0], typeof SAMPLE_PATIENTS[0]]; // Müller (Latin-1), Yamada (ISO 2022 Japanese)

/** Every value of the samples that identifies: IDs, names and each of their parts, UIDs. */
function originalsOf(samples: SampleInstance[]): string[] {
  const values = new Set<string>();
  for (const s of samples) {
    for (const v of [s.patientID, s.patientName, s.studyInstanceUID, s.seriesInstanceUID, s.sopInstanceUID]) values.add(v);
    for (const part of s.patientName.split(/[\^=]/)) if (part.length >= 3 || /[^\x00-\x7f]/.test(part)) values.add(part);
  }
  return [...values];
}

/** Fails naming the first original value that occurs in any message. */
function assertNoOriginal(messages: unknown[], originals: string[], more: string[] = []): void {
  const text = JSON.stringify(messages);
  for (const value of [...originals, ...more]) {
    const at = text.indexOf(value);
    assert.ok(at < 0, `an original identifier left the node: ${value}, in …${text.slice(Math.max(0, at - 200), at + 100)}…`);
  }
}

describe('px-deidentify node', function () {
  this.timeout(90000);
  let work = '';
  let samples: SampleInstance[] = [];
  let burned: SampleInstance[] = [];
  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'pypx-deid-node-'));
    samples = await writeSampleInstances(path.join(work, 'originals'), { patients: PATIENTS, seriesPerStudy: 1, instancesPerSeries: 3, seed: 'deid-node' });
    burned = await writeSampleInstances(path.join(work, 'folder'), { patients: [{ id: 'BRN0001', name: 'Brennan^Ida', charset: '' }], seriesPerStudy: 1, instancesPerSeries: 3, seed: 'deid-burned' });
    const [first] = await writeSampleInstances(path.join(work, 'folder'), { patients: [{ id: 'BRN0001', name: 'Brennan^Ida', charset: '' }], seriesPerStudy: 1, instancesPerSeries: 1, seed: 'deid-burned-yes', tags: [{ tag: 0x00280301, vr: 'CS', value: 'YES' }] });
    burned.push(first as SampleInstance);
    await writeFile(path.join(work, 'Brennan^Ida report.txt'), 'not DICOM: a report naming Brennan^Ida, BRN0001\n');
    // A link to nothing: the file system's own error names the path, which names the patient.
    await mkdir(path.join(work, 'links'));
    await symlink(path.join(work, 'gone'), path.join(work, 'links', 'Brennan^Ida.dcm'));
  });
  after(() => rm(work, { recursive: true, force: true }));
  afterEach(() => helper.unload());

  const seen = new Map<string, Msg[]>();
  const at = (id: string) => seen.get(id) ?? [];
  const HELPERS = ['instances', 'results', 'series-instances', 'series-results', 'caught'];
  async function load(flow: FlowNode[], credentials: Record<string, { key?: string }>): Promise<void> {
    seen.clear();
    await helper.load(nodeModules('px-listen', 'px-deidentify'), onTab([
      ...flow,
      ...HELPERS.map((id) => ({ id, type: 'helper' })),
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    ]), credentials);
    for (const id of HELPERS) {
      seen.set(id, []);
      (helper.getNode(id) as unknown as NodeJS.EventEmitter).on('input', (msg: Msg) => seen.get(id)?.push(msg));
    }
  }
  const deid = (id: string, outDir: string, wires: string[][], more: Record<string, unknown> = {}): FlowNode => ({ id, type: 'px-deidentify', outDir, wires, ...more });
  const all = () => HELPERS.flatMap(at);

  it('de-identifies what px-listen receives, per instance and per series, with the same pseudonyms, and lets no original identifier out', async () => {
    const port = await freePort();
    const listened = path.join(work, 'listened');
    await load([
      { id: 'listen', type: 'px-listen', aet: 'DEIDTEST', port, dataDir: listened, tmpDir: '', logDir: '', seriesTimeout: 1, wires: [['each'], ['per-series']] },
      deid('each', path.join(work, 'out-each'), [['instances'], ['results']]),
      deid('per-series', path.join(work, 'out-series'), [['series-instances'], ['series-results']]),
    ], { each: { key: KEY }, 'per-series': { key: KEY } });
    await until('px-listen listens', () => statusLog('listen').some((s) => s.fill === 'green'), { timeoutMs: 20000 });
    const sent = await storescu(port, [path.join(work, 'originals')], { aec: 'DEIDTEST' });
    assert.equal(sent.stored.length, samples.length, sent.output);
    await until('an answer per instance and per series', () => at('results').length === 6 && at('series-results').length === 2 && at('series-instances').length === 6,
      { timeoutMs: 45000, describe: () => HELPERS.map((id) => `${id}: ${at(id).length}`) });

    for (const answer of at('results')) assert.deepEqual([answer.payload.status, answer.payload.command, answer.payload.deidentified, answer.payload.failed, answer.payload.refused], ['success', '', 1, 0, 0]);
    for (const answer of at('series-results')) assert.deepEqual([answer.payload.status, answer.payload.deidentified], ['success', 3]);
    assert.equal(at('instances').length, 6);
    assert.deepEqual(at('caught'), []);
    const each = at('instances').map((m) => m.payload.data as Written);
    const perSeries = at('series-instances').map((m) => m.payload.data as Written);
    for (const written of [...each, ...perSeries]) {
      assert.ok(existsSync(written.path), `the copy is where the message says: ${written.path}`);
      assert.match(written.SOPInstanceUID, /^2\.25\.\d+$/);
    }
    assert.ok(each.every((w) => w.path.startsWith(path.join(work, 'out-each') + path.sep)));
    // The same key: the same new UIDs and patient pseudonyms, whether an instance came alone or with its series.
    const uids = (list: Written[]) => list.map((w) => `${w.PatientID} ${w.StudyInstanceUID} ${w.SeriesInstanceUID} ${w.SOPInstanceUID}`).sort();
    assert.deepEqual(uids(each), uids(perSeries));
    assert.equal(new Set(each.map((w) => w.PatientID)).size, 2, 'one pseudonym per patient');
    assert.equal(new Set(each.map((w) => w.StudyInstanceUID)).size, 2, 'one study per original study');
    assertNoOriginal(all(), originalsOf(samples), [listened]);
    assert.deepEqual(statusLog('each').at(-1), { fill: 'green', shape: 'dot', text: '6 de-identified' });
  });

  it('takes paths and folders: one answer, refuses what may show the patient, fails a non-DICOM file alone, tells Catch once without a name', async () => {
    await load([deid('deid', path.join(work, 'out-paths'), [['instances'], ['results']])], { deid: { key: KEY } });
    const parts = { id: 'split-1', index: 0, count: 2 };
    const input = { _msgid: 'paths-1', payload: [path.join(work, 'folder'), path.join(work, 'Brennan^Ida report.txt'), path.join(work, 'links')], parts, note: { kept: true } };
    helper.getNode('deid')?.receive(input as unknown as NodeMessage);
    await until('an answer and a Catch', () => at('results').length === 1 && at('caught').length === 1, { describe: () => all() });
    const [answer] = at('results') as [Msg];
    assert.deepEqual([answer.payload.status, answer.payload.deidentified, answer.payload.refused, answer.payload.failed], ['error', 3, 1, 2]);
    assert.deepEqual(answer.parts, parts, 'the input\'s parts travel, so that a join after a split completes');
    assert.deepEqual(answer.note, { kept: true }, 'the input\'s own properties travel');
    assert.equal(at('instances').length, 3);
    const failures = (answer.payload.data as { failures: Array<{ outcome: string; reason: string }> }).failures;
    assert.deepEqual(failures.map((f) => f.outcome).sort(), ['failed', 'failed', 'refused']);
    const [caught] = at('caught') as [Msg];
    assert.equal(caught.error?.source?.id, 'deid');
    assert.match(caught.error?.message ?? '', /^3 of 6 files were not de-identified \(1 refused\)/);
    assertNoOriginal(all(), originalsOf(burned), [path.join(work, 'folder'), path.join(work, 'links'), 'report.txt']);
    assert.deepEqual(statusLog('deid').at(-1), { fill: 'red', shape: 'ring', text: '3/6 not written' });
  });

  it('hands each instance on while the rest are still being written: the runtime is not held up by a large folder', async () => {
    const folder = path.join(work, 'many');
    const many = await writeSampleInstances(folder, { patients: [{ id: 'MNY0001', name: 'Many^Files', charset: '' }], seriesPerStudy: 3, instancesPerSeries: 100, seed: 'deid-many' });
    const outDir = path.join(work, 'out-many');
    await load([deid('deid', outDir, [['instances'], ['results']])], { deid: { key: KEY } });
    let writtenWhenFirstArrived = -1;
    (helper.getNode('instances') as unknown as NodeJS.EventEmitter).once('input', () => {
      writtenWhenFirstArrived = readdirSync(outDir, { recursive: true }).filter((f) => String(f).endsWith('.dcm')).length;
    });
    helper.getNode('deid')?.receive({ _msgid: 'many-1', payload: folder } as unknown as NodeMessage);
    await until('the answer', () => at('results').length === 1, { timeoutMs: 60000, describe: () => all().length });
    assert.equal(at('results')[0]?.payload.deidentified, many.length);
    assert.ok(writtenWhenFirstArrived >= 1 && writtenWhenFirstArrived < many.length,
      `the first instance reached the next node when ${writtenWhenFirstArrived} of ${many.length} copies were written: Node-RED's event loop was held until the end`);
  });

  it('drops every property of the input that carries an original identifier, keeps the others', async () => {
    await load([deid('deid', path.join(work, 'out-props'), [['instances'], ['results']])], { deid: { key: KEY } });
    const [sample] = samples as [SampleInstance];
    const file = path.join(work, 'originals', `${sample.sopInstanceUID}.dcm`);
    const data = { path: file, PatientID: sample.patientID, PatientName: sample.patientName, StudyInstanceUID: sample.studyInstanceUID, SeriesInstanceUID: sample.seriesInstanceUID, SOPInstanceUID: sample.sopInstanceUID };
    const input = {
      _msgid: 'props-1', payload: { status: 'success', data }, topic: sample.seriesInstanceUID, label: `study of ${sample.patientName.split('^')[0]}`,
      filename: 'report.txt', series: [{ count: 1 }], custom: { nested: [1, { deep: true }] }, req: { url: '/x' },
    };
    helper.getNode('deid')?.receive(input as unknown as NodeMessage);
    await until('an answer', () => at('results').length === 1, { describe: () => all() });
    for (const msg of [...at('results'), ...at('instances')]) {
      assert.deepEqual(Object.keys(msg).filter((k) => !['_msgid', 'payload', 'custom', 'req', 'parts', '_event'].includes(k)), [], 'topic, label, filename and series are dropped');
      assert.deepEqual(msg.custom, { nested: [1, { deep: true }] });
    }
    assert.equal(at('results')[0]?.payload.status, 'success');
    assertNoOriginal(all(), originalsOf([sample]), [file]);
  });

  it('takes px-get\'s result, de-identifying the files of its msg.series, and lets neither msg.series nor msg.get out', async () => {
    await load([deid('deid', path.join(work, 'out-get'), [['instances'], ['results']])], { deid: { key: KEY } });
    const series = samples.filter((s) => s.patientID === PATIENTS[0].id);
    const [first] = series as [SampleInstance];
    const files = series.map((s) => path.join(work, 'originals', `${s.sopInstanceUID}.dcm`));
    const input = {
      _msgid: 'get-1', topic: 'retrieved',
      payload: { status: 'success', command: '/usr/bin/getscu -aet NODERED 127.0.0.1 4242', data: '', completed: files.length, failed: 0, warning: 0 },
      get: { level: 'SERIES', StudyInstanceUID: first.studyInstanceUID, SeriesInstanceUID: first.seriesInstanceUID, failures: [] },
      series: [{ StudyInstanceUID: first.studyInstanceUID, SeriesInstanceUID: first.seriesInstanceUID, PatientID: first.patientID, path: path.join(work, 'originals'), files, count: files.length }],
    };
    helper.getNode('deid')?.receive(input as unknown as NodeMessage);
    await until('an answer', () => at('results').length === 1, { describe: () => all() });
    const [answer] = at('results') as [Msg];
    assert.deepEqual([answer.payload.status, answer.payload.deidentified, at('instances').length], ['success', files.length, files.length]);
    assert.equal(answer.topic, 'retrieved', 'a topic that names nothing travels');
    assert.deepEqual([answer.series, answer.get], [undefined, undefined]);
    assertNoOriginal(all(), originalsOf(series), files);
  });

  it('answers every input with an error when its key is missing, and shows it from the deploy', async () => {
    await load([
      deid('nokey', path.join(work, 'out-nokey'), [['instances'], ['results']]),
      deid('unset', path.join(work, 'out-nokey'), [['instances'], ['results']]),
    ], { unset: { key: '${PYPX_TEST_UNSET_KEY}' } });
    assert.deepEqual(statusLog('nokey').at(-1), { fill: 'red', shape: 'ring', text: 'no key set' });
    helper.getNode('nokey')?.receive({ _msgid: 'k1', payload: path.join(work, 'originals') } as unknown as NodeMessage);
    helper.getNode('unset')?.receive({ _msgid: 'k2', payload: path.join(work, 'originals') } as unknown as NodeMessage);
    await until('two answers and two Catches', () => at('results').length === 2 && at('caught').length === 2, { describe: () => all() });
    const messages = at('caught').map((m) => m.error?.message ?? '').sort();
    assert.match(messages[0] ?? '', /^px-deidentify has no key: set its secret key/);
    assert.match(messages[1] ?? '', /^px-deidentify has no key: the key is \$\{PYPX_TEST_UNSET_KEY\}, but the environment variable PYPX_TEST_UNSET_KEY is not set/);
    for (const answer of at('results')) assert.deepEqual([answer.payload.status, answer.payload.deidentified], ['error', 0]);
    assert.deepEqual(at('instances'), []);
    assert.equal(existsSync(path.join(work, 'out-nokey')) ? (await readdir(path.join(work, 'out-nokey'))).length : 0, 0, 'nothing written');
    assert.deepEqual(statusLog('nokey').at(-1), { fill: 'red', shape: 'ring', text: 'no key set' });
  });

  it('refuses a failed result without repeating its words, which may name the patient', async () => {
    await load([deid('deid', path.join(work, 'out-failed'), [['instances'], ['results']])], { deid: { key: KEY } });
    const failed = { status: 'error', command: '/usr/bin/getscu -aet NODERED 127.0.0.1 4242', data: 'instance of Müller^Jürgen (PX0002) not retrieved' };
    helper.getNode('deid')?.receive({ _msgid: 'f1', payload: failed, error: { message: 'PX0002 failed', source: { id: 'g', type: 'px-get' } } } as unknown as NodeMessage);
    await until('an answer and a Catch', () => at('results').length === 1 && at('caught').length === 1, { describe: () => all() });
    assert.match(at('caught')[0]?.error?.message ?? '', /^the input is a failed px-get result: its text is not repeated here/);
    assert.equal(at('results')[0]?.payload.status, 'error');
    assertNoOriginal(all(), ['Müller', 'PX0002']);
  });
});

// px-get over WADO-RS and px-send over STOW-RS, in a Node-RED runtime, against Orthanc's DICOMweb
// plugin with authentication on: the same outputs as over C-GET and C-STORE.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import type { SeriesComplete } from '../lib/filing/series';
import { type SampleInstance, writeSampleInstances } from '../testbed/generate';
import { getFlow, helper, joinModule, nextMessage, nodeModules, sendFlow, statusLog } from './support/flow';
import { useOrthanc } from './support/pacs';
import { instancesInPacs } from './support/receiver';
import { transcode } from './support/transcode';
import type { MovePayload } from '../lib/ops/move/types';
import { buildFiledPath } from '../lib/filing/layout';
import { type InstancePayload } from '../lib/filing/file-instance';
import { readReceivedHeader } from '../lib/filing/header';
import { readDicomHeaderSync } from '../lib/dicom/read-file';
import type { SendPayload } from '../lib/ops/send/types';

interface InstanceMsg extends NodeMessage {
  payload: { status: string; data: InstancePayload };
}
interface GetMsg extends NodeMessage {
  payload: MovePayload;
  series: SeriesComplete[];
  parts?: { id: string; index: number; count: number };
  error?: { message: string };
}
interface SendMsg extends NodeMessage {
  payload: SendPayload;
  error?: { message: string };
}

const CREDENTIALS = { pacs: { user: 'flow', password: 'fl0w' } };

function collect<T>(nodeId: string): T[] {
  const got: T[] = [];
  (helper.getNode(nodeId) as unknown as NodeJS.EventEmitter).on('input', (msg: T) => got.push(msg));
  return got;
}

describe('px-get over WADO-RS and px-send over STOW-RS in a Node-RED runtime', () => {
  const pacs = useOrthanc({ dicomweb: true, users: { flow: 'fl0w' } });
  let dir = '';
  let dataDir = '';
  let study: SampleInstance[] = [];
  let mixed = '';
  let mixedUids: string[] = [];
  before(async function () {
    this.timeout(60000);
    dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-dicomweb-nodes-'));
    study = await writeSampleInstances(path.join(dir, 'study'), { patients: [{ id: 'WEB1', name: 'Müller^Web', charset: 'ISO_IR 100' }], seriesPerStudy: 2, instancesPerSeries: 3, seed: 'web-get' });
    await pacs().upload(study.map((s) => s.bytes));
    // A folder to send: one file in each transfer syntax, JPEG 2000 included, and a file that is no DICOM.
    const source = await writeSampleInstances(path.join(dir, 'source'), { patients: [{ id: 'WEB2', name: 'Send^Web', charset: '' }], seriesPerStudy: 1, instancesPerSeries: 6, seed: 'web-send', imageSize: 32 });
    mixed = path.join(dir, 'mixed');
    execFileSync('mkdir', ['-p', path.join(mixed, 'sub')]);
    const syntaxes = ['deflated', 'jpeg-lossless', 'jpeg-ls', 'rle', 'jpeg2000'] as const;
    source.forEach((instance, i) => {
      const from = path.join(dir, 'source', `${instance.sopInstanceUID}.dcm`);
      const syntax = syntaxes[i];
      if (syntax) transcode(from, path.join(mixed, i % 2 ? 'sub' : '', `${i}-${syntax}.dcm`), syntax);
      else execFileSync('cp', [from, path.join(mixed, `${i}-plain.dcm`)]);
    });
    mixedUids = source.map((s) => s.sopInstanceUID).sort();
    execFileSync('sh', ['-c', `echo '[SERIES]' > '${path.join(mixed, 'series.info')}'`]);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(dir, 'data-'));
  });
  afterEach(async () => {
    await helper.unload();
  });

  const pacsNode = () => ({ id: 'pacs', type: 'px-pacs', protocol: 'dicomweb', url: pacs().dicomwebUrl, timeout: 10 });

  function loadGet() {
    return helper.load([...nodeModules('px-pacs', 'px-get'), joinModule], getFlow(pacsNode(), { dataDir }), CREDENTIALS);
  }

  it('px-get retrieves a study: every instance Orthanc holds, filed and announced as over C-GET', async () => {
    await loadGet();
    const StudyInstanceUID = study[0]?.studyInstanceUID as string;
    const instances = collect<InstanceMsg>('instances');
    const done = nextMessage<GetMsg>('retrieves');
    helper.getNode('get')?.receive({ payload: { StudyInstanceUID }, topic: 'kept' } as NodeMessage);
    const msg = await done;
    assert.equal(msg.payload.status, 'success', msg.payload.data);
    assert.deepEqual(Object.keys(msg.payload).sort(), ['command', 'completed', 'data', 'failed', 'status', 'warning']);
    assert.deepEqual([msg.payload.completed, msg.payload.failed, msg.payload.data], [6, 0, '']);
    assert.match(msg.payload.command, new RegExp(`^GET http://127\\.0\\.0\\.1:\\d+/dicom-web/studies/${StudyInstanceUID}$`));
    assert.equal(msg.topic, 'kept');
    assert.deepEqual(instances.map((m) => m.payload.data.SOPInstanceUID).sort(), await instancesInPacs(pacs(), 'studies', StudyInstanceUID));
    for (const { payload } of instances) {
      assert.deepEqual(Object.keys(payload.data).sort(), ['InstanceNumber', 'Modality', 'PatientID', 'PatientName', 'SOPClassUID', 'SOPInstanceUID', 'SeriesDescription', 'SeriesInstanceUID', 'SeriesNumber', 'StudyDate', 'StudyDescription', 'StudyInstanceUID', 'calledAET', 'callingAET', 'duplicate', 'path']);
      const { header } = readReceivedHeader(payload.data.path, true);
      assert.equal(payload.data.path, buildFiledPath(dataDir, header).file, 'px-listen\'s layout');
      assert.equal(payload.data.PatientName, 'Müller^Web');
    }
    assert.deepEqual(msg.series.map((s) => s.count), [3, 3]);
    assert.deepEqual(statusLog('get').at(-1), { fill: 'green', shape: 'dot', text: '6 retrieved' });
  });

  it('px-get retrieves the series of a px-find result, one with its Series Instance UID alone, msg.parts for the join', async () => {
    await loadGet();
    const [a, , , b] = study as [SampleInstance, SampleInstance, SampleInstance, SampleInstance];
    const record = (uids: Record<string, string>, i: number) => ({ uid: { tag: 0, value: i, label: 'uid' }, ...Object.fromEntries(Object.entries(uids).map(([k, v]) => [k, { tag: '', value: v, label: k }])) });
    const joined = nextMessage<{ payload: MovePayload[] }>('joined');
    helper.getNode('get')?.receive({ payload: { status: 'success', command: 'GET ...', data: [
      record({ StudyInstanceUID: a.studyInstanceUID, SeriesInstanceUID: a.seriesInstanceUID }, 0),
      record({ SeriesInstanceUID: b.seriesInstanceUID }, 1),
    ] } } as NodeMessage);
    const all = await joined;
    assert.deepEqual(all.payload.map((p) => [p.status, p.completed, p.failed]), [['success', 3, 0], ['success', 3, 0]]);
  });

  it('px-get brings every instance in the transfer syntax the PACS holds, JPEG 2000 included, where C-GET needs conversions', async () => {
    const files = readdirSync(mixed, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.dcm')).map((f) => path.join(mixed, f));
    await pacs().upload(files.map((f) => readFileSync(f)));
    await loadGet();
    const instances = collect<InstanceMsg>('instances');
    const done = nextMessage<GetMsg>('retrieves');
    const { header } = readReceivedHeader(files[0] as string, false);
    helper.getNode('get')?.receive({ payload: { StudyInstanceUID: header.StudyInstanceUID } } as NodeMessage);
    const msg = await done;
    assert.deepEqual([msg.payload.status, msg.payload.completed, msg.payload.failed], ['success', 6, 0], msg.payload.data);
    assert.deepEqual(instances.map((m) => m.payload.data.SOPInstanceUID).sort(), mixedUids);
    const syntaxes = instances.map((m) => readDicomHeaderSync(m.payload.data.path).text('x00020010'));
    for (const syntax of ['1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.5', '1.2.840.10008.1.2.1.99']) {
      assert.ok(syntaxes.includes(syntax), `${syntax} arrived as it is held: ${syntaxes.join(', ')}`);
    }
  });

  it('px-get retrieves one instance, given whole or by its SOP Instance UID alone', async () => {
    await loadGet();
    const one = study[4] as SampleInstance;
    const instances = collect<InstanceMsg>('instances');
    const whole = nextMessage<GetMsg>('retrieves');
    helper.getNode('get')?.receive({ payload: { StudyInstanceUID: one.studyInstanceUID, SeriesInstanceUID: one.seriesInstanceUID, SOPInstanceUID: one.sopInstanceUID } } as NodeMessage);
    assert.deepEqual([(await whole).payload.status, (await whole).payload.completed], ['success', 1]);
    assert.match((await whole).payload.command, new RegExp(`/instances/${one.sopInstanceUID}$`));
    const alone = nextMessage<GetMsg>('retrieves');
    helper.getNode('get')?.receive({ payload: { SOPInstanceUID: one.sopInstanceUID } } as NodeMessage);
    assert.deepEqual([(await alone).payload.status, (await alone).payload.completed], ['success', 1]);
    assert.deepEqual(instances.map((m) => [m.payload.data.SOPInstanceUID, m.payload.data.duplicate]), [[one.sopInstanceUID, false], [one.sopInstanceUID, true]]);
  });

  it('px-get names a study the service does not hold, to a Catch node', async () => {
    await loadGet();
    const caught = nextMessage<GetMsg>('caught');
    helper.getNode('get')?.receive({ payload: { StudyInstanceUID: '1.2.3.4.5' } } as NodeMessage);
    const msg = await caught;
    assert.match(msg.error?.message ?? '', /found nothing for the study 1\.2\.3\.4\.5 \(HTTP 404/);
    assert.equal(msg.payload.status, 'error');
  });

  function loadSend(credentials = CREDENTIALS) {
    return helper.load(nodeModules('px-pacs', 'px-send'), sendFlow(pacsNode()), credentials);
  }

  it('px-send sends a folder of mixed transfer syntaxes over STOW-RS, each kept as it is', async () => {
    await loadSend();
    const out = nextMessage<SendMsg>('out');
    helper.getNode('send')?.receive({ payload: mixed, topic: 'kept' } as NodeMessage);
    const msg = await out;
    assert.equal(msg.payload.status, 'success', JSON.stringify(msg.payload.data));
    assert.deepEqual(Object.keys(msg.payload).sort(), ['command', 'data', 'failed', 'sent', 'status', 'warning']);
    assert.deepEqual([msg.payload.sent, msg.payload.failed, msg.payload.warning, msg.payload.data], [6, 0, 0, []]);
    assert.match(msg.payload.command, /^POST http:\/\/127\.0\.0\.1:\d+\/dicom-web\/studies$/);
    assert.equal(msg.topic, 'kept');
    const held = await pacs().get<Array<{ ID: string; MainDicomTags: { SOPInstanceUID: string } }>>('/instances?expand');
    const sent = held.filter((i) => mixedUids.includes(i.MainDicomTags.SOPInstanceUID));
    assert.equal(sent.length, 6);
    const syntaxes = await Promise.all(sent.map((i) => pacs().get<Record<string, string>>(`/instances/${i.ID}/metadata?expand`).then((m) => m.TransferSyntax)));
    assert.ok(syntaxes.includes('1.2.840.10008.1.2.4.90'), `the JPEG 2000 file arrived as JPEG 2000: ${syntaxes.join(', ')}`);
    assert.ok(syntaxes.includes('1.2.840.10008.1.2.1.99'), 'the deflated file arrived deflated');
    assert.deepEqual(statusLog('send').at(-1), { fill: 'green', shape: 'dot', text: '6 sent' });
  });

  it('px-send with a wrong password: every file failed with the reason, one error to a Catch node', async () => {
    await loadSend({ pacs: { user: 'flow', password: 'wrong' } });
    const caught = nextMessage<SendMsg>('caught');
    helper.getNode('send')?.receive({ payload: mixed } as NodeMessage);
    const msg = await caught;
    assert.deepEqual([msg.payload.sent, msg.payload.failed], [0, 6]);
    assert.match(msg.error?.message ?? '', /refused user "flow" and its password \(HTTP 401/);
    assert.ok(msg.payload.data.every((f) => /HTTP 401/.test(f.reason)));
  });
});

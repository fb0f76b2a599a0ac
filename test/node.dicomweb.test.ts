import assert from 'node:assert/strict';
import type { NodeMessage } from 'node-red';
import type { PypxRecord } from '../lib/core/result';
import { generateSampleInstances } from '../testbed/generate';
import { type FlowNode, helper, nextMessage, nodeModules, onTab, statusLog } from './support/flow';
import { useOrthanc } from './support/pacs';

interface ResultMsg extends NodeMessage {
  payload: { status: string; command: string; data: PypxRecord[] | string };
  error?: { message: string };
}

const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: unknown) => void;

describe('px-find, px-echo and px-move on a DICOMweb px-pacs in a Node-RED runtime', () => {
  const pacs = useOrthanc({ dicomweb: true, users: { nodered: 's3cret' }, defaultEncoding: 'Utf8', extra: { DicomAlwaysAllowFind: true } });
  before(async function () {
    this.timeout(60000);
    await pacs().upload([...generateSampleInstances({ studiesPerPatient: 1, seriesPerStudy: 2, instancesPerSeries: 1, seed: 'node-dicomweb' })].map((i) => i.bytes));
  });
  afterEach(() => helper.unload());

  /** One node of `type` using a px-pacs, -> out; a Catch node -> caught. Credentials as the runtime keeps them, outside the flow. */
  function load(type: string, node: Record<string, unknown>, pacsConfig: Record<string, unknown>, credentials: Record<string, string> = { user: 'nodered', password: 's3cret' }) {
    const flow: FlowNode[] = onTab([
      { id: 'pacs', type: 'px-pacs', aet: 'NODERED', aec: pacs().aet, host: '127.0.0.1', port: pacs().dicomPort, aetl: '', timeout: 5, ...pacsConfig },
      { id: 'node', type, pacs: 'pacs', wires: [['out']], ...node },
      { id: 'out', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    return helper.load([...nodeModules('px-pacs', type), catchNode], flow, { pacs: credentials });
  }
  const dicomweb = () => ({ protocol: 'dicomweb', url: pacs().dicomwebUrl });
  const send = (msg: Record<string, unknown> = { payload: '' }) => helper.getNode('node')?.receive(msg as NodeMessage);

  it('px-find queries over QIDO-RS with the credentials, one record per match, split as over DIMSE', async () => {
    await load('px-find', { level: 'STUDY', query: '{"PatientName": "Hong*"}', returnTags: '', split: true, limit: 0 }, dicomweb());
    const received = nextMessage<NodeMessage & { payload: PypxRecord; pypx: { command: string }; parts: { count: number } }>('out');
    send();
    const msg = await received;
    assert.equal(msg.payload.PatientName?.value, 'Hong^Gildong=洪^吉洞=홍^길동');
    assert.match(msg.pypx.command, /^GET http:\/\/127\.0\.0\.1:\d+\/dicom-web\/studies\?/);
    assert.equal(msg.parts.count, 1);
    assert.deepEqual(statusLog('node').at(-1), { fill: 'green', shape: 'dot', text: '1 found' });
  });

  it('px-find says PATIENT level does not exist over QIDO-RS, to a Catch node', async () => {
    await load('px-find', { level: 'PATIENT', query: '{}', returnTags: '', split: false, limit: 0 }, dicomweb());
    const caught = nextMessage<ResultMsg>('caught');
    send();
    assert.match((await caught).error?.message ?? '', /QIDO-RS has no PATIENT level/);
  });

  it('px-echo checks an authenticated QIDO-RS query, and a wrong password fails red, to a Catch node', async () => {
    await load('px-echo', {}, dicomweb());
    const ok = nextMessage<ResultMsg>('out');
    send();
    assert.equal((await ok).payload.status, 'success');
    await helper.unload();
    await load('px-echo', {}, dicomweb(), { user: 'nodered', password: 'wrong' });
    const caught = nextMessage<ResultMsg>('caught');
    send();
    const msg = await caught;
    assert.match(msg.error?.message ?? '', /refused user "nodered" and its password \(HTTP 401/);
    assert.equal(msg.payload.status, 'error');
    assert.deepEqual(statusLog('node').at(-1), { fill: 'red', shape: 'ring', text: 'not authorized' });
  });

  it('px-move on DICOMweb fails at once: DICOMweb has no move, px-get does the job', async () => {
    await load('px-move', { destination: '' }, dicomweb());
    const caught = nextMessage<ResultMsg>('caught');
    send({ payload: { StudyInstanceUID: '1.2.3' } });
    assert.match((await caught).error?.message ?? '', /DICOMweb has no move \(C-MOVE\): use px-get/);
    assert.deepEqual(statusLog('node').at(-1), { fill: 'red', shape: 'ring', text: 'DICOMweb has no move' });
  });

  it('keeps a px-pacs without protocol on DIMSE, whatever URL it holds', async () => {
    await load('px-find', { level: 'STUDY', query: '{"PatientID": "PX0002"}', returnTags: '', split: false, limit: 0 }, { url: 'http://127.0.0.1:1/not-used' });
    const received = nextMessage<ResultMsg>('out');
    send();
    const msg = await received;
    assert.match(msg.payload.command, /findscu /);
    assert.deepEqual((msg.payload.data as PypxRecord[]).map((r) => r.PatientName?.value), ['Müller^Jürgen']);
  });
});

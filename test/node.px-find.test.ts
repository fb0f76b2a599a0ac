import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Node, NodeMessage } from 'node-red';
import type { PypxRecord } from '../lib/core/result';
import { generateSampleInstances, type SampleInstance } from '../testbed/generate';
import { type FlowNode, helper, joinModule, nextMessage, nodeModules, onTab, statusLog } from './support/flow';
import { closedPort, startSilentServer, useOrthanc } from './support/pacs';
import { dcmtkDescendants } from './support/processes';
import { until } from './support/until';

interface FindMsg extends NodeMessage {
  payload: { status: string; command: string; data: PypxRecord[] | string };
  parts?: { id: string; index: number; count: number; type: string };
  error?: { message: string };
}
interface RecordMsg extends NodeMessage {
  payload: PypxRecord;
  pypx: { status: string; command: string };
  parts: { id: string; index: number; count: number; type: string; parts?: unknown };
}

// The core join node, as a user wires it after a split.
const injectNode = require('@node-red/nodes/core/common/20-inject.js') as (RED: unknown) => void;
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as (RED: unknown) => void;

describe('px-find node in a Node-RED runtime', () => {
  const pacs = useOrthanc({ defaultEncoding: 'Utf8', modalities: { nodered: ['NODERED', '127.0.0.1', 11112] } });
  let instances: SampleInstance[];
  before(async function () {
    this.timeout(60000);
    instances = [...generateSampleInstances({ studiesPerPatient: 1, seriesPerStudy: 2, instancesPerSeries: 1 })];
    await pacs().upload(instances.map((i) => i.bytes));
  });
  afterEach(() => helper.unload());

  /** px-find -> out (and -> join -> joined), with a Catch node on the tab -> caught. */
  function load(find: Record<string, unknown> = {}, pacsConfig: Record<string, unknown> = {}) {
    const flow: FlowNode[] = onTab([
      { id: 'pacs', type: 'px-pacs', aet: 'NODERED', aec: pacs().aet, host: '127.0.0.1', port: pacs().dicomPort, aetl: '', timeout: 5, ...pacsConfig },
      { id: 'find', type: 'px-find', pacs: 'pacs', level: 'SERIES', query: '{}', returnTags: '', split: false, limit: 0, wires: [['out', 'join']], ...find },
      { id: 'out', type: 'helper' },
      { id: 'join', type: 'join', mode: 'auto', build: 'array', property: 'payload', propertyType: 'msg', key: 'topic', joiner: '\\n', joinerType: 'str', accumulate: false, timeout: '', count: '', wires: [['joined']] },
      { id: 'joined', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    return helper.load([...nodeModules('px-pacs', 'px-find'), joinModule], flow);
  }
  const send = (msg: Record<string, unknown>) => helper.getNode('find')?.receive(msg as NodeMessage);

  it('answers an inject\'s timestamp with the node\'s query, as pypx\'s result, and counts the matches since deploy in its status', async () => {
    await load({ query: '{"PatientID": "PX0003"}' });
    const received = nextMessage<FindMsg>('out');
    send({ payload: Date.now(), topic: 'keep me' });
    const msg = await received;
    assert.equal(msg.payload.status, 'success');
    // A SERIES query on a patient's key finds the patient's studies first, as a strictly hierarchical PACS needs.
    assert.match(msg.payload.command, /^\S*findscu .*-k QueryRetrieveLevel=STUDY .*-k PatientID=PX0003 .*\n\S*findscu .*-k QueryRetrieveLevel=SERIES .*-k PatientID=PX0003 .*-aec ORTHANC -aet NODERED 127\.0\.0\.1 \d+$/);
    const records = msg.payload.data as PypxRecord[];
    assert.deepEqual(records.map((r) => r.PatientName?.value), ['Иванов^Иван', 'Иванов^Иван']);
    assert.equal(msg.topic, 'keep me');
    assert.deepEqual(statusLog('find').map((s) => s.fill), [undefined, 'blue', 'green'], 'cleared at start, then querying, then done');
    assert.deepEqual(statusLog('find').at(-1), { fill: 'green', shape: 'dot', text: '2 found' });
    const again = nextMessage<FindMsg>('out');
    send({ payload: { PatientID: 'PX0003' } });
    await again;
    assert.deepEqual(statusLog('find').at(-1), { fill: 'green', shape: 'dot', text: '4 found' }, 'the status counts every match since deploy');
    const none = nextMessage<FindMsg>('out');
    send({ payload: { PatientID: 'NOBODY' } });
    await none;
    assert.deepEqual(statusLog('find').at(-1), { fill: 'green', shape: 'dot', text: '4 found' }, 'a query that matches nothing is a success and adds nothing');
  });

  it('lays msg.payload over the node\'s query, and lets its QueryRetrieveLevel override the level', async () => {
    await load({ query: '{"PatientID": "PX0003", "PatientSex": "M"}', returnTags: 'PatientName, PatientSex' });
    const received = nextMessage<FindMsg>('out');
    send({ payload: { PatientID: 'PX0004', QueryRetrieveLevel: 'PATIENT' } });
    const records = (await received).payload.data as PypxRecord[];
    assert.equal(records.length, 1);
    assert.deepEqual(Object.keys(records[0] as PypxRecord).sort(), ['PatientID', 'PatientName', 'PatientSex', 'QueryRetrieveLevel', 'uid']);
    assert.equal(records[0]?.PatientName?.value, 'Παπαδόπουλος^Γιώργος');
    assert.equal(records[0]?.QueryRetrieveLevel?.value, 'PATIENT');
  });

  it('splits the matches into one message each, which a join node in automatic mode turns back into the list', async () => {
    await load({ split: true });
    const joined = nextMessage<{ payload: PypxRecord[] }>('joined');
    const first = nextMessage<RecordMsg>('out');
    send({ payload: {} });
    const one = await first;
    assert.equal(one.parts.type, 'array');
    assert.equal(one.parts.count, instances.length);
    assert.equal(one.pypx.status, 'success');
    assert.ok('SeriesInstanceUID' in one.payload && 'StudyInstanceUID' in one.payload, 'a record carries what px-move needs');
    const list = (await joined).payload;
    assert.deepEqual(list.map((r) => r.uid?.value), instances.map((_, i) => i));
    assert.deepEqual(new Set(list.map((r) => r.SeriesInstanceUID?.value)), new Set(instances.map((i) => i.seriesInstanceUID)));
    assert.deepEqual(statusLog('find').at(-1), { fill: 'green', shape: 'dot', text: `${instances.length} found` });
  });

  it('sends one message with an empty list, and no parts, when a split query matches nothing', async () => {
    await load({ split: true });
    const received = nextMessage<FindMsg>('out');
    send({ payload: { PatientID: 'NOBODY' } });
    const msg = await received;
    assert.deepEqual(msg.payload.data, []);
    assert.equal(msg.parts, undefined);
    assert.deepEqual(statusLog('find').at(-1), { fill: 'green', shape: 'dot', text: '0 found' });
  });

  it('stops at the node\'s limit', async () => {
    await load({ limit: 3 });
    const received = nextMessage<FindMsg>('out');
    send({});
    assert.equal(((await received).payload.data as PypxRecord[]).length, 3);
    assert.deepEqual(statusLog('find').at(-1), { fill: 'green', shape: 'dot', text: '3 found' });
  });

  it('refuses an unknown keyword, a wrongly typed value and a text payload with errors naming them', async () => {
    await load();
    const cases: Array<[unknown, RegExp]> = [
      [{ PatientNam: 'x' }, /"PatientNam" is not a DICOM keyword \(did you mean PatientName\?\)/],
      [{ PatientID: ['PX0001'] }, /PatientID must be text or a number, not an array/],
      [{ PatientName: 'A\nB' }, /PatientName contains a newline/],
      ['PX0001', /msg\.payload must be an object of DICOM keywords to values, e\.g\. \{"PatientID": "32124"\}, not string "PX0001"/],
    ];
    for (const [payload, expected] of cases) {
      const caught = nextMessage<FindMsg>('caught');
      const answered = nextMessage<FindMsg>('out');
      send({ payload });
      const msg = await caught;
      assert.match(msg.error?.message ?? '', expected);
      assert.equal(msg.payload.status, 'error');
      const answer = await answered;
      assert.deepEqual([answer.payload.status, answer.payload.command], ['error', ''], 'the error result on the output too; nothing ran');
      assert.match(String(answer.payload.data), expected);
      assert.deepEqual(statusLog('find').at(-1), { fill: 'red', shape: 'ring', text: 'bad query' });
    }
  });

  it('reports a node query that is not a JSON object on each message', async () => {
    await load({ query: '{"PatientID": ' });
    assert.deepEqual(statusLog('find').at(-1), { fill: 'red', shape: 'ring', text: 'bad query' });
    const caught = nextMessage<FindMsg>('caught');
    send({});
    assert.match((await caught).error?.message ?? '', /the node's query is not valid JSON/);
  });

  it('reports a PACS that is down, and one that never answers within the timeout', async function () {
    this.timeout(20000);
    await load({}, { port: await closedPort() });
    const refused = nextMessage<FindMsg>('caught');
    send({});
    assert.match((await refused).error?.message ?? '', /findscu: connection refused by 127\.0\.0\.1:\d+/);
    assert.deepEqual(statusLog('find').at(-1), { fill: 'red', shape: 'ring', text: 'refused' });
    await helper.unload();

    const silent = await startSilentServer();
    try {
      await load({}, { port: silent.port, timeout: 2 });
      const timedOut = nextMessage<FindMsg>('caught', 10000);
      send({});
      assert.match((await timedOut).error?.message ?? '', /no answer from ORTHANC at 127\.0\.0\.1:\d+ within 2 s/);
      assert.deepEqual(statusLog('find').at(-1), { fill: 'red', shape: 'ring', text: 'timeout 2 s' });
    } finally {
      await silent.stop();
    }
  });

  it('stops a running findscu when the flow is closed', async () => {
    const silent = await startSilentServer();
    try {
      await load({}, { port: silent.port, timeout: 60 });
      send({});
      await until('findscu runs', () => dcmtkDescendants().some((p) => p.command === 'findscu'), { timeoutMs: 5000 });
      assert.equal(dcmtkDescendants().filter((p) => p.command === 'findscu').length, 1, 'findscu should be running');
      assert.deepEqual(statusLog('find').at(-1), { fill: 'blue', shape: 'dot', text: 'querying…' });
      await helper.unload();
      assert.deepEqual(dcmtkDescendants(), [], 'findscu outlived the closed flow');
    } finally {
      await silent.stop();
    }
  });

  it('keeps the runtime up when a node has no PACS', async () => {
    await load({ pacs: '' });
    const caught = nextMessage<FindMsg>('caught');
    send({});
    assert.match((await caught).error?.message ?? '', /no PACS configured/);
    assert.ok((helper.getNode('find') as Node | null) !== null);
  });

  it('runs the example flow "02 - Find series" as shipped, against the PACS it is pointed at', async () => {
    const file = path.resolve(__dirname, '..', '..', 'examples', '02 - Find series.json');
    const example = JSON.parse(readFileSync(file, 'utf8')) as FlowNode[];
    // Debug nodes become helper nodes (comments dropped) to read what reaches them; the config is pointed at this test's Orthanc.
    const flow = example.filter((n) => n.type !== 'comment').map((n) => (n.type === 'debug' ? { ...n, type: 'helper' } : n.type === 'px-pacs' ? { ...n, port: String(pacs().dicomPort) } : n));
    await helper.load([...nodeModules('px-pacs', 'px-find'), joinModule, injectNode, catchNode], onTab(flow));
    const byName = (type: string, name: string) => (example.find((n) => n.type === type && n.name === name) as FlowNode).id;
    const click = (name: string) => helper.getNode(byName('inject', name))?.receive({} as NodeMessage);

    const all = nextMessage<FindMsg>(byName('debug', 'find result'));
    click('all series');
    assert.equal((((await all).payload.data) as PypxRecord[]).length, instances.length);
    const named = nextMessage<FindMsg>(byName('debug', 'find result'));
    click('patients named Mü*');
    assert.deepEqual(new Set(((await named).payload.data as PypxRecord[]).map((r) => r.PatientName?.value)), new Set(['Müller^Jürgen']));
    const studies = nextMessage<FindMsg>(byName('debug', 'find result'));
    click('studies of 2019');
    const studyRecords = (await studies).payload.data as PypxRecord[];
    assert.ok(studyRecords.length > 0 && studyRecords.every((r) => r.QueryRetrieveLevel?.value === 'STUDY' && r.StudyDate?.value?.toString().startsWith('2019')));
    const joined = nextMessage<{ payload: PypxRecord[] }>(byName('debug', 'the list again'));
    click('each series of Smith');
    assert.deepEqual((await joined).payload.map((r) => r.PatientID?.value), ['PX0001', 'PX0001']);
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Node, NodeMessage } from 'node-red';
import { generateSampleInstances, type SampleInstance } from '../testbed/generate';
import { freePort } from '../testbed/orthanc';
import { type FlowNode, helper, joinModule, nextMessage, noMessage, nodeModules, onTab, statusLog } from './support/flow';
import { closedPort, useOrthanc } from './support/pacs';
import { dcmtkDescendants } from './support/processes';
import { instancesInPacs, maxAlive, type Receiver, startReceiver } from './support/receiver';
import { startQrScp } from './support/qrscp';
import type { MovePayload } from '../lib/ops/move/types';
import { until } from './support/until';

interface MoveMsg extends NodeMessage {
  payload: MovePayload;
  move: { level: string; StudyInstanceUID?: string; SeriesInstanceUID?: string; destination: string };
  parts?: { id: string; index: number; count: number; type: string };
  error?: { message: string };
}
interface JoinedMsg extends NodeMessage {
  payload: MovePayload[];
}

// node-red's own split/join nodes, to prove that a join in automatic mode completes.
const movescuAlive = () => dcmtkDescendants().filter((p) => p.command === 'movescu').length;

/** A px-find result exactly as pypx prints it, at SERIES level. */
function findResult(series: Array<Pick<SampleInstance, 'patientID' | 'studyInstanceUID' | 'seriesInstanceUID'>>) {
  return {
    status: 'success',
    command: 'findscu -xi -S -k QueryRetrieveLevel=SERIES ...',
    data: series.map((s, i) => ({
      uid: { tag: 0, value: i, label: 'uid' },
      PatientID: { tag: '0010,0020', value: s.patientID, label: 'PatientID' },
      StudyInstanceUID: { tag: '0020,000d', value: s.studyInstanceUID, label: 'StudyInstanceUID' },
      SeriesInstanceUID: { tag: '0020,000e', value: s.seriesInstanceUID, label: 'SeriesInstanceUID' },
      QueryRetrieveLevel: { tag: '0008,0052', value: 'SERIES', label: 'QueryRetrieveLevel' },
    })),
  };
}

/** The next `count` messages a helper node receives. */
function messages<T>(nodeId: string, count: number, ms = 30000): Promise<T[]> {
  const node = helper.getNode(nodeId) as Node;
  const got: T[] = [];
  return new Promise((resolve, reject) => {
    // Unref'd: a test that failed before awaiting it must not hold the run open; one that awaits it is held by mocha's timeout.
    const timer = setTimeout(() => reject(new Error(`${got.length} of ${count} messages reached ${nodeId} within ${ms} ms`)), ms).unref();
    const onInput = (msg: T) => {
      got.push(msg);
      if (got.length < count) return;
      clearTimeout(timer);
      (node as unknown as NodeJS.EventEmitter).removeListener('input', onInput);
      resolve(got);
    };
    (node as unknown as NodeJS.EventEmitter).on('input', onInput);
  });
}

/** One entry per distinct series of a sample set. */
function seriesOf(sample: SampleInstance[]): SampleInstance[] {
  return sample.filter((s, i) => sample.findIndex((t) => t.seriesInstanceUID === s.seriesInstanceUID) === i);
}

describe('px-move node in a Node-RED runtime', () => {
  let receiverPort = 0;
  before(async () => {
    receiverPort = await freePort();
  });
  const pacs = useOrthanc({
    modalities: {
      nodered: ['NODERED', '127.0.0.1', 1],
      get receiver(): [string, string, number] {
        return ['RECEIVER', '127.0.0.1', receiverPort];
      },
    },
  });
  let quick: SampleInstance[] = [];
  let slow: SampleInstance[] = [];
  before(async () => {
    const patients = [{ id: 'NM1', name: 'Node^One', charset: '' }, { id: 'NM2', name: 'Node^Two', charset: '' }];
    quick = [...generateSampleInstances({ patients, seriesPerStudy: 2, instancesPerSeries: 3, seed: 'node-move' })];
    slow = [...generateSampleInstances({ patients: [{ id: 'NM3', name: 'Node^Slow', charset: '' }], seriesPerStudy: 5, instancesPerSeries: 8, seed: 'node-move-slow' })];
    await pacs().upload([...quick, ...slow].map((s) => s.bytes));
  });
  let receiver: Receiver | undefined;
  afterEach(async () => {
    await helper.unload();
    await receiver?.stop();
    receiver = undefined;
  });

  /** px-move -> out and -> join (automatic) -> joined; a Catch node on the tab -> caught. */
  function flow(config: Record<string, unknown> = {}, move: Record<string, unknown> = {}, extra: FlowNode[] = []): FlowNode[] {
    return onTab([
      { id: 'pacs', type: 'px-pacs', aet: 'NODERED', aec: pacs().aet, host: '127.0.0.1', port: pacs().dicomPort, aetl: 'RECEIVER', timeout: 10, ...config },
      { id: 'move', type: 'px-move', pacs: 'pacs', destination: '', wires: [['out', 'join']], ...move },
      { id: 'out', type: 'helper' },
      { id: 'join', type: 'join', mode: 'auto', build: 'array', property: 'payload', propertyType: 'msg', timeout: '', count: '', wires: [['joined']] },
      { id: 'joined', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
      ...extra,
    ]);
  }
  const load = (...args: Parameters<typeof flow>) => helper.load([...nodeModules('px-pacs', 'px-move'), joinModule], flow(...args));

  it('moves one series given by its UIDs and sends pypx\'s result with the counts', async () => {
    receiver = await startReceiver({ port: receiverPort });
    await load();
    const { studyInstanceUID, seriesInstanceUID } = quick[0];
    const received = nextMessage<MoveMsg>('out');
    helper.getNode('move')?.receive({ payload: { StudyInstanceUID: studyInstanceUID, SeriesInstanceUID: seriesInstanceUID }, topic: 'keep me' } as NodeMessage);
    const msg = await received;
    assert.equal(msg.payload.status, 'success', msg.payload.data);
    assert.deepEqual(Object.keys(msg.payload).sort(), ['command', 'completed', 'data', 'failed', 'status', 'warning']);
    assert.deepEqual([msg.payload.data, msg.payload.completed, msg.payload.failed, msg.payload.warning], ['', 3, 0, 0]);
    assert.deepEqual(msg.move, { level: 'SERIES', StudyInstanceUID: studyInstanceUID, SeriesInstanceUID: seriesInstanceUID, destination: 'RECEIVER' });
    assert.equal(msg.topic, 'keep me');
    assert.equal(msg.parts, undefined, 'a single move is no sequence');
    assert.deepEqual(await receiver.received(), await instancesInPacs(pacs(), 'series', seriesInstanceUID));
    assert.deepEqual(statusLog('move').at(-1), { fill: 'green', shape: 'dot', text: '3 moved' });
  });

  it('from a strictly hierarchical PACS (dcmqrscp), moves a series and an instance given alone, and fails a study it does not hold', async () => {
    // dcmqrscp moves nothing for a series without its study's UID: the node finds it with a C-FIND first.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-node-move-qr-'));
    const files = await Promise.all(quick.map(async (s) => {
      const file = path.join(dir, `${s.sopInstanceUID}.dcm`);
      await writeFile(file, s.bytes);
      return file;
    }));
    receiver = await startReceiver({ port: receiverPort });
    const qr = await startQrScp(files, [], [{ aet: 'RECEIVER', port: receiverPort }]);
    try {
      await load({ aec: qr.aet, port: qr.port });
      const [series, , , , instance] = quick;
      const joined = nextMessage<JoinedMsg>('joined');
      const outs = messages<MoveMsg>('out', 3);
      const caught = nextMessage<MoveMsg>('caught');
      helper.getNode('move')?.receive({ payload: [{ SeriesInstanceUID: series!.seriesInstanceUID }, { SOPInstanceUID: instance!.sopInstanceUID }, { StudyInstanceUID: '1.2.3.4.5.6.9' }] } as NodeMessage);
      assert.deepEqual((await joined).payload.map((p) => [p.status, p.completed]), [['success', 3], ['success', 1], ['error', 0]]);
      const first = (await outs).find((m) => m.parts?.index === 0)!;
      assert.deepEqual(first.move, { level: 'SERIES', StudyInstanceUID: series!.studyInstanceUID, SeriesInstanceUID: series!.seriesInstanceUID, destination: 'RECEIVER' });
      assert.match(first.payload.command, /^\S*findscu .*\n\S*movescu /);
      assert.match((await caught).error?.message ?? '', /^1 of 3 moves failed: movescu: QRSCP at 127\.0\.0\.1:\d+ found nothing to send for study 1\.2\.3\.4\.5\.6\.9: /);
      const expected = quick.filter((s) => s.seriesInstanceUID === series!.seriesInstanceUID || s.sopInstanceUID === instance!.sopInstanceUID).map((s) => s.sopInstanceUID).sort();
      assert.deepEqual(await receiver.received(), expected);
    } finally {
      await qr.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('moves everything a px-find result lists, one msg per series, and a join node completes', async () => {
    receiver = await startReceiver({ port: receiverPort, fork: true });
    await load();
    const series = seriesOf(quick).slice(0, 3);
    const joined = nextMessage<JoinedMsg>('joined');
    const outs = messages<MoveMsg>('out', 3);
    helper.getNode('move')?.receive({ payload: findResult(series) } as NodeMessage);
    const all = await joined;
    assert.equal(all.payload.length, 3);
    assert.deepEqual(all.payload.map((p) => [p.status, p.completed]), [['success', 3], ['success', 3], ['success', 3]]);
    const sent = await outs;
    assert.deepEqual(sent.map((m) => m.parts?.count), [3, 3, 3]);
    assert.deepEqual(sent.map((m) => m.parts?.index).sort(), [0, 1, 2]);
    const expected = (await Promise.all(series.map((s) => instancesInPacs(pacs(), 'series', s.seriesInstanceUID)))).flat().sort();
    assert.equal(expected.length, 9);
    assert.deepEqual(await receiver.received(), expected);
  });

  it('answers an input with nothing to move with one message: success, counts 0, and a join completes', async () => {
    await load();
    for (const payload of [[], findResult([])]) {
      const joined = nextMessage<JoinedMsg>('joined');
      const outs = messages<MoveMsg>('out', 1);
      const extra = noMessage('caught', joined);
      helper.getNode('move')?.receive({ payload, topic: 'empty' } as NodeMessage);
      const [msg] = await outs;
      assert.deepEqual(msg.payload, { status: 'success', command: '', data: '', completed: 0, failed: 0, warning: 0 });
      assert.equal(msg.topic, 'empty');
      assert.deepEqual([msg.parts?.index, msg.parts?.count], [0, 1], 'a sequence of one');
      assert.deepEqual((await joined).payload.map((p) => p.completed), [0]);
      await extra;
    }
    assert.equal(movescuAlive(), 0);
    assert.deepEqual(statusLog('move').at(-1), { fill: 'green', shape: 'dot', text: '0 moved' });
  });

  it('starts with a cleared status and counts what every input moved', async () => {
    receiver = await startReceiver({ port: receiverPort });
    await load();
    assert.deepEqual(statusLog('move')[0], {}, 'the status of a node replaced by a redeploy is cleared');
    for (const s of seriesOf(quick).slice(0, 2)) {
      const out = nextMessage<MoveMsg>('out');
      helper.getNode('move')?.receive({ payload: { SeriesInstanceUID: s.seriesInstanceUID } } as NodeMessage);
      assert.equal((await out).payload.completed, 3);
      await until('the status is green again', () => statusLog('move').at(-1)?.fill === 'green', { timeoutMs: 5000, describe: () => statusLog('move').at(-1) });
    }
    assert.deepEqual(statusLog('move').at(-1), { fill: 'green', shape: 'dot', text: '6 moved' }, 'the total of both inputs, not the last one');
  });

  it('sends a failed move like any other, and the join still completes; Catch nodes get the input once, with what failed', async () => {
    receiver = await startReceiver({ port: receiverPort });
    await load();
    const [real] = seriesOf(quick);
    const absent = { ...real, seriesInstanceUID: `${real.seriesInstanceUID}.999` };
    const joined = nextMessage<JoinedMsg>('joined');
    const outs = messages<MoveMsg>('out', 2);
    const caught = nextMessage<MoveMsg>('caught');
    const input = { payload: findResult([real, absent]), topic: 'two series' };
    helper.getNode('move')?.receive(input as NodeMessage);
    const all = await joined;
    assert.deepEqual(all.payload.map((p) => p.status), ['success', 'error'], 'payloads in input order');
    assert.match(all.payload[1].data, /Failed: UnableToProcess/);
    const failedOut = (await outs).find((m) => m.payload.status === 'error');
    assert.equal(failedOut?.move.SeriesInstanceUID, absent.seriesInstanceUID, 'the failed move\'s own answer says which it was');
    const failure = await caught;
    assert.deepEqual([failure.topic, failure.payload], [input.topic, input.payload], 'Catch nodes get the input msg');
    const absentUid = absent.seriesInstanceUID.replace(/\./g, '\\.');
    assert.match(failure.error?.message ?? '', new RegExp(`^1 of 2 moves failed: .*answered the C-MOVE of series ${absentUid} to RECEIVER with "Failed: UnableToProcess"`));
    assert.deepEqual(statusLog('move').at(-1), { fill: 'red', shape: 'ring', text: '1/2 moves failed' });
  });

  it('says in plain words that the PACS must know an unknown destination', async () => {
    await load({}, { destination: 'NOBODY' });
    const out = nextMessage<MoveMsg>('out');
    const caught = nextMessage<MoveMsg>('caught');
    helper.getNode('move')?.receive({ payload: { StudyInstanceUID: quick[0].studyInstanceUID } } as NodeMessage);
    const msg = await out;
    assert.equal(msg.payload.status, 'error');
    assert.equal(msg.move.destination, 'NOBODY');
    assert.match((await caught).error?.message ?? '', /does not know the destination AE title "NOBODY" \(it must list it among its modalities, with its host and port\)/);
    assert.deepEqual(statusLog('move').at(-1), { fill: 'red', shape: 'ring', text: 'UnableToProcess' });
  });

  it('reports a PACS that is down', async () => {
    await load({ port: await closedPort() });
    const out = nextMessage<MoveMsg>('out');
    const caught = nextMessage<MoveMsg>('caught');
    helper.getNode('move')?.receive({ payload: { StudyInstanceUID: quick[0].studyInstanceUID } } as NodeMessage);
    assert.equal((await out).payload.status, 'error');
    assert.match((await caught).error?.message ?? '', /movescu: connection refused by 127\.0\.0\.1:\d+/);
    assert.deepEqual(statusLog('move').at(-1), { fill: 'red', shape: 'ring', text: 'refused' });
  });

  it('refuses malformed UIDs before anything reaches the PACS, even the good ones of the same input', async () => {
    receiver = await startReceiver({ port: receiverPort });
    await load();
    const caught = nextMessage<MoveMsg>('caught');
    const answered = nextMessage<MoveMsg>('out');
    const good = { StudyInstanceUID: quick[0].studyInstanceUID, SeriesInstanceUID: quick[0].seriesInstanceUID };
    helper.getNode('move')?.receive({ payload: [good, { SeriesInstanceUID: '1.2.3.04' }] } as NodeMessage);
    const msg = await caught;
    assert.match(msg.error?.message ?? '', /nothing was moved: payload\[1\]: SeriesInstanceUID "1\.2\.3\.04" is not a DICOM UID: it has the component "04" with a leading zero/);
    assert.equal(msg.payload.status, 'error');
    const answer = await answered;
    assert.deepEqual([answer.payload.status, answer.payload.completed, answer.payload.failed, answer.payload.warning], ['error', 0, 0, 0], 'one error answer on the output, with counts of 0');
    assert.equal(answer.payload.command, '', 'nothing ran');
    assert.equal(movescuAlive(), 0);
    assert.deepEqual(await receiver.received(), []);
    assert.deepEqual(statusLog('move').at(-1), { fill: 'red', shape: 'ring', text: 'bad move input' });
  });

  it('refuses a concurrency outside 1-64 with an error naming it', async () => {
    await load({ concurrency: 0 });
    const caught = nextMessage<MoveMsg>('caught');
    helper.getNode('move')?.receive({ payload: { StudyInstanceUID: quick[0].studyInstanceUID } } as NodeMessage);
    assert.match((await caught).error?.message ?? '', /concurrency must be a whole number from 1 to 64, not 0/);
  });

  for (const concurrency of [1, 2]) {
    it(`never runs more than ${concurrency} movescu at once across the nodes sharing a PACS, and shows progress and the queue`, async function () {
      this.timeout(60000);
      receiver = await startReceiver({ port: receiverPort, fork: true, nagle: true });
      const second: FlowNode[] = [
        { id: 'move2', type: 'px-move', pacs: 'pacs', destination: '', wires: [['out2']] },
        { id: 'out2', type: 'helper' },
      ];
      await load({ concurrency }, {}, second);
      const series = seriesOf(slow);
      assert.equal(series.length, 5);
      const first = messages<MoveMsg>('out', 3, 50000);
      const other = messages<MoveMsg>('out2', 2, 50000);
      helper.getNode('move')?.receive({ payload: series.slice(0, 3).map((s) => ({ StudyInstanceUID: s.studyInstanceUID, SeriesInstanceUID: s.seriesInstanceUID })) } as NodeMessage);
      helper.getNode('move2')?.receive({ payload: findResult(series.slice(3)) } as NodeMessage);
      const most = await maxAlive(movescuAlive, Promise.all([first, other]));
      assert.equal(most, concurrency, `at most ${concurrency} movescu should run, and that many should`);
      const payloads = [...(await first), ...(await other)].map((m) => m.payload);
      assert.deepEqual(payloads.map((p) => [p.status, p.completed]), Array(5).fill(['success', 8]));
      assert.equal((await receiver.received()).length, 40);
      const texts = [...statusLog('move'), ...statusLog('move2')].map((s) => s.text ?? '');
      assert.ok(texts.some((t) => /^\d+\/8\b/.test(t)), `progress in status: ${texts.join(' | ')}`);
      assert.ok(texts.some((t) => /\d+ queued$/.test(t)), `queue length in status: ${texts.join(' | ')}`);
    });
  }

  it('stops the running movescu and drops the queued moves when the flow closes', async function () {
    this.timeout(30000);
    receiver = await startReceiver({ port: receiverPort, fork: true, nagle: true });
    await load({ concurrency: 1 });
    let outputs = 0;
    (helper.getNode('out') as unknown as NodeJS.EventEmitter).on('input', () => outputs++);
    const series = seriesOf(slow);
    const queue = (helper.getNode('pacs') as unknown as { queue: { waiting: number; active: number; run(task: () => Promise<unknown>): Promise<unknown> } }).queue;
    helper.getNode('move')?.receive({ payload: findResult(series) } as NodeMessage);
    await until('a movescu runs', () => movescuAlive() > 0, { timeoutMs: 5000 });
    assert.equal(movescuAlive(), 1, 'one movescu should be running');
    await helper.unload();
    assert.equal(movescuAlive(), 0, 'movescu outlived the closed flow');
    // The PACS queue closed with the flow: what waited in it was dropped, and it starts nothing more.
    assert.deepEqual({ waiting: queue.waiting, active: queue.active }, { waiting: 0, active: 0 }, 'a queued move started after the flow closed');
    await assert.rejects(queue.run(async () => 'started'), /the PACS queue was closed/);
    assert.equal(movescuAlive(), 0, 'a queued move started after the flow closed');
    assert.ok(outputs < series.length, `${outputs} of ${series.length} moves finished; the rest should have been dropped`);
    assert.ok((await receiver.received()).length < 40);
  });
});

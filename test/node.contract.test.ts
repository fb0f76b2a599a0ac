// The node contract (README's table), held for every node with an input in one Node-RED runtime
// against a real Orthanc: one answer per operation on the results output with payload.status
// success or error; a failure also reaches Catch nodes once, with the input msg; the input's
// properties travel on every message sent for it; a failed result given as input is refused, naming
// it, and runs nothing; the status follows one rule (px-deidentify, which needs no PACS, too). px-listen, which has no input: its messages, and
// a failure of the receiver to Catch nodes.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { generateSampleInstances, type SampleInstance, writeSampleInstances } from '../testbed/generate';
import { freePort } from '../testbed/orthanc';
import { type FlowNode, helper, nodeModules, onTab, statusLog } from './support/flow';
import { useOrthanc } from './support/pacs';

interface Msg extends NodeMessage {
  payload: { status: string; command?: string; data?: unknown; completed?: number; sent?: number } & Record<string, unknown>;
  req?: unknown;
  res?: unknown;
  custom?: unknown;
  parts?: { id: string; index: number; count: number };
  error?: { message: string; source?: { id: string; type: string } };
}
type Status = { fill?: string; shape?: string; text?: string };

const TYPES = ['px-echo', 'px-find', 'px-move', 'px-get', 'px-send'] as const;
const idOf = (type: string) => type.slice(3);
/** The helper each px node's results output goes to; px-get's output 1 (each instance) goes to "instances". */
const RESULTS = 'results';

/** Every message reaching the test's helper nodes, and a wait for an input's end that names what it waited for. */
class Traffic {
  private readonly seen = new Map<string, Msg[]>();
  private readonly waiters = new Set<() => void>();

  watch(ids: string[]): void {
    for (const id of ids) {
      this.seen.set(id, []);
      (helper.getNode(id) as unknown as NodeJS.EventEmitter).on('input', (msg: Msg) => {
        this.seen.get(id)?.push(msg);
        for (const check of [...this.waiters]) check();
      });
    }
  }

  at(id: string, msgid?: string): Msg[] {
    const all = this.seen.get(id) ?? [];
    return msgid === undefined ? all : all.filter((m) => m._msgid === msgid);
  }

  /** Resolves once `check` holds after some message arrived (or already holds); rejects naming `what` after `ms`. */
  when(check: () => boolean, what: string, ms = 45000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        reject(new Error(`not within ${ms / 1000} s: ${what}`));
      }, ms);
      const done = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      this.waiters.add(done);
    });
  }
}

/** A status change of a node, through the test helper's spy events; rejects naming `what` after `ms`. */
function statusReaches(id: string, check: (s: Status) => boolean, what: string, ms = 20000): Promise<void> {
  if (statusLog(id).some(check)) return Promise.resolve();
  const node = helper.getNode(id) as unknown as NodeJS.EventEmitter;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not within ${ms / 1000} s: ${what}; statuses: ${JSON.stringify(statusLog(id))}`)), ms);
    const onStatus = () => {
      if (!statusLog(id).some(check)) return;
      clearTimeout(timer);
      node.removeListener('call:status', onStatus);
      resolve();
    };
    node.on('call:status', onStatus);
  });
}

/** A TCP server that counts the connections it gets and closes each at once: a PACS that proves nothing ran when it counts 0. */
async function startCountingServer(): Promise<{ port: number; connections(): number; stop(): Promise<void> }> {
  let count = 0;
  const server = net.createServer((socket) => {
    count++;
    socket.on('error', () => undefined);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, connections: () => count, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('the node contract, every node with an input in one Node-RED runtime against Orthanc', function () {
  this.timeout(120000);
  let listenPort = 0;
  let work = '';
  before(async () => {
    listenPort = await freePort();
    work = await mkdtemp(path.join(os.tmpdir(), 'pypx-contract-'));
  });
  after(() => rm(work, { recursive: true, force: true }));
  const pacs = useOrthanc({
    extra: { DicomAlwaysAllowGet: true },
    modalities: {
      nodered: ['NODERED', '127.0.0.1', 1],
      get contract(): [string, string, number] {
        return ['CONTRACT', '127.0.0.1', listenPort];
      },
    },
  });
  // One study of two series of two instances in the PACS; three files on disk to send.
  const held = [...generateSampleInstances({ patients: [{ id: 'CONTRACT1', name: 'Contract^One', charset: '' }], seriesPerStudy: 2, instancesPerSeries: 2, seed: 'contract' })];
  let toSend: SampleInstance[] = [];
  before(async () => {
    await pacs().upload(held.map((h) => h.bytes));
    toSend = await writeSampleInstances(path.join(work, 'to-send'), { patients: [{ id: 'CONTRACT2', name: 'Contract^Two', charset: '' }], seriesPerStudy: 1, instancesPerSeries: 3, seed: 'contract-send' });
  });
  afterEach(() => helper.unload());

  const [seriesA, seriesB] = [held[0], held[2]] as [SampleInstance, SampleInstance];
  const absent = { StudyInstanceUID: seriesA.studyInstanceUID, SeriesInstanceUID: `${seriesA.seriesInstanceUID}.999` };
  const uidsOf = (s: SampleInstance) => ({ StudyInstanceUID: s.studyInstanceUID, SeriesInstanceUID: s.seriesInstanceUID });

  const traffic = new Traffic();
  let inputs = 0;

  /**
   * Each node twice: `<id>` on the PACS, `<id>-wrong` on a config with a called AE title the PACS
   * rejects (so every operation fails in the PACS's own words), and `<id>-counted` on a server that
   * counts connections. Results to "results", px-get's instances to "instances", Catch to "caught",
   * Complete (a done() without error) to "completed"; px-listen is px-move's destination.
   */
  async function deploy(counted: number, extra: FlowNode[] = []): Promise<void> {
    const config = { type: 'px-pacs', aet: 'NODERED', host: '127.0.0.1', aetl: 'CONTRACT', timeout: 10 };
    const configs: FlowNode[] = [
      { id: 'pacs', ...config, aec: pacs().aet, port: pacs().dicomPort },
      { id: 'wrong', ...config, aec: 'WRONGAE', port: pacs().dicomPort },
      { id: 'counting', ...config, aec: 'COUNTED', port: counted, timeout: 2 },
    ];
    const settings: Record<string, Record<string, unknown>> = {
      'px-find': { level: 'SERIES', query: '{}', returnTags: '', split: false, limit: 0 },
      'px-move': { destination: '' },
      'px-get': { dataDir: path.join(work, 'got'), seriesTimeout: 10 },
      'px-send': { retries: 0 },
    };
    const nodes: FlowNode[] = [];
    for (const type of TYPES) {
      for (const [suffix, configId] of [['', 'pacs'], ['-wrong', 'wrong'], ['-counted', 'counting']]) {
        const wires = type === 'px-get' ? [['instances'], [RESULTS]] : [[RESULTS]];
        nodes.push({ id: `${idOf(type)}${suffix}`, type, pacs: configId, wires, ...settings[type] });
      }
    }
    nodes.push({ id: 'find-split', type: 'px-find', pacs: 'pacs', ...settings['px-find'], split: true, wires: [[RESULTS]] });
    // px-deidentify needs no PACS: one with its key, after the PACS nodes.
    nodes.push({ id: 'deidentify', type: 'px-deidentify', outDir: path.join(work, 'deidentified'), wires: [['instances'], [RESULTS]] });
    const listen = { id: 'listen', type: 'px-listen', aet: 'CONTRACT', port: listenPort, dataDir: path.join(work, 'listened'), tmpDir: '', logDir: '', seriesTimeout: 1, wires: [['listened'], ['series']] };
    const helpers = [RESULTS, 'instances', 'caught', 'completed', 'listened', 'series'];
    await helper.load(nodeModules('px-pacs', ...TYPES, 'px-listen', 'px-deidentify'), onTab([
      ...configs,
      ...nodes,
      listen,
      ...extra,
      ...helpers.map((id) => ({ id, type: 'helper' })),
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'complete', type: 'complete', scope: nodes.map((n) => n.id), uncaught: false, wires: [['completed']] },
    ]), { deidentify: { key: 'contract-key' } });
    traffic.watch(helpers);
    await statusReaches('listen', (s) => s.fill === 'green', 'px-listen listens');
  }

  /** An input as a flow might send it: a topic, request and response objects (an http in's), a property of the user's. */
  function inputFor(payload: unknown, more: Record<string, unknown> = {}) {
    const props = { topic: 'contract', req: { url: '/contract', headers: {} }, res: { _res: { statusCode: 200 } }, custom: { nested: [1, { deep: true }] } };
    return { input: { _msgid: `contract-${++inputs}`, payload, ...props, ...more }, props };
  }

  /** The input's properties on a message sent for it: the same request and response objects, the same _msgid. */
  function assertCarries(msg: Msg, input: { _msgid: string; req: unknown; res: unknown }, where: string): void {
    assert.equal(msg._msgid, input._msgid, `${where}: the _msgid chain`);
    assert.equal(msg.topic, 'contract', `${where}: topic`);
    assert.equal(msg.req, input.req, `${where}: the same req object`);
    assert.equal(msg.res, input.res, `${where}: the same res object`);
    assert.deepEqual(msg.custom, { nested: [1, { deep: true }] }, `${where}: the user's own property`);
  }

  interface Operation {
    answers: Msg[];
    caught: Msg[];
    instances: Msg[];
    statuses: Status[];
  }

  /**
   * Sends one input to a node and waits until the node is done with it (Complete or Catch). Asserts
   * what holds for every input: `answers` answers on the results output, each carrying the input;
   * on success no Catch; on failure exactly one Catch, with the input msg. The statuses it set since.
   */
  async function operate(id: string, payload: unknown, expect: { answers?: number; fails: boolean }, more: Record<string, unknown> = {}): Promise<Operation> {
    const { input } = inputFor(payload, more);
    const { _msgid, req, res } = input;
    const from = statusLog(id).length;
    const ended = traffic.when(() => traffic.at('completed', _msgid).length + traffic.at('caught', _msgid).length > 0, `${id} done with input ${_msgid}`);
    helper.getNode(id)?.receive(input as unknown as NodeMessage);
    await ended;
    const op = { answers: traffic.at(RESULTS, _msgid), caught: traffic.at('caught', _msgid), instances: traffic.at('instances', _msgid), statuses: statusLog(id).slice(from) };
    const what = `${id}, input ${_msgid}`;
    assert.equal(op.answers.length, expect.answers ?? 1, `${what}: answers on the results output: ${JSON.stringify(op.answers.map((a) => a.payload))}`);
    for (const answer of op.answers) assertCarries(answer, { _msgid, req, res }, `${what}, answer`);
    for (const instance of op.instances) assertCarries(instance, { _msgid, req, res }, `${what}, instance`);
    if (!expect.fails) {
      assert.deepEqual(op.caught, [], `${what}: nothing to Catch on success`);
      assert.equal(traffic.at('completed', _msgid).length, 1, `${what}: done() once`);
    } else {
      assert.equal(op.caught.length, 1, `${what}: Catch nodes get a failure once`);
      assert.deepEqual(traffic.at('completed', _msgid), [], `${what}: a failure is no completion`);
      const [caught] = op.caught as [Msg];
      assert.equal(caught.error?.source?.id, id, `${what}: Catch names the node`);
      assertCarries(caught, { _msgid, req, res }, `${what}, caught`);
    }
    return op;
  }

  /** The status rule: blue dots while in flight, then a green dot with the total, or a red ring with the reason. */
  function assertStatus(op: Operation, last: Status, what: string): void {
    const { statuses } = op;
    assert.ok(statuses.length >= 2, `${what}: working, then an end: ${JSON.stringify(statuses)}`);
    for (const s of statuses.slice(0, -1)) assert.deepEqual([s.fill, s.shape], ['blue', 'dot'], `${what}: blue dot while in flight: ${JSON.stringify(statuses)}`);
    assert.deepEqual(statuses.at(-1), last, `${what}: ${JSON.stringify(statuses)}`);
  }

  const statusOf = (text: string, ok = true): Status => (ok ? { fill: 'green', shape: 'dot', text } : { fill: 'red', shape: 'ring', text });
  const rejected = statusOf('called AE rejected', false);

  it('answers each input once on the results output, tells Catch once per failure, carries the input on every message, and shows one status rule', async () => {
    const counted = await startCountingServer();
    try {
      await deploy(counted.port);

      // px-echo
      let op = await operate('echo', 'ping', { fails: false });
      assert.equal(op.answers[0]?.payload.status, 'success');
      assertStatus(op, statusOf('1 ok'), 'px-echo success');
      op = await operate('echo-wrong', 'ping', { fails: true });
      assert.equal(op.answers[0]?.payload.status, 'error');
      assert.match(op.caught[0]?.error?.message ?? '', /rejected the association/);
      assertStatus(op, rejected, 'px-echo failure');

      // px-find, one answer; split, one message per match, each a copy of the input
      op = await operate('find', { PatientID: 'CONTRACT1' }, { fails: false });
      assert.deepEqual([op.answers[0]?.payload.status, (op.answers[0]?.payload.data as unknown[]).length], ['success', 2]);
      assertStatus(op, statusOf('2 found'), 'px-find success');
      op = await operate('find-split', { PatientID: 'CONTRACT1' }, { answers: 2, fails: false });
      assert.deepEqual(op.answers.map((a) => a.parts?.count), [2, 2]);
      op = await operate('find', { PatientID: 'NOBODY' }, { fails: false });
      assert.deepEqual([op.answers[0]?.payload.status, op.answers[0]?.payload.data], ['success', []], 'no match is a success');
      assertStatus(op, statusOf('2 found'), 'px-find: the total since deploy');
      op = await operate('find-wrong', { PatientID: 'CONTRACT1' }, { fails: true });
      assert.equal(op.answers[0]?.payload.status, 'error');
      assertStatus(op, rejected, 'px-find failure');

      // px-move into px-listen, whose messages follow
      op = await operate('move', uidsOf(seriesA), { fails: false });
      assert.deepEqual([op.answers[0]?.payload.status, op.answers[0]?.payload.completed], ['success', 2]);
      assertStatus(op, statusOf('2 moved'), 'px-move success');
      await traffic.when(() => traffic.at('series').length === 1, 'px-listen announces the series moved to it');
      const listened = traffic.at('listened');
      assert.deepEqual(listened.map((m) => m.payload.status), ['success', 'success']);
      assert.deepEqual(listened.map((m) => (m.payload.data as { SeriesInstanceUID: string }).SeriesInstanceUID), [seriesA.seriesInstanceUID, seriesA.seriesInstanceUID]);
      const series = traffic.at('series')[0]?.payload;
      assert.deepEqual([series?.status, (series?.data as { count: number }).count], ['success', 2]);
      await statusReaches('listen', (s) => s.text === '2 received', 'px-listen counts what it received');
      assert.deepEqual(statusLog('listen').at(-1), statusOf('2 received'));

      op = await operate('move-wrong', uidsOf(seriesA), { fails: true });
      assert.deepEqual([op.answers[0]?.payload.status, op.answers[0]?.payload.completed], ['error', 0]);
      assertStatus(op, rejected, 'px-move failure');

      // A list: one answer per move with msg.parts, one Catch for the input summing up what failed.
      op = await operate('move', [uidsOf(seriesB), absent], { answers: 2, fails: true });
      assert.deepEqual(op.answers.map((a) => a.parts?.index).sort(), [0, 1]);
      assert.deepEqual(op.answers.map((a) => a.payload.status).sort(), ['error', 'success']);
      assert.equal(op.caught[0]?.parts, undefined, 'Catch nodes get the input, not one of its answers');
      assert.match(op.caught[0]?.error?.message ?? '', /^1 of 2 moves failed: .*UnableToProcess/);
      assertStatus(op, statusOf('1/2 moves failed', false), 'px-move list with a failure');
      await traffic.when(() => traffic.at('series').length === 2, 'px-listen announces the second series');
      assert.deepEqual(statusLog('move').at(-1), statusOf('1/2 moves failed', false), 'the red ring stays until the next answer');
      op = await operate('move', uidsOf(seriesA), { fails: false });
      assertStatus(op, statusOf('6 moved'), 'px-move: the next answer, with the total since deploy');

      // px-get: each instance on output 1 is a copy of the input too
      op = await operate('get', uidsOf(seriesB), { fails: false });
      assert.deepEqual([op.answers[0]?.payload.status, op.answers[0]?.payload.completed], ['success', 2]);
      assert.equal(op.instances.length, 2);
      for (const instance of op.instances) {
        assert.equal(instance.payload.status, 'success');
        assert.equal(instance.parts, undefined, 'an instance is no part of the input\'s sequence');
      }
      assertStatus(op, statusOf('2 retrieved'), 'px-get success');
      op = await operate('get-wrong', uidsOf(seriesB), { fails: true });
      assert.deepEqual([op.answers[0]?.payload.status, op.instances.length], ['error', 0]);
      assertStatus(op, statusOf('rejected', false), 'px-get failure (getscu\'s own short reason)');
      op = await operate('get', [uidsOf(seriesA), absent], { answers: 2, fails: true });
      assert.equal(op.instances.length, 2);
      assert.match(op.caught[0]?.error?.message ?? '', /^1 of 2 retrieves failed: /);
      assertStatus(op, statusOf('1/2 retrieves failed', false), 'px-get list with a failure');

      // px-send
      const files = toSend.map((s) => path.join(work, 'to-send', `${s.sopInstanceUID}.dcm`));
      op = await operate('send', files, { fails: false });
      assert.deepEqual([op.answers[0]?.payload.status, op.answers[0]?.payload.sent], ['success', 3]);
      assertStatus(op, statusOf('3 sent'), 'px-send success');
      op = await operate('send-wrong', files, { fails: true });
      assert.deepEqual([op.answers[0]?.payload.status, op.answers[0]?.payload.sent], ['error', 0]);
      assertStatus(op, statusOf('0/3 sent: called AE rejected', false), 'px-send failure');

      // px-deidentify: each instance written on output 1, a copy of the input (nothing of the input identifies here)
      op = await operate('deidentify', files, { fails: false });
      assert.deepEqual([op.answers[0]?.payload.status, op.answers[0]?.payload.deidentified, op.instances.length], ['success', 3, 3]);
      assertStatus(op, statusOf('3 de-identified'), 'px-deidentify success');
      op = await operate('deidentify', [...files, path.join(work, 'no-such-file.dcm')], { fails: true });
      assert.deepEqual([op.answers[0]?.payload.status, op.answers[0]?.payload.deidentified, op.answers[0]?.payload.failed, op.instances.length], ['error', 3, 1, 3]);
      assert.match(op.caught[0]?.error?.message ?? '', /^1 of 4 files were not de-identified/);
      assertStatus(op, statusOf('1/4 not written', false), 'px-deidentify failure');

      // Nothing more arrived for any input than was counted above, and every status clears on close.
      const forInputs = (m: Msg) => /^contract-/.test(m._msgid ?? '');
      assert.equal(traffic.at(RESULTS).filter(forInputs).length, 1 + 1 + 1 + 2 + 1 + 1 + 1 + 1 + 2 + 1 + 1 + 1 + 2 + 1 + 1 + 1 + 1);
      assert.equal(traffic.at('caught').filter(forInputs).length, 8);
      assert.equal(counted.connections(), 0, 'nothing in this test used the counting server');
      // The test helper stops spying before it closes the flow: each node's own record of what close sets.
      const onClose = new Map<string, Status[]>();
      for (const id of [...TYPES.map(idOf), 'listen', 'deidentify']) {
        const node = helper.getNode(id) as unknown as { status(s: Status): void };
        const spied = node.status;
        onClose.set(id, []);
        node.status = (s: Status) => {
          onClose.get(id)?.push(s);
          spied.call(node, s);
        };
      }
      await helper.unload();
      for (const [id, statuses] of onClose) assert.deepEqual(statuses, [{}], `${id}: cleared on close`);
    } finally {
      await counted.stop();
    }
  });

  it('refuses another node\'s failed result as input, naming that node, and runs nothing', async () => {
    const counted = await startCountingServer();
    try {
      await deploy(counted.port);
      const failedFind = { status: 'error', command: '/usr/bin/findscu -xi -S -aec ORTHANC -aet NODERED 127.0.0.1 4242', data: 'F: Association Request Failed: Connection refused' };
      const failedMove = { payload: { status: 'error', command: '', data: '' }, error: { message: 'movescu: connection refused by 127.0.0.1:4242', source: { id: 'm1', type: 'px-move' } } };
      for (const type of TYPES) {
        const id = `${idOf(type)}-counted`;
        let op = await operate(id, failedFind, { fails: true });
        assert.deepEqual([op.answers[0]?.payload.status, op.answers[0]?.payload.command], ['error', ''], `${type}: an error answer, from before anything ran`);
        assert.match(op.caught[0]?.error?.message ?? '', /^the input is a failed px-find result: F: Association Request Failed: Connection refused\. Nothing was run/);
        assertStatus(op, { fill: 'red', shape: 'ring', text: 'failed input' }, `${type} given a failed result`);
        assert.deepEqual(op.instances, []);
        // What a Catch node sends on: its msg.error names the node that failed.
        op = await operate(id, failedMove.payload, { fails: true }, { error: failedMove.error });
        assert.match(op.caught[0]?.error?.message ?? '', /^the input is a failed px-move result: movescu: connection refused by 127\.0\.0\.1:4242\./);
      }
      // px-deidentify refuses too, without repeating the failed result's words: they may name the patient.
      const op = await operate('deidentify', failedFind, { fails: true });
      assert.match(op.caught[0]?.error?.message ?? '', /^the input is a failed px-find result: its text is not repeated here, as it may identify the patient\. Nothing was run/);
      assertStatus(op, { fill: 'red', shape: 'ring', text: 'failed input' }, 'px-deidentify given a failed result');
      assert.deepEqual(op.instances, []);
      assert.equal(counted.connections(), 0, 'no node connected to its PACS');
      // Control: an input that runs does reach the counting server.
      await operate('echo-counted', 'ping', { fails: true });
      assert.ok(counted.connections() >= 1, 'the counting server sees an echo that runs');
    } finally {
      await counted.stop();
    }
  });

  it('px-listen sends a failure of its receiver to Catch nodes and shows it in a red ring', async () => {
    const counted = await startCountingServer();
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    const takenPort = (taken.address() as net.AddressInfo).port;
    try {
      await deploy(counted.port, [{ id: 'listen-taken', type: 'px-listen', aet: 'TAKEN', port: takenPort, dataDir: path.join(work, 'taken'), tmpDir: '', logDir: '', seriesTimeout: 1, wires: [[], []] }]);
      await traffic.when(() => traffic.at('caught').some((m) => m.error?.source?.id === 'listen-taken'), 'px-listen\'s failure reaches Catch');
      const [failure] = traffic.at('caught').filter((m) => m.error?.source?.id === 'listen-taken');
      assert.match(failure?.error?.message ?? '', new RegExp(`port ${takenPort}: the port is already in use`));
      assert.equal(failure?.payload.status, 'error');
      await statusReaches('listen-taken', (s) => s.fill === 'red', 'px-listen shows its failure');
      assert.deepEqual(statusLog('listen-taken').find((s) => s.fill === 'red'), { fill: 'red', shape: 'ring', text: `port ${takenPort} in use` });
    } finally {
      await helper.unload();
      taken.close();
      await counted.stop();
    }
  });

  it('px-get and px-listen file under <Node-RED user folder>/pypx-data when their data folder is empty', async () => {
    const userDir = path.join(work, 'user');
    const withSettings = helper as unknown as { _settings: unknown };
    const saved = withSettings._settings;
    helper.settings({ userDir });
    try {
      const port = await freePort();
      await helper.load(nodeModules('px-pacs', 'px-get', 'px-listen'), onTab([
        { id: 'pacs', type: 'px-pacs', aet: 'NODERED', aec: pacs().aet, host: '127.0.0.1', port: pacs().dicomPort, aetl: '', timeout: 10 },
        { id: 'get', type: 'px-get', pacs: 'pacs', dataDir: '', wires: [['instances'], [RESULTS]] },
        { id: 'listen', type: 'px-listen', aet: 'DEFAULTDIR', port, dataDir: '', tmpDir: '', logDir: '', seriesTimeout: 1, wires: [[], []] },
        { id: 'instances', type: 'helper' },
        { id: RESULTS, type: 'helper' },
      ]));
      traffic.watch(['instances', RESULTS]);
      await statusReaches('listen', (s) => s.fill === 'green', 'px-listen listens in its default data folder');
      const { input } = inputFor(uidsOf(seriesA));
      helper.getNode('get')?.receive(input as unknown as NodeMessage);
      await traffic.when(() => traffic.at(RESULTS, input._msgid).length === 1, 'px-get answers');
      assert.equal(traffic.at(RESULTS, input._msgid)[0]?.payload.status, 'success');
      const filed = traffic.at('instances', input._msgid).map((m) => (m.payload.data as { path: string }).path);
      assert.equal(filed.length, 2);
      for (const file of filed) assert.ok(file.startsWith(path.join(userDir, 'pypx-data') + path.sep), file);
      assert.ok((await readdir(path.join(userDir, 'pypx-data'))).includes('incoming'), 'px-listen\'s incoming folder is under the default data folder');
    } finally {
      withSettings._settings = saved;
    }
  });
});

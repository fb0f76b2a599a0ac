import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import type { SeriesComplete } from '../lib/filing/series';
import { SAMPLE_PATIENTS, writeSampleInstances } from '../testbed/generate';
import { type FlowNode, helper, nodeModules, onTab, statusLog } from './support/flow';
import { dcmtkDescendants, processesMentioning } from './support/processes';
import { freeTcpPort, storescu } from './support/store';
import type { InstancePayload } from '../lib/filing/file-instance';
import { bytesUnder, startTcpProxy } from './support/tcp-proxy';
import { until } from './support/until';

interface InputNode<M> {
  on(event: 'input', listener: (msg: M) => void): void;
}

interface Out<D> extends NodeMessage {
  payload: { status: string; data: D };
  error?: { message: string };
}

describe('px-listen node in a Node-RED runtime', function () {
  this.timeout(120000);
  let work: string;
  let port: number;
  const instances: Array<Out<InstancePayload>> = [];
  const series: Array<Out<SeriesComplete>> = [];
  const caught: Array<Out<unknown>> = [];

  beforeEach(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'px-listen-node-'));
    port = await freeTcpPort();
    instances.length = 0;
    series.length = 0;
    caught.length = 0;
  });
  afterEach(async () => {
    await helper.unload();
    await rm(work, { recursive: true, force: true });
  });

  async function deploy(config: Record<string, unknown> = {}): Promise<void> {
    await helper.load(nodeModules('px-listen'), onTab([
      { id: 'listen', type: 'px-listen', aet: 'NODERED', port, dataDir: path.join(work, 'data'), tmpDir: '', logDir: path.join(work, 'log'), seriesTimeout: 1, wires: [['instances'], ['series']], ...config },
      { id: 'instances', type: 'helper' },
      { id: 'series', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]));
    const collect = <D>(id: string, into: Array<Out<D>>) => (helper.getNode(id) as unknown as InputNode<Out<D>>).on('input', (msg) => into.push(msg));
    collect('instances', instances);
    collect('series', series);
    collect('caught', caught);
    await until('px-listen shows it listens or why it cannot (green or red)', () => statusLog('listen').some((s) => s.fill === 'green' || s.fill === 'red'),
      { timeoutMs: 10000, describe: () => statusLog('listen') });
  }

  /** What the test has seen so far, for a wait that gave up. */
  const seen = () => ({ instances: instances.length, series: series.length, caught: caught.map((m) => m.error?.message), status: statusLog('listen').at(-1) });

  it('sends one message per instance on output 1 and one per series on output 2, and counts in its status', async () => {
    await deploy();
    await writeSampleInstances(path.join(work, 'send'), { patients: SAMPLE_PATIENTS.slice(4, 5), seriesPerStudy: 1, instancesPerSeries: 2 });
    const sent = await storescu(port, [path.join(work, 'send')]);
    assert.equal(sent.stored.length, 2, sent.output);
    await until('the series is complete', () => series.length === 1, { describe: seen });
    assert.equal(instances.length, 2);
    const first = instances[0]?.payload;
    assert.equal(first?.status, 'success');
    assert.equal(first?.data.PatientName, 'Yamada^Tarou=山田^太郎=やまだ^たろう', 'decoded by its ISO 2022 character set');
    assert.equal(first?.data.callingAET, 'SENDER');
    assert.equal(series[0]?.payload.data.count, 2);
    assert.deepEqual(series[0]?.payload.data.files, instances.map((m) => m.payload.data.path).sort());
    assert.deepEqual(statusLog('listen').at(-1), { fill: 'green', shape: 'dot', text: '2 received' });
  });

  it('receives 1,000 instances from 4 parallel senders: each on disk once, emitted once, series counted right', async () => {
    await deploy({ seriesTimeout: 2 });
    const folders = await Promise.all([0, 1, 2, 3].map(async (i) => {
      const dir = path.join(work, `send${i}`);
      // 4 senders x 1 patient x 5 series x 50 instances: 1,000 instances in 20 series.
      await writeSampleInstances(dir, { patients: [SAMPLE_PATIENTS[i] as (typeof SAMPLE_PATIENTS)[number]], seriesPerStudy: 5, instancesPerSeries: 50, seed: 'bulk' });
      return dir;
    }));
    const sent = await Promise.all(folders.map((dir) => storescu(port, [dir])));
    assert.equal(sent.reduce((n, s) => n + s.stored.length, 0), 1000);
    await until('20 series complete', () => series.length === 20, { timeoutMs: 60000, describe: seen });
    const uids = instances.map((m) => m.payload.data.SOPInstanceUID);
    assert.equal(uids.length, 1000);
    assert.equal(new Set(uids).size, 1000, 'an instance was emitted twice');
    assert.ok(instances.every((m) => statSync(m.payload.data.path).isFile() && !m.payload.data.duplicate));
    const onDisk = (await Promise.all(series.map((m) => readdir(m.payload.data.path)))).flat().filter((n) => n.endsWith('.dcm'));
    assert.equal(onDisk.length, 1000);
    assert.ok(series.every((m) => m.payload.data.count === 50 && m.payload.data.files.length === 50));
    assert.equal(new Set(series.map((m) => m.payload.data.SeriesInstanceUID)).size, 20);
    assert.deepEqual(caught, []);
  });

  it('quarantines a malformed file, tells Catch nodes, and keeps receiving', async () => {
    await mkdir(path.join(work, 'data', 'incoming'), { recursive: true });
    await writeFile(path.join(work, 'data', 'incoming', 'CT.broken'), Buffer.alloc(300, 7));
    await deploy();
    await until('the malformed file reported, and px-listen listening', () => caught.length === 1 && statusLog('listen').some((s) => s.fill === 'green'), { describe: seen });
    assert.match(caught[0]?.error?.message ?? '', /cannot be read as DICOM .*kept as .*quarantine\/CT\.broken/);
    assert.equal((caught[0]?.payload as { status: string }).status, 'error');
    assert.ok(statSync(path.join(work, 'data', 'quarantine', 'CT.broken')).isFile());
    await writeSampleInstances(path.join(work, 'send'), { patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 1, instancesPerSeries: 1 });
    assert.equal((await storescu(port, [path.join(work, 'send')])).stored.length, 1);
    await until('the instance sent after it emitted', () => instances.length === 1, { describe: seen });
  });

  it('same instance sent twice: filed once on disk, emitted twice, the second flagged duplicate', async () => {
    await deploy();
    await writeSampleInstances(path.join(work, 'send'), { patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 1, instancesPerSeries: 1 });
    await storescu(port, [path.join(work, 'send')]);
    await until('the first copy emitted', () => instances.length === 1, { describe: seen });
    await storescu(port, [path.join(work, 'send')]);
    await until('the second copy emitted', () => instances.length === 2, { describe: seen });
    assert.deepEqual(instances.map((m) => m.payload.data.duplicate), [false, true]);
    assert.equal(instances[0]?.payload.data.path, instances[1]?.payload.data.path);
  });

  it('loses nothing when redeployed in the middle of a transfer, and leaves no storescp behind', async () => {
    await deploy({ seriesTimeout: 2 });
    await writeSampleInstances(path.join(work, 'send'), { patients: SAMPLE_PATIENTS.slice(0, 3), seriesPerStudy: 2, instancesPerSeries: 50, imageSize: 64 });
    // Half of what the sender has reaches px-listen, then the sender waits: the redeploy comes in the
    // middle of the transfer however fast this machine sends.
    const proxy = await startTcpProxy(port, { holdAfterBytes: bytesUnder(path.join(work, 'send')) / 2 });
    try {
      const sending = storescu(proxy.port, [path.join(work, 'send')]);
      await until('80 instances emitted', () => instances.length >= 80, { describe: () => ({ ...seen(), forwarded: proxy.forwarded() }) });
      await helper.unload();
      assert.deepEqual(dcmtkDescendants().filter((p) => p.command === 'storescp'), [], 'storescp outlived the redeploy');
      const sent = await sending;
      assert.ok(sent.stored.length < 300, 'the transfer was cut short by the redeploy');
      await deploy();
      const stored = sent.stored.map((f) => path.basename(f, '.dcm'));
      await until('every instance acknowledged to the sender is emitted', () => { const uids = new Set(instances.map((m) => m.payload.data.SOPInstanceUID)); return stored.every((uid) => uids.has(uid)); },
        { describe: () => `${stored.filter((uid) => !instances.some((m) => m.payload.data.SOPInstanceUID === uid)).length} of ${stored.length} never emitted` });
      // What the first deployment left was queued for filing when the second started, before anything it
      // receives: once an instance sent now is emitted, each leftover has been filed (and emitted) or not.
      const [late] = await writeSampleInstances(path.join(work, 'late'), { patients: SAMPLE_PATIENTS.slice(5, 6), seriesPerStudy: 1, instancesPerSeries: 1, seed: 'late' });
      assert.equal((await storescu(port, [path.join(work, 'late')])).stored.length, 1);
      await until('the instance sent after the redeploy is emitted', () => instances.some((m) => m.payload.data.SOPInstanceUID === late?.sopInstanceUID), { describe: seen });
      const uids = instances.map((m) => m.payload.data.SOPInstanceUID);
      assert.equal(new Set(uids).size, uids.length, 'an instance was emitted twice across the two deployments');
      assert.ok(instances.every((m) => !m.payload.data.duplicate), 'a redeploy announces nothing twice, so nothing is flagged duplicate');
      assert.deepEqual((await readdir(path.join(work, 'data', 'incoming'))).filter((n) => !n.startsWith('.')), []);
      assert.deepEqual(caught, []);
    } finally {
      await proxy.stop();
    }
  });

  it('says so when the port is in use: red status, and an error for Catch nodes', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(port, resolve));
    try {
      await deploy();
      await until('the port in use reported', () => caught.length === 1, { describe: seen });
      assert.match(caught[0]?.error?.message ?? '', new RegExp(`port ${port}: the port is already in use`));
      assert.deepEqual(statusLog('listen').at(-1), { fill: 'red', shape: 'ring', text: `port ${port} in use` });
    } finally {
      blocker.close();
    }
  });

  it('clears its status at start; a restart into a port now taken names the port, and Catch nodes hear it once', async () => {
    await deploy();
    assert.deepEqual(statusLog('listen')[0], {}, 'the status of an earlier deployment is cleared first');
    const dataDir = path.join(work, 'data');
    const main = processesMentioning(dataDir).find((p) => p.command === 'storescp' && readFileSync(`/proc/${readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]}/comm`, 'utf8').trim() === 'timeout');
    assert.ok(main, 'storescp runs');
    process.kill(main.pid, 'SIGKILL');
    const blocker = net.createServer();
    // Taken as soon as the killed storescp has let go of it, before px-listen starts it again (1 s later).
    await until('the port is ours', () => new Promise<boolean>((resolve) => {
      blocker.once('error', () => resolve(false));
      blocker.listen(port, () => resolve(true));
    }), { timeoutMs: 5000, intervalMs: 20 });
    try {
      // Restarts 1 s and 2 s later both find the port taken: the first sets the status twice (error, then retry), the second once.
      await until('both restarts found the port taken (3 statuses)', () => statusLog('listen').filter((st) => st.text === `port ${port} in use`).length >= 3, { timeoutMs: 20000, describe: () => statusLog('listen') });
      assert.deepEqual(statusLog('listen').at(-1), { fill: 'red', shape: 'ring', text: `port ${port} in use` });
      const said = caught.map((m) => m.error?.message ?? '');
      assert.equal(said.filter((m) => /already in use/.test(m)).length, 1, said.join('\n'));
      assert.equal(said.filter((m) => /storescp exited/.test(m)).length, 1, said.join('\n'));
    } finally {
      blocker.close();
    }
    await until('px-listen listens again once the port is free', () => statusLog('listen').at(-1)?.fill === 'green', { timeoutMs: 20000, describe: () => statusLog('listen') });
  });

  it('tells Catch nodes, with a red status, when the data folder is gone, and files what waited once it is back', async () => {
    await deploy({ tmpDir: path.join(work, 'incoming') });
    await rm(path.join(work, 'data'), { recursive: true });
    await writeSampleInstances(path.join(work, 'send'), { patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 1, instancesPerSeries: 2 });
    assert.equal((await storescu(port, [path.join(work, 'send')])).stored.length, 2);
    await until('the unusable data folder reported', () => caught.length === 1, { describe: seen });
    assert.match(caught[0]?.error?.message ?? '', /cannot file into the data folder .* wait in .*incoming/);
    assert.deepEqual(statusLog('listen').at(-1), { fill: 'red', shape: 'ring', text: `data folder unusable: ${path.join(work, 'data')}` });
    await mkdir(path.join(work, 'data'));
    await until('both waiting instances filed', () => instances.length === 2, { describe: seen });
    await until('the status turns green by itself', () => statusLog('listen').at(-1)?.fill === 'green', { describe: seen });
    assert.ok(instances.every((m) => statSync(m.payload.data.path).isFile()));
    assert.equal(caught.length, 1);
  });

  it('names every bad setting at deploy; an empty data folder is no mistake (it has a default)', async () => {
    await deploy({ aet: 'A_TITLE_FAR_TOO_LONG', port: 'x', dataDir: '' });
    await until('px-listen sets a status', () => statusLog('listen').length > 0);
    assert.deepEqual(statusLog('listen').at(-1), { fill: 'red', shape: 'ring', text: 'bad settings' });
    const errors = (helper.getNode('listen') as unknown as { error: { args: unknown[][] } }).error.args.map((a) => String(a[0]));
    assert.match(errors.join('\n'), /AE title .* at most 16; port must be a whole number /);
    assert.doesNotMatch(errors.join('\n'), /dataDir/);
  });

  it('runs the example flow: a series arriving starts the downstream step', async () => {
    const file = path.join(__dirname, '..', '..', 'examples', '04 - Listen and process series.json');
    // Its listening half: what sends it a series (inject, px-find, px-move) is tried in the demo's test.
    const listening = (n: Record<string, unknown>) => ['px-listen', 'function', 'comment', 'debug'].includes(String(n.type));
    const flow = (JSON.parse(readFileSync(file, 'utf8')) as Array<Record<string, unknown>>).filter(listening).map((n) => {
      if (n.type === 'px-listen') return { ...n, port, dataDir: path.join(work, 'data'), seriesTimeout: 1 };
      if (n.type === 'debug') return { id: n.id, type: 'helper' };
      return n;
    });
    const functionNode = require('@node-red/nodes/core/function/10-function.js') as (RED: unknown) => void;
    const commentNode = require('@node-red/nodes/core/common/90-comment.js') as (RED: unknown) => void;
    await helper.load([...nodeModules('px-listen'), functionNode, commentNode], onTab(flow as FlowNode[]));
    const job = new Promise<Out<unknown>>((resolve) => (helper.getNode('e4debug') as unknown as InputNode<Out<unknown>>).on('input', resolve));
    await writeSampleInstances(path.join(work, 'send'), { patients: SAMPLE_PATIENTS.slice(1, 2), seriesPerStudy: 1, instancesPerSeries: 3 });
    await until('the example\'s px-listen listens (green status)', () => statusLog('e4listen').some((st) => st.fill === 'green'), { timeoutMs: 10000, describe: () => statusLog('e4listen') });
    assert.equal((await storescu(port, [path.join(work, 'send')])).stored.length, 3);
    const msg = await job;
    const payload = msg.payload as unknown as { patient: string; series: string; folder: string; images: number; firstImage: string };
    assert.equal(payload.patient, 'PX0002');
    assert.equal(payload.images, 3);
    assert.equal(payload.series, msg.topic);
    assert.ok(payload.firstImage.startsWith(`${payload.folder}/00001-`));
    assert.ok(payload.folder.startsWith(path.join(work, 'data')));
  });
});

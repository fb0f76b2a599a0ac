// px-listen on a disk that fills up mid-transfer and is then enlarged (a real tmpfs, real storescu
// and dcmsend senders): a red status naming the reason and the folder, one error for Catch nodes for
// the whole episode however many instances storescp refuses, green again by itself once the disk has
// room, and every instance announced complete, none of them cut short. px-get (from dcmqrscp) into a
// full disk answers in the same words.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { SAMPLE_PATIENTS, type SamplePatient, type SampleInstance, writeSampleInstances } from '../testbed/generate';
import { getFlow, helper, joinModule, nextMessage, nodeModules, noMessage, onTab, statusLog } from './support/flow';
import { startQrScp } from './support/qrscp';
import type { MovePayload } from '../lib/ops/move/types';
import { freeTcpPort, type SendResult, storescu } from './support/store';
import type { InstancePayload } from '../lib/filing/file-instance';
import { until } from './support/until';

interface Out<D> extends NodeMessage {
  payload: { status: string; data: D };
  error?: { message: string };
}

/** The data set after the file meta information: what storescp received, whatever meta it wrote itself. */
function dataSet(file: Buffer): Buffer {
  assert.equal(file.toString('latin1', 128, 132), 'DICM');
  assert.equal(file.readUInt16LE(132), 0x0002, 'the meta starts with its group length');
  assert.equal(file.readUInt16LE(134), 0x0000);
  return file.subarray(132 + 12 + file.readUInt32LE(140));
}

/** dcmsend -v --no-halt of every file in the folders; its output. */
async function dcmsendGoingOn(port: number, folders: string[]): Promise<string> {
  const files = (await Promise.all(folders.map(async (dir) => (await readdir(dir)).map((name) => path.join(dir, name))))).flat();
  return new Promise((resolve) => {
    execFile('dcmsend', ['-v', '--no-halt', '-aec', 'NODERED', '127.0.0.1', String(port), ...files], { maxBuffer: 16 * 1024 * 1024 }, (_err, stdout, stderr) => resolve(`${stdout}${stderr}`));
  });
}

const refusals = (results: SendResult[]) => results.reduce((n, r) => n + (r.output.match(/Received Store Response \(Refused: OutOfResources\)/g)?.length ?? 0), 0);

describe('px-listen and px-get on a disk that fills up (tmpfs)', function () {
  this.timeout(180000);
  let work = '';
  let disk = '';
  let mounted = false;
  let command: ChildProcess | undefined;

  before(function () {
    if (process.getuid?.() !== 0) this.skip(); // mounting a tmpfs takes root (as in CI)
  });
  beforeEach(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'px-listen-disk-'));
    disk = path.join(work, 'disk');
    await mkdir(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', disk]);
    mounted = true;
  });
  afterEach(async () => {
    await helper.unload();
    if (command && command.exitCode === null) {
      const exited = new Promise((resolve) => command?.once('exit', resolve));
      command.kill('SIGTERM');
      await exited;
    }
    command = undefined;
    if (mounted) {
      try {
        execFileSync('umount', [disk]);
      } catch {
        execFileSync('umount', ['-l', disk]);
      }
      mounted = false;
    }
    await rm(work, { recursive: true, force: true });
  });

  it('red status with the reason and folder, one Catch for the episode, green again once enlarged; every announced file complete', async () => {
    const port = await freeTcpPort();
    const dataDir = path.join(disk, 'data');
    const incoming = path.join(dataDir, 'incoming');
    const logFile = path.join(work, 'log', 'px-listen.log');
    await helper.load(nodeModules('px-listen'), onTab([
      { id: 'listen', type: 'px-listen', aet: 'NODERED', port, dataDir, tmpDir: '', logDir: path.join(work, 'log'), seriesTimeout: 1, wires: [['instances'], []] },
      { id: 'instances', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]));
    const instances: Array<Out<InstancePayload>> = [];
    const caught: Array<Out<unknown>> = [];
    (helper.getNode('instances') as unknown as NodeJS.EventEmitter).on('input', (msg: Out<InstancePayload>) => instances.push(msg));
    (helper.getNode('caught') as unknown as NodeJS.EventEmitter).on('input', (msg: Out<unknown>) => caught.push(msg));
    const seen = () => ({ instances: instances.length, caught: caught.map((m) => m.error?.message), status: statusLog('listen').at(-1) });
    await until('px-listen listens', () => statusLog('listen').some((s) => s.fill === 'green'), { timeoutMs: 10000, describe: () => statusLog('listen') });

    // 4 senders x 20 instances of 128 KiB: 10 MiB for a 4 MiB disk, which fills while they send.
    const sent = new Map<string, SampleInstance>();
    const folders = await Promise.all([0, 1, 2, 3].map(async (i) => {
      const dir = path.join(work, `send${i}`);
      for (const s of await writeSampleInstances(dir, { patients: [SAMPLE_PATIENTS[i] as SamplePatient], seriesPerStudy: 2, instancesPerSeries: 10, imageSize: 256, seed: 'disk' })) sent.set(s.sopInstanceUID, s);
      return dir;
    }));
    const first = await Promise.all(folders.map((dir) => storescu(port, [dir])));
    const acknowledged = new Set(first.flatMap((r) => r.stored.map((f) => path.basename(f, '.dcm'))));
    assert.ok(acknowledged.size > 0 && acknowledged.size < sent.size, `the disk filled mid-transfer (${acknowledged.size} of ${sent.size} stored)`);

    // The folder whose write met the full disk first: storescp's (incoming) or the filing's (the data folder).
    const folder = `(${incoming}|${dataDir})`;
    await until('the red status names the reason and the folder', () => new RegExp(`^disk full: ${folder}$`).test(statusLog('listen').at(-1)?.text ?? ''), { describe: seen });
    assert.deepEqual({ ...statusLog('listen').at(-1), text: '' }, { fill: 'red', shape: 'ring', text: '' });
    await until('Catch nodes hear of it', () => caught.length >= 1, { describe: seen });
    assert.match(caught[0]?.error?.message ?? '', new RegExp(`${folder}: disk full \\(ENOSPC`));
    assert.equal((caught[0]?.payload as { status: string }).status, 'error');

    // More instances refused while the disk is full (dcmsend goes on after a refusal, where storescu
    // stops): each one in px-listen's log, none of them a new error.
    const again = await dcmsendGoingOn(port, folders);
    const refused = refusals(first) + (again.match(/OutOfResources|Out of Resources/gi)?.length ?? 0);
    assert.ok(refused >= 20, `storescp refused instance after instance (${refused}):\n${again}`);
    await until('every refusal is in px-listen\'s log', () => (readFileSync(logFile, 'utf8').match(/cannot write DICOM file/g)?.length ?? 0) >= refused,
      { describe: () => readFileSync(logFile, 'utf8').match(/cannot write DICOM file/g)?.length });
    await noMessage('caught', Promise.resolve());
    assert.equal(caught.length, 1, 'one error for the episode, not one per refused instance');
    assert.equal(statusLog('listen').at(-1)?.fill, 'red', 'still red while the disk is full');

    execFileSync('mount', ['-o', 'remount,size=64m', disk]);
    await until('the status turns green by itself', () => statusLog('listen').at(-1)?.fill === 'green', { describe: seen });
    const last = await Promise.all(folders.map((dir) => storescu(port, [dir])));
    assert.equal(last.reduce((n, r) => n + r.stored.length, 0), sent.size, 'every instance stored once the disk has room');
    await until('every instance sent is filed and announced', () => sent.size === new Set(instances.map((m) => m.payload.data.SOPInstanceUID)).size, { describe: seen });
    for (const uid of acknowledged) assert.ok(instances.some((m) => m.payload.data.SOPInstanceUID === uid), `${uid}, stored while the disk filled, announced`);
    for (const { payload } of instances) {
      const original = sent.get(payload.data.SOPInstanceUID);
      assert.ok(original, `${payload.data.SOPInstanceUID} was sent`);
      assert.ok(dataSet(await readFile(payload.data.path)).equals(dataSet(original.bytes)), `${payload.data.path} is complete, byte for byte`);
    }
    assert.equal(caught.length, 1, 'still the one error');
  });

  it('the px-listen command says the episode on stderr once, and when it can write again', async () => {
    const port = await freeTcpPort();
    const dataDir = path.join(disk, 'data');
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'bin', 'px-listen.js'), '--aet', 'NODERED', '--port', String(port), '-d', dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    command = child;
    let said = '';
    child.stderr?.on('data', (chunk: Buffer) => (said += chunk.toString()));
    await until('px-listen receives', () => said.includes('receiving as'), { timeoutMs: 10000, describe: () => said });
    const folders = await Promise.all([0, 1].map(async (i) => {
      const dir = path.join(work, `send${i}`);
      await writeSampleInstances(dir, { patients: [SAMPLE_PATIENTS[i] as SamplePatient], seriesPerStudy: 1, instancesPerSeries: 30, imageSize: 256, seed: 'command' });
      return dir;
    }));
    const refused = (await dcmsendGoingOn(port, folders)).match(/OutOfResources|Out of Resources/gi)?.length ?? 0;
    assert.ok(refused >= 10, `the disk filled (${refused} refused)`);
    const folder = `(${path.join(dataDir, 'incoming')}|${dataDir})`;
    await until('px-listen says the disk is full', () => new RegExp(`${folder}: disk full \\(ENOSPC`).test(said), { describe: () => said });
    execFileSync('mount', ['-o', 'remount,size=64m', disk]);
    await until('px-listen says it can write again', () => new RegExp(`can write into ${folder} again \\(disk full for `).test(said), { describe: () => said });
    assert.equal(said.match(/disk full \(ENOSPC/g)?.length, 1, `one line for the episode:\n${said}`);
  });

  it('px-get into a full disk answers error with the cause and the folder, in its status too; what it filed before is whole', async () => {
    const send = path.join(work, 'pacs');
    const held = await writeSampleInstances(send, { patients: [SAMPLE_PATIENTS[0] as SamplePatient], seriesPerStudy: 1, instancesPerSeries: 40, imageSize: 256, seed: 'get' });
    const qr = await startQrScp(held.map((s) => path.join(send, `${s.sopInstanceUID}.dcm`)));
    try {
      const dataDir = path.join(disk, 'data');
      const pacsNode = { id: 'pacs', type: 'px-pacs', aet: 'US', aec: qr.aet, host: '127.0.0.1', port: qr.port, timeout: 10 };
      await helper.load([...nodeModules('px-pacs', 'px-get'), joinModule], getFlow(pacsNode, { dataDir }));
      const instances: Array<Out<InstancePayload>> = [];
      (helper.getNode('instances') as unknown as NodeJS.EventEmitter).on('input', (msg: Out<InstancePayload>) => instances.push(msg));
      const answer = nextMessage<Out<string> & { payload: MovePayload }>('retrieves');
      const caught = nextMessage<Out<unknown>>('caught');
      helper.getNode('get')?.receive({ payload: { StudyInstanceUID: held[0]?.studyInstanceUID } } as NodeMessage);
      const incoming = path.join(dataDir, 'incoming');
      const { payload } = await answer;
      assert.equal(payload.status, 'error');
      // getscu's own write (into its folder under incoming) or the filing's (into the data folder), whichever meets the full disk first.
      const said = `(cannot write received instances into ${incoming}|cannot file into the data folder ${dataDir}): disk full \\(ENOSPC`;
      assert.match(String(payload.data), new RegExp(said));
      assert.match((await caught).error?.message ?? '', new RegExp(said));
      assert.match(statusLog('get').at(-1)?.text ?? '', new RegExp(`^disk full: (${incoming}|${dataDir})$`));
      assert.equal(statusLog('get').at(-1)?.fill, 'red');
      assert.ok(instances.length > 0 && instances.length < held.length, `the disk filled mid-retrieve (${instances.length} filed)`);
      const byUid = new Map(held.map((s) => [s.sopInstanceUID, s]));
      for (const { payload: filed } of instances) {
        assert.ok(dataSet(await readFile(filed.data.path)).equals(dataSet((byUid.get(filed.data.SOPInstanceUID) as SampleInstance).bytes)), `${filed.data.path} is complete`);
      }
    } finally {
      await qr.stop();
    }
  });
});

// px-listen under faults: storescp killed, the data folder gone, a crashed earlier run's storescp
// still holding the port, the process that started storescp killed, any umask.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PacsError } from '../lib/core/errors';
import { Listener } from '../lib/ops/listen/listener';
import type { ListenerOptions } from '../lib/ops/listen/options';
import { SAMPLE_PATIENTS, type SamplePatient, writeSampleInstances } from '../testbed/generate';
import { processesMentioning } from './support/processes';
import { freeTcpPort, type SendResult, storescu } from './support/store';
import { type InstancePayload } from '../lib/filing/file-instance';
import { isWholeFile } from '../lib/filing/header';
import { readDicomHeader } from '../lib/dicom/read-file';
import { bytesUnder, startTcpProxy } from './support/tcp-proxy';
import { until } from './support/until';

const BIN = path.join(__dirname, '..', 'bin', 'px-listen.js');

/** storescp processes anywhere in the process table working for this folder, and the main one (whose parent is `timeout`). */
function storescpFor(folder: string): { all: number[]; main?: number } {
  const all = processesMentioning(folder).filter((p) => p.command === 'storescp').map((p) => p.pid);
  const parentCommand = (pid: number) => {
    try {
      const ppid = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1];
      return readFileSync(`/proc/${ppid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  return { all, main: all.find((pid) => parentCommand(pid) === 'timeout') };
}

const acknowledged = (results: SendResult[]) => results.flatMap((r) => r.stored.map((f) => path.basename(f, '.dcm')));

describe('px-listen under faults', function () {
  this.timeout(120000);
  let work: string;
  let listener: Listener | undefined;
  let children: ChildProcess[] = [];
  const instances: InstancePayload[] = [];
  const errors: PacsError[] = [];

  beforeEach(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'px-listen-faults-'));
    instances.length = 0;
    errors.length = 0;
  });
  afterEach(async () => {
    await listener?.close();
    listener = undefined;
    for (const child of children) child.kill('SIGKILL');
    children = [];
    await rm(work, { recursive: true, force: true });
  });

  async function listen(options: Partial<ListenerOptions> = {}): Promise<Listener> {
    const started = new Listener({ aet: 'NODERED', port: await freeTcpPort(), dataDir: path.join(work, 'data'), seriesTimeout: 1, ...options });
    started.on('instance', (p) => instances.push(p));
    started.on('error', (e) => errors.push(e));
    await started.start();
    listener = started;
    return started;
  }

  async function senders(seed: string, count = 4, perSender = 120): Promise<string[]> {
    return Promise.all(Array.from({ length: count }, async (_, i) => {
      const dir = path.join(work, `${seed}-${i}`);
      await writeSampleInstances(dir, { patients: [SAMPLE_PATIENTS[i] as SamplePatient], seriesPerStudy: 2, instancesPerSeries: perSender / 2, imageSize: 64, seed });
      return dir;
    }));
  }

  it('storescp killed (kill -9) while 4 senders send: started again, nothing acknowledged lost, nothing new taken for a leftover', async () => {
    const running = await listen({ restartDelaysMs: [300] });
    const { port, tmpDir } = running.options;
    const [first, second] = [await senders('first', 4, 400), await senders('second')];
    // Half of what the first senders have reaches storescp, then they wait: the kill comes in the middle
    // of their transfer however fast this machine sends.
    const proxy = await startTcpProxy(port, { holdAfterBytes: bytesUnder(...first) / 2 });
    try {
      const restarted = new Promise<void>((resolve) => running.once('listening', () => resolve()));
      const sending = Promise.all(first.map((dir) => storescu(proxy.port, [dir])));
      await until('20 instances emitted', () => instances.length >= 20, { describe: () => ({ instances: instances.length, forwarded: proxy.forwarded(), errors: errors.map((e) => e.message) }) });
      const { main } = storescpFor(tmpDir);
      assert.ok(main, 'storescp runs');
      process.kill(main, 'SIGKILL');
      const cut = await sending;
      await restarted;
      // The new storescp receives while what the old one left is being filed.
      const after = await Promise.all(second.map((dir) => storescu(port, [dir])));
      assert.equal(acknowledged(after).length, 480, 'the restarted storescp takes everything');
      const stored = [...acknowledged(cut), ...acknowledged(after)];
      assert.ok(acknowledged(cut).length < 1600, 'the kill cut the first transfer short');
      await until('every acknowledged instance announced', () => { const seen = new Set(instances.map((p) => p.SOPInstanceUID)); return stored.every((uid) => seen.has(uid)); },
        { describe: () => `${stored.filter((uid) => !instances.some((p) => p.SOPInstanceUID === uid)).length} acknowledged but never announced` });
      for (const instance of instances) assert.ok(isWholeFile(instance.path, await readDicomHeader(instance.path)), `${instance.path} is whole`);
      assert.deepEqual(errors.filter((e) => e.kind !== 'receiver-died').map((e) => e.message), []);
      assert.equal(errors.filter((e) => e.kind === 'receiver-died').length, 1);
      await until('nothing is left behind in the incoming folder', async () => (await readdir(tmpDir)).filter((n) => !n.startsWith('.')).length === 0,
        { timeoutMs: 5000, describe: async () => (await readdir(tmpDir)).filter((n) => !n.startsWith('.')) });
    } finally {
      await proxy.stop();
    }
  });

  for (const fault of ['removed', 'replaced by a file'] as const) {
    it(`data folder ${fault} mid-run: instances wait in the incoming folder, one error, filed once it is back`, async () => {
      const dataDir = path.join(work, 'data');
      const running = await listen({ tmpDir: path.join(work, 'incoming') });
      const folders = await Promise.all([0, 1, 2].map(async (i) => {
        const dir = path.join(work, `send${i}`);
        await writeSampleInstances(dir, { patients: [SAMPLE_PATIENTS[i] as SamplePatient], seriesPerStudy: 1, instancesPerSeries: 2 });
        return dir;
      }));
      const send = async (dir: string) => assert.equal((await storescu(running.options.port, [dir])).stored.length, 2);
      await send(folders[0] as string);
      await until('the first two instances filed', () => instances.length === 2, { describe: () => errors.map((e) => e.message) });
      await rm(dataDir, { recursive: true });
      if (fault === 'replaced by a file') await writeFile(dataDir, 'not a folder');
      await send(folders[1] as string);
      await until('the unusable data folder reported', () => errors.length === 1, { describe: () => ({ instances: instances.length }) });
      assert.match(errors[0]?.message ?? '', new RegExp(`data folder ${dataDir}: it is missing or not a writable folder .*wait in ${path.join(work, 'incoming')}`));
      assert.equal((await readdir(path.join(work, 'incoming'))).filter((n) => !n.startsWith('.')).length, 2, 'kept in the incoming folder');
      assert.equal(fault === 'removed' ? statSync(dataDir, { throwIfNoEntry: false }) : statSync(dataDir).isFile(), fault === 'removed' ? undefined : true, 'the data folder is not made again behind the operator\'s back');
      await rm(dataDir, { force: true });
      await mkdir(dataDir);
      await send(folders[2] as string);
      await until('all six instances filed once the folder is back', () => instances.length === 6, { describe: () => ({ instances: instances.length, errors: errors.map((e) => e.message) }) });
      assert.equal(errors.length, 1, 'one error for the outage, not one per instance');
      for (const instance of instances.slice(2)) assert.ok(statSync(instance.path).isFile());
    });
  }

  it('storescp dies and what it left cannot be filed (its folder gone): said, not swallowed', async () => {
    const tmpDir = path.join(work, 'incoming');
    const running = await listen({ tmpDir, restartDelaysMs: [60000] });
    const { main } = storescpFor(tmpDir);
    assert.ok(main, 'storescp runs');
    // The folder storescp wrote into is replaced by a file: what it left can be neither listed nor filed.
    await rm(tmpDir, { recursive: true });
    await writeFile(tmpDir, 'not a folder');
    const restarting = new Promise<void>((resolve) => running.once('restarting', () => resolve()));
    process.kill(main, 'SIGKILL');
    await restarting;
    const leftovers = errors.filter((e) => e.message.includes(`what it left in ${tmpDir} could not be filed`));
    assert.equal(leftovers.length, 1, JSON.stringify(errors.map((e) => e.message)));
    assert.match(leftovers[0]?.message ?? '', /ENOTDIR/);
  });

  for (const umask of [0o000, 0o077]) {
    it(`files instances and .info files 0640 and folders 0750 under a umask of ${umask.toString(8).padStart(3, '0')}`, async () => {
      const previous = process.umask(umask);
      try {
        const running = await listen();
        await writeSampleInstances(path.join(work, 'send'), { patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 1, instancesPerSeries: 2 });
        assert.equal((await storescu(running.options.port, [path.join(work, 'send')])).stored.length, 2);
        await until('both instances filed', () => instances.length === 2, { describe: () => errors.map((e) => e.message) });
      } finally {
        process.umask(previous);
      }
      const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
      const seriesDir = path.dirname(instances[0]?.path as string);
      for (const instance of instances) assert.equal(mode(instance.path), '640', instance.path);
      for (const dir of [seriesDir, path.dirname(seriesDir), path.dirname(path.dirname(seriesDir))]) assert.equal(mode(dir), '750', dir);
      for (const info of [path.join(seriesDir, 'series.info'), path.join(seriesDir, '..', 'study.info'), path.join(seriesDir, '..', '..', 'patient.info')]) assert.equal(mode(info), '640', info);
    });
  }

  async function pxListenCommand(port: number, dataDir: string): Promise<ChildProcess> {
    const child = spawn(process.execPath, [BIN, '--aet', 'CMDLISTEN', '--port', String(port), '-d', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    child.stdout?.resume();
    let said = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        said += chunk.toString();
        if (said.includes('receiving as')) resolve();
      });
      child.once('exit', () => reject(new Error(`px-listen exited: ${said}`)));
    });
    return child;
  }

  it('px-listen killed with kill -9 mid-transfer: storescp and every child it forked end within a second', async () => {
    const port = await freeTcpPort();
    const dataDir = path.join(work, 'data');
    const child = await pxListenCommand(port, dataDir);
    const folders = await senders('killed', 4, 200);
    const sending = Promise.all(folders.map((dir) => storescu(port, [dir])));
    await until('storescp runs with at least two forked children', () => storescpFor(dataDir).all.length >= 3, { timeoutMs: 10000, describe: () => storescpFor(dataDir) });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    await until('nothing px-listen started outlives it (by a second at most)', () => processesMentioning(dataDir).length === 0, { timeoutMs: 1000, describe: () => processesMentioning(dataDir) });
    await sending;
  });

  it('a crashed run\'s storescp still holding the port is ended by the next start, found by its pidfile', async () => {
    const port = await freeTcpPort();
    const dataDir = path.join(work, 'data');
    const child = await pxListenCommand(port, dataDir);
    // Break the chain that would end storescp (its supervisor) and kill px-listen as if in the same instant:
    // px-listen is stopped first, so that it cannot end storescp's group on seeing its supervisor die.
    const supervisor = processesMentioning(dataDir).find((p) => p.command === 'timeout');
    assert.ok(supervisor);
    child.kill('SIGSTOP');
    await until('px-listen is stopped', () => readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.startsWith('T') === true, { timeoutMs: 5000 });
    process.kill(supervisor.pid, 'SIGKILL');
    await until('the supervisor has ended', () => !processesMentioning(dataDir).some((p) => p.pid === supervisor.pid), { timeoutMs: 5000 });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const orphan = storescpFor(dataDir).all;
    assert.equal(orphan.length, 1, 'storescp was left running, holding the port');
    // Another program's process, named in a pidfile that is not its own, is left alone.
    const bystander = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    children.push(bystander);
    await writeFile(path.join(work, 'other-pidfile.json'), JSON.stringify({ group: bystander.pid, commands: [['storescp']] }));
    const running = await listen({ port, dataDir });
    assert.deepEqual(storescpFor(dataDir).all.filter((pid) => orphan.includes(pid)), [], 'the orphan was ended');
    await writeSampleInstances(path.join(work, 'send'), { patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 1, instancesPerSeries: 1 });
    assert.equal((await storescu(running.options.port, [path.join(work, 'send')])).stored.length, 1);
    await until('the instance filed', () => instances.length === 1, { describe: () => errors.map((e) => e.message) });
    const tmpDir = running.options.tmpDir;
    await listener?.close();
    listener = undefined;
    // A pidfile whose group is another program's: its command line differs, so it survives the start.
    await writeFile(path.join(tmpDir, '.px-listen-storescp.json'), JSON.stringify({ group: bystander.pid, commands: [['/usr/bin/storescp', '--fork']] }));
    await listen({ port, dataDir });
    assert.equal(bystander.exitCode, null);
    assert.ok(readFileSync(`/proc/${bystander.pid}/cmdline`, 'utf8').startsWith('sleep'), 'the bystander still runs');
  });
});

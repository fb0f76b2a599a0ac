import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Listener } from '../lib/ops/listen/listener';
import type { ListenerOptions } from '../lib/ops/listen/options';
import type { SeriesComplete } from '../lib/filing/series';
import type { PacsError } from '../lib/core/errors';
import { SAMPLE_PATIENTS, type SamplePatient, writeSampleInstances } from '../testbed/generate';
import { dcmtkDescendants } from './support/processes';
import { freeTcpPort, storescu } from './support/store';
import { buildFiledPath, cleanPathPart, PLACEHOLDER } from '../lib/filing/layout';
import { type InstanceHeader, isWholeFile } from '../lib/filing/header';
import { type InstancePayload } from '../lib/filing/file-instance';
import { readDicomHeader } from '../lib/dicom/read-file';
import { bytesUnder, startTcpProxy } from './support/tcp-proxy';
import { until } from './support/until';

const HOSTILE_IDS = ['../../etc', '/', 'a\0b', '', 'CON', '..', '.', 'nul.txt', 'x'.repeat(300), 'Ünïcødé/../名前', '\u202Eevil', 'a\\b', 'C:\\Windows'];

function header(overrides: Partial<InstanceHeader>): InstanceHeader {
  return {
    PatientID: 'P1', PatientName: 'Doe^Jane', StudyInstanceUID: '1.2.3', SeriesInstanceUID: '1.2.3.4', SOPInstanceUID: '1.2.3.4.5',
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', Modality: 'CT', StudyDate: '20200101', StudyDescription: 'Chest', SeriesDate: '20200101',
    SeriesDescription: 'Axial', SeriesNumber: '1', InstanceNumber: '7', callingAET: 'SENDER', ...overrides,
  };
}

describe('filing paths', () => {
  it('lays files out as pypx did, with zero-padded instance numbers', () => {
    const where = buildFiledPath('/data', header({}));
    assert.equal(where.file, '/data/P1-Doe.Jane/Chest-20200101-1.2.3/Axial-20200101-1.2.3.4/00007-1.2.3.4.5.dcm');
  });

  it('keeps every hostile tag value inside the data folder, short, and never hidden or reserved', () => {
    for (const value of HOSTILE_IDS) {
      for (const field of ['PatientID', 'PatientName', 'StudyDescription', 'SeriesInstanceUID', 'SOPInstanceUID', 'InstanceNumber'] as const) {
        const where = buildFiledPath('/data', header({ [field]: value }));
        assert.ok(path.resolve(where.file).startsWith('/data/'), `${field}=${JSON.stringify(value)} -> ${where.file}`);
        for (const part of path.relative('/data', where.file).split(path.sep)) {
          assert.ok(Buffer.byteLength(part) <= 255, `part too long: ${part.length}`);
          assert.ok(!part.startsWith('.'), `hidden part ${part}`);
          assert.doesNotMatch(part, /[\0/\\\u202e]/);
        }
      }
    }
  });

  it('cleans single values: empty to UNKNOWN, reserved names prefixed, letters of any script kept, UTF-8 length capped', () => {
    assert.equal(cleanPathPart(''), PLACEHOLDER);
    assert.equal(cleanPathPart('../..'), PLACEHOLDER);
    assert.equal(cleanPathPart('con'), '_con');
    assert.equal(cleanPathPart('Müller^Jürgen'), 'Müller.Jürgen');
    assert.equal(cleanPathPart('山田^太郎'), '山田.太郎');
    assert.ok(Buffer.byteLength(cleanPathPart('山'.repeat(100))) <= 64);
    assert.equal(cleanPathPart('山'.repeat(100)), '山'.repeat(21));
  });
});

describe('Listener receiving from storescu', function () {
  this.timeout(60000);
  let work: string;
  let listener: Listener | undefined;
  const instances: InstancePayload[] = [];
  const series: SeriesComplete[] = [];
  const errors: PacsError[] = [];

  beforeEach(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'px-listen-'));
    instances.length = 0;
    series.length = 0;
    errors.length = 0;
  });
  afterEach(async () => {
    await listener?.close();
    listener = undefined;
    await rm(work, { recursive: true, force: true });
  });

  async function listen(options: Partial<ListenerOptions> = {}): Promise<Listener> {
    const started = new Listener({ aet: 'NODERED', port: await freeTcpPort(), dataDir: path.join(work, 'data'), seriesTimeout: 1, ...options });
    started.on('instance', (p) => instances.push(p));
    started.on('series', (s) => series.push(s));
    started.on('error', (e) => errors.push(e));
    await started.start();
    listener = started;
    return started;
  }

  it('files one instance in pypx\'s layout with .info files, and says who sent it to whom', async () => {
    const running = await listen();
    const [sample] = await writeSampleInstances(path.join(work, 'send'), { patients: [SAMPLE_PATIENTS[2] as SamplePatient], seriesPerStudy: 1, instancesPerSeries: 1 });
    const sent = await storescu(running.options.port, [path.join(work, 'send')], { aec: 'CALLEDAE', aet: 'MODALITY1' });
    assert.equal(sent.stored.length, 1, sent.output);
    await until('the series is complete', () => series.length === 1, { describe: () => ({ instances: instances.length, errors }) });
    const [got] = instances;
    assert.ok(got && sample);
    assert.deepEqual({ ...got, path: path.relative(work, got.path) }, {
      path: `data/PX0003-Иванов.Иван/CT.Chest-${sample.studyDate}-${sample.studyInstanceUID}/CT.series.1-${sample.studyDate}-${sample.seriesInstanceUID}/00001-${sample.sopInstanceUID}.dcm`,
      callingAET: 'MODALITY1', calledAET: 'CALLEDAE', PatientID: 'PX0003', PatientName: 'Иванов^Иван',
      StudyInstanceUID: sample.studyInstanceUID, SeriesInstanceUID: sample.seriesInstanceUID, SOPInstanceUID: sample.sopInstanceUID,
      SOPClassUID: sample.sopClassUID, Modality: 'CT', StudyDate: sample.studyDate, StudyDescription: 'CT Chest',
      SeriesDescription: 'CT series 1', SeriesNumber: '1', InstanceNumber: '1', duplicate: false,
    });
    const seriesDir = path.dirname(got.path);
    assert.match(await readFile(path.join(seriesDir, '..', '..', 'patient.info'), 'utf8'), /^\[PATIENT\]\nPatientID = PX0003\nPatientName = Иванов\^Иван\nLocation = /);
    assert.match(await readFile(path.join(seriesDir, '..', 'study.info'), 'utf8'), new RegExp(`^\\[STUDY\\]\\nStudyDescription = CT Chest\\nStudyDate = ${sample.studyDate}\\nStudyInstanceUID = ${sample.studyInstanceUID}`));
    assert.match(await readFile(path.join(seriesDir, 'series.info'), 'utf8'), new RegExp(`^\\[SERIES\\]\\nSeriesDescription = CT series 1\\n.*SeriesInstanceUID = ${sample.seriesInstanceUID}`, 's'));
    assert.deepEqual(series[0], { StudyInstanceUID: sample.studyInstanceUID, SeriesInstanceUID: sample.seriesInstanceUID, PatientID: 'PX0003', path: seriesDir, files: [got.path], count: 1 });
    assert.deepEqual((await readdir(running.options.tmpDir)).filter((n) => !n.startsWith('.')), [], 'nothing left in the incoming folder');
  });

  it('emits only whole files: large images are never read while storescp is still writing them', async () => {
    const running = await listen();
    await writeSampleInstances(path.join(work, 'send'), { patients: SAMPLE_PATIENTS.slice(0, 2), seriesPerStudy: 1, instancesPerSeries: 6, imageSize: 1024 });
    const sizesAtEmit = new Map<string, number>();
    running.on('instance', (p) => sizesAtEmit.set(p.path, statSync(p.path).size));
    const sent = await Promise.all([storescu(running.options.port, [path.join(work, 'send')]), storescu(running.options.port, [path.join(work, 'send')])]);
    assert.equal(sent[0].stored.length + sent[1].stored.length, 24);
    await until('24 instances emitted', () => instances.length === 24, { describe: () => ({ instances: instances.length, errors }) });
    for (const [file, size] of sizesAtEmit) {
      assert.ok(size > 2 * 1024 * 1024, `${file} was ${size} bytes when emitted`);
      assert.equal(statSync(file).size, size, `${file} grew after it was emitted`);
      assert.ok(await isWholeFile(file, await readDicomHeader(file)));
    }
    assert.equal(instances.filter((p) => p.duplicate).length, 12, 'the second copy of each instance is flagged duplicate');
    assert.deepEqual(errors, []);
  });

  it('keeps files with hostile tag values inside the data folder', async () => {
    const running = await listen();
    const patients = HOSTILE_IDS.filter((id) => !id.includes('\\')).map((id, i) => ({ id: id.slice(0, 64), name: `${id.slice(0, 20)}^x${i}`, charset: 'ISO_IR 192' }));
    await writeSampleInstances(path.join(work, 'send'), {
      patients, seriesPerStudy: 1, instancesPerSeries: 1,
      tags: [{ tag: 0x00081030, vr: 'LO', value: '../../../tmp/escape' }, { tag: 0x0008103e, vr: 'LO', value: '..' }],
    });
    const sent = await storescu(running.options.port, [path.join(work, 'send')]);
    assert.equal(sent.stored.length, patients.length, sent.output);
    await until(`${patients.length} instances emitted`, () => instances.length === patients.length, { describe: () => ({ instances: instances.length, errors }) });
    const dataDir = path.join(work, 'data');
    for (const got of instances) {
      assert.ok(got.path.startsWith(`${dataDir}/`), got.path);
      assert.equal(path.relative(dataDir, got.path).split(path.sep).length, 4, got.path);
      assert.ok(statSync(got.path).isFile());
    }
    assert.ok(instances.some((p) => p.PatientID === '../../etc' && p.path.includes('/etc-')), 'the value is reported as sent, the path cleaned');
    assert.deepEqual(errors, []);
  });

  it('quarantines a file it cannot read, reports it, and keeps receiving', async () => {
    const dataDir = path.join(work, 'data');
    const [sample] = await writeSampleInstances(path.join(work, 'send'), { patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 1, instancesPerSeries: 1, imageSize: 64 });
    await rm(path.join(dataDir, 'incoming'), { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(path.join(dataDir, 'incoming'), { recursive: true }));
    await writeFile(path.join(dataDir, 'incoming', 'CT.truncated'), (sample as { bytes: Buffer }).bytes.subarray(0, 600));
    await writeFile(path.join(dataDir, 'incoming', 'MR.garbage'), 'not DICOM at all');
    const running = await listen();
    await until('both unreadable files reported', () => errors.length === 2, { describe: () => errors.map((e) => e.message) });
    assert.deepEqual((await readdir(path.join(dataDir, 'quarantine'))).sort(), ['CT.truncated', 'MR.garbage']);
    assert.ok(errors.every((e) => e.kind === 'malformed' && /cannot be read as DICOM .*kept as .*quarantine/.test(e.message)), errors.map((e) => e.message).join('\n'));
    const sent = await storescu(running.options.port, [path.join(work, 'send')]);
    assert.equal(sent.stored.length, 1);
    await until('the instance sent after them emitted', () => instances.length === 1, { describe: () => errors.map((e) => e.message) });
  });

  it('files what a closed listener left, exactly once, when started again (redeploy mid-transfer)', async () => {
    const first = await listen({ seriesTimeout: 2 });
    const port = first.options.port;
    await writeSampleInstances(path.join(work, 'send'), { patients: SAMPLE_PATIENTS.slice(0, 4), seriesPerStudy: 2, instancesPerSeries: 40, imageSize: 64 });
    // Half of what the sender has reaches the listener, then the sender waits: the close comes in the
    // middle of the transfer however fast this machine sends.
    const proxy = await startTcpProxy(port, { holdAfterBytes: bytesUnder(path.join(work, 'send')) / 2 });
    try {
      const sending = storescu(proxy.port, [path.join(work, 'send')]);
      await until('60 instances emitted', () => instances.length >= 60, { describe: () => ({ instances: instances.length, forwarded: proxy.forwarded(), errors }) });
      await first.close();
      assert.deepEqual(dcmtkDescendants().filter((p) => p.command === 'storescp'), [], 'storescp outlived close');
      const sent = await sending;
      assert.ok(sent.stored.length < 320, 'the transfer was cut short');
      const second = await listen({ port, seriesTimeout: 1 });
      const storedUids = sent.stored.map((f) => path.basename(f, '.dcm'));
      await until('every instance acknowledged to the sender is emitted', () => { const seen = new Set(instances.map((p) => p.SOPInstanceUID)); return storedUids.every((uid) => seen.has(uid)); },
        { describe: () => `never emitted: ${storedUids.filter((uid) => !instances.some((p) => p.SOPInstanceUID === uid)).join(', ')}` });
      // What the first listener left was queued for filing when the second started, before anything it
      // receives: once an instance sent now is emitted, each leftover has been filed (and emitted) or not.
      const [late] = await writeSampleInstances(path.join(work, 'late'), { patients: SAMPLE_PATIENTS.slice(5, 6), seriesPerStudy: 1, instancesPerSeries: 1, seed: 'late' });
      assert.equal((await storescu(port, [path.join(work, 'late')])).stored.length, 1);
      await until('the instance sent after the restart is emitted', () => instances.some((p) => p.SOPInstanceUID === late?.sopInstanceUID));
      const emitted = instances.map((p) => p.SOPInstanceUID);
      assert.equal(new Set(emitted).size, emitted.length, 'an instance was emitted twice');
      assert.deepEqual((await readdir(second.options.tmpDir)).filter((n) => !n.startsWith('.')), []);
      const filedCount = () => series.filter((s) => s.SeriesInstanceUID !== late?.seriesInstanceUID).reduce((n, s) => n + s.count, 0);
      await until('the series complete hold every acknowledged instance', () => filedCount() >= storedUids.length, { describe: () => ({ filedCount: filedCount(), acknowledged: storedUids.length }) });
      assert.deepEqual(errors.filter((e) => e.kind !== 'receiver-died'), []);
    } finally {
      await proxy.stop();
    }
  });

  it('refuses a port already in use with a clear error, and leaves no storescp behind', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const blocked = new Listener({ aet: 'NODERED', port, dataDir: path.join(work, 'data') });
      await assert.rejects(blocked.start(), (err: PacsError) => err.kind === 'port-in-use' && err.reason === `port ${port} in use` && /already in use/.test(err.message));
      await blocked.close();
    } finally {
      blocker.close();
    }
  });

  it('starts storescp again when it dies, and receives afterwards', async () => {
    const running = await listen({ restartDelaysMs: [200] });
    const restarted = new Promise<void>((resolve) => running.once('listening', () => resolve()));
    const [scp] = dcmtkDescendants().filter((p) => p.command === 'storescp');
    assert.ok(scp);
    process.kill(scp.pid, 'SIGKILL');
    await restarted;
    assert.ok(errors.some((e) => e.kind === 'receiver-died'));
    await writeSampleInstances(path.join(work, 'send'), { patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 1, instancesPerSeries: 2 });
    const sent = await storescu(running.options.port, [path.join(work, 'send')]);
    assert.equal(sent.stored.length, 2, sent.output);
    await until('both instances sent after the restart emitted', () => instances.length === 2, { describe: () => ({ instances: instances.length, errors }) });
  });
});

import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { answerRoot } from '../lib/ops/find/answer-folder';
import { buildFindArgs, finalFindStatus } from '../lib/ops/find/dimse';
import { buildFindQuery, DEFAULT_RETURN_KEYS, QueryError } from '../lib/ops/find/query';
import type { PypxRecord } from '../lib/core/result';
import { validatePacsSettings } from '../lib/core/settings';
import { generateSampleInstances, SAMPLE_PATIENTS, type SampleInstance } from '../testbed/generate';
import { closedPort, startSilentServer, useOrthanc } from './support/pacs';
import { dcmtkDescendants } from './support/processes';
import { describeFailedStatus } from '../lib/dcmtk/failures';
import { AnswerReader } from '../lib/ops/find/answers';
import { find, runFind } from '../lib/ops/find';
import { until } from './support/until';

const values = (records: PypxRecord[], keyword: string) => records.map((r) => r[keyword]?.value);
const sorted = (list: unknown[]) => [...list].map(String).sort();

describe('C-FIND query keys', () => {
  it('asks pypx 0.8\'s keys at SERIES level, with the level first', () => {
    const request = buildFindQuery('SERIES', {});
    assert.equal(request.keys[0]?.keyword, 'QueryRetrieveLevel');
    assert.equal(request.keys[0]?.value, 'SERIES');
    assert.deepEqual(sorted(request.keys.slice(1).map((k) => k.keyword)), sorted([...DEFAULT_RETURN_KEYS.SERIES]));
  });

  it('lets QueryRetrieveLevel in the query override the level, in any case, and always asks the level\'s unique keys', () => {
    const request = buildFindQuery('SERIES', { QueryRetrieveLevel: 'image' }, ['PatientName']);
    assert.equal(request.level, 'IMAGE');
    assert.deepEqual(request.keys.map((k) => k.keyword), ['QueryRetrieveLevel', 'StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID', 'PatientName']);
    assert.throws(() => buildFindQuery('SERIES', { QueryRetrieveLevel: 'FRAME' }), /QueryRetrieveLevel must be one of PATIENT, STUDY, SERIES, IMAGE, not string "FRAME"/);
  });

  it('sends numbers as text, as pypx users pass PatientID: 32124', () => {
    const key = buildFindQuery('STUDY', { PatientID: 32124 }).keys.find((k) => k.keyword === 'PatientID');
    assert.equal(key?.value, '32124');
  });

  it('names every unknown keyword and wrongly typed value in one error, suggesting the keyword meant', () => {
    assert.throws(
      () => buildFindQuery('SERIES', { PatientNam: 'x', patientid: '1', StudyDate: true, SeriesDescription: { a: 1 }, Modality: null, AccessionNumber: ['1'] }),
      (err: QueryError) => {
        assert.ok(err instanceof QueryError);
        assert.deepEqual(err.problems, [
          '"PatientNam" is not a DICOM keyword (did you mean PatientName?)',
          '"patientid" is not a DICOM keyword (did you mean PatientID?)',
          'StudyDate must be text or a number, not boolean true',
          'SeriesDescription must be text or a number, not an object',
          'Modality must be text or a number, not null',
          'AccessionNumber must be text or a number, not an array',
        ]);
        return true;
      },
    );
    assert.throws(() => buildFindQuery('SERIES', {}, ['SeriesInstanceUid']), /"SeriesInstanceUid" is not a DICOM keyword \(did you mean SeriesInstanceUID\?\)/);
    assert.throws(() => buildFindQuery('SERIES', 'PatientID=1'), /the query must be an object of DICOM keywords to values, not string "PatientID=1"/);
  });

  it('refuses newlines, NULs and a backslash in a single-valued key, and passes UID lists and multi-valued keys through', () => {
    assert.throws(() => buildFindQuery('SERIES', { PatientName: 'SMITH\nJOHN' }), /PatientName contains a newline/);
    assert.throws(() => buildFindQuery('SERIES', { PatientID: 'A\0B' }), /PatientID contains a NUL/);
    assert.throws(() => buildFindQuery('SERIES', { PatientID: 'A\\B' }), /PatientID contains a backslash, which DICOM reads as a value separator, but PatientID holds one value/);
    const request = buildFindQuery('SERIES', { SeriesInstanceUID: '1.2.3\\1.2.4', ModalitiesInStudy: 'CT\\MR', PatientName: 'Yamada^Tarou=山田^太郎' });
    const value = (keyword: string) => request.keys.find((k) => k.keyword === keyword)?.value;
    assert.equal(value('SeriesInstanceUID'), '1.2.3\\1.2.4');
    assert.equal(value('ModalitiesInStudy'), 'CT\\MR');
    assert.equal(value('PatientName'), 'Yamada^Tarou=山田^太郎');
    assert.equal(value('SpecificCharacterSet'), 'ISO_IR 192', 'a non-ASCII value is declared as UTF-8');
    assert.equal(buildFindQuery('SERIES', { PatientName: 'SMITH*' }).keys.some((k) => k.keyword === 'SpecificCharacterSet'), false);
  });

  it('builds findscu\'s command line: responses as files, cancel after the limit, timeouts, then the association', () => {
    const settings = validatePacsSettings({ aet: 'ME', aec: 'PACS', host: 'pacs.local', port: 104, timeout: 7 });
    const args = buildFindArgs(settings, buildFindQuery('STUDY', { PatientID: 'X1' }, ['PatientName']), { outputDir: '/tmp/q', cancelAfter: 5 });
    assert.deepEqual(args, [
      '-v', '-S', '-X', '-od', '/tmp/q', '--cancel', '5',
      '-k', 'QueryRetrieveLevel=STUDY', '-k', 'StudyInstanceUID', '-k', 'PatientName', '-k', 'PatientID=X1',
      '--timeout', '7', '--acse-timeout', '7', '--dimse-timeout', '7', '-aec', 'PACS', '-aet', 'ME', 'pacs.local', '104',
    ]);
  });

  it('reads the final C-FIND status findscu prints, and turns a failed one into an error in the PACS\'s words', () => {
    const output = 'I: Sending Find Request (MsgID 1)\nI: Received Final Find Response (Failed: UnableToProcess)\nI: Releasing Association\n';
    assert.equal(finalFindStatus(output), 'Failed: UnableToProcess');
    assert.equal(finalFindStatus('I: Received Final Find Response (Success)'), 'Success');
    assert.equal(finalFindStatus('E: Association Request Failed'), undefined);
    const run = { command: 'findscu ...', output, exitCode: 0, timedOut: false, aborted: false, elapsedMs: 1 };
    const error = describeFailedStatus('findscu', 'C-FIND', 'Failed: UnableToProcess', run, { aec: 'PACS', host: 'h', port: 104 });
    assert.equal(error.kind, 'dicom-status');
    assert.equal(error.reason, 'Failed: UnableToProcess');
    assert.equal(error.message, 'findscu: PACS at h:104 answered the C-FIND with status "Failed: UnableToProcess"');
  });
});

describe('reading findscu\'s answers as they come', () => {
  it('reads each answer file once findscu names the next, removes it, and the last when findscu ends', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-answers-'));
    try {
      const samples = [...generateSampleInstances({ seed: 'answers', seriesPerStudy: 1, instancesPerSeries: 1 })].slice(0, 3);
      for (const [i, sample] of samples.entries()) await writeFile(path.join(dir, `rsp000${i + 1}.dcm`), sample.bytes);
      const keys = buildFindQuery('SERIES', {}, ['PatientID']).keys;
      const reader = new AnswerReader(dir, keys, 0, { aec: 'PACS', host: 'h', port: 104 });
      reader.writing(`${dir}/rsp0001.dcm`);
      assert.equal(reader.records.length, 0, 'the file being written is not read');
      reader.writing(`${dir}/rsp0002.dcm`);
      assert.deepEqual(reader.records.map((r) => r.PatientID?.value), [samples[0]!.patientID]);
      assert.deepEqual((await readdir(dir)).sort(), ['rsp0002.dcm', 'rsp0003.dcm'], 'a record read is a file removed');
      reader.writing(`${dir}/rsp0003.dcm`);
      reader.flush();
      assert.deepEqual(reader.records.map((r) => r.uid?.value), [0, 1, 2]);
      assert.deepEqual(reader.records.map((r) => r.SeriesInstanceUID?.value), samples.map((x) => x.seriesInstanceUID));
      assert.deepEqual(await readdir(dir), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps at most the limit, and turns an answer that is not DICOM into an error naming the PACS', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-answers-'));
    try {
      const [sample] = [...generateSampleInstances({ seed: 'answers', seriesPerStudy: 1, instancesPerSeries: 1 })];
      await writeFile(path.join(dir, 'rsp0001.dcm'), sample!.bytes);
      await writeFile(path.join(dir, 'rsp0002.dcm'), 'not DICOM');
      const keys = buildFindQuery('SERIES', {}, ['PatientID']).keys;
      const limited = new AnswerReader(dir, keys, 1, { aec: 'PACS', host: 'h', port: 104 });
      for (const file of ['rsp0001.dcm', 'rsp0002.dcm']) limited.writing(file);
      limited.flush();
      assert.equal(limited.records.length, 1);
      assert.equal(limited.cut, true);
      assert.equal(limited.error, undefined, 'what is beyond the limit is not read');

      await writeFile(path.join(dir, 'rsp0001.dcm'), 'not DICOM');
      const broken = new AnswerReader(dir, keys, 0, { aec: 'PACS', host: 'h', port: 104 });
      broken.writing('rsp0001.dcm');
      broken.flush();
      assert.match(broken.error?.message ?? '', /C-FIND response 1 from PACS at h:104 is not valid DICOM/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('turns an answer file that cannot be read, or a consumer that throws, into an error of the find instead of a throw', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-answers-'));
    try {
      const keys = buildFindQuery('SERIES', {}, ['PatientID']).keys;
      const gone = new AnswerReader(dir, keys, 0, { aec: 'PACS', host: 'h', port: 104 });
      gone.writing('rsp0001.dcm');
      assert.doesNotThrow(() => gone.flush());
      assert.match(gone.error?.message ?? '', /findscu: cannot read an answer from PACS at h:104 .*ENOENT/);

      const [sample] = [...generateSampleInstances({ seed: 'answers', seriesPerStudy: 1, instancesPerSeries: 1 })];
      await writeFile(path.join(dir, 'rsp0001.dcm'), sample!.bytes);
      const throwing = new AnswerReader(dir, keys, 0, { aec: 'PACS', host: 'h', port: 104 }, () => {
        throw new Error('the consumer broke');
      });
      throwing.writing('rsp0001.dcm');
      assert.doesNotThrow(() => throwing.flush());
      assert.match(throwing.error?.message ?? '', /the consumer broke/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('lib find against a real Orthanc answering in UTF-8', () => {
  const pacs = useOrthanc({ defaultEncoding: 'Utf8', modalities: { test: ['PYPXTEST', '127.0.0.1', 11112] } });
  let instances: SampleInstance[];
  before(async function () {
    this.timeout(60000);
    instances = [...generateSampleInstances({ studiesPerPatient: 2, seriesPerStudy: 2, instancesPerSeries: 1 })];
    await pacs().upload(instances.map((i) => i.bytes));
  });
  const settings = (extra: Record<string, unknown> = {}) =>
    validatePacsSettings({ aet: 'PYPXTEST', aec: pacs().aet, host: pacs().host, port: pacs().dicomPort, timeout: 5, ...extra });

  it('finds every series with pypx records: tag, value and label per key, and the uid counter', async () => {
    const outcome = await runFind(settings(), {});
    assert.equal(outcome.error, undefined);
    assert.equal(outcome.result.status, 'success');
    const records = outcome.result.data;
    assert.deepEqual(sorted(values(records, 'SeriesInstanceUID')), sorted(instances.map((i) => i.seriesInstanceUID)));
    assert.deepEqual(records.map((r) => r.uid), records.map((_, index) => ({ tag: 0, value: index, label: 'uid' })));
    const first = records[0] as PypxRecord;
    const truth = instances.find((i) => i.seriesInstanceUID === first.SeriesInstanceUID?.value) as SampleInstance;
    assert.deepEqual(first.PatientID, { tag: '0010,0020', value: truth.patientID, label: 'PatientID' });
    assert.deepEqual(first.StudyInstanceUID, { tag: '0020,000d', value: truth.studyInstanceUID, label: 'StudyInstanceUID' });
    assert.deepEqual(first.QueryRetrieveLevel, { tag: '0008,0052', value: 'SERIES', label: 'QueryRetrieveLevel' });
    assert.equal(first.NumberOfSeriesRelatedInstances?.value, '1');
    assert.equal(first.SeriesDescription?.value, truth.seriesDescription);
    for (const keyword of DEFAULT_RETURN_KEYS.SERIES) assert.ok(keyword in first, `record lacks ${keyword}`);
    assert.equal('SpecificCharacterSet' in first, false, 'only the keys asked for');
  });

  it('reads every patient name back exactly, in Cyrillic, Greek, Japanese, Korean, Chinese, Arabic and Hebrew', async () => {
    const outcome = await runFind(settings(), {}, { level: 'PATIENT' });
    const byId = new Map(outcome.result.data.map((r) => [r.PatientID?.value, r.PatientName?.value]));
    assert.equal(byId.size, SAMPLE_PATIENTS.length);
    for (const patient of SAMPLE_PATIENTS) assert.equal(byId.get(patient.id), patient.name, patient.charset);
    assert.equal(outcome.result.data[0]?.NumberOfPatientRelatedStudies?.value, '2');
  });

  it('matches wildcards in non-Latin and accented names', async () => {
    for (const [pattern, id] of [['Mü*', 'PX0002'], ['Иван*', 'PX0003'], ['Παπαδόπουλος*', 'PX0004'], ['*Zoë', 'PX0008'], ['Sm?th^*', 'PX0001']]) {
      const outcome = await runFind(settings(), { PatientName: pattern }, { level: 'STUDY' });
      assert.deepEqual(sorted(values(outcome.result.data, 'PatientID')), [id, id], `PatientName=${pattern}`);
    }
  });

  it('matches a study date range', async () => {
    const outcome = await runFind(settings(), { StudyDate: '20190101-20190301' }, { level: 'STUDY' });
    const expected = new Set(instances.filter((i) => i.studyDate >= '20190101' && i.studyDate <= '20190301').map((i) => i.studyInstanceUID));
    assert.ok(expected.size >= 2, 'the sample has studies in the range');
    assert.deepEqual(sorted(values(outcome.result.data, 'StudyInstanceUID')), sorted([...expected]));
    for (const record of outcome.result.data) assert.equal(record.QueryRetrieveLevel?.value, 'STUDY');
  });

  it('matches a list of UIDs, and finds images of one series', async () => {
    const [a, b] = instances;
    const series = await runFind(settings(), { SeriesInstanceUID: `${a?.seriesInstanceUID}\\${b?.seriesInstanceUID}` });
    assert.deepEqual(sorted(values(series.result.data, 'SeriesInstanceUID')), sorted([a?.seriesInstanceUID, b?.seriesInstanceUID]));
    const images = await runFind(settings(), { SeriesInstanceUID: a?.seriesInstanceUID }, { level: 'IMAGE' });
    assert.deepEqual(values(images.result.data, 'SOPInstanceUID'), [a?.sopInstanceUID]);
    assert.equal(images.result.data[0]?.StudyInstanceUID?.value, a?.studyInstanceUID);
  });

  it('answers no match with an empty list and success', async () => {
    const outcome = await runFind(settings(), { PatientID: 'NOBODY' });
    assert.equal(outcome.error, undefined);
    assert.equal(outcome.result.status, 'success');
    assert.deepEqual(outcome.result.data, []);
  });

  it('stops at the limit, asking the PACS to cancel', async () => {
    const outcome = await runFind(settings(), {}, { limit: 5 });
    assert.equal(outcome.result.data.length, 5);
    assert.equal(outcome.limited, true);
    assert.match(outcome.result.command, /--cancel 5 /);
    assert.deepEqual(values(outcome.result.data, 'uid'), [0, 1, 2, 3, 4]);
  });

  it('is callable as pypx\'s find({...settings, ...query}) with pypx 0.8 keys and a numeric PatientID', async () => {
    const result = await find({ aet: 'PYPXTEST', aec: 'ORTHANC', server_ip: '127.0.0.1', server_port: String(pacs().dicomPort), PatientID: 32124 });
    assert.deepEqual(result.data, []);
    assert.match(result.command, /-k PatientID=32124 /);
    const found = await find({ aet: 'PYPXTEST', aec: 'ORTHANC', serverIP: '127.0.0.1', serverPort: pacs().dicomPort, PatientID: 'PX0005', QueryRetrieveLevel: 'PATIENT' });
    assert.equal((found.data as PypxRecord[])[0]?.PatientName?.value, 'Yamada^Tarou=山田^太郎=やまだ^たろう');
    const bad = await find({ aet: 'PYPXTEST', aec: 'ORTHANC', server_ip: '127.0.0.1', server_port: 104, PatientNam: 'x' });
    assert.deepEqual(bad, { status: 'error', command: '', data: 'invalid C-FIND query: "PatientNam" is not a DICOM keyword (did you mean PatientName?)' });
  });

  it('reports a calling AE title the PACS does not allow to query', async () => {
    const outcome = await runFind(settings({ aet: 'STRANGER' }), {});
    assert.equal(outcome.error?.kind, 'rejected');
    assert.equal(outcome.error?.reason, 'aborted by PACS');
    assert.match(outcome.error?.message ?? '', /ORTHANC at 127\.0\.0\.1:\d+ aborted the association .*calling AE title "STRANGER"/);
    assert.match(String(outcome.result.data), /Peer aborted Association/);
  });

  it('reports a PACS that is down as refused, and one that never answers as a timeout', async function () {
    this.timeout(20000);
    const refused = await runFind(settings({ port: await closedPort() }), {});
    assert.equal(refused.error?.kind, 'refused');
    assert.match(String(refused.result.data), /Connection refused/);
    const silent = await startSilentServer();
    try {
      const started = Date.now();
      const outcome = await runFind(settings({ port: silent.port, timeout: 2 }), {});
      assert.equal(outcome.error?.kind, 'timeout');
      assert.match(outcome.error?.message ?? '', /no answer from ORTHANC at 127\.0\.0\.1:\d+ within 2 s/);
      assert.ok(Date.now() - started < 10000, 'the find did not give up within the timeout and its grace');
    } finally {
      await silent.stop();
    }
  });

  it('stops findscu when aborted, and leaves no answer folder behind', async () => {
    const ours = async () => (await readdir(answerRoot())).filter((n) => n.startsWith(`pypx-find-${process.pid}-`));
    const silent = await startSilentServer();
    try {
      const controller = new AbortController();
      const pending = runFind(settings({ port: silent.port, timeout: 60 }), {}, { signal: controller.signal });
      await until('the find made its answer folder', async () => (await ours()).length > 0, { timeoutMs: 5000, intervalMs: 20 });
      const [folder] = await ours();
      assert.ok(folder, 'the answers go to a folder of this process');
      assert.equal((await stat(path.join(answerRoot(), folder))).mode & 0o777, 0o700, 'only this user can read the answers');
      controller.abort();
      assert.equal((await pending).error?.kind, 'aborted');
      assert.deepEqual(dcmtkDescendants(), []);
    } finally {
      await silent.stop();
    }
    await runFind(settings(), {});
    assert.deepEqual(await ours(), []);
  });

  it('removes the answer folder of a process that died mid-query when the next one starts', async function () {
    this.timeout(20000);
    const silent = await startSilentServer();
    try {
      // A px-find killed while the PACS has not answered yet: its answer folder stays behind.
      const command = path.resolve(__dirname, '..', 'bin', 'px-find.js');
      const args = ['--aec', 'ORTHANC', '--serverIP', '127.0.0.1', '--serverPort', String(silent.port), '--timeout', '60'];
      const child = spawn(process.execPath, [command, ...args], { stdio: 'ignore' });
      const left = async () => (await readdir(answerRoot())).filter((n) => n.startsWith(`pypx-find-${child.pid}-`));
      const findscuOf = () => execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).split('\n').filter((line) => line.includes('findscu') && line.includes(`127.0.0.1 ${silent.port}`));
      await until('findscu waits for the PACS', () => findscuOf().length > 0, { timeoutMs: 5000 });
      assert.equal((await left()).length, 1, 'the query was under way');
      assert.equal(findscuOf().length, 1, 'findscu was waiting for the PACS');
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      assert.equal((await left()).length, 1, 'a crash leaves its folder');
      await until('findscu ended with the px-find that started it', () => findscuOf().length === 0, { timeoutMs: 2000, describe: findscuOf });
      // The next command sweeps it before its own query.
      await new Promise<void>((resolve) => execFile(process.execPath, [command, '--aet', settings().aet, '--aec', settings().aec, '--serverIP', settings().host, '--serverPort', String(settings().port)], () => resolve()));
      assert.deepEqual(await left(), []);
    } finally {
      await silent.stop();
    }
  });
});

describe('lib find against an Orthanc answering in Latin-1 (its default)', () => {
  const pacs = useOrthanc({ modalities: { test: ['PYPXTEST', '127.0.0.1', 11112] } });
  const latin = SAMPLE_PATIENTS.filter((p) => ['', 'ISO_IR 100', 'ISO_IR 192'].includes(p.charset));
  before(async function () {
    this.timeout(60000);
    await pacs().upload([...generateSampleInstances({ patients: latin, seriesPerStudy: 1, instancesPerSeries: 1 })].map((i) => i.bytes));
  });

  it('reads Latin-1 names exactly and matches an accented wildcard', async () => {
    const settings = validatePacsSettings({ aet: 'PYPXTEST', aec: pacs().aet, host: pacs().host, port: pacs().dicomPort, timeout: 5 });
    const all = await runFind(settings, {}, { level: 'PATIENT' });
    assert.deepEqual(sorted(values(all.result.data, 'PatientName')), sorted(latin.map((p) => p.name)));
    const accented = await runFind(settings, { PatientName: 'Mü*' }, { level: 'PATIENT' });
    assert.deepEqual(values(accented.result.data, 'PatientName'), ['Müller^Jürgen']);
  });
});

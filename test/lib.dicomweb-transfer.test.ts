import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stowFiles } from '../lib/ops/send/stow';
import { AssociationQueue } from '../lib/core/queue';
import { wadoRetrieve } from '../lib/ops/get/wado';
import { validatePacsSettings } from '../lib/core/settings';
import { generateSampleInstances, SAMPLE_PATIENTS, type SampleInstance, writeSampleInstances } from '../testbed/generate';
import type { RunningOrthanc } from '../testbed/orthanc';
import { startHttpStub } from './support/http-stub';
import { useOrthanc } from './support/pacs';
import type { DicomwebPacs } from '../lib/core/settings';
import { runGet } from '../lib/ops/get';
import { type InstancePayload } from '../lib/filing/file-instance';
import { MalformedFileError, readReceivedHeader } from '../lib/filing/header';
import { until } from './support/until';

const USERS = { bob: 'pässword' };
const web = (url: string, extra: Record<string, unknown> = {}) =>
  validatePacsSettings({ protocol: 'dicomweb', url, user: 'bob', password: USERS.bob, timeout: 30, ...extra }) as DicomwebPacs;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f)).filter((f) => statSync(f).isFile());
}
const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

interface OrthancResource {
  ID: string;
  MainDicomTags: Record<string, string>;
}
/** The SOP Instance UIDs Orthanc holds below a study or a series, from its own REST API. */
async function orthancSopUids(orthanc: RunningOrthanc, level: 'studies' | 'series', uid: string): Promise<string[]> {
  const key = level === 'studies' ? 'StudyInstanceUID' : 'SeriesInstanceUID';
  const resources = await orthanc.get<OrthancResource[]>(`/${level}?expand`);
  const resource = resources.find((r) => r.MainDicomTags[key] === uid);
  if (!resource) return [];
  const instances = await orthanc.get<OrthancResource[]>(`/${level}/${resource.ID}/instances`);
  return instances.map((i) => i.MainDicomTags.SOPInstanceUID as string).sort();
}

describe('WADO-RS retrieve from a real Orthanc with its DICOMweb plugin', () => {
  const pacs = useOrthanc({ dicomweb: true, users: USERS });
  let instances: SampleInstance[];
  let dataDir: string;
  before(async function () {
    this.timeout(60000);
    instances = [...generateSampleInstances({ patients: SAMPLE_PATIENTS.slice(0, 3), studiesPerPatient: 1, seriesPerStudy: 2, instancesPerSeries: 3, seed: 'wado' })];
    await pacs().upload(instances.map((i) => i.bytes));
  });
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'pypx-wado-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('gets a study: every instance Orthanc holds filed in pypx\'s layout, byte for byte, each announced', async () => {
    const study = (instances[0] as SampleInstance).studyInstanceUID;
    const announced: InstancePayload[] = [];
    const outcome = await wadoRetrieve(web(pacs().dicomwebUrl as string), { StudyInstanceUID: study }, { dataDir, onInstance: (p) => announced.push(p) });
    assert.equal(outcome.error, undefined, outcome.error?.message);
    const held = await orthancSopUids(pacs(), 'studies', study);
    assert.equal(held.length, 6);
    assert.deepEqual(announced.map((p) => p.SOPInstanceUID).sort(), held);
    assert.equal(outcome.completed, 6);
    assert.equal(outcome.failed, 0);
    for (const payload of announced) {
      const sent = instances.find((i) => i.sopInstanceUID === payload.SOPInstanceUID) as SampleInstance;
      assert.equal(md5(readFileSync(payload.path)), md5(sent.bytes), `${payload.path} is the instance as stored`);
      assert.ok(payload.path.startsWith(path.join(dataDir, 'PX0001-Smith.John', 'CT.Chest-')), payload.path);
      assert.equal(payload.duplicate, false);
    }
    const names = filesUnder(dataDir).map((f) => path.basename(f));
    assert.equal(names.filter((n) => n.endsWith('.dcm')).length, 6);
    for (const info of ['patient.info', 'study.info', 'series.info']) assert.ok(names.includes(info), `${info} written`);
    assert.deepEqual(readdirSync(path.join(dataDir, 'incoming')), [], 'no temp folder left');
  });

  it('gets a series: exactly the instances Orthanc holds in it', async () => {
    const series = (instances[9] as SampleInstance);
    const outcome = await wadoRetrieve(web(pacs().dicomwebUrl as string), { StudyInstanceUID: series.studyInstanceUID, SeriesInstanceUID: series.seriesInstanceUID }, { dataDir });
    assert.equal(outcome.error, undefined, outcome.error?.message);
    const filed = filesUnder(dataDir).filter((f) => f.endsWith('.dcm')).map((f) => /-([0-9.]+)\.dcm$/.exec(f)?.[1]).sort();
    assert.deepEqual(filed, await orthancSopUids(pacs(), 'series', series.seriesInstanceUID));
    assert.equal(outcome.completed, 3);
  });

  it('says a study the service does not hold is not found, and files nothing', async () => {
    const outcome = await wadoRetrieve(web(pacs().dicomwebUrl as string), { StudyInstanceUID: '1.2.3.4' }, { dataDir });
    assert.equal(outcome.error?.kind, 'not-found');
    assert.match(outcome.error?.message ?? '', /found nothing for the study 1\.2\.3\.4 \(HTTP 404/);
    assert.deepEqual(filesUnder(dataDir), []);
  });

  it('refuses a UID that is no UID before anything is sent', async () => {
    const outcome = await wadoRetrieve(web(pacs().dicomwebUrl as string), { StudyInstanceUID: '1.2/../../studies' }, { dataDir });
    assert.equal(outcome.error?.kind, 'bad-input');
    assert.match(outcome.error?.message ?? '', /Study Instance UID "1\.2\/\.\.\/\.\.\/studies" contains "\/"/);
  });
});

describe('WADO-RS answers that break off', () => {
  it('files every instance that arrived whole before the connection dropped, and says the answer was cut short', async () => {
    const [one, two, three] = [...generateSampleInstances({ patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 1, instancesPerSeries: 3, seed: 'cut' })] as SampleInstance[];
    const boundary = 'cut-here';
    const part = (bytes: Buffer) => Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), bytes, Buffer.from('\r\n')]);
    const stub = await startHttpStub((_request, response) => {
      response.writeHead(200, { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` });
      // Two whole parts and 400 bytes of the third, then the connection drops once they are on their way.
      response.write(Buffer.concat([part((one as SampleInstance).bytes), part((two as SampleInstance).bytes), part((three as SampleInstance).bytes).subarray(0, 400)]), () => response.socket?.destroy());
    });
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'pypx-wado-cut-'));
    try {
      const outcome = await wadoRetrieve(web(`${stub.url}/dicom-web`, { retries: 0 }), { StudyInstanceUID: (one as SampleInstance).studyInstanceUID }, { dataDir });
      assert.equal(outcome.completed, 2);
      assert.ok(outcome.error, 'the retrieve failed');
      assert.match(outcome.error.message, /study .* (failed|is incomplete)/);
      const filed = filesUnder(dataDir).filter((f) => f.endsWith('.dcm')).map((f) => path.basename(f)).sort();
      assert.deepEqual(filed, [`00001-${(one as SampleInstance).sopInstanceUID}.dcm`, `00002-${(two as SampleInstance).sopInstanceUID}.dcm`]);
      assert.deepEqual(readdirSync(path.join(dataDir, 'incoming')), [], 'the partial instance is not kept');
      assert.equal(readdirSync(dataDir).includes('quarantine'), false, 'nor quarantined');
    } finally {
      await stub.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('WADO-RS parts that are not whole instances', () => {
  it('quarantines a part whose image is cut short in a well-formed answer, files the whole ones from the bytes as they passed', async () => {
    const [one, two] = [...generateSampleInstances({ patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 1, instancesPerSeries: 2, seed: 'short-part', imageSize: 64 })] as SampleInstance[];
    const boundary = 'short';
    const part = (bytes: Buffer) => Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), bytes, Buffer.from('\r\n')]);
    const stub = await startHttpStub((_request, response) => {
      response.writeHead(200, { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` });
      response.end(Buffer.concat([part((one as SampleInstance).bytes), part((two as SampleInstance).bytes.subarray(0, (two as SampleInstance).bytes.length - 100)), Buffer.from(`--${boundary}--\r\n`)]));
    });
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'pypx-wado-short-'));
    try {
      const quarantined: string[] = [];
      const outcome = await wadoRetrieve(web(`${stub.url}/dicom-web`, { retries: 0 }), { StudyInstanceUID: (one as SampleInstance).studyInstanceUID }, { dataDir, onQuarantined: (_file, reason) => quarantined.push(reason) });
      assert.deepEqual([outcome.completed, outcome.failed], [1, 1]);
      assert.match(quarantined[0] ?? '', /truncated: the file ends before its pixel data does/);
      const filed = filesUnder(dataDir).filter((f) => f.endsWith('.dcm') && !f.includes('quarantine'));
      assert.deepEqual(filed.map((f) => readFileSync(f)), [(one as SampleInstance).bytes], 'the whole one filed byte for byte');
      assert.equal((statSync(filed[0] as string).mode & 0o777).toString(8), '640');
    } finally {
      await stub.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('WADO-RS stopped midway', () => {
  it('stops when the node closes (its signal aborts): what arrived whole stays filed, the rest is dropped, nothing waits', async () => {
    const [one, two] = [...generateSampleInstances({ patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 1, instancesPerSeries: 2, seed: 'stop' })] as SampleInstance[];
    const boundary = 'stop-here';
    const part = (bytes: Buffer) => Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), bytes, Buffer.from('\r\n')]);
    // One instance whole, half of the next, then silence: a slow service.
    const stub = await startHttpStub((_request, response) => {
      response.writeHead(200, { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` });
      response.write(Buffer.concat([part((one as SampleInstance).bytes), part((two as SampleInstance).bytes).subarray(0, 300)]));
    });
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'pypx-wado-stop-'));
    const controller = new AbortController();
    try {
      const outcome = await wadoRetrieve(web(`${stub.url}/dicom-web`, { retries: 0 }), { StudyInstanceUID: (one as SampleInstance).studyInstanceUID }, {
        dataDir,
        signal: controller.signal,
        // Stopped once the first instance is filed, while the rest of the answer never comes.
        onInstance: () => setImmediate(() => controller.abort()),
      });
      assert.equal(outcome.completed, 1);
      assert.equal(outcome.error?.kind, 'aborted');
      assert.match(outcome.error?.message ?? '', /stopped while the study .* arrived \(1 instances filed before\)/);
      assert.deepEqual(filesUnder(dataDir).filter((f) => f.endsWith('.dcm')).map((f) => path.basename(f)), [`00001-${(one as SampleInstance).sopInstanceUID}.dcm`]);
      assert.deepEqual(readdirSync(path.join(dataDir, 'incoming')), []);
    } finally {
      await stub.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('WADO-RS of a 2 GB study, never held in memory', function () {
  this.timeout(300000);
  const pacs = useOrthanc({ dicomweb: true, users: USERS });
  const INSTANCES = 512; // 4 MB each (1448 x 1448, 16 bits)
  let study = '';
  before(async function () {
    this.timeout(300000);
    const generated = generateSampleInstances({ patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 1, instancesPerSeries: INSTANCES, imageSize: 1448, seed: 'big' });
    await pacs().upload((function* () {
      for (const instance of generated) {
        study = instance.studyInstanceUID;
        yield instance.bytes;
      }
    })(), 4);
  });

  it('streams every instance to disk while this process\'s memory stays flat', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'pypx-wado-big-'));
    try {
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 20);
      const outcome = await wadoRetrieve(web(pacs().dicomwebUrl as string, { timeout: 120 }), { StudyInstanceUID: study }, { dataDir });
      clearInterval(sampler);
      assert.equal(outcome.error, undefined, outcome.error?.message);
      assert.equal(outcome.completed, INSTANCES);
      assert.ok(outcome.bytes > 2e9, `${outcome.bytes} bytes received`);
      const grew = (peak - before) / 1024 ** 2;
      console.log(`      WADO-RS of ${(outcome.bytes / 1e9).toFixed(2)} GB: this process grew by ${grew.toFixed(0)} MiB at most (RSS ${Math.round(before / 1024 ** 2)} -> ${Math.round(peak / 1024 ** 2)} MiB)`);
      assert.ok(grew < 100, `memory grew by ${grew.toFixed(0)} MiB while 2 GB arrived`);
      assert.equal(filesUnder(dataDir).filter((f) => f.endsWith('.dcm')).length, INSTANCES);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('STOW-RS to a real Orthanc with its DICOMweb plugin', () => {
  const pacs = useOrthanc({ dicomweb: true, users: USERS });
  let folder: string;
  let written: SampleInstance[];
  const SYNTAXES: Array<[string, string[], string]> = [
    ['dcmconv', ['+td'], '1.2.840.10008.1.2.1.99'],
    ['dcmconv', ['+tb'], '1.2.840.10008.1.2.2'],
    ['dcmcjpeg', ['+e1'], '1.2.840.10008.1.2.4.70'],
    ['dcmcrle', [], '1.2.840.10008.1.2.5'],
    ['dcmcjpls', [], '1.2.840.10008.1.2.4.80'],
  ];
  before(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'pypx-stow-'));
    written = await writeSampleInstances(folder, { patients: SAMPLE_PATIENTS.slice(0, 4), seriesPerStudy: 1, instancesPerSeries: 3, seed: 'stow' });
    SYNTAXES.forEach(([tool, args], index) => {
      const file = path.join(folder, `${(written[index] as SampleInstance).sopInstanceUID}.dcm`);
      execFileSync(tool, [...args, file, `${file}.new`]);
      renameSync(`${file}.new`, file);
    });
    writeFileSync(path.join(folder, 'notes.dcm'), 'this is not DICOM');
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('sends a folder of mixed transfer syntaxes in bounded batches: each stored as sent, a non-DICOM file failed with its reason', async () => {
    const files = filesUnder(folder).sort();
    const batches: number[] = [];
    const outcome = await stowFiles(web(pacs().dicomwebUrl as string), files, { batchFiles: 5, onBatch: (decided) => batches.push(decided.length) });
    assert.equal(outcome.error, undefined, outcome.error?.message);
    assert.equal(outcome.sent, 12);
    assert.equal(outcome.failed, 1);
    assert.equal(outcome.warning, 0);
    assert.deepEqual(batches, [1, 5, 5, 2], 'the refused file first, then batches of at most 5');
    const refused = outcome.files.find((f) => f.status === 'failed');
    assert.equal(refused?.path, path.join(folder, 'notes.dcm'));
    assert.match(refused?.reason ?? '', /^not sent: cannot read DICOM/);
    const held = await pacs().get<Array<{ ID: string; MainDicomTags: { SOPInstanceUID: string } }>>('/instances?expand');
    assert.deepEqual(held.map((i) => i.MainDicomTags.SOPInstanceUID).sort(), written.map((i) => i.sopInstanceUID).sort());
    for (const [index, [, , syntax]] of SYNTAXES.entries()) {
      const uid = (written[index] as SampleInstance).sopInstanceUID;
      const id = held.find((i) => i.MainDicomTags.SOPInstanceUID === uid)?.ID as string;
      const metadata = await pacs().get<Record<string, string>>(`/instances/${id}/metadata?expand`);
      assert.equal(metadata.TransferSyntax, syntax, `${uid} kept its transfer syntax`);
    }
  });

  it('with a wrong password sends nothing and says why for every file', async () => {
    const files = filesUnder(folder).filter((f) => !f.endsWith('notes.dcm'));
    const outcome = await stowFiles(web(pacs().dicomwebUrl as string, { password: 'nope' }), files, { batchFiles: 5 });
    assert.equal(outcome.error?.kind, 'unauthorized');
    assert.equal(outcome.sent, 0);
    assert.equal(outcome.failed, 12);
    assert.ok(outcome.files.every((f) => /^not stored: DICOMweb: .* refused user "bob" and its password \(HTTP 401/.test(f.reason ?? '')));
  });
});

describe('STOW-RS answers that refuse part of a send', () => {
  it('tells each file\'s fate from the answer, and a batch refused as too large fails with the files not yet stored', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'pypx-stow-partial-'));
    const written = await writeSampleInstances(folder, { patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 1, instancesPerSeries: 4, seed: 'stow-partial' });
    const uids = written.map((w) => w.sopInstanceUID);
    let batch = 0;
    // First batch: one stored, one refused (0xC122); the second batch: 413.
    const stub = await startHttpStub((request, response) => {
      request.resume();
      request.on('end', () => {
        batch++;
        if (batch > 1) return void response.writeHead(413, 'Payload Too Large').end();
        const sent = (uid: string) => ({ '00081155': { vr: 'UI', Value: [uid] } });
        response.writeHead(202, { 'content-type': 'application/dicom+json' }).end(JSON.stringify({
          '00081199': { vr: 'SQ', Value: [sent(uids[0] as string)] },
          '00081198': { vr: 'SQ', Value: [{ ...sent(uids[1] as string), '00081197': { vr: 'US', Value: [0xc122] } }] },
        }));
      });
    });
    try {
      const files = uids.map((uid) => path.join(folder, `${uid}.dcm`));
      const outcome = await stowFiles(web(`${stub.url}/dicom-web`, { retries: 0 }), files, { batchFiles: 2 });
      assert.deepEqual([outcome.sent, outcome.warning, outcome.failed], [1, 0, 3]);
      assert.equal(outcome.error?.kind, 'too-large');
      assert.deepEqual(outcome.files.map((f) => [f.SOPInstanceUID, f.status]), uids.map((uid, i) => [uid, i === 0 ? 'sent' : 'failed']));
      assert.equal(outcome.files[1]?.reason, 'the service refused to store it: Transfer Syntax not supported (0xC122)');
      assert.match(outcome.files[2]?.reason ?? '', /^not stored: DICOMweb: .* refused a STOW-RS request of 2 instances \(\d+ bytes\) as too large \(HTTP 413 Payload Too Large\): send smaller batches/);
    } finally {
      await stub.stop();
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('WADO-RS retrieves and the PACS config\'s limit', () => {
  it('runs at most as many retrieves at once as the config allows; the others wait their turn', async () => {
    const instances = [...generateSampleInstances({ patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 4, instancesPerSeries: 1, seed: 'queue' })];
    // The stub holds each answer until the test lets answers go: what it holds at once is what runs at once.
    const held: Array<() => void> = [];
    let most = 0;
    let answering = false;
    const stub = await startHttpStub((request, response) => {
      const instance = instances.find((i) => request.url?.includes(i.seriesInstanceUID)) as SampleInstance;
      const answer = () => {
        response.writeHead(200, { 'content-type': 'multipart/related; type="application/dicom"; boundary=q' });
        response.end(Buffer.concat([Buffer.from('--q\r\nContent-Type: application/dicom\r\n\r\n'), instance.bytes, Buffer.from('\r\n--q--\r\n')]));
      };
      if (answering) return answer();
      held.push(answer);
      most = Math.max(most, held.length);
    });
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'pypx-wado-queue-'));
    const queue = new AssociationQueue(2);
    try {
      const running = Promise.all(instances.map((i) => runGet(web(`${stub.url}/dicom-web`), { level: 'SERIES', StudyInstanceUID: i.studyInstanceUID, SeriesInstanceUID: i.seriesInstanceUID }, { dataDir, queue })));
      // Both places taken by retrieves waiting for their answers, the other two waiting in the queue: nothing else can start.
      await until('two retrieves wait for their answers, the other two in the queue', () => held.length === 2 && queue.waiting === 2,
        { timeoutMs: 10000, describe: () => ({ held: held.length, active: queue.active, waiting: queue.waiting }) });
      answering = true;
      for (const answer of held.splice(0)) answer();
      const outcomes = await running;
      assert.deepEqual(outcomes.map((o) => [o.result.status, o.completed]), instances.map(() => ['success', 1]));
      assert.equal(most, 2, 'two at once, as the config allows');
    } finally {
      await queue.close();
      await stub.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('filing a deflated instance (as WADO-RS brings one the PACS holds deflated)', () => {
  it('files a whole deflated file, and still refuses one cut short', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-deflated-'));
    try {
      const [instance] = await writeSampleInstances(dir, { patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 1, instancesPerSeries: 1, imageSize: 128, seed: 'deflated' });
      const plain = path.join(dir, `${(instance as SampleInstance).sopInstanceUID}.dcm`);
      const deflated = path.join(dir, 'deflated.dcm');
      execFileSync('dcmconv', ['+td', plain, deflated]);
      assert.equal(readReceivedHeader(deflated, true).header.SOPInstanceUID, (instance as SampleInstance).sopInstanceUID);
      const cut = path.join(dir, 'cut.dcm');
      const bytes = readFileSync(deflated);
      writeFileSync(cut, bytes.subarray(0, bytes.length - 40));
      assert.throws(() => readReceivedHeader(cut, true), MalformedFileError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

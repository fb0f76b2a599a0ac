import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import type { SeriesComplete } from '../lib/filing/series';
import { generateSampleInstances, type SampleInstance, writeSampleInstances } from '../testbed/generate';
import { startOrthanc } from '../testbed/orthanc';
import { getFlow, helper, joinModule, nextMessage, nodeModules, onTab, statusLog } from './support/flow';
import { startSilentServer, useOrthanc } from './support/pacs';
import { startQrScp } from './support/qrscp';
import { instancesInPacs } from './support/receiver';
import { transcode } from './support/transcode';
import type { MovePayload } from '../lib/ops/move/types';
import { buildFiledPath } from '../lib/filing/layout';
import { type InstancePayload } from '../lib/filing/file-instance';
import { readReceivedHeader } from '../lib/filing/header';
import { until } from './support/until';

interface InstanceMsg extends NodeMessage {
  payload: { status: string; data: InstancePayload };
}
interface GetMsg extends NodeMessage {
  payload: MovePayload;
  series: SeriesComplete[];
  get: { level: string; failures: Array<{ SOPInstanceUID: string; reason: string }> };
  parts?: { id: string; index: number; count: number };
  error?: { message: string };
}


/** Every message a helper node receives from now on. */
function collect<T>(nodeId: string): T[] {
  const got: T[] = [];
  (helper.getNode(nodeId) as unknown as NodeJS.EventEmitter).on('input', (msg: T) => got.push(msg));
  return got;
}

function findResult(series: Array<{ studyInstanceUID: string; seriesInstanceUID: string }>) {
  return {
    status: 'success',
    command: 'findscu ...',
    data: series.map((s, i) => ({
      uid: { tag: 0, value: i, label: 'uid' },
      StudyInstanceUID: { tag: '0020,000d', value: s.studyInstanceUID, label: 'StudyInstanceUID' },
      SeriesInstanceUID: { tag: '0020,000e', value: s.seriesInstanceUID, label: 'SeriesInstanceUID' },
      QueryRetrieveLevel: { tag: '0008,0052', value: 'SERIES', label: 'QueryRetrieveLevel' },
    })),
  };
}

function processesNaming(text: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(text) && !line.includes('ps -eo'));
}

/**
 * A series of seven instances: one uncompressed, the others deflated, JPEG lossless, JPEG-LS, RLE and
 * two JPEG 2000. Whatever order the PACS sends them in, a C-GET that ends at the first JPEG 2000 one
 * never reaches the second: naming both takes the instance-by-instance pass.
 */
async function mixedSeries(dir: string): Promise<{ files: Buffer[]; sample: SampleInstance[] }> {
  const sample = await writeSampleInstances(path.join(dir, 'mixed-source'), { patients: [{ id: 'GETMIX', name: 'Get^Mixed', charset: '' }], seriesPerStudy: 1, instancesPerSeries: 7, seed: 'get-mixed', imageSize: 32 });
  const syntaxes = [undefined, 'deflated', 'jpeg-lossless', 'jpeg-ls', 'rle', 'jpeg2000', 'jpeg2000'] as const;
  const files = sample.map((instance, i) => {
    const from = path.join(dir, 'mixed-source', `${instance.sopInstanceUID}.dcm`);
    const syntax = syntaxes[i];
    if (!syntax) return instance.bytes;
    const to = path.join(dir, `mixed-${i}.dcm`);
    transcode(from, to, syntax);
    return execFileSync('cat', [to]);
  });
  return { files, sample };
}

describe('px-get node against Orthanc', () => {
  const pacs = useOrthanc({ extra: { DicomAlwaysAllowGet: true, DicomAlwaysAllowFind: true } });
  let dir = '';
  let dataDir = '';
  let study: SampleInstance[] = [];
  let mixed: SampleInstance[] = [];
  let mixedFiles: Buffer[] = [];
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-get-test-'));
    study = await writeSampleInstances(path.join(dir, 'study'), { patients: [{ id: 'GET1', name: 'Müller^Get', charset: 'ISO_IR 100' }], seriesPerStudy: 2, instancesPerSeries: 3, seed: 'get' });
    ({ files: mixedFiles, sample: mixed } = await mixedSeries(dir));
    await pacs().upload([...study.map((s) => s.bytes), ...mixedFiles]);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(dir, 'data-'));
  });
  afterEach(async () => {
    await helper.unload();
  });

  function load(config: Record<string, unknown> = {}, extra: Parameters<typeof onTab>[0] = []) {
    const pacsNode = { id: 'pacs', type: 'px-pacs', aet: 'STRANGER', aec: pacs().aet, host: '127.0.0.1', port: pacs().dicomPort, timeout: 10, ...config };
    return helper.load([...nodeModules('px-pacs', 'px-get', 'px-move'), joinModule], getFlow(pacsNode, { dataDir }, extra));
  }

  it('retrieves a study as an AE title the PACS never heard of, to which a C-MOVE fails, and files it as px-listen does', async () => {
    await load({}, [
      { id: 'move', type: 'px-move', pacs: 'pacs', destination: '', wires: [['moved']] },
      { id: 'moved', type: 'helper' },
    ]);
    const StudyInstanceUID = study[0]?.studyInstanceUID as string;
    const moved = nextMessage<GetMsg>('moved');
    helper.getNode('move')?.receive({ payload: { StudyInstanceUID } } as NodeMessage);
    assert.equal((await moved).payload.status, 'error', 'Orthanc cannot move to STRANGER: it does not know it');

    const instances = collect<InstanceMsg>('instances');
    const done = nextMessage<GetMsg>('retrieves');
    helper.getNode('get')?.receive({ payload: { StudyInstanceUID }, topic: 'kept' } as NodeMessage);
    const msg = await done;
    assert.equal(msg.payload.status, 'success', msg.payload.data);
    assert.deepEqual(Object.keys(msg.payload).sort(), ['command', 'completed', 'data', 'failed', 'status', 'warning']);
    assert.deepEqual([msg.payload.completed, msg.payload.failed, msg.payload.data], [6, 0, '']);
    assert.equal(msg.topic, 'kept');
    assert.equal(msg.parts, undefined);
    assert.ok(instances.every((m) => m.topic === 'kept'), 'each instance\'s msg is a copy of the input');
    assert.deepEqual(instances.map((m) => m.payload.data.SOPInstanceUID).sort(), await instancesInPacs(pacs(), 'studies', StudyInstanceUID));
    for (const { payload } of instances) {
      assert.equal(payload.status, 'success');
      assert.deepEqual(Object.keys(payload.data).sort(), ['InstanceNumber', 'Modality', 'PatientID', 'PatientName', 'SOPClassUID', 'SOPInstanceUID', 'SeriesDescription', 'SeriesInstanceUID', 'SeriesNumber', 'StudyDate', 'StudyDescription', 'StudyInstanceUID', 'calledAET', 'callingAET', 'duplicate', 'path']);
      const { header } = readReceivedHeader(payload.data.path, true);
      assert.equal(payload.data.path, buildFiledPath(dataDir, header).file, 'px-listen\'s layout');
      assert.equal(payload.data.PatientName, 'Müller^Get');
      assert.equal(statSync(payload.data.path).mode & 0o777, 0o640, 'patient data readable by owner and group only');
    }
    const first = instances[0]?.payload.data.path as string;
    assert.match(await readFile(path.join(path.dirname(first), 'series.info'), 'utf8'), /^\[SERIES\]/);
    assert.ok(existsSync(path.join(path.dirname(path.dirname(first)), 'study.info')));
    assert.ok(existsSync(path.join(path.dirname(path.dirname(path.dirname(first))), 'patient.info')));
    assert.deepEqual(msg.series.map((s) => s.count), [3, 3]);
    assert.deepEqual(msg.series.flatMap((s) => s.files).sort(), instances.map((m) => m.payload.data.path).sort());
    assert.deepEqual(statusLog('get').at(-1), { fill: 'green', shape: 'dot', text: '6 retrieved' });
  });

  it('retrieves a series and an instance', async () => {
    await load();
    const [one] = study;
    const series = nextMessage<GetMsg>('retrieves');
    helper.getNode('get')?.receive({ payload: { StudyInstanceUID: one?.studyInstanceUID, SeriesInstanceUID: one?.seriesInstanceUID } } as NodeMessage);
    assert.deepEqual([(await series).payload.status, (await series).payload.completed], ['success', 3]);
    const instances = collect<InstanceMsg>('instances');
    const instance = nextMessage<GetMsg>('retrieves');
    helper.getNode('get')?.receive({ payload: { SOPInstanceUID: one?.sopInstanceUID, SeriesInstanceUID: one?.seriesInstanceUID, StudyInstanceUID: one?.studyInstanceUID } } as NodeMessage);
    assert.deepEqual([(await instance).payload.status, (await instance).payload.completed], ['success', 1]);
    assert.equal(instances[0]?.payload.data.SOPInstanceUID, one?.sopInstanceUID);
    assert.equal(instances[0]?.payload.data.duplicate, true, 'filed by the series retrieve before');
  });

  it('retrieves what a px-find result lists, one msg per series with msg.parts, and the join completes though one fails', async () => {
    await load();
    const series = [study[0], study[3], mixed[0]].map((s) => ({ studyInstanceUID: s?.studyInstanceUID as string, seriesInstanceUID: s?.seriesInstanceUID as string }));
    const joined = nextMessage<{ payload: MovePayload[] }>('joined', 60000);
    const caught = nextMessage<GetMsg>('caught', 60000);
    helper.getNode('get')?.receive({ payload: findResult(series) } as NodeMessage);
    const all = await joined;
    assert.deepEqual(all.payload.map((p) => [p.status, p.completed, p.failed]), [['success', 3, 0], ['success', 3, 0], ['error', 5, 2]]);
    const failure = await caught;
    assert.equal(failure.parts, undefined, 'Catch nodes get the input msg, not one of its answers');
    assert.match(failure.error?.message ?? '', /^1 of 3 retrieves failed: getscu: 5 instances of series [\d.]+ retrieved from ORTHANC at 127\.0\.0\.1:\d+, 2 failed: [\d.]+: ORTHANC answered the C-GET with "Failed: UnableToProcess" \(0xc000\)/);
    assert.match(failure.error?.message ?? '', /C-MOVE \(px-move\) or DICOMweb/);
    assert.deepEqual(statusLog('get').at(-1), { fill: 'red', shape: 'ring', text: '1/3 retrieves failed' });
  });

  it('brings every instance the PACS can convert though a JPEG 2000 one ends its C-GET, and names each it cannot', async () => {
    await load();
    const instances = collect<InstanceMsg>('instances');
    const done = nextMessage<GetMsg>('retrieves', 60000);
    helper.getNode('get')?.receive({ payload: { StudyInstanceUID: mixed[0]?.studyInstanceUID } } as NodeMessage);
    const msg = await done;
    assert.deepEqual([msg.payload.status, msg.payload.completed, msg.payload.failed], ['error', 5, 2]);
    assert.deepEqual(msg.get.failures.map((f) => f.SOPInstanceUID).sort(), [mixed[5]?.sopInstanceUID, mixed[6]?.sopInstanceUID].sort());
    assert.match(msg.get.failures[0]?.reason ?? '', /"Failed: UnableToProcess" \(0xc000\) also when \+x\w proposed compressed syntaxes/);
    assert.deepEqual(instances.map((m) => m.payload.data.SOPInstanceUID).sort(), mixed.slice(0, 5).map((s) => s.sopInstanceUID).sort());
  });

  it('a PACS that converts nothing: the uncompressed instance comes, each compressed one is counted failed with the PACS\'s reason', async () => {
    const strict = await startOrthanc({ extra: { DicomAlwaysAllowGet: true, DicomAlwaysAllowFind: true, TranscodeDicomProtocol: false } });
    try {
      await strict.upload(mixedFiles);
      await load({ port: strict.dicomPort });
      const done = nextMessage<GetMsg>('retrieves', 60000);
      helper.getNode('get')?.receive({ payload: { StudyInstanceUID: mixed[0]?.studyInstanceUID, SeriesInstanceUID: mixed[0]?.seriesInstanceUID } } as NodeMessage);
      const msg = await done;
      assert.deepEqual([msg.payload.status, msg.payload.completed, msg.payload.failed], ['error', 1, 6]);
      assert.deepEqual(msg.get.failures.map((f) => f.SOPInstanceUID).sort(), mixed.slice(1).map((s) => s.sopInstanceUID).sort());
      for (const failure of msg.get.failures) assert.match(failure.reason, /Failed: UnableToProcess/);
    } finally {
      await strict.stop();
    }
  });

  it('files hostile tag values inside the data folder, as px-listen does', async () => {
    const hostile = [...generateSampleInstances({ patients: [{ id: '../../../../tmp/evil', name: '..\\..^/etc/passwd', charset: '' }], seriesPerStudy: 1, instancesPerSeries: 2, seed: 'get-hostile',
      tags: [{ tag: 0x00081030, vr: 'LO', value: '../../..' }, { tag: 0x0008103e, vr: 'LO', value: '/' }] })];
    await pacs().upload(hostile.map((h) => h.bytes));
    await load();
    const instances = collect<InstanceMsg>('instances');
    const done = nextMessage<GetMsg>('retrieves');
    helper.getNode('get')?.receive({ payload: { StudyInstanceUID: hostile[0]?.studyInstanceUID } } as NodeMessage);
    assert.equal((await done).payload.completed, 2);
    for (const { payload } of instances) {
      assert.ok(payload.data.path.startsWith(`${dataDir}${path.sep}`), payload.data.path);
      assert.equal(path.relative(dataDir, payload.data.path).split(path.sep).length, 4, `patient/study/series/file: ${payload.data.path}`);
    }
  });

  it('a series the PACS does not hold fails with the PACS\'s words', async () => {
    await load();
    const done = nextMessage<GetMsg>('retrieves');
    const caught = nextMessage<GetMsg>('caught');
    helper.getNode('get')?.receive({ payload: { StudyInstanceUID: study[0]?.studyInstanceUID, SeriesInstanceUID: '1.2.3.4.5.6.7' } } as NodeMessage);
    const msg = await done;
    assert.deepEqual([msg.payload.status, msg.payload.completed], ['error', 0]);
    assert.match((await caught).error?.message ?? '', /answered the C-GET of series 1\.2\.3\.4\.5\.6\.7 with "Failed: UnableToProcess", and lists no instance under it: check the UIDs/);
  });

  it('where the PACS can send an instance only as it holds it, proposing that syntax brings it as stored', async () => {
    // dcmqrscp converts nothing; with +xt it takes JPEG-LS when offered. The uncompressed instance comes
    // in the first C-GET, the JPEG-LS one when getscu proposes JPEG-LS; JPEG 2000 it will not send at all.
    const files = [0, 3, 5].map((i) => path.join(dir, i ? `mixed-${i}.dcm` : path.join('mixed-source', `${mixed[0]?.sopInstanceUID}.dcm`)));
    const qr = await startQrScp(files, ['+xt']);
    try {
      await load({ aec: qr.aet, port: qr.port });
      const instances = collect<InstanceMsg>('instances');
      const done = nextMessage<GetMsg>('retrieves', 60000);
      helper.getNode('get')?.receive({ payload: { StudyInstanceUID: mixed[0]?.studyInstanceUID } } as NodeMessage);
      const msg = await done;
      assert.deepEqual([msg.payload.status, msg.payload.completed, msg.payload.failed], ['error', 2, 1], msg.payload.data);
      assert.deepEqual(msg.get.failures.map((f) => f.SOPInstanceUID), [mixed[5]?.sopInstanceUID]);
      const syntaxOf = (uid: string | undefined) => {
        const file = instances.find((m) => m.payload.data.SOPInstanceUID === uid)?.payload.data.path as string;
        return execFileSync('dcmdump', ['+P', '0002,0010', file], { encoding: 'utf8' });
      };
      assert.match(syntaxOf(mixed[3]?.sopInstanceUID), /JPEGLSLossless/, 'the JPEG-LS instance arrived as JPEG-LS');
      assert.match(syntaxOf(mixed[0]?.sopInstanceUID), /LittleEndianExplicit/);
    } finally {
      await qr.stop();
    }
  });

  it('from a strictly hierarchical PACS (dcmqrscp), retrieves a series given alone, and fails one it does not hold', async () => {
    // dcmqrscp sends nothing for a SERIES-level C-GET without the study's UID: the node finds it with a C-FIND first.
    const qr = await startQrScp(study.map((s) => path.join(dir, 'study', `${s.sopInstanceUID}.dcm`)));
    try {
      await load({ aec: qr.aet, port: qr.port });
      const [one] = study;
      const instances = collect<InstanceMsg>('instances');
      const done = nextMessage<GetMsg>('retrieves');
      helper.getNode('get')?.receive({ payload: { SeriesInstanceUID: one?.seriesInstanceUID } } as NodeMessage);
      const msg = await done;
      assert.deepEqual([msg.payload.status, msg.payload.completed], ['success', 3], msg.payload.data);
      assert.match(msg.payload.command, new RegExp(`^\\S*findscu .*\\n\\S*getscu .*-k StudyInstanceUID=${one?.studyInstanceUID} -k SeriesInstanceUID=${one?.seriesInstanceUID} `));
      assert.deepEqual(instances.map((m) => m.payload.data.SOPInstanceUID).sort(), study.filter((s) => s.seriesInstanceUID === one?.seriesInstanceUID).map((s) => s.sopInstanceUID).sort());

      const failed = nextMessage<GetMsg>('retrieves');
      const caught = nextMessage<GetMsg>('caught');
      helper.getNode('get')?.receive({ payload: { StudyInstanceUID: '1.2.3.4.5.6.8' } } as NodeMessage);
      assert.deepEqual([(await failed).payload.status, (await failed).payload.completed], ['error', 0]);
      assert.match((await caught).error?.message ?? '', /^getscu: QRSCP at 127\.0\.0\.1:\d+ found nothing to send for study 1\.2\.3\.4\.5\.6\.8: /);
      assert.deepEqual(statusLog('get').at(-1), { fill: 'red', shape: 'ring', text: 'nothing to send' });
    } finally {
      await qr.stop();
    }
  });

  it('removes at start the working folders a crashed Node-RED\'s retrieves left in <dataDir>/incoming, and no other', async () => {
    const gone = spawnSync('true').pid as number;
    const incoming = path.join(dataDir, 'incoming');
    const left = [`.get-${gone}-${os.hostname()}-Ab12Cd`, `.wado-${gone}-${os.hostname()}-Ef34Gh`];
    for (const name of [...left, 'received.dcm']) await mkdir(path.join(incoming, name), { recursive: true });
    await load();
    await until('the leftover working folders removed at start', async () => (await readdir(incoming)).length === 1, { timeoutMs: 5000, describe: async () => (await readdir(incoming)).join(', ') });
    assert.deepEqual(await readdir(incoming), ['received.dcm']);
  });

  it('an empty input is answered on output 2 with one success and counts of 0', async () => {
    await load();
    const done = nextMessage<GetMsg>('retrieves');
    const joined = nextMessage<{ payload: MovePayload[] }>('joined');
    helper.getNode('get')?.receive({ payload: [] } as NodeMessage);
    const msg = await done;
    assert.deepEqual([msg.payload.status, msg.payload.completed, msg.payload.failed, msg.payload.warning], ['success', 0, 0, 0]);
    assert.equal((await joined).payload.length, 1, 'a sequence of one: the join completes');
  });

  it('refuses a data folder given as an environment variable that is not set, instead of filing into a folder named ${...}', async () => {
    const unused = dataDir;
    dataDir = '${PYPX_GET_TEST_UNSET}';
    try {
      await load();
      const caught = nextMessage<GetMsg>('caught');
      helper.getNode('get')?.receive({ payload: { StudyInstanceUID: study[0]?.studyInstanceUID } } as NodeMessage);
      assert.match(String((await caught).error?.message), /dataDir is \$\{PYPX_GET_TEST_UNSET\}, but the environment variable PYPX_GET_TEST_UNSET is not set/);
      assert.equal(existsSync('${PYPX_GET_TEST_UNSET}'), false);
    } finally {
      dataDir = unused;
    }
  });

  it('fails the retrieve with a clear error when it cannot file, a file standing where the patient folder goes, and Node-RED lives on', async () => {
    const StudyInstanceUID = study[0]?.studyInstanceUID as string;
    const { header } = readReceivedHeader(path.join(dir, 'study', `${study[0]?.sopInstanceUID}.dcm`), false);
    await writeFile(buildFiledPath(dataDir, header).patientDir, 'not a folder');
    const escaped: unknown[] = [];
    const onEscape = (err: unknown) => escaped.push(err);
    process.on('uncaughtException', onEscape);
    try {
      await load();
      const done = nextMessage<GetMsg>('retrieves');
      const caught = nextMessage<GetMsg>('caught');
      helper.getNode('get')?.receive({ payload: { StudyInstanceUID } } as NodeMessage);
      const msg = await done;
      assert.equal(msg.payload.status, 'error');
      assert.match(String(msg.payload.data), /cannot file into the data folder .*(ENOTDIR|EEXIST)/, String(msg.payload.data));
      assert.match(String((await caught).error?.message), /cannot file into the data folder/);
      // Closing the flow waits for all px-get still runs: whatever it would let escape has escaped by then.
      await helper.unload();
    } finally {
      process.off('uncaughtException', onEscape);
    }
    assert.deepEqual(escaped, [], 'nothing escaped to the process');
  });

  it('leaves no getscu running once the node is closed, anywhere in the process table', async () => {
    const silent = await startSilentServer();
    try {
      await load({ port: silent.port, aet: 'GETLEAK', timeout: 30 });
      helper.getNode('get')?.receive({ payload: { StudyInstanceUID: study[0]?.studyInstanceUID } } as NodeMessage);
      await until('getscu runs', () => processesNaming('-aet GETLEAK').length > 0, { timeoutMs: 5000 });
      assert.equal(processesNaming('-aet GETLEAK').length, 1, 'getscu runs');
      await helper.unload();
      assert.deepEqual(processesNaming('-aet GETLEAK'), []);
    } finally {
      await silent.stop();
    }
  });
});


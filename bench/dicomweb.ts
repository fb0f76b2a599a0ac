// DICOMweb side by side with curl, the least a user could run instead, in one run:
// - px-find over QIDO-RS in a running Node-RED, 10,000 series, against curl fetching the same JSON;
// - px-get over WADO-RS in a running Node-RED, a study of 200 CT-sized instances (512x512, 16 bits,
//   about 0.5 MB each) filed into pypx's layout and announced instance by instance, against curl
//   writing the same multipart answer to one file.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { WADO_ACCEPT } from '../lib/ops/get/wado';
import { buildQidoPath } from '../lib/ops/find/dicomweb';
import { buildFindQuery } from '../lib/ops/find/query';
import type { PypxResult, PypxRecord } from '../lib/core/result';
import { generateSampleInstances, SAMPLE_PATIENTS } from '../testbed/generate';
import { startOrthanc } from '../testbed/orthanc';
import { helper, nextMessage, nodeModules, onTab } from '../test/support/flow';
import { orthancWithSeries, SERIES } from './find';
import { alternatingPairs, type Figure, median, SetAside, settleDisk, timed } from './figures';
import { profiled } from './profile';
import { withoutTestSpies } from './runtime';
import type { MovePayload } from '../lib/ops/move/types';

const USER = 'bench';
const PASSWORD = 'bench';
const KEYS = ['PatientID', 'PatientName', 'StudyInstanceUID', 'SeriesInstanceUID', 'StudyDate', 'Modality', 'SeriesDescription', 'SeriesNumber'];
const INSTANCES = 200;
const IMAGE_SIZE = 512;

/** curl, as fast as it goes: one request, the answer to a file (or discarded), credentials as ours. */
function curl(url: string, accept: string, output: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--fail', '-u', `${USER}:${PASSWORD}`, '-H', `Accept: ${accept}`, '-o', output, url], { maxBuffer: 1024 * 1024 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`curl failed: ${stderr || err.message}`));
      else resolve();
    });
  });
}

/** One warm-up each, then five runs side by side; the median ratio against its target, and each side's median. */
async function sideBySide(what: string, node: string, target: number, curlAlone: () => Promise<number>, px: () => Promise<number>): Promise<Figure[]> {
  await curlAlone();
  await px();
  const { alone: curlMs, ours: pxMs } = await alternatingPairs(5, curlAlone, px, (i, alone, ours) => {
    process.stderr.write(`  ${what} ${i + 1}/5: curl ${alone.toFixed(0)} ms, ${node} ${ours.toFixed(0)} ms, ratio ${(ours / alone).toFixed(2)}\n`);
  });
  const ratios = pxMs.map((ms, i) => ms / (curlMs[i] as number));
  return [
    { name: `${what}: ${node} / curl`, value: median(ratios), unit: 'ratio', target, better: 'lower' },
    { name: `${what}: curl`, value: median(curlMs), unit: 'ms' },
    { name: `${what}: ${node} in Node-RED`, value: median(pxMs), unit: 'ms' },
  ];
}

export async function benchQido(): Promise<Figure[]> {
  const orthanc = await orthancWithSeries({ dicomweb: true, users: { [USER]: PASSWORD } });
  try {
    const url = orthanc.dicomwebUrl as string;
    await helper.load(nodeModules('px-pacs', 'px-find'), onTab([
      { id: 'pacs', type: 'px-pacs', protocol: 'dicomweb', url, timeout: 600 },
      { id: 'find', type: 'px-find', pacs: 'pacs', level: 'SERIES', query: '{}', returnTags: KEYS.join(','), split: false, limit: 0, wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]), { pacs: { user: USER, password: PASSWORD } });
    withoutTestSpies();
    const query = url + buildQidoPath(buildFindQuery('SERIES', {}, KEYS));
    const pxFind = () => timed(async () => {
      const received = nextMessage<NodeMessage & { payload: PypxResult<PypxRecord[]> }>('out', 30 * 60000);
      helper.getNode('find')?.receive({ payload: Date.now() } as NodeMessage);
      const msg = await received;
      if (msg.payload.data.length !== SERIES) throw new Error(`px-find over QIDO-RS returned ${msg.payload.data.length} records, not ${SERIES}: ${JSON.stringify(msg.payload).slice(0, 300)}`);
    });
    const curlAlone = () => timed(() => curl(query, 'application/dicom+json', '/dev/null'));
    return await sideBySide(`QIDO-RS ${SERIES} series`, 'px-find', 1.3, curlAlone, pxFind);
  } finally {
    await helper.unload();
    await orthanc.stop();
  }
}

export async function benchWado(): Promise<Figure[]> {
  const orthanc = await startOrthanc({ dicomweb: true, users: { [USER]: PASSWORD } });
  const work = await mkdtemp(path.join(os.tmpdir(), 'pypx-bench-wado-'));
  try {
    let study = '';
    let instanceBytes: Buffer = Buffer.alloc(0);
    await orthanc.upload((function* () {
      for (const instance of generateSampleInstances({ patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 2, instancesPerSeries: INSTANCES / 2, imageSize: IMAGE_SIZE, seed: 'bench-wado-ct' })) {
        study = instance.studyInstanceUID;
        instanceBytes = instance.bytes;
        yield instance.bytes;
      }
    })(), 4);
    const dataDir = path.join(work, 'data');
    const finished = new SetAside(path.join(work, 'finished'));
    await helper.load(nodeModules('px-pacs', 'px-get'), onTab([
      { id: 'pacs', type: 'px-pacs', protocol: 'dicomweb', url: orthanc.dicomwebUrl, timeout: 600 },
      { id: 'get', type: 'px-get', pacs: 'pacs', dataDir, wires: [['filed'], ['done']] },
      { id: 'filed', type: 'helper' },
      { id: 'done', type: 'helper' },
    ]), { pacs: { user: USER, password: PASSWORD } });
    let filed = 0;
    (helper.getNode('filed') as unknown as { on(e: 'input', f: () => void): void }).on('input', () => filed++);
    withoutTestSpies();
    const url = `${orthanc.dicomwebUrl}/studies/${study}`;
    const curlAlone = async () => {
      const file = path.join(work, 'answer.multipart');
      await settleDisk();
      const ms = await timed(() => curl(url, WADO_ACCEPT, file));
      await rm(file, { force: true });
      return ms;
    };
    const retrieve = async () => {
      filed = 0;
      await settleDisk();
      const ms = await timed(() => profiled('wado', async () => {
        const done = nextMessage<NodeMessage & { payload: MovePayload }>('done', 300000);
        helper.getNode('get')?.receive({ payload: { StudyInstanceUID: study } } as NodeMessage);
        const msg = await done;
        if (msg.payload.status !== 'success') throw new Error(`px-get over WADO-RS failed: ${msg.payload.data}`);
      }));
      if (filed !== INSTANCES) throw new Error(`px-get announced ${filed} instances, not ${INSTANCES}`);
      await finished.put(dataDir);
      return ms;
    };
    const figures = await sideBySide(`WADO-RS ${INSTANCES}-instance CT-sized study`, 'px-get', 1.3, curlAlone, retrieve);
    // The floor for anything that keeps one file per instance: creating and writing the files alone.
    const filesAlone: number[] = [];
    for (let i = 0; i < 5; i++) {
      const folder = path.join(work, `files-${i}`);
      await mkdir(folder);
      await settleDisk();
      filesAlone.push(await timed(async () => {
        for (let n = 0; n < INSTANCES; n++) writeFileSync(path.join(folder, `${n}.dcm`), instanceBytes);
      }));
      await finished.put(folder);
    }
    return [...figures, { name: `WADO-RS ${INSTANCES}-instance CT-sized study: writing ${INSTANCES} files of its size alone, no network`, value: median(filesAlone), unit: 'ms' }];
  } finally {
    await helper.unload();
    await orthanc.stop();
    await rm(work, { recursive: true, force: true });
  }
}


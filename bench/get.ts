// px-get of a 1,000-instance study (10 series of 100 small images) from Orthanc, filed and emitted one
// msg per instance, against getscu alone retrieving the same study into a folder (until it exits with
// all 1,000 written). The Node-RED is node-red-node-test-helper's runtime without its test spies
// (bench/runtime.ts). Every DCMTK process and Orthanc run with TCP_NODELAY=1; the two alternate, median of 5.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { runDcmtk } from '../lib/dcmtk/run';
import { generateSampleInstances } from '../testbed/generate';
import { type RunningOrthanc, startOrthanc } from '../testbed/orthanc';
import { helper, nextMessage, nodeModules, onTab } from '../test/support/flow';
import { alternatingPairs, type Figure, median, SetAside, settleDisk, timed, timedWithCpu } from './figures';
import { profiled } from './profile';
import { withoutTestSpies } from './runtime';
import type { MovePayload } from '../lib/ops/move/types';

const INSTANCES = 1000;
const RUNS = 5;
/** Each run's folders, kept until the benchmark ends (see SetAside). */
const finished = (root: string) => new SetAside(path.join(root, 'finished'));

async function getscuAlone(root: string, orthanc: RunningOrthanc, studyUID: string): Promise<number> {
  const out = await mkdtemp(path.join(root, 'getscu-'));
  try {
    const args = ['-S', '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${studyUID}`, '-od', out, '-aec', orthanc.aet, '-aet', 'GETSCU', orthanc.host, String(orthanc.dicomPort)];
    await settleDisk();
    const ms = await timed(async () => {
      const run = await runDcmtk('getscu', args, { timeoutMs: 300000 });
      if (run.exitCode !== 0) throw new Error(`getscu failed: ${run.output}`);
    });
    const written = (await readdir(out)).length;
    if (written !== INSTANCES) throw new Error(`getscu alone wrote ${written} of ${INSTANCES} instances`);
    return ms;
  } finally {
    await finished(root).put(out);
  }
}

/** A fresh flow and data folder per run, so that every instance is filed new. `cpuMs` is given the CPU time Node-RED's process spent. */
async function pxGet(root: string, orthanc: RunningOrthanc, studyUID: string, cpuMs: number[]): Promise<number> {
  const dataDir = await mkdtemp(path.join(root, 'data-'));
  await helper.load(nodeModules('px-pacs', 'px-get'), onTab([
    { id: 'pacs', type: 'px-pacs', aet: 'PXGET', aec: orthanc.aet, host: orthanc.host, port: orthanc.dicomPort, timeout: 60, concurrency: 2 },
    { id: 'get', type: 'px-get', pacs: 'pacs', dataDir, wires: [['filed'], ['done']] },
    { id: 'filed', type: 'helper' },
    { id: 'done', type: 'helper' },
  ]));
  try {
    let filed = 0;
    (helper.getNode('filed') as unknown as { on(e: 'input', f: () => void): void }).on('input', () => filed++);
    withoutTestSpies();
    let payload: MovePayload | undefined;
    await settleDisk();
    const { ms, cpuMs: used } = await timedWithCpu(() => profiled('get', async () => {
      const done = nextMessage<NodeMessage & { payload: MovePayload }>('done', 300000);
      helper.getNode('get')?.receive({ payload: { StudyInstanceUID: studyUID } } as NodeMessage);
      payload = (await done).payload;
    }));
    if (payload?.status !== 'success' || payload.completed !== INSTANCES) throw new Error(`px-get: ${JSON.stringify(payload)}`);
    if (filed !== INSTANCES) throw new Error(`px-get emitted ${filed} of ${INSTANCES} instances`);
    cpuMs.push(used);
    return ms;
  } finally {
    await helper.unload();
    await finished(root).put(dataDir);
  }
}

export default async function benchGet(): Promise<Figure[]> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'bench-get-'));
  const orthanc = await startOrthanc({ extra: { DicomAlwaysAllowGet: true } });
  try {
    const instances = [...generateSampleInstances({ patients: [{ id: 'BG1', name: 'Bench^Get', charset: '' }], seriesPerStudy: 10, instancesPerSeries: INSTANCES / 10, seed: 'bench-get' })];
    await orthanc.upload(instances.map((i) => i.bytes), 4);
    const studyUID = (instances[0] as (typeof instances)[number]).studyInstanceUID;
    await getscuAlone(root, orthanc, studyUID);
    const cpuMs: number[] = [];
    await pxGet(root, orthanc, studyUID, []);
    const { alone: aloneMs, ours: nodeRedMs } = await alternatingPairs(RUNS, () => getscuAlone(root, orthanc, studyUID), () => pxGet(root, orthanc, studyUID, cpuMs), (i, alone, ours) => {
      process.stderr.write(`  get run ${i + 1}: getscu ${alone.toFixed(0)} ms, px-get ${ours.toFixed(0)} ms\n`);
    });
    const rate = (ms: number) => INSTANCES / (ms / 1000);
    return [
      { name: `get: getscu alone, ${INSTANCES}-instance study`, value: rate(median(aloneMs)), unit: 'instances/s' },
      { name: `get: px-get in Node-RED (filed, one msg per instance), ${INSTANCES}-instance study`, value: rate(median(nodeRedMs)), unit: 'instances/s' },
      { name: 'get: px-get time / getscu alone', value: median(nodeRedMs.map((ms, i) => ms / (aloneMs[i] as number))), unit: 'ratio', target: 1.1, better: 'lower' },
      { name: 'get: CPU time of Node-RED\'s process per instance retrieved', value: (median(cpuMs) * 1000) / INSTANCES, unit: 'µs', pinnedTarget: 70, better: 'lower' },
    ];
  } finally {
    await orthanc.stop();
    await rm(root, { recursive: true, force: true });
  }
}

// A study-level C-MOVE of 1,000 instances (1 study, 10 series of 100 small images) from one Orthanc:
// px-move into px-listen in one running Node-RED (from the move msg until px-listen has filed and
// emitted all 1,000), against movescu into storescp alone (until movescu exits with all 1,000 files
// written). The Node-RED is node-red-node-test-helper's runtime without its test spies (bench/runtime.ts). Every DCMTK process and Orthanc run with TCP_NODELAY=1; the two alternate, median of several.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { runDcmtk } from '../lib/dcmtk/run';
import { generateSampleInstances } from '../testbed/generate';
import { freePort, type RunningOrthanc, startOrthanc } from '../testbed/orthanc';
import { helper, nextMessage, nodeModules, onTab } from '../test/support/flow';
import { type Figure, median, timed } from './figures';
import { withoutTestSpies } from './runtime';
import type { MovePayload } from '../lib/ops/move/types';

const INSTANCES = 1000;
const RUNS = 5;
const LISTENER_AET = 'NODERED';
const SCP_AET = 'STORESCP';

interface Ports {
  listen: number;
  scp: number;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 300000; !check(); ) {
    if (Date.now() > end) throw new Error(`${what} within 5 minutes`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** storescp in its fastest configuration for one association: TCP_NODELAY=1, -od, nothing else. */
async function movescuIntoStorescp(root: string, orthanc: RunningOrthanc, studyUID: string, port: number): Promise<number> {
  const out = await mkdtemp(path.join(root, 'scp-'));
  const scp: ChildProcess = spawn('storescp', ['-aet', SCP_AET, '-od', out, String(port)], { env: { ...process.env, TCP_NODELAY: '1' }, detached: true, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  try {
    const args = ['--move', SCP_AET, '-S', '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${studyUID}`, '-aec', orthanc.aet, '-aet', SCP_AET, orthanc.host, String(orthanc.dicomPort)];
    const ms = await timed(async () => {
      const run = await runDcmtk('movescu', args, { timeoutMs: 300000 });
      if (run.exitCode !== 0) throw new Error(`movescu failed: ${run.output}`);
    });
    const written = (await readdir(out)).length;
    if (written !== INSTANCES) throw new Error(`storescp alone wrote ${written} of ${INSTANCES} instances`);
    return ms;
  } finally {
    process.kill(-(scp.pid as number), 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    await rm(out, { recursive: true, force: true });
  }
}

/** A fresh flow (new data folder) per run, so that every instance is filed new, not as a duplicate. */
async function pxMoveIntoPxListen(root: string, orthanc: RunningOrthanc, studyUID: string, port: number): Promise<number> {
  const dataDir = await mkdtemp(path.join(root, 'data-'));
  await helper.load(nodeModules('px-pacs', 'px-move', 'px-listen'), onTab([
    { id: 'pacs', type: 'px-pacs', aet: LISTENER_AET, aec: orthanc.aet, host: orthanc.host, port: orthanc.dicomPort, aetl: '', timeout: 60, concurrency: 2 },
    { id: 'move', type: 'px-move', pacs: 'pacs', destination: '', wires: [['moved']] },
    { id: 'moved', type: 'helper' },
    { id: 'listen', type: 'px-listen', aet: LISTENER_AET, port, dataDir, tmpDir: '', logDir: '', seriesTimeout: 5, wires: [['filed'], []] },
    { id: 'filed', type: 'helper' },
  ]));
  try {
    let filed = 0;
    (helper.getNode('filed') as unknown as { on(e: 'input', f: () => void): void }).on('input', () => filed++);
    const listenStatus = () => (helper.getNode('listen') as unknown as { status: { args: Array<[{ fill?: string }]> } }).status.args;
    await until(() => listenStatus().some(([s]) => s.fill === 'green'), 'px-listen did not start listening');
    withoutTestSpies();
    const moved = nextMessage<NodeMessage & { payload: MovePayload }>('moved', 300000);
    const ms = await timed(async () => {
      helper.getNode('move')?.receive({ payload: { StudyInstanceUID: studyUID } } as NodeMessage);
      await until(() => filed >= INSTANCES, `px-listen did not emit ${INSTANCES} instances`);
    });
    const { payload } = await moved;
    if (payload.status !== 'success' || payload.completed !== INSTANCES) throw new Error(`px-move: ${JSON.stringify(payload)}`);
    if (filed !== INSTANCES) throw new Error(`px-listen emitted ${filed} of ${INSTANCES} instances`);
    return ms;
  } finally {
    await helper.unload();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export default async function benchMove(): Promise<Figure[]> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'bench-move-'));
  const ports: Ports = { listen: await freePort(), scp: await freePort() };
  const orthanc = await startOrthanc({
    modalities: { nodered: [LISTENER_AET, '127.0.0.1', ports.listen], storescp: [SCP_AET, '127.0.0.1', ports.scp] },
  });
  try {
    const instances = [...generateSampleInstances({ patients: [{ id: 'BM1', name: 'Bench^Move', charset: '' }], seriesPerStudy: 10, instancesPerSeries: INSTANCES / 10, seed: 'bench-move' })];
    await orthanc.upload(instances.map((i) => i.bytes), 4);
    const studyUID = (instances[0] as (typeof instances)[number]).studyInstanceUID;
    // Warm up Orthanc's caches and both sides once; not counted.
    await movescuIntoStorescp(root, orthanc, studyUID, ports.scp);
    await pxMoveIntoPxListen(root, orthanc, studyUID, ports.listen);
    const aloneMs: number[] = [];
    const nodeRedMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      aloneMs.push(await movescuIntoStorescp(root, orthanc, studyUID, ports.scp));
      nodeRedMs.push(await pxMoveIntoPxListen(root, orthanc, studyUID, ports.listen));
      process.stderr.write(`  move run ${i + 1}: movescu+storescp ${aloneMs[i]?.toFixed(0)} ms, px-move+px-listen ${nodeRedMs[i]?.toFixed(0)} ms\n`);
    }
    const rate = (ms: number) => INSTANCES / (ms / 1000);
    return [
      { name: `move: movescu into storescp alone, ${INSTANCES}-instance study`, value: rate(median(aloneMs)), unit: 'instances/s' },
      { name: `move: px-move into px-listen in Node-RED, ${INSTANCES}-instance study`, value: rate(median(nodeRedMs)), unit: 'instances/s' },
      { name: 'move: px-move+px-listen time / movescu+storescp alone', value: median(nodeRedMs.map((ms, i) => ms / (aloneMs[i] as number))), unit: 'ratio', target: 1.15, better: 'lower' },
    ];
  } finally {
    await orthanc.stop();
    await rm(root, { recursive: true, force: true });
  }
}

// The flow the package exists for: px-find's answer wired unchanged into px-move, whose instances a
// px-listen in the same flow receives, files and announces, series by series.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { generateSampleInstances, SAMPLE_PATIENTS } from '../testbed/generate';
import { freePort } from '../testbed/orthanc';
import { helper, nextMessage, nodeModules, onTab, statusLog } from './support/flow';
import { useOrthanc } from './support/pacs';
import { until } from './support/until';

interface SeriesMsg extends NodeMessage {
  payload: { status: string; data: { SeriesInstanceUID: string; count: number; files: string[]; path: string } };
}

describe('px-find -> px-move -> px-listen in one flow', function () {
  this.timeout(90000);
  let listenerPort = 0;
  let dir = '';
  before(async () => {
    listenerPort = await freePort();
    dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-pipeline-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const pacs = useOrthanc({
    defaultEncoding: 'Utf8',
    modalities: {
      get nodered(): [string, string, number] {
        return ['PIPETEST', '127.0.0.1', listenerPort];
      },
    },
  });
  const patients = SAMPLE_PATIENTS.filter((p) => ['ISO_IR 144', '\\ISO 2022 IR 87', 'ISO_IR 100'].includes(p.charset));
  const instances = [...generateSampleInstances({ patients, seed: 'pipeline', studiesPerPatient: 2, seriesPerStudy: 2, instancesPerSeries: 4 })];
  before(async () => {
    await pacs().upload(instances.map((i) => i.bytes));
  });
  afterEach(() => helper.unload());

  it('moves every series px-find found for a patient into px-listen, which announces each one complete', async () => {
    const patient = patients[1]!; // Japanese, ISO 2022 IR 87
    await helper.load(
      nodeModules('px-pacs', 'px-find', 'px-move', 'px-listen'),
      onTab([
        { id: 'pacs', type: 'px-pacs', aet: 'PIPETEST', aec: pacs().aet, host: '127.0.0.1', port: pacs().dicomPort, aetl: '', timeout: 10, concurrency: 2 },
        { id: 'find', type: 'px-find', pacs: 'pacs', level: 'SERIES', query: '{}', returnTags: '', split: false, limit: 0, wires: [['move']] },
        { id: 'move', type: 'px-move', pacs: 'pacs', destination: '', wires: [['moved']] },
        { id: 'moved', type: 'helper' },
        { id: 'listen', type: 'px-listen', aet: 'PIPETEST', port: listenerPort, dataDir: path.join(dir, 'data'), tmpDir: '', logDir: '', seriesTimeout: 1, wires: [['instance'], ['series']] },
        { id: 'instance', type: 'helper' },
        { id: 'series', type: 'helper' },
      ]),
    );
    await until('px-listen listens (green status)', () => statusLog('listen').some((st) => st.fill === 'green'), { timeoutMs: 10000, describe: () => statusLog('listen') });
    const expected = new Map<string, number>();
    for (const i of instances.filter((x) => x.patientID === patient.id)) expected.set(i.seriesInstanceUID, (expected.get(i.seriesInstanceUID) ?? 0) + 1);

    const announced: SeriesMsg[] = [];
    const seriesNode = helper.getNode('series') as unknown as NodeJS.EventEmitter;
    const allSeries = new Promise<void>((resolve) =>
      seriesNode.on('input', (msg: SeriesMsg) => {
        announced.push(msg);
        if (announced.length === expected.size) resolve();
      }),
    );
    const firstMove = nextMessage<NodeMessage & { payload: { status: string } }>('moved');
    helper.getNode('find')?.receive({ payload: { PatientID: patient.id } } as NodeMessage);
    assert.equal((await firstMove).payload.status, 'success');
    await allSeries;

    const got = new Map(announced.map((m) => [m.payload.data.SeriesInstanceUID, m.payload.data.count]));
    assert.deepEqual(got, expected);
    for (const msg of announced) {
      assert.ok(msg.payload.data.path.startsWith(path.join(dir, 'data', `${patient.id}-`)), msg.payload.data.path);
      assert.equal(msg.payload.data.files.length, msg.payload.data.count);
    }
  });
});

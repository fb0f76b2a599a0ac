// px-get's series timeout against a real PACS that stops sending in the middle of a study: Orthanc,
// frozen (SIGSTOP) once the first instance has been filed, its connection left open and silent.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { generateSampleInstances } from '../testbed/generate';
import { getFlow, helper, joinModule, nextMessage, nodeModules } from './support/flow';
import { useOrthanc } from './support/pacs';
import type { MovePayload } from '../lib/ops/move/types';
import type { InstancePayload } from '../lib/filing/file-instance';
import { readReceivedHeader } from '../lib/filing/header';

interface InstanceMsg extends NodeMessage {
  payload: { status: string; data: InstancePayload };
}
interface GetMsg extends NodeMessage {
  payload: MovePayload;
  get?: { failures: Array<{ SOPInstanceUID: string; reason: string }> };
  parts?: { id: string; index: number; count: number };
  error?: { message: string };
}

const processesNaming = (text: string) => execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(text) && !line.includes('ps -eo'));
const USERS = { flow: 'fl0w' };
/** Instances large enough (512 KB) that what the socket buffers hold when the PACS freezes is a few of them. */
const INSTANCES = 30;

describe('px-get: a PACS that goes silent mid-retrieve is stopped after the series timeout', function () {
  this.timeout(120000);
  const pacs = useOrthanc({ dicomweb: true, users: USERS, extra: { DicomAlwaysAllowGet: true } });
  let dir = '';
  let dataDir = '';
  let study = '';
  const frozen = { is: false };
  const freeze = () => {
    if (frozen.is) return;
    frozen.is = true;
    process.kill(pacs().process.pid as number, 'SIGSTOP');
  };
  const thaw = () => {
    if (!frozen.is) return;
    frozen.is = false;
    process.kill(pacs().process.pid as number, 'SIGCONT');
  };

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-get-stall-'));
    const sample = [...generateSampleInstances({ patients: [{ id: 'STALL', name: 'Stall^Test', charset: '' }], seriesPerStudy: 1, instancesPerSeries: INSTANCES, imageSize: 512, seed: 'stall' })];
    study = sample[0]?.studyInstanceUID as string;
    await pacs().upload(sample.map((s) => s.bytes), 4);
  });
  after(async () => {
    thaw();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(dir, 'data-'));
  });
  afterEach(async () => {
    thaw();
    await helper.unload();
  });

  function load(protocol: 'dimse' | 'dicomweb', seriesTimeout: number | undefined) {
    const config = protocol === 'dicomweb'
      ? { protocol, url: pacs().dicomwebUrl }
      : { aet: 'STRANGER', aec: pacs().aet, host: '127.0.0.1', port: pacs().dicomPort };
    // The PACS timeout far above the series timeout: what stops the retrieve is the series timeout.
    const flow = getFlow({ id: 'pacs', type: 'px-pacs', ...config, timeout: 90 }, { dataDir, ...(seriesTimeout === undefined ? {} : { seriesTimeout }) });
    return helper.load([...nodeModules('px-pacs', 'px-get'), joinModule], flow, protocol === 'dicomweb' ? { pacs: { user: 'flow', password: 'fl0w' } } : undefined);
  }

  /** Retrieves the study as a list of one (so the message carries msg.parts), freezing the PACS at the first instance filed. */
  async function retrieveFreezing() {
    const instances: InstanceMsg[] = [];
    (helper.getNode('instances') as unknown as NodeJS.EventEmitter).on('input', (msg: InstanceMsg) => {
      instances.push(msg);
      freeze();
    });
    const done = nextMessage<GetMsg>('retrieves', 60000);
    const joined = nextMessage<{ payload: MovePayload[] }>('joined', 60000);
    const caught = nextMessage<GetMsg>('caught', 60000);
    helper.getNode('get')?.receive({ payload: [{ StudyInstanceUID: study }] } as NodeMessage);
    const msg = await done;
    return { msg, instances, joined: await joined, caught: await caught };
  }

  for (const protocol of ['dimse', 'dicomweb'] as const) {
    it(`${protocol === 'dimse' ? 'C-GET' : 'WADO-RS'}: what arrived is filed and announced, the rest fails saying the PACS went silent, the join completes`, async () => {
      await load(protocol, 2);
      const { msg, instances, joined, caught } = await retrieveFreezing();
      assert.ok(frozen.is, 'the PACS was frozen mid-retrieve');
      const { status, completed, failed, data } = msg.payload;
      assert.equal(status, 'error', data);
      assert.ok(completed >= 1 && completed < INSTANCES, `some, not all, arrived before the PACS froze: ${completed}`);
      assert.equal(completed, instances.length, 'each instance filed was announced');
      for (const { payload } of instances) {
        assert.ok(existsSync(payload.data.path), payload.data.path);
        assert.equal(readReceivedHeader(payload.data.path, true).header.SOPInstanceUID, payload.data.SOPInstanceUID, 'filed whole');
      }
      assert.match(data, /went silent: no new instance for 2 s \(the series timeout\), so the retrieve was stopped as stalled/);
      assert.match(msg.get?.failures.at(-1)?.SOPInstanceUID ?? '', /^\(the rest of (the )?study /);
      assert.equal(failed, 1, 'the rest, which the silent PACS does not name, counted as one line');
      assert.deepEqual(msg.parts && { index: msg.parts.index, count: msg.parts.count }, { index: 0, count: 1 });
      assert.deepEqual(joined.payload.map((p) => p.status), ['error'], 'the join completed');
      assert.match(caught.error?.message ?? '', /went silent/);
      assert.deepEqual(processesNaming(dataDir), [], 'no getscu left running');
    });
  }

  it('a flow saved before the property existed loads and uses the default (10 s)', async () => {
    await load('dicomweb', undefined);
    const { msg } = await retrieveFreezing();
    assert.match(msg.payload.data, /no new instance for 10 s/);
  });

  it('a series timeout that is no number of seconds fails each input, naming it', async () => {
    await load('dicomweb', 'soon' as unknown as number);
    const caught = nextMessage<GetMsg>('caught');
    helper.getNode('get')?.receive({ payload: { StudyInstanceUID: study } } as NodeMessage);
    assert.match((await caught).error?.message ?? '', /series timeout must be a number of seconds above 0, not "soon"/);
  });
});

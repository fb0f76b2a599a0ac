import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { type FlowNode, helper, nextMessage, nodeModules, onTab, statusLog } from './support/flow';
import { closedPort, startSilentServer, useOrthanc } from './support/pacs';
import { dcmtkDescendants } from './support/processes';
import { until } from './support/until';

interface EchoMsg extends NodeMessage {
  payload: { status: string; command: string; data: string };
  error?: { message: string; source?: { id: string } };
}

describe('px-echo node in a Node-RED runtime', () => {
  const pacs = useOrthanc();
  afterEach(() => helper.unload());

  /** inject -> px-echo -> out, and a Catch node on the tab -> caught. */
  function echoFlow(config: Record<string, unknown>): FlowNode[] {
    return onTab([
      { id: 'pacs', type: 'px-pacs', aet: 'NODERED', aec: pacs().aet, host: '127.0.0.1', port: pacs().dicomPort, aetl: '', timeout: 5, ...config },
      { id: 'echo', type: 'px-echo', pacs: 'pacs', wires: [['out']] },
      { id: 'out', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
  }
  const load = (config: Record<string, unknown> = {}) => helper.load(nodeModules('px-pacs', 'px-echo'), echoFlow(config));

  it('echoes the PACS and sends pypx\'s success result, with a green status counting the echoes', async () => {
    await load();
    const received = nextMessage<EchoMsg>('out');
    helper.getNode('echo')?.receive({ payload: 'ping', topic: 'keep me' } as NodeMessage);
    const msg = await received;
    assert.deepEqual(Object.keys(msg.payload).sort(), ['command', 'data', 'status']);
    assert.equal(msg.payload.status, 'success');
    assert.equal(msg.payload.data, '');
    assert.match(msg.payload.command, /echoscu .* -aec ORTHANC -aet NODERED 127\.0\.0\.1 \d+$/);
    assert.equal(msg.topic, 'keep me', 'the incoming msg is reused');
    assert.deepEqual(statusLog('echo').at(-1), { fill: 'green', shape: 'dot', text: '1 ok' });
    assert.deepEqual(statusLog('echo')[0], {}, 'the status of the node a deploy replaced is cleared');

    const again = nextMessage<EchoMsg>('out');
    helper.getNode('echo')?.receive({ payload: 'ping' } as NodeMessage);
    await again;
    assert.deepEqual(statusLog('echo').at(-1), { fill: 'green', shape: 'dot', text: '2 ok' }, 'the status counts every echo since deploy');
  });

  it('answers a refused port with pypx\'s error result on its output, and gives Catch nodes the same msg', async () => {
    await load({ port: await closedPort() });
    const answered = nextMessage<EchoMsg>('out');
    const caught = nextMessage<EchoMsg>('caught');
    helper.getNode('echo')?.receive({ payload: 1, topic: 'keep me' } as NodeMessage);
    const answer = await answered;
    assert.equal(answer.payload.status, 'error');
    assert.match(answer.payload.data, /Connection refused/);
    assert.equal(answer.topic, 'keep me');
    const msg = await caught;
    assert.equal(msg._msgid, answer._msgid, 'Catch nodes get the input msg');
    assert.equal(msg.payload.status, 'error');
    assert.match(msg.payload.data, /Connection refused/);
    assert.match(msg.error?.message ?? '', /echoscu: connection refused by 127\.0\.0\.1:\d+/);
    assert.deepEqual(statusLog('echo').at(-1), { fill: 'red', shape: 'ring', text: 'refused' });
  });

  it('fails within the timeout on a port that accepts TCP and never answers', async function () {
    this.timeout(20000);
    const silent = await startSilentServer();
    try {
      await load({ port: silent.port, timeout: 2 });
      const caught = nextMessage<EchoMsg>('caught', 10000);
      helper.getNode('echo')?.receive({ payload: 1 } as NodeMessage);
      const msg = await caught;
      assert.match(msg.error?.message ?? '', /no answer from ORTHANC at 127\.0\.0\.1:\d+ within 2 s/);
      assert.deepEqual(statusLog('echo').at(-1), { fill: 'red', shape: 'ring', text: 'timeout 2 s' });
    } finally {
      await silent.stop();
    }
  });

  it('reports a wrong called AE title as rejected by the PACS', async () => {
    await load({ aec: 'WRONGAE' });
    const caught = nextMessage<EchoMsg>('caught');
    helper.getNode('echo')?.receive({ payload: 1 } as NodeMessage);
    const msg = await caught;
    assert.match(msg.error?.message ?? '', /^echoscu: the PACS at 127\.0\.0\.1:\d+ rejected the association: it does not answer to the called AE title "WRONGAE" \(Called AE Title Not Recognized\)/);
    assert.deepEqual(statusLog('echo').at(-1), { fill: 'red', shape: 'ring', text: 'called AE rejected' });
  });

  it('says echoscu is missing when the DCMTK folder has no echoscu', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'no-dcmtk-'));
    try {
      await load({ dcmtkDir: empty });
      const caught = nextMessage<EchoMsg>('caught');
      helper.getNode('echo')?.receive({ payload: 1 } as NodeMessage);
      const msg = await caught;
      assert.match(msg.error?.message ?? '', /echoscu not found .*install DCMTK \(apt-get install dcmtk\) or set the DCMTK folder/);
      assert.deepEqual(statusLog('echo').at(-1), { fill: 'red', shape: 'ring', text: 'echoscu missing' });
    } finally {
      await rm(empty, { recursive: true });
    }
  });

  it('turns an invalid config into a clear error per message, and keeps the runtime up', async () => {
    await load({ aet: 'THIS_AE_TITLE_IS_TOO_LONG', port: 'x', allowMsgPacs: true });
    const caught = nextMessage<EchoMsg>('caught');
    helper.getNode('echo')?.receive({ payload: 1 } as NodeMessage);
    const msg = await caught;
    assert.match(msg.error?.message ?? '', /calling AE title \(aet\) "THIS_AE_TITLE_IS_TOO_LONG" is 25 characters long; DICOM allows at most 16/);
    assert.match(msg.error?.message ?? '', /port must be a whole number from 1 to 65535/);
    assert.deepEqual(statusLog('echo').at(-1), { fill: 'red', shape: 'ring', text: 'bad PACS settings' });

    // The same node still works when a message supplies valid settings.
    const received = nextMessage<EchoMsg>('out');
    helper.getNode('echo')?.receive({ payload: 1, pacs: { aet: 'NODERED', port: pacs().dicomPort } } as NodeMessage);
    assert.equal((await received).payload.status, 'success');
  });

  it('reads host and port written as ${ENV_VAR} from the environment at deploy, and names a variable that is not set', async () => {
    process.env.PYPX_TEST_HOST = '127.0.0.1';
    process.env.PYPX_TEST_PORT = String(pacs().dicomPort);
    delete process.env.PYPX_TEST_UNSET_AET;
    try {
      await load({ host: '${PYPX_TEST_HOST}', port: '${PYPX_TEST_PORT}' });
      const received = nextMessage<EchoMsg>('out');
      helper.getNode('echo')?.receive({ payload: 1 } as NodeMessage);
      const msg = await received;
      assert.equal(msg.payload.status, 'success');
      assert.match(msg.payload.command, new RegExp(` 127\\.0\\.0\\.1 ${pacs().dicomPort}$`));
      await helper.unload();

      await load({ aet: '${PYPX_TEST_UNSET_AET}' });
      const caught = nextMessage<EchoMsg>('caught');
      helper.getNode('echo')?.receive({ payload: 1 } as NodeMessage);
      assert.match((await caught).error?.message ?? '', /aet is \$\{PYPX_TEST_UNSET_AET\}, but the environment variable PYPX_TEST_UNSET_AET is not set/);
      assert.deepEqual(statusLog('echo').at(-1), { fill: 'red', shape: 'ring', text: 'bad PACS settings' });
    } finally {
      delete process.env.PYPX_TEST_HOST;
      delete process.env.PYPX_TEST_PORT;
    }
  });

  it('lets msg.pacs point one node at another PACS when the config accepts it, and refuses a malformed msg.pacs', async () => {
    await load({ allowMsgPacs: true });
    const refused = nextMessage<EchoMsg>('caught');
    helper.getNode('echo')?.receive({ payload: 1, pacs: { serverPort: await closedPort() } } as NodeMessage);
    assert.match((await refused).error?.message ?? '', /connection refused/);

    const malformed = nextMessage<EchoMsg>('caught');
    helper.getNode('echo')?.receive({ payload: 1, pacs: { hostname: 'elsewhere' } } as NodeMessage);
    assert.match((await malformed).error?.message ?? '', /msg\.pacs has unknown setting hostname/);
  });

  it('refuses any msg.pacs when the config does not accept it (a flow from before the box existed), naming the box', async () => {
    await load();
    const caught = nextMessage<EchoMsg>('caught');
    const answered = nextMessage<EchoMsg>('out');
    helper.getNode('echo')?.receive({ payload: 1, pacs: { port: pacs().dicomPort } } as NodeMessage);
    const msg = await caught;
    assert.match(msg.error?.message ?? '', /msg\.pacs is not accepted by this PACS config: tick "accept msg\.pacs" \(allowMsgPacs\)/);
    assert.equal(msg.payload.command, '', 'nothing ran');
    assert.deepEqual([(await answered).payload.status, (await answered).payload.command], ['error', ''], 'the error result on the output too');
    assert.deepEqual(statusLog('echo').at(-1), { fill: 'red', shape: 'ring', text: 'bad PACS settings' });
  });

  it('stops a running echoscu when the flow is closed', async function () {
    const silent = await startSilentServer();
    try {
      await load({ port: silent.port, timeout: 60 });
      helper.getNode('echo')?.receive({ payload: 1 } as NodeMessage);
      await until('echoscu runs', () => dcmtkDescendants().some((p) => p.command === 'echoscu'), { timeoutMs: 5000 });
      assert.equal(dcmtkDescendants().filter((p) => p.command === 'echoscu').length, 1, 'echoscu should be running');
      await helper.unload();
      assert.deepEqual(dcmtkDescendants(), [], 'echoscu outlived the closed flow');
    } finally {
      await silent.stop();
    }
  });
});

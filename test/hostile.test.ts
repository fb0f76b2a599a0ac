// A message from outside (http in, MQTT) carrying a hostile msg.pacs: across px-echo, px-find, px-move,
// px-send and px-get nothing may run, and every refusal reaches Catch nodes naming the field. The
// px-pacs config points at a folder of stand-in DCMTK tools that record each run: a control message
// shows that anything that did run would be seen, in that record and in the process table.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { writeSampleInstances } from '../testbed/generate';
import { type FlowNode, helper, nextMessage, nodeModules, onTab } from './support/flow';
import { watchCommandLines } from './support/processes';

interface CaughtMsg extends NodeMessage {
  payload: { status: string; command: string };
  error?: { message: string; source?: { id: string } };
}

const TOOLS = ['echoscu', 'findscu', 'movescu', 'storescu', 'getscu'];
/** Each node's input; px-send's is a file set in before(). */
const NODES: Array<{ id: string; tool: string; payload: unknown }> = [
  { id: 'echo', tool: 'echoscu', payload: 1 },
  { id: 'find', tool: 'findscu', payload: {} },
  { id: 'move', tool: 'movescu', payload: { StudyInstanceUID: '1.2.840.113619.2.1' } },
  { id: 'send', tool: 'storescu', payload: '' },
  { id: 'get', tool: 'getscu', payload: { StudyInstanceUID: '1.2.840.113619.2.1' } },
];

describe('a hostile msg.pacs never runs anything, across px-echo, px-find, px-move, px-send and px-get', function () {
  this.timeout(60000);
  let root: string;
  let tools: string;
  let record: string;
  let evil: string;
  let evilDir: string;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'pypx-hostile-'));
    tools = path.join(root, 'dcmtk');
    evilDir = path.join(root, 'uploaded');
    record = path.join(root, 'ran.log');
    evil = path.join(evilDir, 'payload.sh');
    await mkdir(tools);
    await mkdir(evilDir);
    // Each stand-in records its name and arguments, lives long enough to be seen, and fails.
    const standIn = `#!/bin/sh\necho "$0 $*" >> '${record}'\nsleep 0.3\nexit 1\n`;
    for (const file of [...TOOLS.map((t) => path.join(tools, t)), ...TOOLS.map((t) => path.join(evilDir, t)), evil]) {
      await writeFile(file, standIn);
      await chmod(file, 0o755);
    }
    // A real instance: px-send offers only files whose meta group names their SOP class and transfer syntax.
    const [sample] = await writeSampleInstances(path.join(root, 'instance'), { patients: [{ id: 'HOSTILE1', name: 'Hostile^One', charset: '' }], seriesPerStudy: 1, instancesPerSeries: 1, seed: 'hostile' });
    const instance = path.join(root, 'instance', `${sample?.sopInstanceUID}.dcm`);
    (NODES.find((n) => n.id === 'send') as { payload: unknown }).payload = instance;
  });
  after(() => rm(root, { recursive: true, force: true }));
  beforeEach(() => rm(record, { force: true }));
  afterEach(() => helper.unload());

  /** What left the nodes' outputs: every node answers every input there, failures included (the node contract). */
  const outputs: Array<{ node: string; msg: CaughtMsg }> = [];

  /** The nodes on one px-pacs; its DCMTK is the stand-ins unless `realDcmtk`. */
  async function load(allowMsgPacs: boolean | undefined, realDcmtk = false): Promise<void> {
    // With the real tools, AE titles no other test uses mark this test's command lines in the process table.
    const config: FlowNode = realDcmtk
      ? { id: 'pacs', type: 'px-pacs', aet: 'PXHOSTILE', aec: 'PXHOSTILEPACS', host: '127.0.0.1', port: 4242, aetl: '', timeout: 2, dcmtkDir: '' }
      : { id: 'pacs', type: 'px-pacs', aet: 'NODERED', aec: 'ORTHANC', host: '127.0.0.1', port: 4242, aetl: '', timeout: 2, dcmtkDir: tools };
    if (allowMsgPacs !== undefined) config.allowMsgPacs = allowMsgPacs;
    await helper.load(nodeModules('px-pacs', 'px-echo', 'px-find', 'px-move', 'px-send', 'px-get'), onTab([
      config,
      { id: 'echo', type: 'px-echo', pacs: 'pacs', wires: [['out']] },
      { id: 'find', type: 'px-find', pacs: 'pacs', level: 'SERIES', query: '{}', returnTags: '', split: false, limit: 0, wires: [['out']] },
      { id: 'move', type: 'px-move', pacs: 'pacs', destination: '', wires: [['out']] },
      { id: 'send', type: 'px-send', pacs: 'pacs', retries: 0, wires: [['sent']] },
      { id: 'get', type: 'px-get', pacs: 'pacs', dataDir: path.join(root, 'got'), wires: [['out'], ['out']] },
      { id: 'out', type: 'helper' },
      { id: 'sent', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]));
    outputs.length = 0;
    for (const node of ['out', 'sent']) helper.getNode(node)?.on('input', (msg: unknown) => outputs.push({ node, msg: msg as CaughtMsg }));
  }

  /** Sends msg.pacs to each node; returns what Catch received from each, and what ran: seen in the process table, and recorded. */
  async function attack(pacs: unknown, marker = root): Promise<{ caught: CaughtMsg[]; ran: string[]; inTable: string[]; recorded: string[] }> {
    outputs.length = 0;
    const watch = watchCommandLines((line) => line.includes(marker) && !line.includes('mocha'));
    const caught: CaughtMsg[] = [];
    for (const { id, payload } of NODES) {
      const next = nextMessage<CaughtMsg>('caught', 15000);
      helper.getNode(id)?.receive({ payload, pacs } as NodeMessage);
      const msg = await next;
      assert.equal(msg.error?.source?.id, id, JSON.stringify(msg.error));
      caught.push(msg);
    }
    // Each Catch message comes from the node's done(err), its last act for the input: anything it ran for
    // the input ran before, and the watch's last look is after.
    const inTable = await watch.stop();
    const recorded = existsSync(record) ? readFileSync(record, 'utf8').split('\n').filter(Boolean) : [];
    return { caught, ran: [...inTable, ...recorded], inTable, recorded };
  }

  it('sees a run when one happens: a valid msg.pacs on a config that accepts it reaches the (stand-in) tools', async () => {
    await load(true);
    const { caught, inTable, recorded } = await attack({ port: 104 });
    assert.equal(caught.length, NODES.length);
    for (const tool of TOOLS) {
      assert.ok(inTable.some((line) => line.includes(`/${tool} `) && / 104( |$)/.test(line)), `${tool} was not seen in the process table: ${inTable.join(' | ')}`);
      assert.ok(recorded.some((line) => line.includes(`/${tool} `) && / 104( |$)/.test(line)), `${tool} did not record its run: ${recorded.join(' | ')}`);
    }
  });

  it('refuses any msg.pacs on a config without "accept msg.pacs" (absent, as in older flows, or unticked)', async () => {
    for (const allow of [undefined, false]) {
      await load(allow);
      const { caught, ran } = await attack({ port: 104 });
      assert.deepEqual(outputs.map((o) => [o.msg.payload.status, o.msg.payload.command]), NODES.map(() => ['error', '']), 'one error answer per node, from before any spawn');
      for (const msg of caught) {
        assert.match(msg.error?.message ?? '', /msg\.pacs is not accepted by this PACS config: tick "accept msg\.pacs" \(allowMsgPacs\)/);
        assert.equal(msg.payload.command, '', 'the error came before any spawn');
      }
      assert.deepEqual(ran, []);
      await helper.unload();
    }
  });

  const hostile: Array<[string, Record<string, unknown>, RegExp]> = [
    ['executable', { executable: '' }, /msg\.pacs cannot set executable: a message chooses where to connect/],
    ['dcmtkDir', { dcmtkDir: '' }, /msg\.pacs cannot set dcmtkDir/],
    ['tls', { tls: false }, /msg\.pacs cannot set tls\b/],
    ['tlsCa', { tlsCa: '/etc/passwd' }, /msg\.pacs cannot set tlsCa/],
    ['host --help', { host: '--help' }, /host "--help" starts with "-", which DCMTK would read as an option/],
    ['host -d', { host: '-d' }, /host "-d" starts with "-"/],
    ['host +tls', { host: '+tls' }, /host "\+tls" starts with "\+"/],
    ['host with a space', { host: '127.0.0.1 -od /tmp' }, /host "127\.0\.0\.1 -od \/tmp" is not a host name, an IPv4 or an IPv6 address/],
    ['server_ip -d', { server_ip: '-d' }, /host "-d" starts with "-"/],
    ['aet', { aet: '-d' }, /calling AE title \(aet\) "-d" starts with "-"/],
    ['aec', { aec: '+tls' }, /called AE title \(aec\) "\+tls" starts with "\+"/],
    ['aetl', { aetl: '--help' }, /move destination AE title \(aetl\) "--help" starts with "-"/],
    ['port -1', { port: '-1' }, /port must be a whole number from 1 to 65535, not string "-1"/],
    ['port +tls', { port: '+tls' }, /port must be a whole number from 1 to 65535, not string "\+tls"/],
    ['port 0', { port: 0 }, /port must be a whole number from 1 to 65535, not number 0/],
    ['port 65536', { port: 65536 }, /port must be a whole number from 1 to 65535/],
    ['port 104.5', { port: 104.5 }, /port must be a whole number from 1 to 65535/],
    ['timeout', { timeout: '-to' }, /timeout must be a number of seconds above 0/],
  ];
  it('refuses each hostile key and option-like value, naming the field, before anything runs', async () => {
    await load(true);
    for (const [what, pacs, message] of hostile) {
      if ('executable' in pacs) pacs.executable = evil;
      if ('dcmtkDir' in pacs) pacs.dcmtkDir = evilDir;
      const { caught, ran } = await attack(pacs);
      assert.deepEqual(outputs.map((o) => [o.msg.payload.status, o.msg.payload.command]), NODES.map(() => ['error', '']), `${what}: one error answer per node, from before any spawn`);
      for (const msg of caught) {
        assert.match(msg.error?.message ?? '', message, `${what}: ${msg.error?.message}`);
        assert.equal(msg.payload.status, 'error');
        assert.equal(msg.payload.command, '', `${what}: the error came before any spawn`);
      }
      assert.deepEqual(ran, [], `${what}: something ran`);
    }
  });

  it('runs no real DCMTK tool either: the process table never shows the AE titles of this test', async () => {
    await load(true, true);
    for (const [what, pacs] of hostile.filter(([w]) => /host|aet|aec|port/.test(w))) {
      const { caught, inTable } = await attack(pacs, 'PXHOSTILE');
      assert.equal(caught.length, NODES.length);
      assert.deepEqual(inTable, [], `${what}: a DCMTK tool ran`);
    }
  });
});

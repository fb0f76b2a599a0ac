import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { validatePacsSettings } from '../lib/core/settings';
import { type SampleInstance, writeSampleInstances } from '../testbed/generate';
import { freePort, type RunningOrthanc, startOrthanc } from '../testbed/orthanc';
import { dcmtkSpy } from './support/dcmtk-spy';
import { helper, nextMessage, nodeModules, sendFlow, statusLog } from './support/flow';
import { startSilentServer, useOrthanc } from './support/pacs';
import { startReceiver } from './support/receiver';
import { transcode } from './support/transcode';
import type { SendPayload } from '../lib/ops/send/types';
import { collectSendFiles } from '../lib/ops/send/files';
import { runSend } from '../lib/ops/send';
import { until } from './support/until';

interface SendMsg extends NodeMessage {
  payload: SendPayload;
  error?: { message: string };
}

/** SOP Instance UIDs Orthanc holds, over its REST API. */
async function uidsInPacs(pacs: RunningOrthanc): Promise<string[]> {
  const instances = await pacs.get<Array<{ MainDicomTags: { SOPInstanceUID: string } }>>('/instances?expand');
  return instances.map((i) => i.MainDicomTags.SOPInstanceUID).sort();
}

/** Every process on the machine whose command line names this text. */
function processesNaming(text: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(text) && !line.includes('ps -eo'));
}

describe('px-send node against Orthanc', () => {
  const pacs = useOrthanc({ extra: { UnknownSopClassAccepted: false } });
  let dir = '';
  let plain: SampleInstance[] = [];
  let mixed = '';
  beforeEach(async () => {
    const response = await fetch(`${pacs().url}/instances`);
    for (const id of (await response.json()) as string[]) await fetch(`${pacs().url}/instances/${id}`, { method: 'DELETE' });
  });
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-send-test-'));
    plain = await writeSampleInstances(path.join(dir, 'plain'), { patients: [{ id: 'SEND1', name: 'Send^One', charset: '' }], seriesPerStudy: 2, instancesPerSeries: 4, seed: 'send', imageSize: 32 });
    mixed = path.join(dir, 'mixed');
    const source = await writeSampleInstances(path.join(dir, 'source'), { patients: [{ id: 'SEND2', name: 'Send^Two', charset: '' }], seriesPerStudy: 1, instancesPerSeries: 6, seed: 'send-mixed', imageSize: 32 });
    execFileSync('mkdir', ['-p', path.join(mixed, 'sub')]);
    const syntaxes = ['deflated', 'jpeg-lossless', 'jpeg-ls', 'rle', 'jpeg2000'] as const;
    source.forEach((instance, i) => {
      const from = path.join(dir, 'source', `${instance.sopInstanceUID}.dcm`);
      const syntax = syntaxes[i];
      if (syntax) transcode(from, path.join(mixed, i % 2 ? 'sub' : '', `${i}-${syntax}.dcm`), syntax);
      else execFileSync('cp', [from, path.join(mixed, `${i}-plain.dcm`)]);
    });
    execFileSync('sh', ['-c', `echo '[SERIES]' > '${path.join(mixed, 'series.info')}'`]);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await helper.unload();
  });

  function load(config: Record<string, unknown> = {}, node: Record<string, unknown> = {}) {
    return helper.load(nodeModules('px-pacs', 'px-send'), sendFlow({ id: 'pacs', type: 'px-pacs', aet: 'SENDER', aec: pacs().aet, host: '127.0.0.1', port: pacs().dicomPort, timeout: 5, ...config }, node));
  }

  it('sends a folder of mixed transfer syntaxes, each as it is, and every instance arrives', async () => {
    await load();
    const out = nextMessage<SendMsg>('out');
    helper.getNode('send')?.receive({ payload: mixed, topic: 'kept' } as NodeMessage);
    const msg = await out;
    assert.equal(msg.payload.status, 'success', JSON.stringify(msg.payload.data));
    assert.deepEqual(Object.keys(msg.payload).sort(), ['command', 'data', 'failed', 'sent', 'status', 'warning']);
    assert.deepEqual([msg.payload.sent, msg.payload.failed, msg.payload.warning, msg.payload.data], [6, 0, 0, []]);
    assert.equal(msg.topic, 'kept');
    const expected = execFileSync('sh', ['-c', `for f in $(find '${mixed}' -name '*.dcm'); do dcmdump +P SOPInstanceUID "$f"; done`], { encoding: 'utf8' })
      .split('\n').filter(Boolean).map((line) => /\[(.*)\]/.exec(line)?.[1] ?? line).sort();
    assert.equal(expected.length, 6);
    assert.deepEqual(await uidsInPacs(pacs()), expected);
    const stored = await pacs().get<string[]>('/instances');
    const syntaxes = await Promise.all(stored.map((id) => pacs().get<Record<string, string>>(`/instances/${id}/metadata?expand`).then((m) => m.TransferSyntax)));
    // JPEG 2000 cannot be decompressed here: it arrived because it was offered in its own syntax.
    assert.ok(syntaxes.includes('1.2.840.10008.1.2.4.90'), `the JPEG 2000 file arrived as JPEG 2000: ${syntaxes.join(', ')}`);
    assert.deepEqual(statusLog('send').at(-1), { fill: 'green', shape: 'dot', text: '6 sent' });
  });

  it('routes px-listen payloads from either output and arrays of paths', async () => {
    await load();
    const files = plain.map((p) => path.join(dir, 'plain', `${p.sopInstanceUID}.dcm`));
    const series = nextMessage<SendMsg>('out');
    helper.getNode('send')?.receive({ payload: { status: 'success', data: { path: path.join(dir, 'plain'), files: files.slice(0, 3), count: 3 } } } as NodeMessage);
    assert.deepEqual([(await series).payload.status, (await series).payload.sent], ['success', 3]);
    const instance = nextMessage<SendMsg>('out');
    helper.getNode('send')?.receive({ payload: { status: 'success', data: { path: files[3], SOPInstanceUID: plain[3]?.sopInstanceUID } } } as NodeMessage);
    assert.equal((await instance).payload.sent, 1);
    const array = nextMessage<SendMsg>('out');
    helper.getNode('send')?.receive({ payload: files.slice(4) } as NodeMessage);
    assert.equal((await array).payload.sent, 4);
    assert.deepEqual(await uidsInPacs(pacs()), plain.map((p) => p.sopInstanceUID).sort());
  });

  it('falls back to uncompressed where the receiver refuses a lossless syntax; a JPEG 2000 file it cannot take fails alone', async () => {
    const receiver = await startReceiver({ aet: 'PLAIN' });
    try {
      await load({ aec: 'PLAIN', port: receiver.port });
      const out = nextMessage<SendMsg>('out');
      const caught = nextMessage<SendMsg>('caught');
      helper.getNode('send')?.receive({ payload: mixed } as NodeMessage);
      const msg = await out;
      assert.equal(msg.payload.status, 'error');
      assert.deepEqual([msg.payload.sent, msg.payload.failed], [5, 1]);
      assert.equal(msg.payload.data.length, 1);
      assert.match(msg.payload.data[0]?.file ?? '', /jpeg2000\.dcm$/);
      assert.match(msg.payload.data[0]?.reason ?? '', /no presentation context for CTImageStorage in JPEG 2000/);
      assert.equal((await receiver.received()).length, 5);
      assert.match(msg.payload.command, /^storescu .*<6 files>\ndcmsend .*<4 files>$/, 'storescu sent the uncompressed and deflated files, dcmsend decompressed the rest');
      assert.match((await caught).error?.message ?? '', /^storescu and dcmsend: 5 of 6 files sent, 1 failed/);
      assert.deepEqual(statusLog('send').at(-1), { fill: 'red', shape: 'ring', text: '5/6 sent: 1/6 failed' });
    } finally {
      await receiver.stop();
    }
  });

  describe('to an Orthanc that accepts only uncompressed transfer syntaxes', () => {
    const plainOnly = useOrthanc({ aet: 'PLAINONLY', extra: { AcceptedTransferSyntaxes: ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1'] } });

    it('what storescu cannot decompress arrives through the dcmsend pass, uncompressed; JPEG 2000, which neither can, fails alone', async () => {
      await load({ aec: plainOnly().aet, port: plainOnly().dicomPort });
      const out = nextMessage<SendMsg>('out');
      helper.getNode('send')?.receive({ payload: mixed } as NodeMessage);
      const msg = await out;
      assert.deepEqual([msg.payload.status, msg.payload.sent, msg.payload.failed], ['error', 5, 1], JSON.stringify(msg.payload.data));
      assert.match(msg.payload.data[0]?.file ?? '', /jpeg2000\.dcm$/);
      assert.match(msg.payload.data[0]?.reason ?? '', /PLAINONLY at 127\.0\.0\.1:\d+ accepts no presentation context for CTImageStorage in JPEG 2000/);
      const [first, second, ...more] = msg.payload.command.split('\n');
      assert.deepEqual([/^storescu /.test(first ?? ''), /^dcmsend .*<4 files>$/.test(second ?? ''), more], [true, true, []], msg.payload.command);
      const expected = execFileSync('sh', ['-c', `for f in $(find '${mixed}' -name '*.dcm' ! -name '*jpeg2000*'); do dcmdump +P SOPInstanceUID "$f"; done`], { encoding: 'utf8' })
        .split('\n').filter(Boolean).map((line) => /\[(.*)\]/.exec(line)?.[1] ?? line).sort();
      assert.equal(expected.length, 5);
      assert.deepEqual(await uidsInPacs(plainOnly()), expected);
      const stored = await plainOnly().get<string[]>('/instances');
      const syntaxes = await Promise.all(stored.map((id) => plainOnly().get<Record<string, string>>(`/instances/${id}/metadata?expand`).then((m) => m.TransferSyntax)));
      assert.deepEqual([...new Set(syntaxes)], ['1.2.840.10008.1.2.1'], 'all stored uncompressed');
      assert.deepEqual(statusLog('send').at(-1), { fill: 'red', shape: 'ring', text: '5/6 sent: 1/6 failed' });
    });

    it('when dcmsend cannot run, what storescu stored counts as sent and the rest fails once each, saying why', async () => {
      const tools = await mkdtemp(path.join(os.tmpdir(), 'pypx-no-dcmsend-'));
      // An Orthanc of its own, empty: what it holds afterwards is what this send stored.
      const pacs = await startOrthanc({ aet: 'NODCMSEND', extra: { AcceptedTransferSyntaxes: ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1'] } });
      try {
        await symlink(execFileSync('sh', ['-c', 'command -v storescu'], { encoding: 'utf8' }).trim(), path.join(tools, 'storescu'));
        const list = await collectSendFiles(mixed);
        const settings = validatePacsSettings({ aet: 'PXSEND', aec: pacs.aet, host: '127.0.0.1', port: pacs.dicomPort, timeout: 10, dcmtkDir: tools });
        const { payload } = await runSend(settings, list);
        const stored = (await uidsInPacs(pacs)).length;
        assert.ok(stored >= 1, 'storescu stored the uncompressed file');
        assert.deepEqual([payload.sent + payload.warning, payload.failed], [stored, list.files.length - stored], JSON.stringify(payload.data));
        assert.equal(new Set(payload.data.map((f) => f.file)).size, payload.data.length, 'each file once');
        assert.ok(payload.data.some((f) => /not sent: dcmsend not found/.test(f.reason)), JSON.stringify(payload.data));
      } finally {
        await pacs.stop();
        await rm(tools, { recursive: true, force: true });
      }
    });
  });

  it('a SOP class the PACS refuses fails that file alone', async () => {
    const odd = path.join(dir, 'odd.dcm');
    const first = path.join(dir, 'plain', `${plain[0]?.sopInstanceUID}.dcm`);
    execFileSync('cp', [first, odd]);
    execFileSync('dcmodify', ['-nb', '-m', '(0008,0016)=1.2.826.0.1.3680043.2.1143.999.1', '-gin', odd], { stdio: 'ignore' });
    await load();
    const out = nextMessage<SendMsg>('out');
    helper.getNode('send')?.receive({ payload: [odd, path.join(dir, 'plain')] } as NodeMessage);
    const msg = await out;
    assert.deepEqual([msg.payload.status, msg.payload.sent, msg.payload.failed], ['error', 8, 1]);
    assert.equal(msg.payload.data[0]?.file, odd);
    assert.match(msg.payload.data[0]?.reason ?? '', /accepts no presentation context/);
    assert.equal((await uidsInPacs(pacs())).length, 8);
    // Alone, its association has no context the PACS accepts: still its refusal, and not retried.
    await helper.unload();
    await load({}, { retries: 2 });
    const alone = nextMessage<SendMsg>('out');
    helper.getNode('send')?.receive({ payload: odd } as NodeMessage);
    const { payload } = await alone;
    assert.deepEqual([payload.status, payload.sent, payload.failed, payload.command.split('\n').length], ['error', 0, 1, 1]);
    assert.match(payload.data[0]?.reason ?? '', /accepts no presentation context for SOP class 1\.2\.826\.0\.1\.3680043\.2\.1143\.999\.1 in uncompressed/);
  });

  it('PACS down: one error answer naming the refusal, and nothing retried without retries', async () => {
    const port = await freePort();
    await load({ port });
    const out = nextMessage<SendMsg>('out');
    const caught = nextMessage<SendMsg>('caught');
    helper.getNode('send')?.receive({ payload: path.join(dir, 'plain') } as NodeMessage);
    const msg = await out;
    assert.deepEqual([msg.payload.status, msg.payload.sent, msg.payload.failed], ['error', 0, 8]);
    assert.match(msg.payload.data[0]?.reason ?? '', /connection refused/);
    assert.match((await caught).error?.message ?? '', /connection refused by 127\.0\.0\.1/);
    assert.equal(msg.payload.command.split('\n').length, 1, 'one attempt');
  });

  it('PACS down with retries: sends once it is back', async () => {
    const port = await freePort();
    const spy = await dcmtkSpy();
    try {
      await load({ port, dcmtkDir: spy.dir }, { retries: 5 });
      const out = nextMessage<SendMsg>('out', 60000);
      helper.getNode('send')?.receive({ payload: path.join(dir, 'plain') } as NodeMessage);
      // The PACS comes up once a first attempt has been refused.
      await until('a first attempt has failed', () => spy.ended().some((run) => run.code !== 0), { describe: () => spy.ended() });
      const late = await startOrthanc({ dicomPort: port, aet: pacs().aet });
      try {
        const msg = await out;
        assert.deepEqual([msg.payload.status, msg.payload.sent, msg.payload.failed], ['success', 8, 0], JSON.stringify(msg.payload.data));
        assert.ok(msg.payload.command.split('\n').length >= 2, 'sent again after the refusal');
        assert.equal((await uidsInPacs(late)).length, 8);
      } finally {
        await late.stop();
      }
    } finally {
      await spy.remove();
    }
  });

  it('an empty input is answered with one success and counts of 0', async () => {
    await load();
    const out = nextMessage<SendMsg>('out');
    helper.getNode('send')?.receive({ payload: [] } as NodeMessage);
    const msg = await out;
    assert.deepEqual([msg.payload.status, msg.payload.sent, msg.payload.failed, msg.payload.warning], ['success', 0, 0, 0]);
  });

  it('bad input fails before anything is sent, and a path is never read as an option', async () => {
    await load();
    const answered = nextMessage<SendMsg>('out');
    const caught = nextMessage<SendMsg>('caught');
    helper.getNode('send')?.receive({ payload: [42] } as NodeMessage);
    assert.match((await caught).error?.message ?? '', /payload\[0\]: must be a file or folder path/);
    assert.deepEqual([(await answered).payload.status, (await answered).payload.sent], ['error', 0], 'one answer on the output too');
    const out = nextMessage<SendMsg>('out');
    helper.getNode('send')?.receive({ payload: '-aec' } as NodeMessage);
    const msg = await out;
    assert.deepEqual([msg.payload.failed, msg.payload.data[0]?.reason], [1, 'no such file or folder']);
  });

  it('waits its turn in the PACS config\'s queue, shared with the other nodes using it', async () => {
    const silent = await startSilentServer();
    try {
      await load({ port: silent.port, aet: 'QUEUED', timeout: 30, concurrency: 1 });
      const queue = (helper.getNode('pacs') as unknown as { queue: { waiting: number; active: number } }).queue;
      helper.getNode('send')?.receive({ payload: path.join(dir, 'plain') } as NodeMessage);
      helper.getNode('send')?.receive({ payload: path.join(dir, 'plain') } as NodeMessage);
      await until('a send runs while the other waits in the queue', () => processesNaming('-aet QUEUED').length > 0 && queue.waiting === 1,
        { timeoutMs: 5000, describe: () => ({ processes: processesNaming('-aet QUEUED'), waiting: queue.waiting, active: queue.active }) });
      // The second send waits in the queue, and the first holds its one place: nothing else can start.
      assert.equal(queue.active, 1);
      assert.equal(processesNaming('-aet QUEUED').length, 1, 'one association at a time');
    } finally {
      await helper.unload();
      await silent.stop();
    }
  });

  it('leaves no storescu running once the node is closed, anywhere in the process table', async () => {
    const silent = await startSilentServer();
    try {
      await load({ port: silent.port, aet: 'LEAKCHECK', timeout: 30 });
      helper.getNode('send')?.receive({ payload: path.join(dir, 'plain') } as NodeMessage);
      await until('storescu runs', () => processesNaming('-aet LEAKCHECK').length > 0, { timeoutMs: 5000 });
      assert.equal(processesNaming('-aet LEAKCHECK').filter((line) => line.includes('storescu')).length, 1, 'storescu runs');
      await helper.unload();
      assert.deepEqual(processesNaming('-aet LEAKCHECK'), []);
    } finally {
      await silent.stop();
    }
  });
});

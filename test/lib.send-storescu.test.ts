// px-send's storescu pass as DICOM over TLS takes it, run here without TLS: giving `tls` (no arguments)
// leaves out the dcmsend pass, which has no TLS. The same files, profiles and failures as over TLS,
// only the transport differs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { associationProfile, contextsFor, groupsWithinContexts } from '../lib/ops/send/storescu';
import { writeSampleInstances } from '../testbed/generate';
import { freePort, startOrthanc } from '../testbed/orthanc';
import { dcmtkSpy } from './support/dcmtk-spy';
import { useOrthanc } from './support/pacs';
import { startReceiver } from './support/receiver';
import { transcode } from './support/transcode';
import { collectSendFiles } from '../lib/ops/send/files';
import { StorescuLogReader } from '../lib/ops/send/storescu-log';
import { runSend } from '../lib/ops/send';
import { until } from './support/until';

const NO_TLS = { args: [] };

describe('px-send over storescu as over TLS (no dcmsend pass), against Orthanc and storescp', function () {
  this.timeout(60000);
  const pacs = useOrthanc();
  let dir = '';
  let uids: string[] = [];
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-storescu-'));
    const sample = await writeSampleInstances(path.join(dir, 'source'), { patients: [{ id: 'SCU1', name: 'Scu^One', charset: '' }], seriesPerStudy: 1, instancesPerSeries: 4, seed: 'storescu', imageSize: 32 });
    uids = sample.map((s) => s.sopInstanceUID).sort();
    const folder = path.join(dir, 'mixed');
    execFileSync('mkdir', ['-p', folder]);
    (['jpeg-ls', 'rle', 'jpeg2000'] as const).forEach((syntax, i) => transcode(path.join(dir, 'source', `${sample[i]?.sopInstanceUID}.dcm`), path.join(folder, `${i}.dcm`), syntax));
    execFileSync('cp', [path.join(dir, 'source', `${sample[3]?.sopInstanceUID}.dcm`), path.join(folder, '3.dcm')]);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const settings = (port: number, aec = 'ORTHANC') => ({ aet: 'SCU', aec, host: '127.0.0.1', port, timeout: 5 });

  it('offers each file in its own transfer syntax: all arrive as they are', async () => {
    const outcome = await runSend(settings(pacs().dicomPort), await collectSendFiles(path.join(dir, 'mixed')), { tls: NO_TLS });
    assert.deepEqual([outcome.payload.status, outcome.payload.sent, outcome.payload.failed], ['success', 4, 0], JSON.stringify(outcome.payload.data));
    assert.match(outcome.payload.command, /^storescu -lc \S+ -nh -xf \S+ Send .* <4 files>$/);
    const held = await pacs().get<Array<{ MainDicomTags: { SOPInstanceUID: string } }>>('/instances?expand');
    assert.deepEqual(held.map((i) => i.MainDicomTags.SOPInstanceUID).sort(), uids);
  });

  it('a compressed file the receiver takes only uncompressed fails alone, saying storescu cannot decompress it', async () => {
    const receiver = await startReceiver({ aet: 'PLAIN' });
    try {
      const outcome = await runSend(settings(receiver.port, 'PLAIN'), await collectSendFiles(path.join(dir, 'mixed')), { tls: NO_TLS });
      assert.deepEqual([outcome.payload.status, outcome.payload.sent, outcome.payload.failed], ['error', 1, 3]);
      for (const failure of outcome.payload.data) assert.match(failure.reason, /PLAIN at 127\.0\.0\.1:\d+ took it only in Little Endian Explicit, and storescu cannot decompress (JPEG-LS|RLE|JPEG 2000)/);
      assert.equal(outcome.payload.command.split('\n').length, 1, 'storescu alone: no dcmsend over TLS');
      assert.equal((await receiver.received()).length, 1);
    } finally {
      await receiver.stop();
    }
  });

  it('sends again after the connection is refused, with retries', async () => {
    const port = await freePort();
    const spy = await dcmtkSpy();
    try {
      const sending = runSend({ ...settings(port), dcmtkDir: spy.dir }, await collectSendFiles(path.join(dir, 'mixed')), { tls: NO_TLS, retries: 5, retryDelayMs: 500 });
      // The PACS comes up once a first attempt has been refused.
      await until('a first attempt has failed', () => spy.ended().some((run) => run.code !== 0), { describe: () => spy.ended() });
      const late = await startOrthanc({ dicomPort: port });
      try {
        const outcome = await sending;
        assert.deepEqual([outcome.payload.status, outcome.payload.sent], ['success', 4], JSON.stringify(outcome.payload.data));
        assert.ok(outcome.payload.command.split('\n').length >= 2, 'more than one attempt');
      } finally {
        await late.stop();
      }
    } finally {
      await spy.remove();
    }
  });

  it('a PACS that aborts the association: nothing counted stored; with retries the file it aborted on goes again alone, the rest in an association of their own; then each fails with the abort', async () => {
    const receiver = await startReceiver({ aet: 'ABORTS', abortAfter: true });
    try {
      const outcome = await runSend(settings(receiver.port, 'ABORTS'), await collectSendFiles(path.join(dir, 'source')), { tls: NO_TLS, retries: 1, retryDelayMs: 100 });
      assert.deepEqual([outcome.payload.status, outcome.payload.sent, outcome.payload.failed], ['error', 0, 4]);
      const commands = outcome.payload.command.split('\n');
      assert.deepEqual(commands.map((c) => /<(\d+) files?>$/.exec(c)?.[1]), ['4', '1', '3'], outcome.payload.command);
      for (const failure of outcome.payload.data) assert.match(failure.reason, /^ABORTS at 127\.0\.0\.1:\d+ aborted the association while files were being sent to it \(or the connection was lost\)/);
    } finally {
      await receiver.stop();
    }
  });

  it('knows each file by its place in what storescu was given: a newline in a name, or a line the log config drops, cannot shift the count', () => {
    const files = ['/in/a\nb.dcm', '/in/Sending Store Request.dcm', '/in/c.dcm', '/in/d.dcm'];
    const reader = new StorescuLogReader('PACS at h:1', () => undefined, files);
    // storescu prints the first name over two lines; the second file's "Sending file" line contains a text the
    // log config drops; c.dcm is refused; d.dcm goes through.
    for (const line of ['I: Sending file: /in/a', 'b.dcm', 'I: Sending file: /in/c.dcm', 'I: Received Store Response (Refused: OutOfResources)', 'I: Sending file: /in/d.dcm', 'I: Releasing Association']) reader.read(line);
    assert.deepEqual([...reader.outcomes.keys()], ['/in/a\nb.dcm', '/in/c.dcm', '/in/d.dcm']);
    assert.deepEqual([...reader.outcomes.values()].map((o) => o.kind), ['sent', 'failed', 'sent']);
  });

  it('reads storescu\'s lines: stored when it goes on, lost with the association, refused, or left for dcmsend', () => {
    const done: number[] = [];
    const reader = new StorescuLogReader('PACS at h:1', () => done.push(1));
    [
      'I: Association Accepted (Max Send PDV: 16372)',
      'I: Sending file: /a.dcm',
      'I: Sending file: /b.dcm',
      'W: DIMSE Warning: (X,PACS): sendMessage: unable to convert dataset from \'JPEG-LS Lossless\' transfer syntax to \'Little Endian Explicit\'',
      'E: Store Failed, file: /b.dcm:',
      'E: 0006:020e DIMSE Failed to send message',
      'I: Sending file: /c.dcm',
      'I: Received Store Response (Refused: Out of Resources)',
      'I: Sending file: /d.dcm',
      'E: No SOP Class or Instance UID in file: /d.dcm',
      'I: Sending file: /e.dcm',
      'E: Store Failed, file: /e.dcm:',
      'E: 0006:0317 Peer aborted Association (or never connected)',
      'I: Sending file: /f.dcm',
      'E: Store Failed, file: /f.dcm:',
      'E: 0006:020e DIMSE Failed to send message',
      'I: Releasing Association',
    ].forEach((line) => reader.read(line));
    const seen = Object.fromEntries([...reader.outcomes].map(([file, o]) => [file, 'failure' in o ? `${o.kind}: ${o.failure.reason}` : o.kind]));
    assert.deepEqual(seen, {
      '/a.dcm': 'sent',
      '/b.dcm': 'uncompressed-only: PACS at h:1 took it only in Little Endian Explicit, and storescu cannot decompress JPEG-LS Lossless',
      '/c.dcm': 'failed: PACS at h:1 refused to store it: C-STORE status "Refused: Out of Resources"',
      '/d.dcm': 'failed: storescu could not send it (No SOP Class or Instance UID in file: /d.dcm)',
    });
    assert.equal(done.length, 3, 'a file left for dcmsend is not done yet; those lost with the association are for sending again');
    assert.equal(reader.associationLost, true);
  });

  it('proposes each SOP class in each file\'s own syntax and uncompressed, in a profile DCMTK reads', () => {
    const contexts = contextsFor([
      { file: 'a', sopClass: '1.2.840.10008.5.1.4.1.1.2', transferSyntax: '1.2.840.10008.1.2.4.80' },
      { file: 'b', sopClass: '1.2.840.10008.5.1.4.1.1.2', transferSyntax: '1.2.840.10008.1.2.1' },
      { file: 'c', sopClass: '1.2.840.10008.5.1.4.1.1.4', transferSyntax: '1.2.840.10008.1.2.4.80' },
    ]);
    assert.deepEqual(contexts.map(([sop, ts]) => `${sop.split('.').pop()}:${ts.join('+')}`), [
      '2:1.2.840.10008.1.2.4.80', '2:1.2.840.10008.1.2.1+1.2.840.10008.1.2', '4:1.2.840.10008.1.2.4.80', '4:1.2.840.10008.1.2.1+1.2.840.10008.1.2',
    ]);
    assert.match(associationProfile(contexts), /\[\[Profiles\]\]\n\[Send\]\nPresentationContexts = Send\n/);
  });

  it('splits files into associations of at most 128 presentation contexts, keeping their order', () => {
    const files = Array.from({ length: 150 }, (_, i) => ({ file: `f${i}`, sopClass: `1.2.3.${i % 70}`, transferSyntax: i < 70 ? '1.2.840.10008.1.2.1' : '1.2.840.10008.1.2.4.80' }));
    const groups = groupsWithinContexts(files);
    assert.ok(groups.length > 1, 'more than one association');
    assert.deepEqual(groups.flat().map((f) => f.file), files.map((f) => f.file));
    for (const group of groups) assert.ok(contextsFor(group).length <= 128, `${contextsFor(group).length} contexts`);
  });
});

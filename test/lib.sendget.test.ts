// The parsers and builders behind px-send and px-get, on DCMTK's own words.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildGetArgs, GetLogReader } from '../lib/ops/get/getscu';
import { validatePacsSettings } from '../lib/core/settings';
import { writeSampleInstances } from '../testbed/generate';
import { runGet } from '../lib/ops/get';
import { collectSendFiles } from '../lib/ops/send/files';
import { buildSendArgs, parseSendReport, verdictOf } from '../lib/ops/send/dcmsend';
import { StorescuLogReader, storeStatusCode } from '../lib/ops/send/storescu-log';
import { runSend } from '../lib/ops/send';

const settings = { aet: 'US', aec: 'PACS', host: '127.0.0.1', port: 104, timeout: 5 };

const REPORT = `Number        : 1
Filename      : /data/a.dcm
SOP Instance  : 1.2.3
SOP Class     : 1.2.840.10008.5.1.4.1.1.2 = CTImageStorage
Original Xfer : 1.2.840.10008.1.2.4.90 = JPEG 2000 (Lossless only)
Association   : 1
Network Xfer  : 1.2.840.10008.1.2.4.90 = JPEG 2000 (Lossless only)
DIMSE Status  : <no acceptable presentation context>

Number        : 2
Filename      : /data/b.dcm
SOP Class     : 1.2.840.10008.5.1.4.1.1.4 = MRImageStorage
Original Xfer : 1.2.840.10008.1.2.1 = Little Endian Explicit
DIMSE Status  : 0xA700 (Refused: Out of Resources)

Number        : 3
Filename      : /data/c.dcm
SOP Class     : 1.2.840.10008.5.1.4.1.1.4 = MRImageStorage
Original Xfer : 1.2.840.10008.1.2.1 = Little Endian Explicit
DIMSE Status  : 0xB000 (Warning: Coercion of Data Elements)

Number        : 4
Filename      : /data/d.dcm
SOP Class     : 1.2.840.10008.5.1.4.1.1.4 = MRImageStorage
Original Xfer : 1.2.840.10008.1.2.1 = Little Endian Explicit
DIMSE Status  : 0x0000 (Success)
`;

describe('px-send and px-get: parsers and builders', () => {
  it('reads each file of dcmsend\'s report and says why one failed in DICOM words', () => {
    const entries = parseSendReport(REPORT);
    assert.deepEqual(entries.map((e) => e.file), ['/data/a.dcm', '/data/b.dcm', '/data/c.dcm', '/data/d.dcm']);
    const verdicts = entries.map((e) => verdictOf(e, 'PACS at h:1'));
    assert.deepEqual(verdicts.map((v) => v.kind), ['failed', 'failed', 'warning', 'sent']);
    const [j2k, refused] = verdicts as Array<{ kind: 'failed'; failure: { reason: string; status?: string } }>;
    assert.match(j2k?.failure.reason ?? '', /PACS at h:1 accepts no presentation context for CTImageStorage in JPEG 2000 \(Lossless only\) nor, where that compression is lossless, uncompressed/);
    assert.equal(refused?.failure.status, '0xa700');
    assert.match(refused?.failure.reason ?? '', /refused to store it: C-STORE status "Refused: Out of Resources" \(0xa700\)/);
  });

  it('puts no path where dcmsend reads options: every file is absolute', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-args-'));
    try {
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        const list = await collectSendFiles(['-aec', '+tls', '--help']);
        assert.deepEqual(list.missing.map((m) => m.file), [path.join(dir, '-aec'), path.join(dir, '+tls'), path.join(dir, '--help')]);
      } finally {
        process.chdir(cwd);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const args = buildSendArgs(settings, '/tmp/r.txt');
    assert.deepEqual(args.slice(-6), ['-aec', 'PACS', '-aet', 'US', '127.0.0.1', '104']);
    assert.deepEqual(args.slice(0, 4), ['-v', '-nh', '+crf', '/tmp/r.txt']);
  });

  it('reads each file\'s SOP class and transfer syntax from its meta group; a file without them fails alone, before anything runs', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-meta-'));
    try {
      const [sample] = await writeSampleInstances(path.join(dir, 'good'), { patients: [{ id: 'META1', name: 'Meta^One', charset: '' }], seriesPerStudy: 1, instancesPerSeries: 1, seed: 'meta' });
      const good = path.join(dir, 'good', `${sample?.sopInstanceUID}.dcm`);
      const element = (tag: number, vr: string, value: string) => {
        const head = Buffer.alloc(8);
        head.writeUInt16LE(0x0002, 0);
        head.writeUInt16LE(tag, 2);
        head.write(vr, 4, 'latin1');
        head.writeUInt16LE(value.length, 6);
        return Buffer.concat([head, Buffer.from(value, 'latin1')]);
      };
      const part10 = (...elements: Buffer[]) => Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), ...elements]);
      await writeFile(path.join(dir, 'text.dcm'), 'not DICOM at all');
      await writeFile(path.join(dir, 'no-syntax.dcm'), part10(element(0x0002, 'UI', '1.2.840.10008.5.1.4.1.1.2\0')));
      // A UID that would write a second line into storescu's association profile.
      await writeFile(path.join(dir, 'hostile.dcm'), part10(element(0x0002, 'UI', '1.2\n[[Profiles]]'), element(0x0010, 'UI', '1.2.840.10008.1.2.1\0')));
      const list = await collectSendFiles([good, path.join(dir, 'text.dcm'), path.join(dir, 'no-syntax.dcm'), path.join(dir, 'hostile.dcm')]);
      assert.deepEqual(list.meta?.get(good), { kind: 'dicom', sopClass: '1.2.840.10008.5.1.4.1.1.2', transferSyntax: '1.2.840.10008.1.2.1' });
      const outcome = await runSend(validatePacsSettings(settings), { ...list, files: list.files.slice(1) });
      assert.equal(outcome.payload.command, '', 'no tool ran for files it could not offer');
      assert.deepEqual(outcome.payload.data.map((f) => [path.basename(f.file), f.reason]), [
        ['text.dcm', 'not a readable DICOM file: no DICOM Part 10 header ("DICM" after the 128-byte preamble)'],
        ['no-syntax.dcm', 'not a DICOM file with a meta header naming its SOP class and transfer syntax'],
        ['hostile.dcm', 'its meta header names no valid UID as SOP class or transfer syntax: "1.2\\n[[Profiles]] 1.2.840.10008.1.2.1"'],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('builds getscu\'s command: -v for a whole retrieve, -d with a preference for a list of instances', () => {
    assert.deepEqual(buildGetArgs(settings, { level: 'SERIES', StudyInstanceUID: '1.2', SeriesInstanceUID: '1.2.3' }, '/tmp/in').filter((a) => !/^\d+$|timeout/.test(a)),
      ['-v', '-S', '-od', '/tmp/in', '-k', 'QueryRetrieveLevel=SERIES', '-k', 'StudyInstanceUID=1.2', '-k', 'SeriesInstanceUID=1.2.3', '-aec', 'PACS', '-aet', 'US', '127.0.0.1']);
    assert.deepEqual(buildGetArgs(settings, { level: 'IMAGE', SOPInstanceUID: '1.2\\1.3' }, '/tmp/in', '+xv', true).slice(0, 3), ['-d', '-S', '+xv']);
  });

  it('reads getscu -v: each answered C-STORE, and the final status with its counts', () => {
    let answered = 0;
    const reader = new GetLogReader({ stored: () => undefined, answered: () => answered++, progress: () => undefined });
    for (const line of [
      'I: Sending C-GET Request (MsgID 1)', 'I: Received C-STORE Request (MsgID 1)', 'I: Sending C-STORE Response (Success)',
      'I: Received C-GET Response (Pending)', 'I: Received C-STORE Request (MsgID 2)', 'I: Sending C-STORE Response (Success)',
      'I: Received C-GET Response (Failed: UnableToProcess)', 'E: DIMSE status is: Failed: UnableToProcess',
      'I: Final status report from last C-GET message:', 'I:   Number of Remaining Suboperations : 0', 'I:   Number of Completed Suboperations : 2',
      'I:   Number of Failed Suboperations    : 1', 'I:   Number of Warning Suboperations   : 0',
    ]) reader.read(line);
    assert.equal(answered, 2);
    assert.deepEqual(reader.final, { text: 'Failed: UnableToProcess', completed: 2, failed: 1, warning: 0 });
    assert.equal(reader.statusName, 'Failed: UnableToProcess');
  });

  it('reads getscu -d: the files it stored, the failed UID list and the final response code', () => {
    const stored: string[] = [];
    const reader = new GetLogReader({ stored: (f) => stored.push(f), answered: () => undefined, progress: () => undefined });
    for (const line of [
      'D: Message Type                  : C-STORE RSP', 'D: DIMSE Status                  : 0x0000: Success',
      'D: Stored instance to disk:', 'D:   Filename: /tmp/in/CT.1.2.3',
      'D: Message Type                  : C-GET RSP', 'D: Remaining Suboperations       : none', 'D: Completed Suboperations       : 1',
      'D: Failed Suboperations          : 1', 'D: Warning Suboperations         : 0', 'D: DIMSE Status                  : 0xc000: Failed: Unable to process',
      'D: (0008,0058) UI [1.2.4]                                  #   6, 1 FailedSOPInstanceUIDList',
    ]) reader.read(line);
    assert.deepEqual(stored, ['/tmp/in/CT.1.2.3']);
    assert.deepEqual(reader.failedUids, ['1.2.4']);
    assert.deepEqual(reader.final, { text: 'Failed: Unable to process', code: 0xc000, completed: 1, failed: 1, warning: 0 });
  });

  it('refuses a C-GET to a PACS configured for TLS at once: getscu has no TLS', async () => {
    const outcome = await runGet({ ...settings, tls: true } as typeof settings, { level: 'STUDY', StudyInstanceUID: '1.2.3' }, { dataDir: os.tmpdir() });
    assert.equal(outcome.result.status, 'error');
    assert.equal(outcome.error?.reason, 'no C-GET over TLS');
    assert.match(outcome.error?.message ?? '', /getscu has no TLS: the C-GET was not sent, so nothing went to the PACS in clear/);
    assert.equal(outcome.result.command, '');
  });

  it('never waits on what is not a regular file: a FIFO given (no writer: opening it would block Node-RED) or found in a folder, and a dangling link, each fail alone', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-send-fifo-'));
    try {
      await mkdir(path.join(dir, 'folder'));
      execFileSync('mkfifo', [path.join(dir, 'pipe'), path.join(dir, 'folder', 'pipe2')]);
      await symlink(path.join(dir, 'gone.dcm'), path.join(dir, 'folder', 'dangling.dcm'));
      await symlink(path.join(dir, 'pipe'), path.join(dir, 'folder', 'to-pipe.dcm'));
      const list = await collectSendFiles([path.join(dir, 'pipe'), path.join(dir, 'folder')]);
      assert.deepEqual(list.files, []);
      assert.deepEqual(list.missing.map((m) => [path.relative(dir, m.file), m.reason]), [
        ['pipe', 'cannot read it: not a regular file (a FIFO, socket or device)'],
        ['folder/dangling.dcm', 'no such file or folder'],
        ['folder/to-pipe.dcm', 'cannot read it: not a regular file (a FIFO, socket or device)'],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads storescu\'s C-STORE statuses: a warning code DCMTK does not name is a warning, a refusal keeps its code', () => {
    assert.deepEqual(['Unknown Status: 0x1', 'Unknown Status: 0xB123', 'Refused: OutOfResources', 'Refused: SOPClassNotSupported', 'Error: CannotUnderstand'].map(storeStatusCode), ['0x0001', '0xb123', '0xa7xx', '0x0122', '0xcxxx']);
    const reader = new StorescuLogReader('PACS at 127.0.0.1:104', () => undefined);
    for (const line of ['I: Sending file: /a.dcm', 'I: Received Store Response (Unknown Status: 0x1)', 'I: Sending file: /b.dcm', 'I: Received Store Response (Refused: OutOfResources)', 'I: Sending file: /c.dcm', 'I: Releasing Association']) reader.read(line);
    assert.deepEqual([...reader.outcomes], [
      ['/a.dcm', { kind: 'warning' }],
      ['/b.dcm', { kind: 'failed', failure: { file: '/b.dcm', reason: 'PACS at 127.0.0.1:104 refused to store it: C-STORE status "Refused: OutOfResources"', status: '0xa7xx' } }],
      ['/c.dcm', { kind: 'sent' }],
    ]);
  });

  it('answers a send whose working folder cannot be made (no space, no temp folder) with an error, not a throw', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-send-tmp-'));
    const saved = process.env.TMPDIR;
    try {
      await writeSampleInstances(dir, { instancesPerSeries: 1, seriesPerStudy: 1, seed: 'send-no-tmp' });
      const list = await collectSendFiles(dir);
      const notAFolder = path.join(dir, 'not-a-folder');
      await writeFile(notAFolder, '');
      process.env.TMPDIR = notAFolder;
      const outcome = await runSend(validatePacsSettings(settings), list);
      assert.equal(outcome.payload.status, 'error');
      assert.deepEqual([outcome.payload.sent, outcome.payload.failed, outcome.payload.data.length], [0, list.files.length, list.files.length]);
      assert.match(outcome.error?.message ?? '', /^storescu: 0 of \d+ files sent, \d+ failed to PACS at 127\.0\.0\.1:104; first: .*: not sent: .*ENOTDIR/);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// px-listen when its announcement journal cannot be written (disk full): nothing escapes the timers
// it is written from, the batch waits in tmpDir instead of being filed unjournalled, and the listener
// reports it through its error path.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PacsError } from '../lib/core/errors';
import type { AnnouncementJournal } from '../lib/ops/listen/announcements';
import { Filer } from '../lib/ops/listen/filer';
import { Listener } from '../lib/ops/listen/listener';
import { writeSampleInstances } from '../testbed/generate';
import type { InstancePayload } from '../lib/filing/file-instance';

const diskFull = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

describe('px-listen: an announcement journal that cannot be written', () => {
  let dir = '';
  const escaped: unknown[] = [];
  const onEscape = (err: unknown) => escaped.push(err);
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-journal-faults-'));
    escaped.length = 0;
    process.on('uncaughtException', onEscape);
  });
  afterEach(async () => {
    process.off('uncaughtException', onEscape);
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves the batch in tmpDir, says so, and files it once the journal can be written again', async () => {
    const tmpDir = path.join(dir, 'tmp');
    const dataDir = path.join(dir, 'data');
    const sample = await writeSampleInstances(tmpDir, { instancesPerSeries: 2, seriesPerStudy: 1, seed: 'journal-full' });
    await mkdir(dataDir);
    let full = true;
    let seq = 0;
    const journal = {
      record: (batch: Array<{ seq?: number }>) => {
        if (full) throw diskFull();
        for (const a of batch) a.seq = ++seq;
      },
      forget: () => undefined,
    } as unknown as AnnouncementJournal;
    const failures: Array<{ message: string; folder?: string }> = [];
    const filed: InstancePayload[] = [];
    const filer = new Filer({ dataDir, calledAET: 'FULL', knownDirs: new Set(), knownInfo: new Set() }, tmpDir, journal, {
      filed: (payload) => filed.push(payload),
      malformed: () => assert.fail('not malformed'),
      failed: (message) => failures.push({ message }),
      cannotWrite: (folder, _words, message) => failures.push({ message, folder }),
      batchDone: () => undefined,
      log: () => undefined,
    });
    const files = sample.map((s) => path.join(tmpDir, `${s.sopInstanceUID}.dcm`));
    for (const file of files) filer.add({ file, calledAET: 'FULL', check: false, abandoned: false });
    await filer.drained();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(escaped, [], 'nothing escaped to the process');
    assert.equal(failures.length, 1, JSON.stringify(failures));
    assert.match(failures[0]?.message ?? '', /cannot write the announcement journal .*ENOSPC/);
    assert.equal(failures[0]?.folder, tmpDir, 'waits for tmpDir to be writable');
    assert.equal(filed.length, 0, 'nothing filed without its journal line');
    for (const file of files) assert.ok(existsSync(file), `${file} waits in tmpDir`);

    full = false;
    filer.retryParked();
    await filer.drained();
    assert.deepEqual(filed.map((p) => p.SOPInstanceUID).sort(), sample.map((s) => s.sopInstanceUID).sort());
  });

  it('reports a confirmation it cannot write as the listener\'s error, and keeps going', async () => {
    const listener = new Listener({ aet: 'FULL', port: 1, dataDir: path.join(dir, 'data'), seriesTimeout: 60, confirmByCaller: true });
    (listener as unknown as { journal: AnnouncementJournal }).journal.confirm = () => {
      throw diskFull();
    };
    const errors: PacsError[] = [];
    listener.on('error', (err: PacsError) => errors.push(err));
    listener.confirmAnnounced(1);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(escaped, []);
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? '', /cannot write the announcement journal .*ENOSPC/);
  });
});

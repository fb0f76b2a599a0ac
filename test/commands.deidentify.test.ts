// px-deidentify as a user runs it: its JSON result and exit codes 0 (every file written), 1 (some failed
// or were refused), 2 (bad usage); the key never printed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deidentify } from '../lib';
import { writeSampleInstances } from '../testbed/generate';

const COMMAND = path.resolve(__dirname, '../bin/px-deidentify.js');
const SECRET = 'correct horse battery staple';

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [COMMAND, ...args], (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }));
  });
}

describe('px-deidentify', function () {
  this.timeout(60000);
  let work: string;
  let key: string;
  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'pypx-deid-cmd-'));
    key = path.join(work, 'key');
    writeFileSync(key, `${SECRET}\n`);
    await writeSampleInstances(path.join(work, 'in'), { seriesPerStudy: 1, instancesPerSeries: 2 });
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('de-identifies a folder, prints the result and exits 0; the same key as a module key gives the same UIDs', async () => {
    const { code, stdout, stderr } = await run(['--keyFile', key, '-o', path.join(work, 'out'), path.join(work, 'in')]);
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout) as { status: string; deidentified: number; failed: number; refused: number; data: { instances: Array<{ SOPInstanceUID: string; path: string }> } };
    assert.deepEqual([result.status, result.deidentified, result.failed, result.refused], ['success', 20, 0, 0]);
    assert.ok(!stdout.includes(SECRET) && !stderr.includes(SECRET));
    const again = await deidentify(path.join(work, 'in'), { key: SECRET, outDir: path.join(work, 'module') });
    assert.deepEqual(again.data.instances.map((i) => i.SOPInstanceUID), result.data.instances.map((i) => i.SOPInstanceUID));
  });

  it('exits 1 when a file fails, naming it, and still writes the others', async () => {
    writeFileSync(path.join(work, 'broken.dcm'), 'not DICOM at all');
    const { code, stdout, stderr } = await run(['--keyFile', key, '--outDir', path.join(work, 'out1'), path.join(work, 'in'), path.join(work, 'broken.dcm')]);
    assert.equal(code, 1);
    const result = JSON.parse(stdout) as { status: string; deidentified: number; failed: number; data: { failures: Array<{ input: string }> } };
    assert.deepEqual([result.status, result.deidentified, result.failed], ['error', 20, 1]);
    assert.equal(result.data.failures[0]?.input, path.join(work, 'broken.dcm'));
    assert.match(stderr, /1 failed, 0 refused/);
  });

  it('exits 2 without a key file, with an empty one, without -o or without inputs', async () => {
    writeFileSync(path.join(work, 'empty.key'), '\n');
    for (const [args, message] of [
      [['-o', work, work], /--keyFile is required/],
      [['--keyFile', path.join(work, 'empty.key'), '-o', work, work], /is empty/],
      [['--keyFile', path.join(work, 'missing.key'), '-o', work, work], /cannot read the key file/],
      [['--keyFile', key, work], /-o \(the output folder\) is required/],
      [['--keyFile', key, '-o', work], /give the files or folders/],
    ] as Array<[string[], RegExp]>) {
      const { code, stderr } = await run(args);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, message);
    }
  });
});

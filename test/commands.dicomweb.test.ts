// The commands and the module API against a DICOMweb service: --url and the credentials, url and credentials keys.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { echo, find, get, move, send } from '../lib';
import { generateSampleInstances, SAMPLE_PATIENTS, writeSampleInstances } from '../testbed/generate';
import { useOrthanc } from './support/pacs';

const BIN = path.resolve(__dirname, '..', 'bin');

function px(command: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(BIN, `${command}.js`), ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('pypx commands and module over DICOMweb', function () {
  this.timeout(60000);
  const pacs = useOrthanc({ dicomweb: true, users: { chips: 'pa ss' }, defaultEncoding: 'Utf8' });
  before(async () => {
    await pacs().upload([...generateSampleInstances({ patients: SAMPLE_PATIENTS.slice(2, 5), seed: 'commands-web' })].map((i) => i.bytes));
  });
  const url = () => pacs().dicomwebUrl as string;

  it('px-find --url --user with the password from $PYPX_PASSWORD finds over QIDO-RS and prints pypx\'s result', async () => {
    const ran = await px('px-find', ['--url', url(), '--user', 'chips', '--level', 'STUDY', '--PatientName', 'Ya*'], { PYPX_PASSWORD: 'pa ss' });
    assert.equal(ran.code, 0, ran.stderr);
    const result = JSON.parse(ran.stdout) as { status: string; command: string; data: Array<Record<string, { value: string }>> };
    assert.equal(result.status, 'success');
    assert.deepEqual(result.data.map((r) => r.PatientName?.value), ['Yamada^Tarou=山田^太郎=やまだ^たろう']);
    assert.doesNotMatch(ran.stdout, /pa ss/, 'the password is never printed');
  });

  it('px-echo --url with a wrong --password exits 1 and says the credentials were refused', async () => {
    const ran = await px('px-echo', ['--url', url(), '--user', 'chips', '--password', 'wrong']);
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /refused user "chips" and its password \(HTTP 401/);
  });

  it('px-move --url exits 1: DICOMweb has no move', async () => {
    const ran = await px('px-move', ['--url', url(), '--studyUID', '1.2.3']);
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /DICOMweb has no move/);
  });

  it('find(), echo() and move() take protocol, url, user and password beside the query keys', async () => {
    const settings = { protocol: 'dicomweb', url: url(), user: 'chips', password: 'pa ss' };
    const found = await find({ ...settings, PatientID: 'PX0004' });
    assert.equal(found.status, 'success');
    assert.deepEqual((found.data as Array<Record<string, { value: string }>>).map((r) => r.PatientName?.value), ['Παπαδόπουλος^Γιώργος', 'Παπαδόπουλος^Γιώργος']);
    assert.equal((await echo(settings)).status, 'success');
    const moved = await move({ ...settings, StudyInstanceUID: '1.2.3' });
    assert.equal(moved.status, 'error');
    assert.match(moved.data, /DICOMweb has no move/);
  });

  it('px-get --url files a series and px-send --url sends a folder; get() and send() do the same from a script', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'pypx-commands-web-'));
    try {
      const written = await writeSampleInstances(path.join(work, 'out'), { patients: SAMPLE_PATIENTS.slice(0, 1), seriesPerStudy: 1, instancesPerSeries: 3, seed: 'commands-web-send' });
      const credentials = ['--url', url(), '--user', 'chips', '--password', 'pa ss'];
      const sent = await px('px-send', [...credentials, path.join(work, 'out')]);
      assert.equal(sent.code, 0, sent.stderr);
      assert.deepEqual((({ status, sent: n, failed }) => ({ status, n, failed }))(JSON.parse(sent.stdout) as { status: string; sent: number; failed: number }), { status: 'success', n: 3, failed: 0 });
      const first = written[0] as { studyInstanceUID: string; seriesInstanceUID: string };
      const got = await px('px-get', [...credentials, '-d', path.join(work, 'in'), '--seriesUID', first.seriesInstanceUID]);
      assert.equal(got.code, 0, got.stderr);
      assert.equal((JSON.parse(got.stdout) as { completed: number }).completed, 3);
      const settings = { protocol: 'dicomweb', url: url(), user: 'chips', password: 'pa ss' };
      const again = await get({ ...settings, StudyInstanceUID: first.studyInstanceUID }, { dataDir: path.join(work, 'module') });
      assert.deepEqual([again.status, again.completed], ['success', 3]);
      assert.ok(readdirSync(path.join(work, 'module')).some((name) => name.startsWith('PX0001-')));
      const resent = await send(settings, path.join(work, 'out'));
      assert.deepEqual([resent.status, resent.sent], ['success', 3]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

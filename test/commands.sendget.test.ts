// px-send and px-get as commands and as module calls, run as a user runs them.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { get, send } from '../lib/index';
import { writeSampleInstances, type SampleInstance } from '../testbed/generate';
import { closedPort, startSilentServer, useOrthanc } from './support/pacs';
import { until } from './support/until';

/** Every process on the machine whose command line names this text. */
function processesNaming(text: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(text) && !line.includes('ps -eo'));
}

const BIN = path.resolve(__dirname, '..', 'bin');

function px(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(BIN, `${command}.js`), ...args], (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('px-send and px-get: commands and module calls', function () {
  this.timeout(60000);
  const pacs = useOrthanc({ extra: { DicomAlwaysAllowGet: true } });
  let dir = '';
  let sample: SampleInstance[] = [];
  const connection = () => ['--aet', 'CHIPS', '--aec', pacs().aet, '--serverIP', '127.0.0.1', '--serverPort', String(pacs().dicomPort)];
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-sendget-cli-'));
    sample = await writeSampleInstances(path.join(dir, 'files'), { seed: 'sendget-cli', patients: [{ id: 'CLI1', name: 'Cli^One', charset: '' }], seriesPerStudy: 2, instancesPerSeries: 2 });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('px-send sends a folder, prints pypx\'s dict with counts and exits 0', async () => {
    const ran = await px('px-send', [...connection(), path.join(dir, 'files')]);
    assert.equal(ran.code, 0, ran.stderr);
    const result = JSON.parse(ran.stdout);
    assert.deepEqual([result.status, result.sent, result.failed, result.data], ['success', 4, 0, []]);
    assert.match(result.command, /^storescu -lc \S+ -nh -xf \S+ Send .*-aec ORTHANC -aet CHIPS 127\.0\.0\.1 \d+ <4 files>$/);
    const held = await pacs().get<string[]>('/instances');
    assert.equal(held.length, 4);
  });

  it('px-send exits 1 naming the file that failed, and 2 on bad usage', async () => {
    const one = path.join(dir, 'files', `${sample[0]?.sopInstanceUID}.dcm`);
    const ran = await px('px-send', [...connection(), one, path.join(dir, 'missing.dcm')]);
    assert.equal(ran.code, 1);
    const result = JSON.parse(ran.stdout);
    assert.deepEqual([result.status, result.sent, result.failed, result.data[0].file], ['error', 1, 1, path.join(dir, 'missing.dcm')]);
    assert.match(ran.stderr, /px-send: storescu: 1 of 2 files sent, 1 failed/);
    const usage = await px('px-send', connection());
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /give the files or folders to send/);
    const help = await px('px-send', ['--help']);
    assert.match(help.stdout, /^usage: px-send \[options\] FILE\|DIR\.\.\./);
  });

  it('px-get -d DATADIR retrieves a series into pypx\'s layout and exits 0; 1 when the PACS is down', async () => {
    const data = path.join(dir, 'got');
    const ran = await px('px-get', [...connection(), '-d', data, '--studyUID', sample[0]?.studyInstanceUID as string, '--seriesUID', sample[0]?.seriesInstanceUID as string]);
    assert.equal(ran.code, 0, ran.stderr);
    const result = JSON.parse(ran.stdout);
    assert.deepEqual([result.status, result.completed, result.failed], ['success', 2, 0]);
    assert.match(result.command, /getscu .*-k QueryRetrieveLevel=SERIES/);
    const down = await px('px-get', ['--aec', 'ORTHANC', '--serverIP', '127.0.0.1', '--serverPort', String(await closedPort()), '-d', data, '--studyUID', '1.2.3']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /px-get: getscu: connection refused/);
    const usage = await px('px-get', [...connection(), '--studyUID', '1.2.3']);
    assert.equal(usage.code, 2);
  });

  it('px-get takes --seriesTimeout as px-listen does, and refuses one that is no number of seconds', async () => {
    const help = await px('px-get', ['--help']);
    assert.match(help.stdout, /--seriesTimeout SECONDS +seconds without a new instance, once they have begun to come, before the retrieve is stopped as stalled \(default 10\)/);
    const bad = await px('px-get', [...connection(), '-d', path.join(dir, 'never'), '--seriesTimeout', '0', '--studyUID', '1.2.3']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--seriesTimeout: the series timeout must be a number of seconds above 0, not "0"/);
  });

  it('send() and get() take pypx\'s settings dicts', async () => {
    const settings = { aet: 'CHIPS', aec: pacs().aet, server_ip: '127.0.0.1', server_port: String(pacs().dicomPort) };
    const sent = await send(settings, [path.join(dir, 'files')]);
    assert.deepEqual([sent.status, sent.sent], ['success', 4]);
    const data = path.join(dir, 'module');
    const paths: string[] = [];
    const got = await get({ ...settings, StudyInstanceUID: sample[0]?.studyInstanceUID }, { dataDir: data, onInstance: (i) => paths.push(i.path) });
    assert.deepEqual([got.status, got.completed, got.failed, got.warning], ['success', 4, 0, 0]);
    assert.equal(paths.length, 4);
    assert.ok(paths.every((p) => existsSync(p) && p.startsWith(path.resolve(data))));
    const empty = await send(settings, []);
    assert.deepEqual([empty.status, empty.sent, empty.failed], ['success', 0, 0]);
  });

  for (const [command, tool] of [['px-send', 'storescu'], ['px-get', 'getscu']] as const) {
    it(`${tool} ends when ${command} is killed (SIGKILL), as when Node-RED is: nothing left in the process table`, async () => {
      const silent = await startSilentServer();
      const marker = `KILLED${tool.toUpperCase().slice(0, 6)}`;
      const args = ['--aet', marker, '--aec', 'ORTHANC', '--serverIP', '127.0.0.1', '--serverPort', String(silent.port), '--timeout', '60',
        ...(command === 'px-send' ? [path.join(dir, 'files')] : ['-d', path.join(dir, 'killed'), '--studyUID', '1.2.3'])];
      const child = spawn(process.execPath, [path.join(BIN, `${command}.js`), ...args], { stdio: 'ignore' });
      try {
        await until(`${tool} runs`, () => processesNaming(`-aet ${marker}`).some((line) => line.includes(tool)), { timeoutMs: 5000 });
        assert.equal(processesNaming(`-aet ${marker}`).filter((line) => line.includes(tool)).length, 1, `${tool} runs`);
        child.kill('SIGKILL');
        await until(`${tool} ends with ${command}`, () => processesNaming(`-aet ${marker}`).length === 0, { timeoutMs: 2000, describe: () => processesNaming(`-aet ${marker}`) });
      } finally {
        child.kill('SIGKILL');
        await silent.stop();
      }
    });
  }
});

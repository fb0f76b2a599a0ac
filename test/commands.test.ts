// pypx's command-line tools, run as a user runs them: a child process, JSON on stdout, an exit code.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateSampleInstances, SAMPLE_PATIENTS } from '../testbed/generate';
import { freePort } from '../testbed/orthanc';
import { closedPort, useOrthanc } from './support/pacs';
import { startReceiver } from './support/receiver';
import { dcmtkDescendants } from './support/processes';
import { until } from './support/until';

const BIN = path.resolve(__dirname, '..', 'bin');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function px(command: string, args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(BIN, `${command}.js`), ...args], { env: { ...process.env, TCP_NODELAY: '1' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs a command whose reader has gone away, as in `px-find ... | head`: the read end of its stdout
 * is closed before it writes. `meanwhile` runs while it does (px-listen writes only when sent something).
 */
function pxIntoClosedPipe(command: string, args: string[], meanwhile?: (stderr: () => string) => Promise<void>): Promise<Ran & { signal: string | null }> {
  const child = spawn(process.execPath, [path.join(BIN, `${command}.js`), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TCP_NODELAY: '1' } });
  child.stdout?.destroy();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Ran & { signal: string | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout: '', stderr })),
  );
  return (meanwhile ? meanwhile(() => stderr) : Promise.resolve()).then(() => exited, async (err: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw err;
  });
}

function assertNoStackTrace(ran: Ran): void {
  assert.doesNotMatch(ran.stderr, /\n\s+at /, `a stack trace reached the user:\n${ran.stderr}`);
}

describe('pypx commands: px-echo, px-find, px-move, px-listen', function () {
  this.timeout(60000);
  const pacs = useOrthanc({ defaultEncoding: 'Utf8', modalities: { receiver: ['RECEIVER', '127.0.0.1', 104], chips: ['CHIPS', '127.0.0.1', 104] } });
  const instances = [...generateSampleInstances({ seed: 'commands', seriesPerStudy: 2, instancesPerSeries: 3 })];
  const connection = () => ['--aet', 'CHIPS', '--aec', pacs().aet, '--serverIP', '127.0.0.1', '--serverPort', String(pacs().dicomPort)];

  before(async () => {
    await pacs().upload(instances.map((i) => i.bytes));
  });

  it('px-echo prints pypx\'s success dict and exits 0, as in pypx\'s README', async () => {
    const ran = await px('px-echo', connection());
    assert.equal(ran.code, 0, ran.stderr);
    const result = JSON.parse(ran.stdout) as { status: string; command: string; data: string };
    assert.deepEqual({ status: result.status, data: result.data }, { status: 'success', data: '' });
    assert.match(result.command, /echoscu .*-aec ORTHANC -aet CHIPS 127\.0\.0\.1 \d+$/);
  });

  it('px-echo exits 1 with pypx\'s error dict when the PACS is down, and says why on stderr', async () => {
    const ran = await px('px-echo', ['--aec', 'ORTHANC', '--serverIP', '127.0.0.1', '--serverPort', String(await closedPort())]);
    assert.equal(ran.code, 1);
    assert.equal(JSON.parse(ran.stdout).status, 'error');
    assert.match(ran.stderr, /px-echo: echoscu: connection refused by 127\.0\.0\.1:\d+/);
    assertNoStackTrace(ran);
  });

  it('every command exits 2 with a one-line message on bad usage, and 0 on --help', async () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['px-echo', ['--aec', 'ORTHANC', '--serverIP', 'h', '--bogus', 'x'], /unknown option --bogus/],
      ['px-echo', ['--serverIP', '127.0.0.1'], /--aec is required/],
      ['px-echo', ['--aec', 'ORTHANC', '--serverIP', 'h', '--serverPort', 'http'], /port must be a whole number/],
      ['px-find', [...connection(), '--PatientNam', 'x'], /unknown option --PatientNam: not a flag of px-find, nor a DICOM keyword/],
      ['px-find', [...connection(), '--level', 'STUDIES'], /QueryRetrieveLevel must be one of PATIENT, STUDY, SERIES, IMAGE/],
      ['px-move', connection(), /give --studyUID, --seriesUID or --instanceUID/],
      ['px-move', [...connection(), '--seriesUID', '1.2.03'], /SeriesInstanceUID "1\.2\.03" is not a DICOM UID/],
      ['px-listen', ['--port', '11113'], /-d \(the data folder\) is required/],
      ['px-listen', ['-d', '/tmp/x', '--port', '70000'], /port must be a whole number from 1 to 65535/],
    ];
    for (const [command, args, message] of cases) {
      const ran = await px(command, args);
      assert.equal(ran.code, 2, `${command} ${args.join(' ')}: ${ran.stderr}`);
      assert.match(ran.stderr, message);
      assert.match(ran.stderr, new RegExp(`^${command}: .*\\(see ${command} --help\\)\\n$`));
      assert.equal(ran.stdout, '');
    }
    for (const command of ['px-echo', 'px-find', 'px-move', 'px-listen']) {
      const ran = await px(command, ['--help']);
      assert.equal(ran.code, 0);
      assert.match(ran.stdout, new RegExp(`^usage: ${command} \\[options\\]`));
      assert.match(ran.stdout, /--aet/);
      if (command === 'px-listen') {
        assert.match(ran.stdout, /^  -d, --dataDir DIR .*\n  -t, --tmpDir DIR .*\n  -l, --logDir DIR /m, 'pypx spells its letters with one dash');
        assert.doesNotMatch(ran.stdout, /--[dtl] /);
      }
    }
  });

  it('px-find takes pypx\'s --patientID and prints records of {tag, value, label}, non-Latin names exact', async () => {
    const patient = SAMPLE_PATIENTS.find((p) => p.charset === 'ISO_IR 144');
    const ran = await px('px-find', [...connection(), '--patientID', patient!.id]);
    assert.equal(ran.code, 0, ran.stderr);
    const result = JSON.parse(ran.stdout) as { status: string; command: string; data: Array<Record<string, { tag: string | number; value: string | number; label: string }>> };
    assert.equal(result.status, 'success');
    assert.match(result.command, new RegExp(`-k PatientID=${patient!.id}`));
    const expected = new Set(instances.filter((i) => i.patientID === patient!.id).map((i) => i.seriesInstanceUID));
    assert.deepEqual(new Set(result.data.map((r) => r.SeriesInstanceUID?.value)), expected);
    const record = result.data[0]!;
    assert.deepEqual(record.PatientName, { tag: '0010,0010', value: patient!.name, label: 'PatientName' });
    assert.deepEqual(record.uid, { tag: 0, value: 0, label: 'uid' });
  });

  it('px-find answers status success and an empty list when nothing matches, at any --level', async () => {
    const ran = await px('px-find', [...connection(), '--level', 'STUDY', '--PatientName', 'NOBODY*']);
    assert.equal(ran.code, 0, ran.stderr);
    assert.deepEqual(JSON.parse(ran.stdout).data, []);
  });

  it('px-move moves a series to --aetl and prints the sub-operation counts', async () => {
    const receiver = await startReceiver({ aet: 'RECEIVER' });
    try {
      // The test PACS learns the receiver's port now that it is known.
      await fetch(`${pacs().url}/modalities/receiver`, { method: 'PUT', body: JSON.stringify({ AET: 'RECEIVER', Host: '127.0.0.1', Port: receiver.port }) });
      const series = instances[0]!;
      const ran = await px('px-move', [...connection(), '--aetl', 'RECEIVER', '--seriesUID', series.seriesInstanceUID]);
      assert.equal(ran.code, 0, ran.stderr);
      const result = JSON.parse(ran.stdout) as { status: string; command: string; completed: number; failed: number };
      assert.equal(result.status, 'success');
      assert.equal(result.completed, 3);
      assert.match(result.command, /movescu --move RECEIVER .*-k SeriesInstanceUID=/);
      const expected = instances.filter((i) => i.seriesInstanceUID === series.seriesInstanceUID).map((i) => i.sopInstanceUID).sort();
      assert.deepEqual((await receiver.received()).sort(), expected);

      const unknown = await px('px-move', [...connection(), '--aetl', 'NOBODY', '--seriesUID', series.seriesInstanceUID]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /does not know the destination AE title "NOBODY"/);
      assertNoStackTrace(unknown);
    } finally {
      await receiver.stop();
    }
  });

  it('every command exits quietly when its reader goes away (px-find ... | head)', async () => {
    const runs: Array<[string, string[]]> = [
      ['px-echo', connection()],
      ['px-find', connection()],
      ['px-move', [...connection(), '--aetl', 'NOBODY', '--seriesUID', instances[0]!.seriesInstanceUID]],
      ['px-find', ['--help']],
    ];
    for (const [command, args] of runs) {
      const ran = await pxIntoClosedPipe(command, args);
      assert.equal(ran.stderr.replace(/^px-move: .*does not know the destination AE title "NOBODY".*\n$/, ''), '', `${command} ${args.join(' ')} wrote to stderr`);
      assert.ok(ran.code === 0 || ran.code === 141 || (command === 'px-move' && ran.code === 1), `${command} exited with ${ran.code}`);
    }

    const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-cmd-epipe-'));
    const port = await freePort();
    try {
      const ran = await pxIntoClosedPipe('px-listen', ['--aet', 'CMDLISTEN', '--port', String(port), '-d', path.join(dir, 'data')], async (stderr) => {
        await until('px-listen says it is receiving', () => /receiving as CMDLISTEN/.test(stderr()), { timeoutMs: 10000, describe: stderr });
        const sendDir = path.join(dir, 'send');
        const { mkdir, writeFile } = await import('node:fs/promises');
        await mkdir(sendDir);
        await writeFile(path.join(sendDir, 'one.dcm'), instances[0]!.bytes);
        // Its first line goes nowhere: px-listen stops storescp and exits.
        await new Promise<void>((resolve) => execFile('storescu', ['-aec', 'CMDLISTEN', '-aet', 'SENDER', '127.0.0.1', String(port), path.join(sendDir, 'one.dcm')], () => resolve()));
      });
      assert.equal(ran.code, 0, ran.stderr);
      assert.doesNotMatch(ran.stderr, /EPIPE|\n\s+at /);
      const { execFileSync } = await import('node:child_process');
      const left = execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).split('\n').filter((line) => /storescp/.test(line) && line.includes(dir));
      assert.deepEqual(left, [], 'storescp outlived px-listen');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('px-listen prints one JSON line per instance and per series, files them, and stops storescp on Ctrl-C', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-cmd-listen-'));
    const port = await freePort();
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, [path.join(BIN, 'px-listen.js'), '--aet', 'CMDLISTEN', '--port', String(port), '-d', path.join(dir, 'data'), '-t', path.join(dir, 'tmp'), '--seriesTimeout', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await until('px-listen says it is receiving', () => /receiving as CMDLISTEN on port \d+/.test(stderr), { timeoutMs: 10000, describe: () => stderr });
      const sent = instances.slice(0, 3); // one series
      const sendDir = await mkdtemp(path.join(os.tmpdir(), 'pypx-cmd-send-'));
      const { writeFile } = await import('node:fs/promises');
      for (const instance of sent) await writeFile(path.join(sendDir, `${instance.sopInstanceUID}.dcm`), instance.bytes);
      await new Promise<void>((resolve, reject) =>
        execFile('storescu', ['-aec', 'CMDLISTEN', '-aet', 'SENDER', '+sd', '127.0.0.1', String(port), sendDir], { env: { ...process.env, TCP_NODELAY: '1' } }, (err) => (err ? reject(err) : resolve())),
      );
      await rm(sendDir, { recursive: true });
      await until('px-listen printed 3 instances and their series', () => stdout.trim().split('\n').length >= 4, { timeoutMs: 10000, describe: () => stdout });
      const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { status: string; data: { SOPInstanceUID?: string; count?: number; path: string } });
      const perInstance = lines.filter((l) => l.data.SOPInstanceUID);
      const perSeries = lines.filter((l) => l.data.count !== undefined);
      assert.deepEqual(perInstance.map((l) => l.data.SOPInstanceUID).sort(), sent.map((i) => i.sopInstanceUID).sort());
      assert.equal(perSeries.length, 1);
      assert.equal(perSeries[0]!.data.count, 3);
      assert.ok(perInstance.every((l) => l.status === 'success' && l.data.path.startsWith(path.join(dir, 'data'))));

      const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      assert.equal(await exited, 0);
      assert.deepEqual(dcmtkDescendants(), [], 'storescp outlived px-listen');
    } finally {
      if (child && child.exitCode === null) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// Retrieves from a strictly hierarchical PACS, DCMTK's dcmqrscp: a series or an instance moved or got by
// its own UID alone comes whole, its study's (and series') UIDs found with one C-FIND first; a record of
// px-find needs no C-FIND; a UID the PACS does not hold is an error, never a success with nothing sent.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AssociationQueue } from '../lib/core/queue';
import { validatePacsSettings } from '../lib/core/settings';
import { runFind } from '../lib/ops/find';
import { runGet } from '../lib/ops/get';
import { move, runMove } from '../lib/ops/move';
import { parseMoveRequests } from '../lib/ops/move/request';
import { writeSampleInstances, type SampleInstance } from '../testbed/generate';
import { freePort } from '../testbed/orthanc';
import { type QrScp, startQrScp } from './support/qrscp';
import { type Receiver, startReceiver } from './support/receiver';
import { refusingFindscu } from './support/tools';

describe('lib: retrieves from a strictly hierarchical PACS (dcmqrscp)', function () {
  this.timeout(60000);
  let dir: string;
  let sample: SampleInstance[];
  let qr: QrScp;
  let receiver: Receiver;
  let receiverPort: number;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-hier-'));
    sample = await writeSampleInstances(path.join(dir, 'files'), { patients: [{ id: 'HQ1', name: 'Hier^One', charset: '' }], seriesPerStudy: 2, instancesPerSeries: 2, seed: 'lib-hierarchical' });
    receiverPort = await freePort();
    qr = await startQrScp(sample.map((s) => path.join(dir, 'files', `${s.sopInstanceUID}.dcm`)), [], [{ aet: 'RECEIVER', port: receiverPort }]);
  });
  after(async () => {
    await qr?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    receiver = await startReceiver({ port: receiverPort });
  });
  afterEach(() => receiver.stop());

  const settings = (extra: Record<string, unknown> = {}) =>
    validatePacsSettings({ aet: 'PYPXTEST', aec: qr.aet, host: '127.0.0.1', port: qr.port, timeout: 10, aetl: 'RECEIVER', ...extra });
  const uids = (pick: (s: SampleInstance) => boolean) => sample.filter(pick).map((s) => s.sopInstanceUID).sort();
  const study = () => sample[0]!.studyInstanceUID;
  const series = () => sample[0]!.seriesInstanceUID;
  const instance = () => sample[3]!;

  it('moves a study with no C-FIND first', async () => {
    const outcome = await runMove(settings(), parseMoveRequests({ StudyInstanceUID: study() })[0]!);
    assert.equal(outcome.error, undefined, outcome.error?.message);
    assert.doesNotMatch(outcome.result.command, /findscu/);
    assert.deepEqual(await receiver.received(), uids(() => true));
    assert.equal(outcome.completed, 4);
  });

  it('moves a series given alone: its study\'s UID found with one C-FIND, both command lines in `command`', async () => {
    // The C-FIND takes a turn on the PACS's queue like the move: two associations, one after the other.
    const queue = new AssociationQueue(1);
    const turns: number[] = [];
    queue.on('change', ({ active }: { active: number }) => turns.push(active));
    const outcome = await runMove(settings(), parseMoveRequests({ SeriesInstanceUID: series() })[0]!, { queue });
    assert.equal(outcome.error, undefined, outcome.error?.message);
    assert.deepEqual(turns.filter((active, i) => active === 1 && turns[i - 1] !== 1).length, 2, JSON.stringify(turns));
    const lines = outcome.result.command.split('\n');
    assert.equal(lines.length, 2, outcome.result.command);
    assert.match(lines[0]!, new RegExp(`findscu .*-k QueryRetrieveLevel=SERIES .*-k SeriesInstanceUID=${series()}`));
    assert.match(lines[1]!, new RegExp(`movescu --move RECEIVER .*-k QueryRetrieveLevel=SERIES -k StudyInstanceUID=${study()} -k SeriesInstanceUID=${series()} `));
    assert.deepEqual(outcome.request, { level: 'SERIES', StudyInstanceUID: study(), SeriesInstanceUID: series() });
    assert.deepEqual(await receiver.received(), uids((s) => s.seriesInstanceUID === series()));
    assert.equal(outcome.completed, 2);
  });

  it('moves an instance given alone (module move()), its study and series found first', async () => {
    const { sopInstanceUID, seriesInstanceUID, studyInstanceUID } = instance();
    const output = await move({ aet: 'PYPXTEST', aec: qr.aet, server_ip: '127.0.0.1', server_port: qr.port, aetl: 'RECEIVER', SOPInstanceUID: sopInstanceUID });
    assert.equal(output.status, 'success', String(output.data));
    assert.match(output.command, new RegExp(`^\\S*findscu .*\\n\\S*movescu .*-k QueryRetrieveLevel=IMAGE -k StudyInstanceUID=${studyInstanceUID} -k SeriesInstanceUID=${seriesInstanceUID} -k SOPInstanceUID=${sopInstanceUID} `));
    assert.deepEqual(await receiver.received(), [sopInstanceUID]);
  });

  it('moves what px-find lists with no extra C-FIND: its records carry the study\'s UID', async () => {
    const found = await runFind(settings(), { StudyInstanceUID: study() }, { level: 'SERIES' });
    assert.equal(found.error, undefined, found.error?.message);
    const requests = parseMoveRequests(found.result);
    assert.equal(requests.length, 2);
    for (const request of requests) {
      const outcome = await runMove(settings(), request);
      assert.equal(outcome.error, undefined, outcome.error?.message);
      assert.match(outcome.result.command, /^\S*movescu /);
      assert.doesNotMatch(outcome.result.command, /findscu/);
    }
    assert.deepEqual(await receiver.received(), uids(() => true));
  });

  for (const [what, input, expected] of [
    ['a study', () => ({ StudyInstanceUID: study() }), () => uids(() => true)],
    ['a series given alone', () => ({ SeriesInstanceUID: series() }), () => uids((s) => s.seriesInstanceUID === series())],
    ['an instance given alone', () => ({ SOPInstanceUID: instance().sopInstanceUID }), () => [instance().sopInstanceUID]],
  ] as const) {
    it(`gets ${what} with C-GET: what it holds is filed, and nothing else`, async () => {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'pypx-hier-get-'));
      try {
        const filed: string[] = [];
        const outcome = await runGet(settings(), parseMoveRequests(input())[0]!, { dataDir, onInstance: (i) => filed.push(i.SOPInstanceUID) });
        assert.equal(outcome.error, undefined, outcome.error?.message);
        assert.deepEqual(filed.sort(), expected());
        assert.equal(outcome.completed, expected().length);
        const lines = outcome.result.command.split('\n');
        assert.equal(lines.length, what === 'a study' ? 1 : 2, outcome.result.command);
        assert.match(lines[lines.length - 1]!, new RegExp(`getscu .*-k StudyInstanceUID=${study()}`));
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  }

  it('a retrieve of a UID the PACS does not hold is an error saying it found nothing to send, over C-MOVE and C-GET', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'pypx-hier-get-'));
    try {
      for (const [input, what] of [[{ StudyInstanceUID: '1.2.3.4.5' }, 'study'], [{ SeriesInstanceUID: '1.2.3.4.6' }, 'series'], [{ SOPInstanceUID: '1.2.3.4.7' }, 'image']] as const) {
        const request = parseMoveRequests(input)[0]!;
        const moved = await runMove(settings(), request);
        const got = await runGet(settings(), request, { dataDir });
        for (const [tool, outcome] of [['movescu', moved], ['getscu', got]] as const) {
          assert.equal(outcome.result.status, 'error', `${tool} ${what}`);
          assert.equal(outcome.error?.kind, 'not-found');
          assert.match(String(outcome.result.data), new RegExp(`^${tool}: QRSCP at 127\\.0\\.0\\.1:${qr.port} found nothing to send for ${what} ${Object.values(input)[0].replace(/\./g, '\\.')}: `));
          assert.equal(outcome.completed, 0);
        }
      }
      assert.deepEqual(await receiver.received(), []);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('the commands: px-move of a series given alone exits 0; px-move and px-get of a UID the PACS does not hold exit 1, saying so', async () => {
    const px = (command: string, args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [path.resolve(__dirname, '..', 'bin', `${command}.js`), '--aet', 'PYPXTEST', '--aec', qr.aet, '--serverIP', '127.0.0.1', '--serverPort', String(qr.port), ...args],
        { env: { ...process.env, TCP_NODELAY: '1' } }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    });
    const moved = await px('px-move', ['--aetl', 'RECEIVER', '--seriesUID', series()]);
    assert.equal(moved.code, 0, moved.stderr);
    assert.deepEqual([JSON.parse(moved.stdout).status, JSON.parse(moved.stdout).completed], ['success', 2]);
    assert.deepEqual(await receiver.received(), uids((s) => s.seriesInstanceUID === series()));
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'pypx-hier-get-'));
    try {
      for (const args of [['px-move', '--aetl', 'RECEIVER'], ['px-get', '-d', dataDir]]) {
        const ran = await px(args[0]!, [...args.slice(1), '--studyUID', '1.2.3.4.9']);
        assert.equal(ran.code, 1, `${args[0]}: ${ran.stdout}`);
        const result = JSON.parse(ran.stdout) as { status: string; data: string; completed: number };
        assert.deepEqual([result.status, result.completed], ['error', 0]);
        assert.match(result.data, /found nothing to send for study 1\.2\.3\.4\.9: /);
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('where the PACS will not answer the C-FIND either and sends nothing without the UIDs, says what it needs', async () => {
    const tools = await refusingFindscu();
    try {
      const series = await runMove(settings({ dcmtkDir: tools.dir }), parseMoveRequests({ SeriesInstanceUID: sample[0]!.seriesInstanceUID })[0]!);
      assert.equal(series.result.status, 'error');
      assert.match(String(series.result.data), /^movescu: the PACS needs the study's UID to move a series: give StudyInstanceUID, or allow C-FIND from "PYPXTEST" \(/);
      assert.match(series.result.command, /^\S*findscu .*\n\S*movescu .*-k QueryRetrieveLevel=SERIES -k SeriesInstanceUID=\S+ /, 'tried as given after the refused C-FIND');
      const one = await runGet(settings({ dcmtkDir: tools.dir }), parseMoveRequests({ SOPInstanceUID: instance().sopInstanceUID })[0]!, { dataDir: path.join(tools.dir, 'data') });
      assert.match(String(one.result.data), /^getscu: the PACS needs the study's and the series' UIDs to get an instance: give StudyInstanceUID and SeriesInstanceUID, or allow C-FIND from "PYPXTEST"/);
      assert.deepEqual(await receiver.received(), []);
    } finally {
      await tools.remove();
    }
  });
});

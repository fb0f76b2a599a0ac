import assert from 'node:assert/strict';
import { buildMoveArgs } from '../lib/ops/move/dimse';
import { PacsError } from '../lib/core/errors';
import { AssociationQueue, concurrencyProblem, QueueAbortedError } from '../lib/core/queue';
import { validatePacsSettings } from '../lib/core/settings';
import { uidProblem } from '../lib/dicom/uid';
import { generateSampleInstances, type SampleInstance } from '../testbed/generate';
import { freePort } from '../testbed/orthanc';
import { closedPort, useOrthanc } from './support/pacs';
import { instancesInPacs, type Receiver, startReceiver } from './support/receiver';
import { refusingFindscu } from './support/tools';
import { move, runMove } from '../lib/ops/move';
import { type MoveProgress, MoveResponseReader } from '../lib/ops/move/responses';
import { parseMoveRequests } from '../lib/ops/move/request';

const STUDY = '1.2.840.113619.2.55.3.1';
const SERIES = '1.2.840.113619.2.55.3.1.2';
const SOP = '1.2.840.113619.2.55.3.1.2.3';

/** A px-find result exactly as pypx prints it. */
function findResult(records: Array<Record<string, string>>) {
  const tags: Record<string, string> = { StudyInstanceUID: '0020,000d', SeriesInstanceUID: '0020,000e', SOPInstanceUID: '0008,0018', QueryRetrieveLevel: '0008,0052', PatientID: '0010,0020' };
  return {
    status: 'success',
    command: 'findscu -xi -S ...',
    data: records.map((record, i) => ({
      uid: { tag: 0, value: i, label: 'uid' },
      ...Object.fromEntries(Object.entries(record).map(([label, value]) => [label, { tag: tags[label], value, label }])),
    })),
  };
}

describe('lib move: what to move', () => {
  it('takes the level from the deepest UID, or from QueryRetrieveLevel', () => {
    assert.deepEqual(parseMoveRequests({ StudyInstanceUID: STUDY }), [{ level: 'STUDY', StudyInstanceUID: STUDY }]);
    assert.deepEqual(parseMoveRequests({ StudyInstanceUID: STUDY, SeriesInstanceUID: SERIES }), [{ level: 'SERIES', StudyInstanceUID: STUDY, SeriesInstanceUID: SERIES }]);
    assert.deepEqual(parseMoveRequests({ StudyInstanceUID: STUDY, SeriesInstanceUID: SERIES, SOPInstanceUID: SOP }), [
      { level: 'IMAGE', StudyInstanceUID: STUDY, SeriesInstanceUID: SERIES, SOPInstanceUID: SOP },
    ]);
    assert.deepEqual(parseMoveRequests({ QueryRetrieveLevel: 'study', StudyInstanceUID: STUDY, SeriesInstanceUID: SERIES }), [{ level: 'STUDY', StudyInstanceUID: STUDY }]);
    // pypx moves a series by its SeriesInstanceUID alone.
    assert.deepEqual(parseMoveRequests({ SeriesInstanceUID: SERIES }), [{ level: 'SERIES', SeriesInstanceUID: SERIES }]);
  });

  it('reads a px-find result, its records\' {value} fields and padded UIDs, and arrays of either', () => {
    const found = findResult([
      { QueryRetrieveLevel: 'SERIES', PatientID: 'P1', StudyInstanceUID: STUDY, SeriesInstanceUID: `${SERIES}\0` },
      { QueryRetrieveLevel: 'STUDY', PatientID: 'P1', StudyInstanceUID: `${STUDY}.9 `, SeriesInstanceUID: '' },
    ]);
    const expected = [
      { level: 'SERIES', StudyInstanceUID: STUDY, SeriesInstanceUID: SERIES },
      { level: 'STUDY', StudyInstanceUID: `${STUDY}.9` },
    ];
    assert.deepEqual(parseMoveRequests(found), expected);
    assert.deepEqual(parseMoveRequests([found, { StudyInstanceUID: STUDY }]), [...expected, { level: 'STUDY', StudyInstanceUID: STUDY }]);
    assert.deepEqual(parseMoveRequests(found.data[0]), [expected[0]]);
    assert.deepEqual(parseMoveRequests(findResult([])), []);
  });

  it('refuses the whole input, naming each bad item and field', () => {
    const bad = (payload: unknown) => {
      try {
        parseMoveRequests(payload);
      } catch (err) {
        assert.ok(err instanceof PacsError);
        assert.equal(err.kind, 'bad-input');
        return err.message;
      }
      assert.fail('no error');
    };
    assert.match(bad({ StudyInstanceUID: '1.2.03.4' }), /^nothing was moved: payload: StudyInstanceUID "1\.2\.03\.4" is not a DICOM UID: it has the component "03" with a leading zero$/);
    assert.match(bad([{ StudyInstanceUID: STUDY }, { SeriesInstanceUID: '1.2.abc' }]), /payload\[1\]: SeriesInstanceUID "1\.2\.abc" is not a DICOM UID: it contains "a"/);
    assert.match(bad(findResult([{ StudyInstanceUID: STUDY }, { PatientID: 'P1' }])), /payload\.data\[1\]: has no StudyInstanceUID, SeriesInstanceUID or SOPInstanceUID/);
    assert.match(bad({ QueryRetrieveLevel: 'SERIES', StudyInstanceUID: STUDY }), /payload: a SERIES move needs a SeriesInstanceUID/);
    assert.match(bad({ QueryRetrieveLevel: 'PATIENT', PatientID: 'P1' }), /QueryRetrieveLevel "PATIENT" cannot be moved; use STUDY, SERIES or IMAGE/);
    assert.match(bad({ StudyInstanceUID: 12345 }), /StudyInstanceUID must be text, not number 12345/);
    assert.match(bad('1.2.3'), /payload: must be an object with StudyInstanceUID.*not string "1\.2\.3"/);
    assert.match(bad({ status: 'error', command: 'findscu', data: [] }), /failed px-find result/);
    assert.match(bad({ StudyInstanceUID: `1.${'2'.repeat(70)}` }), /is 72 characters long; DICOM allows at most 64/);
  });

  it('knows the DICOM UID grammar', () => {
    for (const good of ['0', '1.2.840.10008.1.2.1', '2.25.0', '1.0.3']) assert.equal(uidProblem(good), undefined, good);
    for (const bad of ['', '1..2', '.1', '1.', '01.2', '1.2.3a', '1.2 .3', '1\\2']) assert.notEqual(uidProblem(bad), undefined, bad);
  });
});

describe('lib move: movescu command and responses', () => {
  const settings = validatePacsSettings({ aet: 'NODERED', aec: 'PACS', host: '10.0.0.5', port: 104, timeout: 5 });

  it('builds a study-root C-MOVE to the destination, with no listening port of its own', () => {
    const args = buildMoveArgs(settings, { level: 'SERIES', StudyInstanceUID: STUDY, SeriesInstanceUID: SERIES }, 'RECEIVER');
    assert.deepEqual(args, [
      '--move', 'RECEIVER', '--timeout', '5', '--acse-timeout', '5', '--dimse-timeout', '5', '-S', '-d',
      '-k', 'QueryRetrieveLevel=SERIES', '-k', `StudyInstanceUID=${STUDY}`, '-k', `SeriesInstanceUID=${SERIES}`,
      '-aec', 'PACS', '-aet', 'NODERED', '10.0.0.5', '104',
    ]);
    assert.ok(!args.includes('+P') && !args.includes('--port'));
  });

  it('reads pending counts and the final status from movescu -d', () => {
    const reader = new MoveResponseReader();
    const block = (remaining: string, completed: number, failed: number, status: string) => [
      'I: Received Move Response 1',
      'D: ===================== INCOMING DIMSE MESSAGE ====================',
      'D: Message Type                  : C-MOVE RSP',
      `D: Remaining Suboperations       : ${remaining}`,
      `D: Completed Suboperations       : ${completed}`,
      `D: Failed Suboperations          : ${failed}`,
      'D: Warning Suboperations         : 0',
      `D: DIMSE Status                  : ${status}`,
    ];
    const seen = [...block('2', 1, 0, '0xff00: Pending: Sub-operations are continuing'), ...block('none', 2, 1, '0xb000: Warning: Sub-operations complete - One or more failures or warnings')]
      .map((line) => reader.read(line))
      .filter(Boolean);
    assert.equal(seen.length, 2);
    assert.deepEqual(seen[0], { status: 0xff00, statusText: 'Pending: Sub-operations are continuing', remaining: 2, completed: 1, failed: 0, warning: 0 });
    assert.equal(reader.final?.status, 0xb000);
    assert.equal(reader.final?.failed, 1);
    reader.read('W: Move response with error status (Warning)');
    assert.deepEqual(reader.log, ['W: Move response with error status (Warning)'], 'debug lines and per-response lines are not kept');
  });
});

describe('lib AssociationQueue', () => {
  it('runs at most `concurrency` tasks at once, in FIFO order', async () => {
    const queue = new AssociationQueue(2);
    let active = 0;
    let most = 0;
    const started: number[] = [];
    const tasks = [0, 1, 2, 3, 4].map((i) =>
      queue.run(async () => {
        started.push(i);
        most = Math.max(most, ++active);
        // Still running when the next turn of the event loop comes: the queue must hold the others back meanwhile.
        await new Promise((r) => setImmediate(r));
        active--;
        return i;
      }),
    );
    assert.equal(queue.waiting, 3);
    assert.deepEqual(await Promise.all(tasks), [0, 1, 2, 3, 4]);
    assert.equal(most, 2);
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
    assert.equal(queue.active + queue.waiting, 0);
  });

  it('drops a waiting task whose caller gives up, and on close rejects the waiting and aborts the running', async () => {
    const queue = new AssociationQueue(1);
    const running = queue.run((signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve('aborted'))));
    const leaving = new AbortController();
    const left = queue.run(async () => 'ran', leaving.signal);
    const waiting = queue.run(async () => 'ran');
    leaving.abort();
    await assert.rejects(left, (err: unknown) => err instanceof QueueAbortedError && !err.closed);
    assert.equal(queue.waiting, 1);
    await queue.close();
    assert.equal(await running, 'aborted');
    await assert.rejects(waiting, (err: unknown) => err instanceof QueueAbortedError && err.closed);
    await assert.rejects(queue.run(async () => 'ran'), QueueAbortedError);
  });

  it('accepts concurrency 1 to 64 only', () => {
    assert.equal(concurrencyProblem(''), undefined);
    assert.equal(concurrencyProblem('4'), undefined);
    assert.match(concurrencyProblem(0) ?? '', /whole number from 1 to 64/);
    assert.match(concurrencyProblem('2.5') ?? '', /whole number/);
    assert.match(concurrencyProblem(65) ?? '', /whole number/);
  });
});

describe('lib move against a real Orthanc and a storescp receiver', () => {
  let receiverPort = 0;
  let sample: SampleInstance[] = [];
  // Orthanc must know the receiver's port when it starts: pick it first.
  before(async () => {
    receiverPort = await freePort();
  });
  const pacs = useOrthanc({
    modalities: {
      client: ['PYPXTEST', '127.0.0.1', 1],
      get receiver(): [string, string, number] {
        return ['RECEIVER', '127.0.0.1', receiverPort];
      },
    },
  });
  let receiver: Receiver;

  before(async () => {
    sample = [...generateSampleInstances({ patients: [{ id: 'MV1', name: 'Move^One', charset: '' }, { id: 'MV2', name: 'Move^Two', charset: '' }], seriesPerStudy: 2, instancesPerSeries: 3, seed: 'lib-move' })];
    await pacs().upload(sample.map((s) => s.bytes));
  });
  beforeEach(async () => {
    receiver = await startReceiver({ port: receiverPort });
  });
  afterEach(() => receiver.stop());

  const settings = (extra: Record<string, unknown> = {}) =>
    validatePacsSettings({ aet: 'PYPXTEST', aec: pacs().aet, host: pacs().host, port: pacs().dicomPort, timeout: 10, aetl: 'RECEIVER', ...extra });

  it('moves a whole study: exactly its instances arrive, with completed counts and progress', async () => {
    const study = sample[0].studyInstanceUID;
    const progress: MoveProgress[] = [];
    const outcome = await runMove(settings(), { level: 'STUDY', StudyInstanceUID: study }, { onProgress: (p) => progress.push(p) });
    assert.equal(outcome.error, undefined, outcome.error?.message);
    assert.deepEqual(outcome.result, { status: 'success', command: outcome.result.command, data: '' });
    assert.match(outcome.result.command, /movescu --move RECEIVER .* -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=[\d.]+ -aec ORTHANC -aet PYPXTEST 127\.0\.0\.1 \d+$/);
    const expected = await instancesInPacs(pacs(), 'studies', study);
    assert.equal(expected.length, 6);
    assert.deepEqual(await receiver.received(), expected);
    assert.deepEqual([outcome.completed, outcome.failed, outcome.warning], [6, 0, 0]);
    assert.ok(progress.length >= 1 && progress.every((p) => p.total === 6), JSON.stringify(progress));
  });

  it('a series given alone to a PACS that refuses the C-FIND for its study is moved as given where the PACS allows it', async () => {
    // Orthanc moves a series by its own UID: the refused lookup costs a findscu line, not the move.
    const tools = await refusingFindscu();
    try {
      const { seriesInstanceUID } = sample[3];
      const outcome = await runMove(settings({ dcmtkDir: tools.dir }), { level: 'SERIES', SeriesInstanceUID: seriesInstanceUID });
      assert.equal(outcome.result.status, 'success', String(outcome.result.data));
      assert.match(outcome.result.command, new RegExp(`^\\S*findscu .*\\n\\S*movescu .*-k QueryRetrieveLevel=SERIES -k SeriesInstanceUID=${seriesInstanceUID} `));
      assert.deepEqual(await receiver.received(), await instancesInPacs(pacs(), 'series', seriesInstanceUID));
    } finally {
      await tools.remove();
    }
  });

  it('moves one series, and one instance, and nothing else', async () => {
    const { studyInstanceUID, seriesInstanceUID } = sample[3];
    const series = await runMove(settings(), { level: 'SERIES', StudyInstanceUID: studyInstanceUID, SeriesInstanceUID: seriesInstanceUID });
    assert.equal(series.result.status, 'success');
    assert.deepEqual(await receiver.received(), await instancesInPacs(pacs(), 'series', seriesInstanceUID));
    assert.equal(series.completed, 3);

    await receiver.stop();
    receiver = await startReceiver({ port: receiverPort });
    const one = sample[7];
    const image = await runMove(settings(), { level: 'IMAGE', StudyInstanceUID: one.studyInstanceUID, SeriesInstanceUID: one.seriesInstanceUID, SOPInstanceUID: one.sopInstanceUID });
    assert.equal(image.result.status, 'success');
    assert.deepEqual(await receiver.received(), [one.sopInstanceUID]);
  });

  it('works as pypx\'s move(): 0.8 keys, aetl as destination, the series UID alone', async () => {
    const { seriesInstanceUID } = sample[9];
    const result = await move({ aet: 'PYPXTEST', aec: 'ORTHANC', server_ip: '127.0.0.1', server_port: String(pacs().dicomPort), aetl: 'RECEIVER', SeriesInstanceUID: seriesInstanceUID });
    assert.equal(result.status, 'success', result.data);
    assert.equal(result.data, '');
    assert.equal(result.completed, 3);
    assert.deepEqual(await receiver.received(), await instancesInPacs(pacs(), 'series', seriesInstanceUID));
    const refused = await move({ aet: 'PYPXTEST', aec: 'ORTHANC', server_ip: '127.0.0.1', server_port: pacs().dicomPort, SeriesInstanceUID: '1.2.3.04' });
    assert.equal(refused.status, 'error');
    assert.match(refused.data, /query: SeriesInstanceUID "1\.2\.3\.04" is not a DICOM UID/);
  });

  it('passes the PACS\'s words through for an unknown destination, and says what to do in plain words', async () => {
    const outcome = await runMove(settings(), { level: 'STUDY', StudyInstanceUID: sample[0].studyInstanceUID }, { destination: 'NOBODY' });
    assert.equal(outcome.result.status, 'error');
    assert.equal(outcome.error?.kind, 'dicom-status');
    assert.equal(outcome.error?.reason, 'UnableToProcess');
    assert.match(outcome.result.data, /Move response with error status \(Failed: UnableToProcess\)/);
    assert.match(outcome.error?.message ?? '', /ORTHANC at 127\.0\.0\.1:\d+ answered the C-MOVE of study [\d.]+ to NOBODY with "Failed: UnableToProcess" \(0xc000\)/);
    assert.match(outcome.error?.message ?? '', /the PACS does not know the destination AE title "NOBODY" \(it must list it among its modalities, with its host and port\)/);
    assert.deepEqual(await receiver.received(), []);
  });

  it('reports a PACS that is down, and a PACS that does not allow this calling AE title', async () => {
    const down = await runMove(settings({ port: await closedPort() }), { level: 'STUDY', StudyInstanceUID: sample[0].studyInstanceUID });
    assert.equal(down.error?.kind, 'refused');
    assert.match(down.error?.message ?? '', /movescu: connection refused by 127\.0\.0\.1:\d+/);

    const stranger = await runMove(settings({ aet: 'STRANGER' }), { level: 'STUDY', StudyInstanceUID: sample[0].studyInstanceUID });
    assert.equal(stranger.result.status, 'error', 'movescu exits 0 when the PACS aborts; that is no success');
    assert.equal(stranger.error?.reason, 'aborted by PACS');
    assert.match(stranger.error?.message ?? '', /list "STRANGER" among its modalities/);
  });
});

// C-FIND: findscu writes each response as a DICOM file; we read those as they come, never its text log.
import { readFileSync, unlinkSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { answerRoot, makeAnswerFolder, sweepOnce } from './answer-folder';
import { loadExeca, runDcmtk } from '../../dcmtk/run';
import { type AssociationQueue, runQueued } from '../../core/queue';
import { DicomReadError, parseDicomBytes } from '../../dicom/dataset';
import { runQidoFind } from './dicomweb';
import { anyToPacsError, failureBeforeRun, PacsError, toPacsError } from '../../core/errors';
import { buildFindQuery, type FindKey, type FindRequest, type QueryLevel } from './query';
import type { PypxRecord, PypxResult } from '../../core/result';
import { type PacsSettings, splitSettingsAndQuery, validatePacsSettings } from '../../core/settings';
import { dieWithThisProcess } from '../../dcmtk/processes';
import { describeDcmtkFailure, describeFailedStatus } from '../../dcmtk/failures';
import { buildAssociationArgs, buildTimeoutArgs, idleDeadlineMs } from '../../dcmtk/args';
import { describeType } from '../../core/describe';
import { buildTlsArgs, tlsKeyInput } from '../../dcmtk/tls';
import { isPlainObject } from '../../core/describe';
import { isDicomweb } from '../../core/settings';

export interface FindArgsOptions {
  outputDir: string;
  /** Ask the PACS to stop after this many matches (C-CANCEL). */
  cancelAfter?: number;
}

/**
 * `findscu -v -S -X -od <dir> [--cancel N] -k Key[=value]... <timeouts> -aec .. -aet .. host port`.
 * -v because only then does findscu print the final C-FIND status: it exits 0 even when the PACS
 * answers "Failed".
 */
export function buildFindArgs(settings: PacsSettings, request: FindRequest, options: FindArgsOptions): string[] {
  const args = ['-v', '-S', '-X', '-od', options.outputDir];
  if (options.cancelAfter && options.cancelAfter > 0) args.push('--cancel', String(options.cancelAfter));
  for (const { keyword, value } of request.keys) args.push('-k', value === '' ? keyword : `${keyword}=${value}`);
  return [...args, ...buildTimeoutArgs(settings), ...buildTlsArgs(settings, 'scu'), ...buildAssociationArgs(settings)];
}

export interface FindOptions {
  /** Used unless the query holds QueryRetrieveLevel; SERIES when absent. */
  level?: QueryLevel | string;
  /** Keywords to return; empty or absent means the level's default set (pypx 0.8's for SERIES). */
  returnTags?: readonly string[];
  /** 0 or absent: every match. Otherwise at most this many records, and the PACS is asked to cancel. */
  limit?: number;
  signal?: AbortSignal;
  /** The PACS's association queue: the find waits its turn there. */
  queue?: AssociationQueue;
  /** Called with each record as soon as it is read, while findscu still answers (the command formats it then). */
  onRecord?: (record: PypxRecord) => void;
}

export interface FindOutcome {
  result: PypxResult<PypxRecord[]>;
  /** Set when the find failed; result then holds pypx's error payload. */
  error?: PacsError;
  /** True when the answer reached `limit` (more may have matched). */
  limited: boolean;
  elapsedMs: number;
}

/** DCMTK's words for the C-FIND's final status, e.g. "Success" or "Failed: UnableToProcess". */
export function finalFindStatus(output: string): string | undefined {
  return /Received Final Find Response \(([^)\n]*)\)/.exec(output)?.[1]?.trim();
}

// Noise in an error payload: a line per match, and the query dumped as a dataset (once or twice).
const NOISE_LINE = /^[IE]: (Received Find Response \d+ \(Pending|Writing response dataset to file|[(#]|$)/;
const WRITING = /^I: Writing response dataset to file: .*\/(rsp\d+\.dcm)$/;
// What findscu says besides its answers, kept for the error payload: a few hundred lines at most.
const MAX_LOG_LINES = 400;

function failedResult(error: PacsError, elapsedMs: number): FindOutcome {
  return { result: error.result as PypxResult<PypxRecord[]>, error, limited: false, elapsedMs };
}

/**
 * Reads findscu's answers while it is still receiving them: an answer file is complete once findscu
 * names the next one (it writes each before it reads the next response), the last when findscu ends.
 * Each file is parsed and removed at once, so the answer folder never holds more than two.
 */
export class AnswerReader {
  readonly records: PypxRecord[] = [];
  /** Answers beyond the limit were dropped. */
  cut = false;
  /** The first answer that is not DICOM: the find fails with it. */
  error?: PacsError;
  private pending?: string;
  private readonly keys: readonly FindKey[];

  constructor(
    private readonly dir: string,
    keys: readonly FindKey[],
    private readonly limit: number,
    private readonly settings: Pick<PacsSettings, 'aec' | 'host' | 'port'>,
    private readonly onRecord?: (record: PypxRecord) => void,
  ) {
    this.keys = keys.filter((k) => k.inRecord);
  }

  /** findscu is about to write this answer file: the one before it is complete. */
  writing(file: string): void {
    this.flush();
    this.pending = path.join(this.dir, path.basename(file));
  }

  /** findscu ended: its last answer file is complete. */
  flush(): void {
    const file = this.pending;
    if (!file) return;
    this.pending = undefined;
    if (this.error || (this.limit > 0 && this.records.length >= this.limit)) {
      this.cut ||= !this.error;
    } else {
      try {
        const record = toRecord(readFileSync(file), this.keys, this.records.length, this.settings);
        this.records.push(record);
        this.onRecord?.(record);
      } catch (err) {
        // Whatever failed (a file gone, too many open files, onRecord throwing) fails the find, never the process.
        this.error = anyToPacsError(err, 'bad response', `findscu: cannot read an answer from ${this.settings.aec} at ${this.settings.host}:${this.settings.port} (${file})`);
      }
    }
    try {
      unlinkSync(file);
    } catch {
      /* removed with the folder */
    }
  }

}

/** C-FIND against one PACS: pypx's result with one record per match, or the reason it failed. */
export async function runFind(settings: PacsSettings, query: unknown, options: FindOptions = {}): Promise<FindOutcome> {
  if (isDicomweb(settings)) return runQidoFind(settings, query, options);
  const started = Date.now();
  let request: FindRequest;
  try {
    request = buildFindQuery(options.level ?? 'SERIES', query, options.returnTags);
  } catch (err) {
    return failedResult(toPacsError(err), 0);
  }
  const limit = options.limit && options.limit > 0 ? Math.floor(options.limit) : 0;
  // The first run loads execa (the longest step of a command's start): alongside the folder work, not after.
  loadExeca().catch(() => undefined); // a failure is reported where findscu is started
  await sweepOnce();
  let outputDir: string;
  try {
    outputDir = await makeAnswerFolder();
  } catch (err) {
    const message = `findscu: cannot make a folder for its answers in ${answerRoot()}: ${(err as Error).message}`;
    return failedResult(failureBeforeRun('failed', 'no answer folder', message), Date.now() - started);
  }
  try {
    // No overall deadline: a large answer may take minutes. DCMTK's own timeouts bound each wait;
    // a findscu that prints nothing for longer than that is killed.
    const args = buildFindArgs(settings, request, { outputDir, cancelAfter: limit });
    const reader = new AnswerReader(outputDir, request.keys, limit, settings, options.onRecord);
    const log: string[] = [];
    const onLine = (line: string) => {
      const answer = WRITING.exec(line);
      if (answer) reader.writing(answer[1] as string);
      else if (!NOISE_LINE.test(line) && log.length < MAX_LOG_LINES) log.push(line);
    };
    const run = await runQueued(
      options.queue,
      async (signal) => runDcmtk('findscu', args, {
        dcmtkDir: settings.dcmtkDir,
        executable: settings.executable,
        input: tlsKeyInput(settings),
        signal,
        idleTimeoutMs: idleDeadlineMs(settings),
        buffer: false,
        onLine,
        runUnder: await dieWithThisProcess(),
      }),
      options.signal,
      (err) => {
        throw failureBeforeRun('aborted', 'stopped', `findscu: the query never started: ${err.message}`);
      },
    );
    reader.flush();
    const output = log.join('\n');
    const status = finalFindStatus(output);
    const succeeded = !run.timedOut && !run.aborted && (status === 'Success' || (limit > 0 && /^Cancel/i.test(status ?? '')));
    if (!succeeded) {
      const ran = { ...run, output };
      const error = status && !run.timedOut && !run.aborted
        ? describeFailedStatus('findscu', 'C-FIND', status, ran, settings)
        : describeDcmtkFailure('findscu', ran, settings);
      return failedResult(error, Date.now() - started);
    }
    if (reader.error) return failedResult(reader.error, Date.now() - started);
    const limited = reader.cut || (limit > 0 && /Sending Cancel Request/.test(output));
    return { result: { status: 'success', command: run.command, data: reader.records }, limited, elapsedMs: Date.now() - started };
  } catch (err) {
    return failedResult(toPacsError(err), Date.now() - started);
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}

const RESPONSE_FILE = /^rsp(\d+)\.dcm$/;

/** The response files of a folder in the order the PACS sent them (rsp0001.dcm ... rsp10000.dcm), as records: for the benchmark's parse figure. */
export async function readFindResponses(
  dir: string,
  keys: readonly FindKey[],
  limit: number,
  settings: Pick<PacsSettings, 'aec' | 'host' | 'port'>,
): Promise<{ records: PypxRecord[]; cut: boolean }> {
  const files = (await readdir(dir))
    .map((name) => ({ name, number: Number(RESPONSE_FILE.exec(name)?.[1] ?? NaN) }))
    .filter((f) => !Number.isNaN(f.number))
    .sort((a, b) => a.number - b.number);
  const cut = limit > 0 && files.length > limit;
  const wanted = cut ? files.slice(0, limit) : files;
  const recordKeys = keys.filter((k) => k.inRecord);
  const records = wanted.map(({ name }, index) => toRecord(readFileSync(path.join(dir, name)), recordKeys, index, settings));
  return { records, cut };
}

/** pypx's record: each key asked for, `{tag, value, label}`, and the `uid` counter. */
function toRecord(bytes: Uint8Array, keys: readonly FindKey[], index: number, settings: Pick<PacsSettings, 'aec' | 'host' | 'port'>): PypxRecord {
  let dataset;
  try {
    dataset = parseDicomBytes(bytes);
  } catch (err) {
    const why = err instanceof DicomReadError ? err.message : String(err);
    const message = `C-FIND response ${index + 1} from ${settings.aec} at ${settings.host}:${settings.port} is not valid DICOM (${why})`;
    throw new PacsError('failed', 'bad response', `findscu: ${message}`, { status: 'error', command: '', data: message });
  }
  const record: PypxRecord = { uid: { tag: 0, value: index, label: 'uid' } };
  for (const key of keys) record[key.keyword] = { tag: key.tag, value: dataset.text(key.parserTag) ?? '', label: key.keyword };
  return record;
}

/**
 * pypx's `find({...settings, ...query})`: PACS settings (pypx 0.8 or 3 keys) and query keywords
 * in one object; answers pypx's dict, never throws for what the PACS or the input does.
 */
export async function find(
  settingsAndQuery: Record<string, unknown>,
  options: Omit<FindOptions, 'level'> = {},
): Promise<PypxResult<PypxRecord[] | string>> {
  if (!isPlainObject(settingsAndQuery)) {
    return failureBeforeRun('bad-input', 'bad query', `find() takes one object of PACS settings and query keys, not ${describeType(settingsAndQuery)}`).result as PypxResult<string>;
  }
  const { settings: settingsPart, query } = splitSettingsAndQuery(settingsAndQuery);
  let settings: PacsSettings;
  try {
    settings = validatePacsSettings(settingsPart);
  } catch (err) {
    return toPacsError(err).result as PypxResult<string>;
  }
  return (await runFind(settings, query, options)).result;
}

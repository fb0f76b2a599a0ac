// C-FIND: findscu writes each response as a DICOM file; we read those, never its text log.
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runDcmtk, type RunResult } from './dcmtk';
import { type AssociationQueue, runQueued } from './queue';
import { DicomReadError, parseDicomBytes } from './dicom';
import { isDicomweb } from './dicomweb/http';
import { runQidoFind } from './dicomweb/qido';
import { describeDcmtkFailure, describeFailedStatus, failureBeforeRun, PacsError, toPacsError } from './errors';
import { buildFindQuery, type FindKey, type FindRequest, isPlainObject, type QueryLevel } from './query';
import type { PypxRecord, PypxResult } from './result';
import { buildAssociationArgs, buildTimeoutArgs, describeType, idleDeadlineMs, type PacsSettings, splitSettingsAndQuery, validatePacsSettings } from './settings';
import { buildTlsArgs, tlsKeyInput } from './tls';

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
function withoutNoise(run: RunResult): RunResult {
  return { ...run, output: run.output.split('\n').filter((line) => !NOISE_LINE.test(line)).join('\n') };
}

function failedResult(error: PacsError, elapsedMs: number): FindOutcome {
  return { result: error.result as PypxResult<PypxRecord[]>, error, limited: false, elapsedMs };
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
  const outputDir = await mkdtemp(path.join(os.tmpdir(), 'pypx-find-'));
  try {
    // No overall deadline: a large answer may take minutes. DCMTK's own timeouts bound each wait;
    // a findscu that prints nothing for longer than that is killed.
    const args = buildFindArgs(settings, request, { outputDir, cancelAfter: limit });
    const run = await runQueued(
      options.queue,
      (signal) => runDcmtk('findscu', args, {
        dcmtkDir: settings.dcmtkDir,
        executable: settings.executable,
        input: tlsKeyInput(settings),
        signal,
        idleTimeoutMs: idleDeadlineMs(settings),
      }),
      options.signal,
      (err) => {
        throw failureBeforeRun('aborted', 'stopped', `findscu: the query never started: ${err.message}`);
      },
    );
    const status = finalFindStatus(run.output);
    const succeeded = !run.timedOut && !run.aborted && (status === 'Success' || (limit > 0 && /^Cancel/i.test(status ?? '')));
    if (!succeeded) {
      const trimmed = withoutNoise(run);
      const error = status && !run.timedOut && !run.aborted
        ? describeFailedStatus('findscu', 'C-FIND', status, trimmed, settings)
        : describeDcmtkFailure('findscu', trimmed, settings);
      return failedResult(error, Date.now() - started);
    }
    const { records, cut } = await readFindResponses(outputDir, request.keys, limit, settings);
    const limited = cut || (limit > 0 && /Sending Cancel Request/.test(run.output));
    return { result: { status: 'success', command: run.command, data: records }, limited, elapsedMs: Date.now() - started };
  } catch (err) {
    return failedResult(toPacsError(err), Date.now() - started);
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}

const RESPONSE_FILE = /^rsp(\d+)\.dcm$/;
// Responses are a few hundred bytes each: reading them synchronously is ten times faster than
// through the thread pool. Batches keep the event loop free: each blocks it for about a millisecond.
const FILES_PER_BATCH = 64;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The response files in the order the PACS sent them (rsp0001.dcm ... rsp10000.dcm), as records. */
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
  const records: PypxRecord[] = [];
  for (let index = 0; index < wanted.length; index++) {
    if (index % FILES_PER_BATCH === FILES_PER_BATCH - 1) await nextTurn();
    const bytes = readFileSync(path.join(dir, (wanted[index] as { name: string }).name));
    records.push(toRecord(bytes, recordKeys, index, settings));
  }
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

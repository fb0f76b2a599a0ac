// C-FIND with findscu: it writes each response as a DICOM file; we read those as they come, never its text log.
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { failureBeforeRun, type PacsError, toPacsError } from '../../core/errors';
import { runQueued } from '../../core/queue';
import type { PypxRecord, PypxResult } from '../../core/result';
import type { PacsSettings } from '../../core/settings';
import { buildAssociationArgs, buildTimeoutArgs, idleDeadlineMs } from '../../dcmtk/args';
import { describeDcmtkFailure, describeFailedStatus } from '../../dcmtk/failures';
import { buildLogConfig } from '../../dcmtk/log';
import { dieWithThisProcess } from '../../dcmtk/processes';
import { loadExeca, runDcmtk } from '../../dcmtk/run';
import { buildTlsArgs, tlsKeyInput } from '../../dcmtk/tls';
import { answerRoot, makeAnswerFolder, sweepOnce } from './answer-folder';
import { AnswerReader } from './answers';
import { planHierarchicalFind } from './hierarchical';
import { buildFindQuery, type FindRequest } from './query';
import type { FindOptions, FindOutcome } from './types';

export interface FindArgsOptions {
  outputDir: string;
  /** Ask the PACS to stop after this many matches (C-CANCEL). */
  cancelAfter?: number;
  /** A file holding FIND_LOG_CONFIG_TEXT, instead of -v. */
  logConfig?: string;
}

/**
 * findscu's log: -v's lines less each answer's dump (its number, a rule and the whole data set, about
 * 30 lines an answer, which findscu formats and this process would read and throw away; the answers
 * are read from their files). "Writing response dataset to file" and the final status stay.
 */
export const FIND_LOG_CONFIG_TEXT = buildLogConfig({ drop: ['Find Response: ', '# Dicom-Data-Set', '---------------------------'] });
const LOG_CONFIG_FILE = '.findscu-log.cfg';

/**
 * `findscu -v|-lc <cfg> -S -X -od <dir> [--cancel N] -k Key[=value]... <timeouts> -aec .. -aet .. host port`.
 * -v (or its lines from the log configuration) because only then does findscu print the final C-FIND
 * status: it exits 0 even when the PACS answers "Failed".
 */
export function buildFindArgs(settings: PacsSettings, request: FindRequest, options: FindArgsOptions): string[] {
  // PATIENT is a level of the Patient Root model only: a Study Root query at that level is refused by a strict PACS.
  const args = [...(options.logConfig ? ['-lc', options.logConfig] : ['-v']), request.level === 'PATIENT' ? '-P' : '-S', '-X', '-od', options.outputDir];
  if (options.cancelAfter && options.cancelAfter > 0) args.push('--cancel', String(options.cancelAfter));
  for (const { keyword, value } of request.keys) args.push('-k', value === '' ? keyword : `${keyword}=${value}`);
  return [...args, ...buildTimeoutArgs(settings), ...buildTlsArgs(settings, 'scu'), ...buildAssociationArgs(settings)];
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
 * C-FIND with findscu: pypx's result with one record per match, or the reason it failed. A SERIES or
 * IMAGE query matching on attributes of a level above it finds the studies or series first (hierarchical.ts).
 */
export async function runFindscu(settings: PacsSettings, query: unknown, options: FindOptions = {}): Promise<FindOutcome> {
  const started = Date.now();
  let request: FindRequest;
  try {
    request = buildFindQuery(options.level ?? 'SERIES', query, options.returnTags);
  } catch (err) {
    return failedResult(toPacsError(err), 0);
  }
  const limit = options.limit && options.limit > 0 ? Math.floor(options.limit) : 0;
  const outcome = await findInSteps(settings, request, limit, options);
  return { ...outcome, elapsedMs: Date.now() - started };
}

/** A request as one findscu run or, where it matches on attributes of a level above its own, as hierarchical.ts plans it. */
async function findInSteps(settings: PacsSettings, request: FindRequest, limit: number, options: FindOptions): Promise<FindOutcome> {
  const plan = planHierarchicalFind(request);
  if (!plan) return findOnce(settings, request, limit, options);
  const first = await findInSteps(settings, plan.first, 0, { ...options, onRecord: undefined });
  if (first.error) return first;
  const commands = [first.result.command];
  const records: PypxRecord[] = [];
  const answer = (limited: boolean): FindOutcome => ({ result: { status: 'success', command: commands.join('\n'), data: records }, limited, elapsedMs: 0 });
  for (const within of plan.within(first.result.data)) {
    const part = await findOnce(settings, within, limit ? limit - records.length : 0, options);
    if (part.error) return { ...part, result: { ...part.result, command: [...commands, part.result.command].join('\n') } };
    commands.push(part.result.command);
    records.push(...part.result.data);
    if (part.limited) return answer(true);
  }
  return answer(false);
}

/** One findscu run of one request. */
async function findOnce(settings: PacsSettings, request: FindRequest, limit: number, options: FindOptions): Promise<FindOutcome> {
  const started = Date.now();
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
    const logConfig = path.join(outputDir, LOG_CONFIG_FILE);
    writeFileSync(logConfig, FIND_LOG_CONFIG_TEXT);
    const args = buildFindArgs(settings, request, { outputDir, cancelAfter: limit, logConfig });
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


// px-get over C-GET with getscu: the PACS sends the instances back on our own association (no AE
// registration, no inbound port). A first pass asks for the whole study, series or instance
// (retrieve.ts); where the PACS ends it early, the rest is asked for instance by instance
// (second-pass.ts). The outcome says what was filed and what failed, and why.
import path from 'node:path';
import { anyToPacsError, failureBeforeRun, PacsError, toPacsError } from '../../core/errors';
import type { PypxResult } from '../../core/result';
import type { PacsSettings } from '../../core/settings';
import { refuseTlsFor } from '../../dcmtk/tls';
import { describeRequest, type MoveRequest } from '../move/request';
import { afterLookup, nothingToSend, unlessNothingSent, withUpperKeys } from '../move/lookup';
import { type Pass, Retrieve, statusWords, succeeded } from './retrieve';
import { retrieveRest } from './second-pass';
import { seriesTimeoutSeconds, stallReason } from './stall';
import type { GetFailure, GetOptions, GetOutcome } from './types';

function outcomeOf(request: MoveRequest, retrieve: Retrieve | undefined, started: number, result: PypxResult<string>, failures: GetFailure[], warning: number, error?: PacsError): GetOutcome {
  return { result, completed: retrieve?.received.size ?? 0, failed: failures.length, warning, request, failures, series: retrieve?.series.list() ?? [], error, elapsedMs: Date.now() - started };
}

/** DCMTK's getscu has no TLS: a PACS configured for TLS is refused before anything is sent in clear. */
export function refuseGetOverTls(settings: PacsSettings): void {
  try {
    refuseTlsFor('getscu', settings);
  } catch (err) {
    throw toPacsError(err);
  }
}

/**
 * One retrieve over C-GET, start to end, every instance filed, after a C-FIND for the UIDs of the
 * levels above the one retrieved where the request lacks them (move/lookup.ts). Never throws: failures
 * are in the outcome.
 */
export async function runCGet(settings: PacsSettings, request: MoveRequest, options: GetOptions): Promise<GetOutcome> {
  const started = Date.now();
  let seriesTimeout: number;
  try {
    if (!options.dataDir?.trim()) throw failureBeforeRun('bad-input', 'no data folder', 'px-get needs a data folder (dataDir) to file the instances in');
    seriesTimeout = seriesTimeoutSeconds(options.seriesTimeout);
    refuseGetOverTls(settings);
  } catch (err) {
    const error = toPacsError(err);
    return outcomeOf(request, undefined, started, error.result as PypxResult<string>, [], 0, error);
  }
  const looked = await withUpperKeys(settings, request, 'getscu', options);
  if (looked.error && !looked.refused) return outcomeOf(request, undefined, started, looked.error.result as PypxResult<string>, [], 0, looked.error);
  const outcome = await cget(settings, looked.request, options, seriesTimeout, started);
  return afterLookup(unlessNothingSent(outcome, looked), looked.command);
}

async function cget(settings: PacsSettings, request: MoveRequest, options: GetOptions & { dataDir: string }, seriesTimeout: number, started: number): Promise<GetOutcome> {
  let retrieve: Retrieve | undefined;
  const incoming = path.join(path.resolve(options.dataDir), 'incoming');
  try {
    // getscu's folder is made under `incoming` when the retrieve gets its turn on the queue.
    retrieve = new Retrieve(settings, incoming, { ...options, dataDir: path.resolve(options.dataDir) }, seriesTimeout);
    const first = await retrieve.run({ ...request });
    const final = first.reader.final;
    const warning = final?.warning ?? 0;
    // Read through a function: filing sets it from getscu's output, out of the compiler's sight.
    const faulted = (r: Retrieve) => r.fault && outcomeOf(request, r, started, r.fault.result as PypxResult<string>, r.problems, warning, r.fault);
    const firstFault = faulted(retrieve);
    if (firstFault) return firstFault;
    if (first.stalled) return stalledOutcome(settings, request, retrieve, first, started);
    if (succeeded(first) && !retrieve.problems.length && !retrieve.received.size && final && final.completed + final.failed + final.warning === 0) {
      // Success with no sub-operation: the PACS found nothing to send. Never a silent success.
      const error = nothingToSend(settings, request, 'getscu', first.command);
      return outcomeOf(request, retrieve, started, error.result as PypxResult<string>, [], 0, error);
    }
    if (succeeded(first) && !retrieve.problems.length) return outcomeOf(request, retrieve, started, { status: 'success', command: first.command, data: '' }, [], warning);
    if (first.error && !retrieve.received.size) {
      return outcomeOf(request, retrieve, started, first.error.result as PypxResult<string>, [], warning, first.error);
    }
    const rest = succeeded(first) ? { hard: new Map<string, string>(), commands: [] as string[] } : await retrieveRest(retrieve, request, first, settings, options);
    const restFault = faulted(retrieve);
    if (restFault) return restFault;
    const failures: GetFailure[] = [...retrieve.problems, ...[...rest.hard].map(([SOPInstanceUID, reason]) => ({ SOPInstanceUID, reason }))];
    if (!failures.length && !rest.error && !retrieve.received.size && 'listed' in rest && rest.listed === 0) {
      // The PACS failed the C-GET and holds nothing under these UIDs: its answer stands.
      const message = `getscu: ${settings.aec} at ${settings.host}:${settings.port} answered the C-GET of ${describeRequest(request)} with ${statusWords(first)}, and lists no instance under it: check the UIDs`;
      const result: PypxResult<string> = { status: 'error', command: first.command, data: [message, ...first.reader.log].join('\n') };
      return outcomeOf(request, retrieve, started, result, [], warning, new PacsError('dicom-status', (first.reader.statusName ?? final?.text ?? 'failed').replace(/^Failed: /, '').slice(0, 20), message, result));
    }
    const command = [first.command, ...rest.commands].join('\n');
    const error = rest.error ?? first.error;
    if (!failures.length && !error) return outcomeOf(request, retrieve, started, { status: 'success', command, data: '' }, [], warning);
    const where = `${settings.aec} at ${settings.host}:${settings.port}`;
    const head = `getscu: ${retrieve.received.size} instance${retrieve.received.size === 1 ? '' : 's'} of ${describeRequest(request)} retrieved from ${where}, ${failures.length} failed`;
    const firstFailure = failures[0];
    const message = error && !failures.length
      ? `${head}; then ${error.message.replace(/^getscu: /, '')}`
      : `${head}: ${firstFailure?.SOPInstanceUID}: ${firstFailure?.reason}. What a PACS cannot send over C-GET can come with C-MOVE (px-move) or DICOMweb`;
    const data = [message, ...failures.map((f) => `${f.SOPInstanceUID}: ${f.reason}`)].join('\n');
    const result: PypxResult<string> = { status: 'error', command, data };
    return outcomeOf(request, retrieve, started, result, failures, warning, new PacsError(error?.kind ?? 'dicom-status', failures.length ? `${failures.length} failed` : error?.reason ?? 'failed', message, result));
  } catch (err) {
    // An OS error (EACCES, ENOSPC, ENOTDIR from the data folder) is an outcome naming the folder, never a throw.
    const error = anyToPacsError(err, 'failed', `getscu: the retrieve of ${describeRequest(request)} into ${options.dataDir} failed`);
    return outcomeOf(request, retrieve, started, error.result as PypxResult<string>, retrieve?.problems ?? [], 0, error);
  } finally {
    await retrieve?.remove();
  }
}

/**
 * A C-GET the series timeout stopped: what arrived is filed; the rest fails as one line, counted once,
 * since a silent PACS names nothing it has not sent (getscu -v prints no pending counts to count it by).
 */
function stalledOutcome(settings: PacsSettings, request: MoveRequest, retrieve: Retrieve, pass: Pass, started: number): GetOutcome {
  const received = retrieve.received.size;
  const reason = stallReason(settings.aec, retrieve.seriesTimeout);
  const failures: GetFailure[] = [...retrieve.problems, { SOPInstanceUID: `(the rest of ${describeRequest(request)})`, reason }];
  const message = `getscu: ${received} instance${received === 1 ? '' : 's'} of ${describeRequest(request)} retrieved from ${settings.aec} at ${settings.host}:${settings.port}, then ${reason}; the rest failed`;
  const data = [message, ...failures.map((f) => `${f.SOPInstanceUID}: ${f.reason}`)].join('\n');
  const result: PypxResult<string> = { status: 'error', command: pass.command, data };
  return outcomeOf(request, retrieve, started, result, failures, 0, new PacsError('timeout', `stalled ${retrieve.seriesTimeout} s`, message, result));
}

// C-MOVE with movescu: the destination, the command line, and the PACS's final answer in words a PACS
// administrator can act on. The responses themselves are read in responses.ts.
import { runDcmtk } from '../../dcmtk/run';
import { failureBeforeRun, PacsError, toPacsError } from '../../core/errors';
import { runQueued } from '../../core/queue';
import type { PypxResult } from '../../core/result';
import { aeTitleProblem, type PacsSettings } from '../../core/settings';
import { dieWithThisProcess } from '../../dcmtk/processes';
import { describeDcmtkFailure } from '../../dcmtk/failures';
import { buildAssociationArgs, buildTimeoutArgs, idleDeadlineMs } from '../../dcmtk/args';
import { refuseTlsFor } from '../../dcmtk/tls';
import { describeRequest, type MoveRequest, UID_KEYS } from './request';
import { type MoveResponse, MoveResponseReader, progressOf } from './responses';
import { afterLookup, nothingToSend, unlessNothingSent, withUpperKeys } from './lookup';
import { failedMove, type MoveOptions, type MoveOutcome } from './types';

/** The destination AE title: the one given, else the config's aetl, else its calling AE title. */
export function moveDestination(settings: PacsSettings, destination?: string): string {
  const title = destination?.trim() || settings.aetl || settings.aet;
  const problem = aeTitleProblem(title);
  if (problem) throw failureBeforeRun('bad-input', 'bad destination', `move destination AE title ${problem}`);
  return title;
}

/** `movescu --move <dest> ... -S -d -k QueryRetrieveLevel=.. -k ..UID=.. -aec .. -aet .. host port`; no port of its own (movescu's default --no-port). */
export function buildMoveArgs(settings: PacsSettings, request: MoveRequest, destination: string): string[] {
  const keys = [`QueryRetrieveLevel=${request.level}`];
  for (const key of UID_KEYS) if (request[key]) keys.push(`${key}=${request[key]}`);
  return [
    '--move', destination,
    ...buildTimeoutArgs(settings),
    '-S', '-d',
    ...keys.flatMap((k) => ['-k', k]),
    ...buildAssociationArgs(settings),
  ];
}

/** A final status other than success, in DICOM words with what a PACS administrator can do about it. */
function describeFinalStatus(final: MoveResponse, reader: MoveResponseReader, settings: PacsSettings, request: MoveRequest, destination: string, command: string): PacsError {
  const where = `${settings.aec} at ${settings.host}:${settings.port}`;
  const code = `0x${final.status.toString(16).padStart(4, '0')}`;
  const words = reader.errorStatusName ?? final.statusText;
  const comment = reader.errorComment ? ` ("${reader.errorComment}")` : '';
  const counts = `${final.completed} completed, ${final.failed} failed, ${final.warning} warning`;
  const head = `movescu: ${where} answered the C-MOVE of ${describeRequest(request)} to ${destination} with "${words}" (${code})${comment}; ${counts}`;
  let reason: string;
  let hint: string;
  if (final.status === 0xa801) {
    reason = 'destination unknown';
    hint = `the PACS does not know the AE title "${destination}": it must list it among its modalities (DICOM nodes), with its host and port`;
  } else if (final.status === 0xb000) {
    reason = `${final.failed} failed`;
    hint = `${final.failed} instance${final.failed === 1 ? '' : 's'} did not reach ${destination}: it refused them or could not store them`;
  } else if ((final.status & 0xf000) === 0xc000) {
    reason = words.replace(/^Failed: /, '').slice(0, 20);
    hint = `PACS give this answer for many causes; the most common: the PACS does not know the destination AE title "${destination}" (it must list it among its modalities, with its host and port), "${destination}" did not accept the PACS's association, or the PACS does not hold these UIDs`;
  } else if (final.status === 0xfe00) {
    reason = 'cancelled';
    hint = 'the move was cancelled before all instances were sent';
  } else if ((final.status & 0xff00) === 0xa700) {
    reason = 'out of resources';
    hint = 'the PACS could not start the sub-operations: try again later or with fewer moves at once';
  } else {
    reason = words.slice(0, 20);
    hint = 'see the PACS log for its reason';
  }
  return new PacsError('dicom-status', reason, `${head}: ${hint}`, { status: 'error', command, data: reader.log.join('\n') });
}

/**
 * One C-MOVE with movescu, start to final response, after a C-FIND for the UIDs of the levels above
 * the one moved where the request lacks them (lookup.ts). Never throws: failures are in the outcome.
 */
export async function runCMove(settings: PacsSettings, request: MoveRequest, options: MoveOptions = {}): Promise<MoveOutcome> {
  let destination: string;
  try {
    refuseTlsFor('movescu', settings);
    destination = moveDestination(settings, options.destination);
  } catch (err) {
    return failedMove(request, options.destination ?? '', toPacsError(err));
  }
  const looked = await withUpperKeys(settings, request, 'movescu', options);
  if (looked.error && !looked.refused) return failedMove(request, destination, looked.error);
  const full = looked.request;
  const outcome = await runQueued(
    options.queue,
    (signal) => movescu(settings, full, destination, { ...options, signal }),
    options.signal,
    (err) => failedMove(full, destination, failureBeforeRun('aborted', 'stopped', `movescu: the move of ${describeRequest(full)} never started: ${err.message}`)),
  );
  return afterLookup(unlessNothingSent(outcome, looked), looked.command);
}

async function movescu(settings: PacsSettings, request: MoveRequest, destination: string, options: MoveOptions): Promise<MoveOutcome> {
  const args = buildMoveArgs(settings, request, destination);
  const reader = new MoveResponseReader();
  try {
    // A move may take hours; what must not happen is silence. DCMTK's own timeouts come first, this is the backstop.
    const run = await runDcmtk('movescu', args, {
      dcmtkDir: settings.dcmtkDir,
      executable: settings.executable,
      signal: options.signal,
      idleTimeoutMs: idleDeadlineMs(settings),
      buffer: false,
      runUnder: await dieWithThisProcess(),
      onLine: (line) => {
        const response = reader.read(line);
        if (response && !reader.final) options.onProgress?.(progressOf(response));
      },
    });
    const final = reader.final;
    const counts = { completed: final?.completed ?? 0, failed: final?.failed ?? 0, warning: final?.warning ?? 0 };
    const base = { ...counts, request, destination, elapsedMs: run.elapsedMs };
    if (final && !run.aborted) {
      const succeeded = final.status === 0 || (final.status === 0xb000 && final.failed === 0);
      if (succeeded && counts.completed + counts.failed + counts.warning === 0) {
        // Success with no sub-operation: the PACS found nothing to send. Never a silent success.
        const error = nothingToSend(settings, request, 'movescu', run.command);
        return { ...base, result: error.result as PypxResult<string>, error };
      }
      if (succeeded) return { ...base, result: { status: 'success', command: run.command, data: '' } };
      const error = describeFinalStatus(final, reader, settings, request, destination, run.command);
      return { ...base, result: error.result as PypxResult<string>, error };
    }
    // No final response: the association failed, was aborted, or movescu was stopped.
    const error = describeDcmtkFailure('movescu', { ...run, output: reader.log.join('\n') }, settings);
    return { ...base, result: error.result as PypxResult<string>, error };
  } catch (err) {
    return failedMove(request, destination, toPacsError(err));
  }
}

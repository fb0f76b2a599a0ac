import { DcmtkNotFoundError, type DcmtkTool, type RunResult } from './dcmtk';
import type { PypxResult } from './result';
import { QueryError } from './query';
import { type PacsSettings, SettingsError } from './settings';

export type FailureKind =
  | 'refused'
  | 'unknown-host'
  | 'rejected'
  | 'timeout'
  | 'aborted'
  | 'dcmtk-missing'
  | 'bad-input'
  | 'dicom-status'
  | 'port-in-use'
  | 'malformed'
  | 'receiver-died'
  | 'unauthorized'
  | 'not-found'
  | 'too-large'
  | 'server-error'
  | 'tls'
  | 'failed';

/**
 * A PACS operation that did not succeed. `reason` is short enough for a node status;
 * `message` says what happened in DICOM terms; `result` is the pypx error payload.
 */
export class PacsError extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly reason: string,
    message: string,
    readonly result: PypxResult<unknown>,
  ) {
    super(message);
    this.name = 'PacsError';
  }

  /** Node-RED puts `String(err)` in msg.error.message: the message alone, without "PacsError: ". */
  override toString(): string {
    return this.message;
  }
}

/** The lines DCMTK marks as errors or fatal (E: / F:), which carry its own explanation. */
function dcmtkComplaints(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^[EF]: /.test(line))
    .map((line) => line.slice(3));
}

/** Explains a failed DCMTK run in the words a PACS administrator uses. */
export function describeDcmtkFailure(
  tool: DcmtkTool,
  run: RunResult,
  settings: Pick<PacsSettings, 'aet' | 'aec' | 'host' | 'port' | 'timeout'>,
): PacsError {
  const where = `${settings.aec} at ${settings.host}:${settings.port}`;
  const result: PypxResult<string> = { status: 'error', command: run.command, data: run.output.trim() };
  const complaints = dcmtkComplaints(run.output);
  const said = complaints.join(' ');
  const make = (kind: FailureKind, reason: string, message: string) => {
    if (!result.data) result.data = message;
    return new PacsError(kind, reason, `${tool}: ${message}`, result);
  };

  if (run.aborted) return make('aborted', 'stopped', `stopped before ${where} answered`);
  if (run.timedOut) {
    result.data = [result.data, `(no answer within ${settings.timeout} s: ${tool} was stopped)`].filter(Boolean).join('\n');
    return make('timeout', `timeout ${settings.timeout} s`, `no answer from ${where} within ${settings.timeout} s`);
  }
  if (/Connection refused/i.test(said)) {
    return make('refused', 'refused', `connection refused by ${settings.host}:${settings.port}: no DICOM service listens there`);
  }
  if (/unknown host/i.test(said)) return make('unknown-host', 'unknown host', `unknown host "${settings.host}"`);
  if (/Association Rejected/i.test(said)) {
    const why = /Reason: (.+?)(?: F:|$)/.exec(said)?.[1]?.trim() ?? 'no reason given';
    // Named by its address: the AE title we called may be the very thing it refused.
    const pacs = `the PACS at ${settings.host}:${settings.port}`;
    if (/Called AE Title/i.test(why)) {
      return make('rejected', 'called AE rejected', `${pacs} rejected the association: it does not answer to the called AE title "${settings.aec}" (${why}): set the called AE title (aec) to the PACS's own AE title`);
    }
    if (/Calling AE Title/i.test(why)) {
      return make('rejected', 'calling AE rejected', `${pacs} (${settings.aec}) rejected the association: it does not know the calling AE title "${settings.aet}" (${why}): add it to its modalities`);
    }
    return make('rejected', 'rejected', `${pacs} (${settings.aec}) rejected the association: ${why}`);
  }
  if (/Peer aborted Association/i.test(said)) {
    // Orthanc, and many PACS, abort instead of answering a query or retrieve they will not serve.
    return make('rejected', 'aborted by PACS', `${where} aborted the association instead of answering: it refuses this request, often because it does not allow calling AE title "${settings.aet}" to query or retrieve: list "${settings.aet}" among its modalities`);
  }
  if (/timeout/i.test(said)) {
    return make('timeout', `timeout ${settings.timeout} s`, `no answer from ${where} within ${settings.timeout} s (${complaints[0]})`);
  }
  const first = complaints[0] ?? `exited with code ${run.exitCode ?? 'unknown'}`;
  return make('failed', 'failed', `${where}: ${first}`);
}

/**
 * A DIMSE operation the PACS answered with a failure status, e.g. "Failed: UnableToProcess" to a
 * C-FIND. `status` is DCMTK's text for it.
 */
export function describeFailedStatus(
  tool: DcmtkTool,
  operation: string,
  status: string,
  run: RunResult,
  settings: Pick<PacsSettings, 'aec' | 'host' | 'port'>,
): PacsError {
  const where = `${settings.aec} at ${settings.host}:${settings.port}`;
  const message = `${where} answered the ${operation} with status "${status}"`;
  return new PacsError('dicom-status', status.length > 24 ? `${status.slice(0, 23)}…` : status, `${tool}: ${message}`, {
    status: 'error',
    command: run.command,
    data: run.output.trim() || message,
  });
}

/** A failure before anything was sent: bad settings, a missing binary. */
export function failureBeforeRun(kind: FailureKind, reason: string, message: string, command = ''): PacsError {
  return new PacsError(kind, reason, message, { status: 'error', command, data: message });
}

/** Maps what can go wrong before a DCMTK tool runs to a PacsError; anything else is a bug and rethrown. */
export function toPacsError(err: unknown): PacsError {
  if (err instanceof PacsError) return err;
  if (err instanceof DcmtkNotFoundError) return failureBeforeRun('dcmtk-missing', `${err.tool} missing`, err.message);
  if (err instanceof SettingsError) return failureBeforeRun('bad-input', 'bad PACS settings', err.message);
  if (err instanceof QueryError) return failureBeforeRun('bad-input', 'bad query', err.message);
  throw err;
}


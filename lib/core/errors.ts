import type { PypxResult } from './result';

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
  | 'storage'
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

  /** `String(err)` is the message alone, without "PacsError: ": it is what a user reads. */
  override toString(): string {
    return this.message;
  }
}

/** A failure whose pypx result is its message: found before anything was sent (bad settings, a missing binary), or decided from what a PACS answered. */
export function failureBeforeRun(kind: FailureKind, reason: string, message: string, command = ''): PacsError {
  return new PacsError(kind, reason, message, { status: 'error', command, data: message });
}

/**
 * What can go wrong before anything is sent (bad settings, a bad query, a missing tool), thrown where it
 * is found and known by its kind and short reason wherever it is caught.
 */
export class KnownProblem extends Error {
  constructor(readonly kind: FailureKind, readonly reason: string, message: string) {
    super(message);
    this.name = 'KnownProblem';
  }
}

/** Maps a PacsError or a KnownProblem to a PacsError; anything else is a bug and rethrown. */
export function toPacsError(err: unknown): PacsError {
  if (err instanceof PacsError) return err;
  if (err instanceof KnownProblem) return failureBeforeRun(err.kind, err.reason, err.message);
  throw err;
}

/**
 * toPacsError for where nothing may escape (an output handler, an input that needs its answer): what
 * it does not know (an OS error such as ENOSPC or EACCES, a callback that threw) becomes a failure
 * saying what was being done.
 */
export function anyToPacsError(err: unknown, reason: string, doing: string): PacsError {
  try {
    return toPacsError(err);
  } catch {
    return failureBeforeRun('failed', reason, `${doing}: ${err instanceof Error ? err.message : String(err)}`);
  }
}


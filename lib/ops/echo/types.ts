// What an echo is asked and answers, over DIMSE and DICOMweb alike.
import type { PacsError } from '../../core/errors';
import type { PypxResult } from '../../core/result';

export interface OperationOptions {
  signal?: AbortSignal;
}

export interface EchoOutcome {
  result: PypxResult<string>;
  /** Set when the echo failed; result then holds pypx's error payload. */
  error?: PacsError;
  elapsedMs: number;
}

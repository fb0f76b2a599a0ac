// What an echo is asked and answers, over DIMSE and DICOMweb alike.
import type { PacsError } from '../../core/errors';
import type { AssociationQueue } from '../../core/queue';
import type { PypxResult } from '../../core/result';

export interface OperationOptions {
  signal?: AbortSignal;
  /** Given, the echo waits its turn there like any association (px-echo gives a budget shared with other processes). */
  queue?: AssociationQueue;
}

export interface EchoOutcome {
  result: PypxResult<string>;
  /** Set when the echo failed; result then holds pypx's error payload. */
  error?: PacsError;
  elapsedMs: number;
}

// What a move is given and what it comes to, whichever way it ends.
import type { PacsError } from '../../core/errors';
import type { AssociationQueue } from '../../core/queue';
import type { PypxResult } from '../../core/result';
import type { MoveRequest } from './request';
import type { MoveProgress } from './responses';

export interface MoveOptions {
  /** AE title the PACS sends to; default the settings' aetl, else aet. */
  destination?: string;
  signal?: AbortSignal;
  /** Called on each pending C-MOVE response. */
  onProgress?: (progress: MoveProgress) => void;
  /** Wait for a turn here first: at most its concurrency associations run at once. */
  queue?: AssociationQueue;
}

export interface MoveOutcome {
  /** pypx's move result: `data` is '' on success, DCMTK's words on failure. */
  result: PypxResult<string>;
  completed: number;
  failed: number;
  warning: number;
  request: MoveRequest;
  destination: string;
  error?: PacsError;
  elapsedMs: number;
}

/** What px-move sends and move() returns: pypx's result with the final sub-operation counts. */
export type MovePayload = PypxResult<string> & { completed: number; failed: number; warning: number };

/** A move that ended before or without a final response: nothing counted, the error as pypx's result. */
export function failedMove(request: MoveRequest, destination: string, error: PacsError, elapsedMs = 0): MoveOutcome {
  return { result: error.result as PypxResult<string>, completed: 0, failed: 0, warning: 0, request, destination, error, elapsedMs };
}

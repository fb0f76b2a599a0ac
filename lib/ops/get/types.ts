// What a retrieve is given and what it comes to, over C-GET or WADO-RS alike.
import type { PacsError } from '../../core/errors';
import type { AssociationQueue } from '../../core/queue';
import type { PypxResult } from '../../core/result';
import type { SeriesComplete } from '../../filing/series';
import type { MoveRequest } from '../move/request';
import type { MoveProgress } from '../move/responses';
import type { FilingDirs, InstancePayload } from '../../filing/file-instance';

export interface GetOptions {
  /** Where instances are filed, as px-listen files them. */
  dataDir: string;
  /** Seconds the retrieve may go without a new instance, once they have begun to come, before it is stopped as stalled (default 10). */
  seriesTimeout?: number | string;
  /** Folders and .info files already made, shared across retrieves (a node's lifetime). */
  filing?: Pick<FilingDirs, 'knownDirs' | 'knownInfo'>;
  signal?: AbortSignal;
  queue?: AssociationQueue;
  onInstance?: (instance: InstancePayload) => void;
  onProgress?: (progress: MoveProgress) => void;
}

export interface GetFailure {
  SOPInstanceUID: string;
  reason: string;
}

export interface GetOutcome {
  /** pypx's result: `data` is '' on success, what failed and why otherwise. */
  result: PypxResult<string>;
  completed: number;
  failed: number;
  warning: number;
  request: MoveRequest;
  failures: GetFailure[];
  /** The series this retrieve filed, each with its files. */
  series: SeriesComplete[];
  error?: PacsError;
  elapsedMs: number;
}

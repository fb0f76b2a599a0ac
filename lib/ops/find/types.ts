// What a find is asked and answers, over C-FIND and QIDO-RS alike.
import type { AssociationQueue } from '../../core/queue';
import type { PacsError } from '../../core/errors';
import type { PypxRecord, PypxResult } from '../../core/result';
import type { QueryLevel } from './query';

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
  /** Called with each record as soon as it is read, while findscu still answers (the command formats it then). */
  onRecord?: (record: PypxRecord) => void;
}

export interface FindOutcome {
  result: PypxResult<PypxRecord[]>;
  /** Set when the find failed; result then holds pypx's error payload. */
  error?: PacsError;
  /** True when the answer reached `limit` (more may have matched). */
  limited: boolean;
  elapsedMs: number;
}

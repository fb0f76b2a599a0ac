// What px-send is asked and what it answers, whichever protocol carries the files: C-STORE (dimse.ts)
// and STOW-RS (dicomweb.ts) take the same SendList and SendOptions and give the same SendOutcome, so the
// nodes, commands and module calls do not change with the protocol. The last two shapes are DIMSE's own:
// how storescu is handed TLS, and what one association did.
import type { PacsError } from '../../core/errors';
import type { AssociationQueue } from '../../core/queue';
import type { PypxResult } from '../../core/result';
import type { FileMeta } from '../../dicom/file-meta';

/** One file that did not reach the PACS, and why, in DICOM words. */
export interface SendFailure {
  file: string;
  reason: string;
  /** The C-STORE response status, when the PACS answered one (e.g. "0xa700"). */
  status?: string;
}

/** What px-send sends and send() returns: pypx's result with counts; `data` lists the files that failed. */
export type SendPayload = PypxResult<SendFailure[]> & { sent: number; failed: number; warning: number };

export interface SendList {
  /** Absolute paths, each once, in input order. */
  files: string[];
  /** Paths given that cannot be sent at all (missing, unreadable): they fail alone. */
  missing: SendFailure[];
  /** What collectSendFiles read of each file's meta information; read again where absent. */
  meta?: Map<string, FileMeta>;
}

export interface SendOptions {
  signal?: AbortSignal;
  /** Wait for a turn here for each association: at most its concurrency at once. */
  queue?: AssociationQueue;
  /** Re-sends after a connection failure or abort, with backoff; a PACS's refusal is never retried. */
  retries?: number;
  /** First wait before a retry, doubled each time (default 1000 ms, at most 30 s). */
  retryDelayMs?: number;
  /** Files done (stored or failed) so far, of the total. */
  onProgress?: (done: number, total: number) => void;
  /** storescu's TLS arguments, when not those of the settings' TLS (dcmsend has no TLS: no second pass then). */
  tls?: StorescuTls;
}

export interface SendOutcome {
  payload: SendPayload;
  /** Set when anything failed: the first line of what went wrong, for Catch nodes. */
  error?: PacsError;
  total: number;
}

/** How the caller's TLS is handed to storescu: its arguments (+tls/+tla, +cf, ...) and its key's password, for standard input. */
export interface StorescuTls {
  args: string[];
  input?: string;
}

/** What one association (one dcmsend or storescu run) did with its files. */
export interface BatchResult {
  sent: number;
  warning: number;
  failures: SendFailure[];
  /** Files the PACS took only uncompressed, which storescu cannot decompress (not yet counted done), and why. */
  uncompressedOnly?: SendFailure[];
  /** The association could not be made or was lost: `unsent` (default: every file) may be sent again. */
  connectionError?: PacsError;
  unsent?: string[];
  /** The file being sent when the association was lost (the first of `unsent`), where the tool says so. */
  inFlight?: string;
  command: string;
}

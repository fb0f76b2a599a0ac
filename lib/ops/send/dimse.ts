// C-STORE of a SendList to a PACS: the files planned into associations, each sent by storescu
// (storescu.ts), which offers each file in its own transfer syntax and uncompressed ones and reads each
// file from disk as it sends it; what a lost connection left unsent goes again while retries last. What
// the PACS took only uncompressed, which storescu cannot decompress, dcmsend sends in a second pass
// (dcmsend.ts): it decompresses where that is lossless. dcmsend has no TLS: over TLS those files fail alone.
import { FIRST_RETRY_DELAY_MS, pause, retryDelay } from '../../core/backoff';
import { anyToPacsError, PacsError } from '../../core/errors';
import { AssociationQueue } from '../../core/queue';
import { type FileMeta, readFileMeta } from '../../dicom/file-meta';
import { type FileSyntax, groupsWithinContexts, sendBatchWithStorescu } from './storescu';
import type { PypxResult } from '../../core/result';
import type { PacsSettings } from '../../core/settings';
import { buildTlsArgs, tlsKeyInput } from '../../dcmtk/tls';
import { sendBatchWithDcmsend } from './dcmsend';
import type { BatchResult, SendFailure, SendList, SendOptions, SendOutcome, SendPayload } from './types';

/** Files per storescu or dcmsend run (one association), and the bytes of their paths: far below the kernel's argument limit. */
const FILES_PER_ASSOCIATION = 2500;
const PATH_BYTES_PER_ASSOCIATION = 512 * 1024;

type BatchSender = (files: string[], done: (n: number) => void) => Promise<BatchResult>;

/**
 * A connection that failed or was lost: refused, timed out, aborted by the PACS. Not a PACS that
 * rejected the association (wrong AE title) nor one stopped here: sending again would change nothing.
 */
function isRetryable(error: PacsError): boolean {
  if (error.kind === 'rejected') return error.reason === 'aborted by PACS';
  return error.kind === 'refused' || error.kind === 'timeout' || error.kind === 'failed';
}

/** A batch, what of it the connection lost sent again while retries last, waiting longer each time. */
async function sendWithRetries(files: string[], send: BatchSender, options: SendOptions, progress: { add(n: number): void; back(n: number): void }): Promise<BatchResult> {
  const retries = Math.max(0, Math.floor(options.retries ?? 0));
  const firstDelay = options.retryDelayMs ?? FIRST_RETRY_DELAY_MS;
  const sum: BatchResult = { sent: 0, warning: 0, failures: [], uncompressedOnly: [], command: '' };
  const commands: string[] = [];
  let pending = files;
  for (let attempt = 0; ; attempt++) {
    let counted = 0;
    let result: BatchResult;
    try {
      result = await send(pending, (n) => {
        counted += n;
        progress.add(n);
      });
    } catch (err) {
      // The tool could not be run (not installed, no temporary folder, disk full): these files fail, saying why.
      const reason = `not sent: ${err instanceof Error ? err.message : String(err)}`;
      progress.add(pending.length - counted);
      sum.failures.push(...pending.map((file) => ({ file, reason })));
      return sum;
    }
    commands.push(result.command);
    sum.sent += result.sent;
    sum.warning += result.warning;
    sum.failures.push(...result.failures);
    sum.uncompressedOnly?.push(...(result.uncompressedOnly ?? []));
    sum.command = commands.join('\n');
    if (!result.connectionError) return sum;
    const unsent = result.unsent ?? pending;
    if (!isRetryable(result.connectionError) || attempt >= retries || options.signal?.aborted) return { ...sum, connectionError: result.connectionError, unsent };
    // What was answered before the connection went stays counted; what is sent again counts again.
    progress.back(counted - (pending.length - unsent.length - (result.uncompressedOnly?.length ?? 0)));
    await pause(retryDelay(attempt, firstDelay), options.signal);
    if (result.inFlight === unsent[0] && unsent.length > 1) {
      // A PACS may abort on one file's content: the file in flight then goes again alone, so that it cannot
      // take the files after it down with it on every retry; those go on in an association of their own.
      const rest = { ...options, retries: retries - attempt - 1, retryDelayMs: retryDelay(attempt + 1, firstDelay) };
      const alone = await sendWithRetries(unsent.slice(0, 1), send, rest, progress);
      const after = await sendWithRetries(unsent.slice(1), send, rest, progress);
      return combined(sum, alone, after);
    }
    pending = unsent;
  }
}

/** What a batch sent, then its first file alone and the rest after it. */
function combined(before: BatchResult, ...parts: BatchResult[]): BatchResult {
  const all = [before, ...parts];
  const lost = parts.filter((p) => p.connectionError);
  return {
    sent: all.reduce((n, p) => n + p.sent, 0),
    warning: all.reduce((n, p) => n + p.warning, 0),
    failures: all.flatMap((p) => p.failures),
    uncompressedOnly: all.flatMap((p) => p.uncompressedOnly ?? []),
    command: all.map((p) => p.command).filter(Boolean).join('\n'),
    ...(lost.length ? { connectionError: lost[0]?.connectionError, unsent: lost.flatMap((p) => p.unsent ?? []) } : {}),
  };
}

/** Files in groups of one association each: a bounded number of files, and of path bytes on the command line. */
function batchesOf(files: string[]): string[][] {
  const batches: string[][] = [];
  let bytes = 0;
  for (const file of files) {
    const last = batches[batches.length - 1];
    if (!last || last.length >= FILES_PER_ASSOCIATION || bytes + file.length > PATH_BYTES_PER_ASSOCIATION) {
      batches.push([file]);
      bytes = file.length;
    } else {
      last.push(file);
      bytes += file.length + 1;
    }
  }
  return batches;
}

/** Why a file cannot be offered: storescu needs its SOP class and transfer syntax to propose a context for it. */
function whyNotOffered(found: Exclude<FileMeta, { kind: 'dicom' }>): string {
  if (found.kind === 'no-meta') return found.reason;
  if (found.kind === 'not-dicom') return 'not a readable DICOM file: no DICOM Part 10 header ("DICM" after the 128-byte preamble)';
  if (found.kind === 'folder') return 'is a folder';
  return `cannot read it: ${found.message}`;
}

/** storescu batches: one association each, of at most MAX_CONTEXTS presentation contexts; files that cannot be offered fail alone. */
function plan(list: SendList): { batches: string[][]; syntaxOf: Map<string, FileSyntax>; unreadable: SendFailure[] } {
  const readable = new Map<string, FileSyntax>();
  const unreadable: SendFailure[] = [];
  for (const file of list.files) {
    const found = list.meta?.get(file) ?? readFileMeta(file);
    if (found.kind !== 'dicom') unreadable.push({ file, reason: whyNotOffered(found) });
    else readable.set(file, { file, sopClass: found.sopClass, transferSyntax: found.transferSyntax });
  }
  const batches = batchesOf([...readable.keys()]).flatMap((batch) => groupsWithinContexts(batch.map((file) => readable.get(file) as FileSyntax)));
  return { batches: batches.map((group) => group.map((f) => f.file)), syntaxOf: readable, unreadable };
}

function summary(sent: number, warning: number, failures: SendFailure[], total: number): string {
  return `${sent + warning} of ${total} file${total === 1 ? '' : 's'} sent${warning ? ` (${warning} with a warning)` : ''}, ${failures.length} failed`;
}

/**
 * C-STORE of every file an input names. Never throws for what the PACS or the files do. Its associations
 * wait their turn on options.queue or, given none (the commands, the module's send()), on a queue of the
 * default concurrency: 100,000 files never open 40 associations to one PACS at once.
 */
export async function cstoreSend(settings: PacsSettings, list: SendList, given: SendOptions = {}): Promise<SendOutcome> {
  const options: SendOptions = { ...given, queue: given.queue ?? new AssociationQueue() };
  const total = list.files.length + list.missing.length;
  const failures: SendFailure[] = [...list.missing];
  let sent = 0;
  let warning = 0;
  let done = list.missing.length;
  const commands: string[] = [];
  let connectionError: PacsError | undefined;
  const progress = {
    add: (n: number) => options.onProgress?.((done += n), total),
    back: (n: number) => options.onProgress?.((done -= n), total),
  };
  const tools = ['storescu'];
  const tally = (results: BatchResult[], batches: string[][]) => results.forEach((result, i) => {
    commands.push(result.command);
    sent += result.sent;
    warning += result.warning;
    failures.push(...result.failures);
    if (result.connectionError) {
      connectionError ??= result.connectionError;
      for (const file of result.unsent ?? (batches[i] as string[])) failures.push({ file, reason: result.connectionError.message.replace(/^(dcmsend|storescu): /, '') });
    }
  });
  try {
    const tls = options.tls ?? (settings.tls ? { args: buildTlsArgs(settings, 'scu'), input: tlsKeyInput(settings) } : undefined);
    const { batches, syntaxOf, unreadable } = plan(list);
    failures.push(...unreadable);
    progress.add(unreadable.length);
    const storescu: BatchSender = (batch, done) => sendBatchWithStorescu(settings, batch.map((f) => syntaxOf.get(f) as FileSyntax), tls, options, done);
    const results = await Promise.all(batches.map((batch) => sendWithRetries(batch, storescu, options, progress)));
    tally(results, batches);
    const uncompressedOnly = results.flatMap((result) => result.uncompressedOnly ?? []);
    if (uncompressedOnly.length && (tls || options.signal?.aborted)) {
      failures.push(...uncompressedOnly);
      progress.add(uncompressedOnly.length);
    } else if (uncompressedOnly.length) {
      // dcmsend decompresses what is losslessly compressed; what it cannot, it reports as not accepted.
      tools.push('dcmsend');
      const second = batchesOf(uncompressedOnly.map((f) => f.file));
      const dcmsend: BatchSender = (batch, done) => sendBatchWithDcmsend(settings, batch, options, done);
      tally(await Promise.all(second.map((batch) => sendWithRetries(batch, dcmsend, options, progress))), second);
    }
  } catch (err) {
    const error = anyToPacsError(err, 'failed', `storescu: nothing was sent to ${settings.aec} at ${settings.host}:${settings.port}`);
    // Each file once: those that had failed alone keep their reason, the others fail with this error.
    const failedAlone = new Set(failures.map((f) => f.file));
    const data = [...failures, ...list.files.filter((file) => !failedAlone.has(file)).map((file) => ({ file, reason: error.message }))];
    return { payload: { ...(error.result as PypxResult<never>), data, sent: 0, failed: data.length, warning: 0 }, error, total };
  }
  const command = commands.join('\n');
  const payload: SendPayload = { status: failures.length ? 'error' : 'success', command, data: failures, sent, failed: failures.length, warning };
  if (!failures.length) return { payload, total };
  const where = `${settings.aec} at ${settings.host}:${settings.port}`;
  const first = failures[0] as SendFailure;
  const headline = connectionError && failures.length === total
    ? connectionError.message
    : `${tools.join(' and ')}: ${summary(sent, warning, failures, total)} to ${where}; first: ${first.file}: ${first.reason}`;
  const reason = connectionError && failures.length === total ? connectionError.reason : `${failures.length}/${total} failed`;
  return { payload, error: new PacsError(connectionError && failures.length === total ? connectionError.kind : 'dicom-status', reason, headline, payload), total };
}

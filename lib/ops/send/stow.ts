// STOW-RS: files sent as multipart/related requests streamed from disk, in batches of bounded size;
// the answer's Referenced and Failed SOP Sequences told back as sent/failed/warning per file.
import { randomUUID } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { type PacsError, toPacsError } from '../../core/errors';
import { dicomwebRequest } from '../../dicomweb/http';
import type { DicomwebPacs } from '../../core/settings';
import { readDicomHeaderSync } from '../../dicom/read-file';

export interface StowOptions {
  /** A request carries at most this many bytes of files (one larger file goes alone). Default 32 MiB. */
  batchBytes?: number;
  /** ... and at most this many files. Default 200. */
  batchFiles?: number;
  signal?: AbortSignal;
  /** Tries after a 5xx or a failed connection (px-send's retries); the PACS settings' when absent. */
  retries?: number;
  retryDelayMs?: number;
  /** After each batch's answer: the files it decided. */
  onBatch?: (files: StowFileResult[]) => void;
}

export const DEFAULT_BATCH_BYTES = 32 * 1024 * 1024;
export const DEFAULT_BATCH_FILES = 200;

export type StowFileStatus = 'sent' | 'warning' | 'failed';

export interface StowFileResult {
  path: string;
  SOPInstanceUID: string;
  status: StowFileStatus;
  /** Why it failed or was stored with a warning, in the service's words. */
  reason?: string;
  /** The status the service gave, e.g. "0xc122". */
  code?: string;
}

export interface StowOutcome {
  /** "POST <url>/studies", for pypx's `command`. */
  command: string;
  sent: number;
  warning: number;
  failed: number;
  files: StowFileResult[];
  /** Set when a request failed as a whole (refused credentials, service down): later files were not sent. */
  error?: PacsError;
  elapsedMs: number;
}

export interface StowFile {
  path: string;
  size: number;
  SOPInstanceUID: string;
}

/** Groups files into requests of at most `maxBytes` and `maxFiles` each, in the order given. */
export function batchFiles<T extends { size: number }>(files: readonly T[], maxBytes = DEFAULT_BATCH_BYTES, maxFiles = DEFAULT_BATCH_FILES): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const file of files) {
    if (current.length && (bytes + file.size > maxBytes || current.length >= maxFiles)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(file);
    bytes += file.size;
  }
  if (current.length) batches.push(current);
  return batches;
}

/** The request body of one batch: its exact length, and a fresh stream of its bytes for each attempt. */
export function stowBody(files: readonly StowFile[], boundary: string): { length: number; stream: () => AsyncIterable<Uint8Array> } {
  const head = Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
  const between = Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const length = files.reduce((sum, f) => sum + f.size, 0) + head.length + between.length * Math.max(0, files.length - 1) + tail.length;
  async function* stream(): AsyncIterable<Uint8Array> {
    for (const [index, file] of files.entries()) {
      yield index === 0 ? head : between;
      let read = 0;
      for await (const chunk of createReadStream(file.path, { highWaterMark: 256 * 1024 })) {
        read += (chunk as Buffer).length;
        if (read > file.size) break;
        yield chunk as Buffer;
      }
      if (read !== file.size) throw new Error(`${file.path} changed size while it was sent (${file.size} bytes before, ${read} now)`);
    }
    yield tail;
  }
  return { length, stream };
}

// PS3.4 C.4.2.1.4 / PS3.18 Table I.2-5: the statuses a STOW-RS answer gives per instance.
const STATUS_WORDS: Record<number, string> = {
  0x0110: 'Processing failure',
  0x0111: 'Duplicate SOP Instance',
  0x0117: 'Invalid SOP Instance',
  0x0119: 'SOP Class and Instance do not match',
  0x0122: 'SOP Class not supported',
  0x0124: 'Not authorized',
  0xa700: 'Refused: out of resources',
  0xa900: 'Error: data set does not match SOP Class',
  0xc000: 'Error: cannot understand',
  0xc122: 'Transfer Syntax not supported',
  0xb000: 'Coercion of data elements',
  0xb006: 'Elements discarded',
  0xb007: 'Data set does not match SOP Class',
};

function statusCode(code: unknown): string | undefined {
  return typeof code === 'number' ? `0x${code.toString(16).padStart(4, '0')}` : undefined;
}

function statusWords(code: unknown): string {
  if (typeof code !== 'number') return 'no reason given';
  const hex = `0x${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return STATUS_WORDS[code] ? `${STATUS_WORDS[code]} (${hex})` : `status ${hex}`;
}

interface JsonAttribute {
  Value?: unknown[];
}
type JsonDataset = Record<string, JsonAttribute | undefined>;

function items(answer: JsonDataset, tag: string): JsonDataset[] {
  const value = answer[tag]?.Value;
  return Array.isArray(value) ? value.filter((item): item is JsonDataset => !!item && typeof item === 'object') : [];
}
const first = (dataset: JsonDataset, tag: string): unknown => dataset[tag]?.Value?.[0];

/**
 * Reads a STOW-RS answer (DICOM JSON): each file of the batch sent, sent with a warning, or failed
 * with the service's reason. A file the answer does not mention counts as failed.
 */
export function readStowAnswer(answer: unknown, files: readonly StowFile[]): StowFileResult[] {
  const dataset: JsonDataset = Array.isArray(answer) ? (answer[0] as JsonDataset) ?? {} : answer && typeof answer === 'object' ? (answer as JsonDataset) : {};
  const decided = new Map<string, Omit<StowFileResult, 'path' | 'SOPInstanceUID'>>();
  for (const item of items(dataset, '00081199')) {
    const uid = first(item, '00081155');
    if (typeof uid !== 'string') continue;
    const warning = first(item, '00081196');
    decided.set(uid.trim(), warning === undefined ? { status: 'sent' } : { status: 'warning', reason: statusWords(warning), code: statusCode(warning) });
  }
  for (const item of items(dataset, '00081198')) {
    const uid = first(item, '00081155');
    if (typeof uid === 'string') {
      const code = first(item, '00081197');
      decided.set(uid.trim(), { status: 'failed', reason: `the service refused to store it: ${statusWords(code)}`, code: statusCode(code) });
    }
  }
  const generalWarning = first(dataset, '00081196');
  return files.map((file) => {
    const known = decided.get(file.SOPInstanceUID);
    if (!known) return { path: file.path, SOPInstanceUID: file.SOPInstanceUID, status: 'failed', reason: 'the service\'s answer does not mention this instance' };
    if (known.status === 'sent' && generalWarning !== undefined) return { path: file.path, SOPInstanceUID: file.SOPInstanceUID, status: 'warning', reason: statusWords(generalWarning) };
    return { path: file.path, SOPInstanceUID: file.SOPInstanceUID, ...known };
  });
}

/** Each file's size and SOP Instance UID; files that are no DICOM are failed here and never sent. */
export function prepareFiles(paths: readonly string[]): { ready: StowFile[]; refused: StowFileResult[] } {
  const ready: StowFile[] = [];
  const refused: StowFileResult[] = [];
  for (const file of paths) {
    try {
      const dataset = readDicomHeaderSync(file);
      const uid = dataset.text('x00080018');
      if (!uid) throw new Error('no SOP Instance UID (0008,0018)');
      ready.push({ path: file, size: dataset.fileSize ?? statSync(file).size, SOPInstanceUID: uid });
    } catch (err) {
      refused.push({ path: file, SOPInstanceUID: '', status: 'failed', reason: `not sent: ${(err as Error).message.replace(`${file}: `, '')}` });
    }
  }
  return { ready, refused };
}

/** STOW-RS of files to `<url>/studies`, batch after batch; a batch the service refuses as a whole stops the send. */
export async function stowFiles(settings: DicomwebPacs, paths: readonly string[], options: StowOptions = {}): Promise<StowOutcome> {
  const started = Date.now();
  const outcome: StowOutcome = { command: `POST ${settings.dicomweb.url}/studies`, sent: 0, warning: 0, failed: 0, files: [], elapsedMs: 0 };
  const record = (results: StowFileResult[]) => {
    for (const result of results) outcome[result.status]++;
    outcome.files.push(...results);
    if (results.length) options.onBatch?.(results);
  };
  const { ready, refused } = prepareFiles(paths);
  record(refused);
  const batches = batchFiles(ready, options.batchBytes, options.batchFiles);
  for (const [index, batch] of batches.entries()) {
    const boundary = `pypx-${randomUUID()}`;
    const body = stowBody(batch, boundary);
    try {
      const answer = await dicomwebRequest(settings, {
        method: 'POST',
        path: '/studies',
        headers: {
          'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
          'content-length': String(body.length),
          accept: 'application/dicom+json',
        },
        body: body.stream,
        what: `a STOW-RS request of ${batch.length} instance${batch.length === 1 ? '' : 's'} (${body.length} bytes)`,
        signal: options.signal,
        accept: [409],
        retries: options.retries,
        retryDelayMs: options.retryDelayMs,
      });
      const text = await answer.text();
      let json: unknown = {};
      try {
        json = text.trim() ? JSON.parse(text) : {};
      } catch {
        json = {};
      }
      record(readStowAnswer(json, batch));
    } catch (err) {
      outcome.error = toPacsError(err);
      const reason = `not stored: ${outcome.error.message}`;
      const unsent = batches.slice(index).flat();
      record(unsent.map((file) => ({ path: file.path, SOPInstanceUID: file.SOPInstanceUID, status: 'failed' as const, reason })));
      break;
    }
  }
  outcome.elapsedMs = Date.now() - started;
  return outcome;
}

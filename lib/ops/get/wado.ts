// WADO-RS: a study, a series or an instance as a multipart/related answer, streamed part by part to
// files on disk (never held whole in memory), each file then filed by the same code as px-listen's.
import { closeSync, fchmodSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { MultipartError } from 'multipasta';
import { failureBeforeRun, PacsError, toPacsError } from '../../core/errors';
import { uidProblem } from '../../dicom/uid';
import { dicomwebRequest } from '../../dicomweb/http';
import { seriesTimeoutSeconds, StallWatch, stallReason } from './stall';
import { workingFolderPrefix } from './leftovers';
import type { DicomwebPacs } from '../../core/settings';
import { FILE_MODE } from '../../filing/layout';
import { folderWriteError, isFolderWriteFailure } from '../../filing/write-failure';
import { fileReceivedInstance, type FilingDirs, type InstancePayload, quarantine } from '../../filing/file-instance';
import { type InstanceHeader, MalformedFileError, readReceivedHeader, writtenHeader } from '../../filing/header';

export interface WadoTarget {
  StudyInstanceUID: string;
  SeriesInstanceUID?: string;
  SOPInstanceUID?: string;
}

/** `/studies/<uid>[/series/<uid>[/instances/<uid>]]`; UIDs are checked to be UIDs before they become a path. */
export function wadoPath(target: WadoTarget): string {
  const parts: Array<[string, string | undefined]> = [['studies', target.StudyInstanceUID], ['series', target.SeriesInstanceUID], ['instances', target.SOPInstanceUID]];
  let route = '';
  for (const [resource, uid] of parts) {
    if (uid === undefined || uid === '') break;
    const problem = uidProblem(uid);
    if (problem) throw failureBeforeRun('bad-input', 'bad UID', `the ${resource === 'studies' ? 'Study' : resource === 'series' ? 'Series' : 'SOP'} Instance UID "${uid}" ${problem}`);
    route += `/${resource}/${uid}`;
  }
  if (!route) throw failureBeforeRun('bad-input', 'no UID', 'a WADO-RS retrieve needs a StudyInstanceUID');
  if (target.SOPInstanceUID && !target.SeriesInstanceUID) {
    throw failureBeforeRun('bad-input', 'no series UID', 'retrieving one instance over WADO-RS needs its SeriesInstanceUID too');
  }
  return route;
}

export function describeTarget(target: WadoTarget): string {
  if (target.SOPInstanceUID) return `instance ${target.SOPInstanceUID}`;
  if (target.SeriesInstanceUID) return `series ${target.SeriesInstanceUID}`;
  return `study ${target.StudyInstanceUID}`;
}

/** Bytes of each part kept (by reference) to read its header from: headers run to a few KB. */
const HEADER_BYTES = 16 * 1024;
const EMPTY = new Uint8Array(0);

/** Every instance in the transfer syntax the PACS holds it in: no transcoding, nothing lost. */
export const WADO_ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*';

export interface RetrieveOptions {
  /** pypx's data folder: instances are filed below it as px-listen files them. */
  dataDir: string;
  /** AE title recorded as calledAET in each instance's payload. */
  calledAET?: string;
  /** Seconds without a new instance (or any of its bytes), once they have begun to come, before the retrieve is stopped as stalled. */
  seriesTimeout?: number;
  /** Shared with other retrieves into the same folder, so .info files are written once. */
  known?: Pick<FilingDirs, 'knownInfo' | 'knownDirs'>;
  signal?: AbortSignal;
  /** Each instance as it is filed. */
  onInstance?: (instance: InstancePayload) => void;
  /** Each part that was no usable DICOM, after it was moved to <dataDir>/quarantine. */
  onQuarantined?: (file: string, reason: string) => void;
}

export interface RetrieveOutcome {
  command: string;
  /** Instances filed. */
  completed: number;
  /** Parts that could not be filed (quarantined). */
  failed: number;
  /** Bytes of DICOM received. */
  bytes: number;
  elapsedMs: number;
  /** Set when the retrieve failed or was cut short; what was filed before stays filed. */
  error?: PacsError;
  /** Stopped by the series timeout. */
  stalled?: boolean;
}

function multipartProblem(error: MultipartError): string {
  switch (error._tag) {
    case 'InvalidBoundary': return 'its Content-Type names no multipart boundary';
    case 'EndNotReached': return 'the answer ended in the middle of an instance';
    case 'BadHeaders': return 'a part has malformed headers';
    default: return `the multipart answer is malformed (${error._tag})`;
  }
}

/**
 * WADO-RS retrieve into `dataDir`. Each part goes to its own file in a temp folder under
 * <dataDir>/incoming (same file system, so filing is a rename), with backpressure: the next bytes
 * are read from the network only once the disk has taken the last ones.
 */
export async function wadoRetrieve(settings: DicomwebPacs, target: WadoTarget, options: RetrieveOptions): Promise<RetrieveOutcome> {
  const started = Date.now();
  const outcome: RetrieveOutcome = { command: '', completed: 0, failed: 0, bytes: 0, elapsedMs: 0 };
  let tempDir: string | undefined;
  const seriesTimeout = options.seriesTimeout ?? seriesTimeoutSeconds(undefined);
  const watch = new StallWatch(seriesTimeout);
  try {
    const route = wadoPath(target);
    const dataDir = path.resolve(options.dataDir);
    const incoming = path.join(dataDir, 'incoming');
    try {
      mkdirSync(incoming, { recursive: true });
      tempDir = await mkdtemp(workingFolderPrefix(incoming, 'wado'));
    } catch (err) {
      throw folderWriteError(incoming, err, `DICOMweb: cannot make a working folder in ${incoming}`);
    }
    const answer = await dicomwebRequest(settings, { path: route, headers: { accept: WADO_ACCEPT }, what: `the ${describeTarget(target)}`, signal: options.signal });
    outcome.command = answer.command;
    const contentType = answer.header('content-type') ?? '';
    if (!/^multipart\/related/i.test(contentType)) {
      answer.body.destroy();
      throw failureBeforeRun('malformed', 'not multipart', `DICOMweb: ${settings.dicomweb.url} answered the WADO-RS retrieve of the ${describeTarget(target)} with "${contentType || 'no Content-Type'}", not multipart/related`, answer.command);
    }
    const dirs: FilingDirs = { dataDir, calledAET: options.calledAET ?? settings.aet, knownInfo: options.known?.knownInfo ?? new Set(), knownDirs: options.known?.knownDirs ?? new Set() };
    const fileIt = (file: string, written?: InstanceHeader) => {
      try {
        const header = written ?? readReceivedHeader(file, true).header;
        const filed = fileReceivedInstance(file, header, dirs, { modeSet: true });
        outcome.completed++;
        options.onInstance?.(filed.payload);
      } catch (err) {
        if (!(err instanceof MalformedFileError)) throw err;
        outcome.failed++;
        options.onQuarantined?.(quarantine(file, dataDir), err.message);
      }
    };

    // Parts are written synchronously, chunk by chunk as they arrive: a thread-pool hand-off per chunk
    // and a stream per instance cost more than the writes, and the socket is read no faster than the
    // disk takes the bytes (TCP backpressure). The parser is loaded here, not at every start.
    const { make: makeMultipartParser } = require('multipasta') as typeof import('multipasta');
    let parts = 0;
    let parseError: MultipartError | undefined;
    let current: { fd: number; file: string } | undefined;
    const parser = makeMultipartParser({
      headers: { 'content-type': contentType },
      isFile: () => true,
      onField: () => undefined,
      onError: (error) => {
        parseError ??= error;
      },
      onDone: () => undefined,
      onFile: () => {
        const file = path.join(tempDir as string, `part-${++parts}.dcm`);
        const part = { fd: openSync(file, 'w', FILE_MODE), file };
        fchmodSync(part.fd, FILE_MODE);
        current = part;
        // The header is read from the first bytes as they pass; the parser's chunks are never reused.
        const first: Uint8Array[] = [];
        let firstBytes = 0;
        let size = 0;
        let last: Uint8Array = EMPTY;
        let beforeLast: Uint8Array = EMPTY;
        return (chunk) => {
          if (chunk !== null) {
            outcome.bytes += chunk.length;
            size += chunk.length;
            if (firstBytes < HEADER_BYTES) {
              first.push(chunk);
              firstBytes += chunk.length;
            }
            beforeLast = last;
            last = chunk;
            for (let at = 0; at < chunk.length; ) at += writeSync(part.fd, chunk, at);
            return;
          }
          current = undefined;
          closeSync(part.fd);
          const tail = last.length >= 8 ? last : Buffer.concat([beforeLast, last]);
          fileIt(file, writtenHeader(first.length === 1 ? (first[0] as Uint8Array) : Buffer.concat(first), size, tail));
        };
      },
    });
    try {
      // 'data' events, not an async iterator: every chunk is handled synchronously as it comes, so no
      // promise per chunk, and the socket is not read again before the disk has taken the last chunk.
      await new Promise<void>((resolve, reject) => {
        const body = answer.body;
        watch.signal.addEventListener('abort', () => {
          body.destroy();
          reject(watch.signal.reason);
        }, { once: true });
        body.on('data', (chunk: Buffer) => {
          watch.arrived();
          try {
            parser.write(chunk);
          } catch (err) {
            body.destroy();
            return reject(err);
          }
          if (parseError) {
            body.destroy();
            resolve();
          }
        });
        body.once('end', () => {
          if (!body.complete) return reject(Object.assign(new Error('the connection closed before the answer ended'), { code: 'ECONNRESET' }));
          resolve();
        });
        body.once('error', reject);
        body.once('aborted', () => reject(Object.assign(new Error('the connection closed before the answer ended'), { code: 'ECONNRESET' })));
        body.once('close', () => {
          if (!body.complete && !parseError) reject(Object.assign(new Error('the connection closed before the answer ended'), { code: 'ECONNRESET' }));
        });
      });
      if (!parseError) parser.end();
    } finally {
      // An instance cut short is neither filed nor kept: the temp folder goes.
      if (current) closeSync(current.fd);
    }
    if (parseError) {
      const message = `DICOMweb: the WADO-RS answer for the ${describeTarget(target)} from ${settings.dicomweb.url} is incomplete: ${multipartProblem(parseError)} (${outcome.completed} instances filed before)`;
      throw failureBeforeRun('malformed', 'answer cut short', message, answer.command);
    }
  } catch (err) {
    outcome.stalled = watch.stalled && !options.signal?.aborted;
    outcome.error = err instanceof PacsError ? err
      : outcome.stalled ? failureBeforeRun('timeout', `stalled ${seriesTimeout} s`, `DICOMweb: ${stallReason(settings.dicomweb.url, seriesTimeout)}`, outcome.command)
      : options.signal?.aborted ? failureBeforeRun('aborted', 'stopped', `DICOMweb: stopped while the ${describeTarget(target)} arrived (${outcome.completed} instances filed before)`, outcome.command)
      : describeStreamFailure(err, settings, outcome.command, target, path.resolve(options.dataDir));
  } finally {
    watch.stop();
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
    outcome.elapsedMs = Date.now() - started;
  }
  return outcome;
}

/** A failure while the answer streamed in: the connection dropped, the disk filled, or the node stopped. */
function describeStreamFailure(err: unknown, settings: DicomwebPacs, command: string, target: WadoTarget, dataDir: string): PacsError {
  const error = err as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  if (error.name === 'AbortError') return failureBeforeRun('aborted', 'stopped', `DICOMweb: stopped while the ${describeTarget(target)} arrived`, command);
  if (isFolderWriteFailure(err)) return folderWriteError(dataDir, err, `DICOMweb: cannot write the ${describeTarget(target)} into ${dataDir}`, command);
  if (/TIMEOUT/.test(error.cause?.code ?? error.code ?? '')) {
    return failureBeforeRun('timeout', `timeout ${settings.timeout} s`, `DICOMweb: ${settings.dicomweb.url} sent nothing for ${settings.timeout} s while sending the ${describeTarget(target)}`, command);
  }
  try {
    return toPacsError(err);
  } catch {
    return failureBeforeRun('failed', 'transfer failed', `DICOMweb: the transfer of the ${describeTarget(target)} from ${settings.dicomweb.url} failed: ${error.message ?? String(err)}`, command);
  }
}

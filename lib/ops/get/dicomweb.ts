// px-get over WADO-RS: the same outcome as over C-GET, so the nodes, commands and module calls do not
// change with the protocol.
import path from 'node:path';
import { anyToPacsError, failureBeforeRun, PacsError } from '../../core/errors';
import { runQueued } from '../../core/queue';
import type { PypxResult } from '../../core/result';
import { RetrievedSeries } from '../../filing/retrieved-series';
import { runQidoFind } from '../find/dicomweb';
import { describeTarget, type WadoTarget, wadoRetrieve } from './wado';
import { seriesTimeoutSeconds } from './stall';
import type { DicomwebPacs } from '../../core/settings';
import { describeRequest, type MoveRequest } from '../move/request';
import type { GetFailure, GetOptions, GetOutcome } from './types';

/**
 * WADO-RS names a series or an instance by its study (and series): what a request lacks is looked up
 * with QIDO-RS, as pypx users move a series by its Series Instance UID alone.
 */
async function wadoTarget(settings: DicomwebPacs, request: MoveRequest, signal?: AbortSignal): Promise<WadoTarget> {
  const { StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID } = request;
  const complete = request.level === 'STUDY' ? !!StudyInstanceUID : request.level === 'SERIES' ? !!(StudyInstanceUID && SeriesInstanceUID) : !!(StudyInstanceUID && SeriesInstanceUID && SOPInstanceUID);
  if (complete) {
    return { StudyInstanceUID: StudyInstanceUID as string, ...(request.level !== 'STUDY' ? { SeriesInstanceUID } : {}), ...(request.level === 'IMAGE' ? { SOPInstanceUID } : {}) };
  }
  const key = request.level === 'IMAGE' ? { SOPInstanceUID } : { SeriesInstanceUID };
  const found = await runQidoFind(settings, key, { level: request.level, returnTags: ['StudyInstanceUID', 'SeriesInstanceUID'], signal });
  if (found.error) throw found.error;
  const match = found.result.data[0];
  const uid = Object.values(key)[0];
  if (!match) throw failureBeforeRun('not-found', 'not found', `DICOMweb: ${settings.dicomweb.url} holds no ${request.level === 'IMAGE' ? 'instance' : 'series'} ${uid} (asked with QIDO-RS to find its study)`, found.result.command);
  return {
    StudyInstanceUID: String(match.StudyInstanceUID?.value ?? ''),
    SeriesInstanceUID: String(match.SeriesInstanceUID?.value ?? SeriesInstanceUID ?? ''),
    ...(request.level === 'IMAGE' ? { SOPInstanceUID } : {}),
  };
}

/** px-get over WADO-RS: every instance filed as px-listen files it, announced one by one, the series listed at the end. */
export async function wadoGet(settings: DicomwebPacs, request: MoveRequest, options: GetOptions): Promise<GetOutcome> {
  const started = Date.now();
  const series = new RetrievedSeries();
  const failures: GetFailure[] = [];
  let completed = 0;
  const finish = (result: PypxResult<string>, error?: PacsError): GetOutcome =>
    ({ result, completed, failed: failures.length, warning: 0, request, failures, series: series.list(), error, elapsedMs: Date.now() - started });
  try {
    if (!options.dataDir?.trim()) throw failureBeforeRun('bad-input', 'no data folder', 'px-get needs a data folder (dataDir) to file the instances in');
    const seriesTimeout = seriesTimeoutSeconds(options.seriesTimeout);
    const target = await wadoTarget(settings, request, options.signal);
    // One retrieve at a time per slot of the PACS config's queue, as C-GETs wait for an association.
    const outcome = await runQueued(options.queue, (signal) => wadoRetrieve(settings, target, {
      dataDir: options.dataDir as string,
      seriesTimeout,
      known: options.filing,
      signal,
      onInstance: (instance) => {
        completed++;
        series.add(instance);
        options.onInstance?.(instance);
        options.onProgress?.({ completed, failed: failures.length, warning: 0, remaining: 0, total: 0 });
      },
      onQuarantined: (file, reason) => failures.push({ SOPInstanceUID: `(${path.basename(file)}, quarantined)`, reason }),
    }), options.signal, (err) => {
      throw failureBeforeRun('aborted', 'stopped', `DICOMweb: the retrieve of the ${describeTarget(target)} never started: ${err.message}`);
    });
    if (!outcome.error && !failures.length && !completed) {
      // An answer with no instance: the service found nothing to send, never a silent success (as over C-MOVE and C-GET).
      const message = `DICOMweb: ${settings.dicomweb.url} found nothing to send for ${describeRequest(request)}: it answered the WADO-RS retrieve of the ${describeTarget(target)} with no instance`;
      const result: PypxResult<string> = { status: 'error', command: outcome.command, data: message };
      return finish(result, new PacsError('not-found', 'nothing to send', message, result));
    }
    if (!outcome.error && !failures.length) return finish({ status: 'success', command: outcome.command, data: '' });
    // The service does not name what it has not sent: the rest is one line, counted once.
    if (outcome.stalled) failures.push({ SOPInstanceUID: `(the rest of the ${describeTarget(target)})`, reason: (outcome.error as PacsError).message.replace(/^DICOMweb: /, '') });
    const head = `DICOMweb: ${completed} instance${completed === 1 ? '' : 's'} of the ${describeTarget(target)} retrieved from ${settings.dicomweb.url}`;
    const message = outcome.error
      ? `${head}; then ${outcome.error.message.replace(/^DICOMweb: /, '')}`
      : `${head}, ${failures.length} not DICOM: ${failures[0]?.reason}`;
    const result: PypxResult<string> = { status: 'error', command: outcome.command, data: [message, ...failures.map((f) => `${f.SOPInstanceUID}: ${f.reason}`)].join('\n') };
    const kind = outcome.error?.kind ?? 'malformed';
    const reason = outcome.error && !completed ? outcome.error.reason : outcome.error ? `${outcome.error.reason} after ${completed}` : `${failures.length} failed`;
    return finish(result, new PacsError(kind, reason, message, result));
  } catch (err) {
    const error = anyToPacsError(err, 'failed', `DICOMweb: the retrieve of ${describeRequest(request)} into ${options.dataDir} failed`);
    return finish(error.result as PypxResult<string>, error);
  }
}

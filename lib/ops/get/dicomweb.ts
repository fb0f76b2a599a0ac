// px-get over WADO-RS and px-send over STOW-RS: the same outcomes as over C-GET and C-STORE, so the
// nodes, commands and module calls do not change with the protocol.
import path from 'node:path';
import { failureBeforeRun, PacsError, toPacsError } from '../../core/errors';
import type { GetFailure, GetOptions, GetOutcome } from './dimse';
import type { MoveRequest } from '../move/dimse';
import { runQueued } from '../../core/queue';
import type { PypxResult } from '../../core/result';
import { RetrievedSeries } from '../../filing/retrieved-series';
import type { SendFailure, SendList, SendOptions, SendOutcome, SendPayload } from '../send/dimse';
import type { DicomwebPacs } from '../../dicomweb/http';
import { runQidoFind } from '../find/dicomweb';
import { stowFiles } from '../send/stow';
import { describeTarget, type WadoTarget, wadoRetrieve } from './wado';
import { seriesTimeoutSeconds } from './stall';

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
    const error = toPacsError(err);
    return finish(error.result as PypxResult<string>, error);
  }
}

/** px-send over STOW-RS: the same payload as over C-STORE, `data` listing each file that failed and why. */
export async function stowSend(settings: DicomwebPacs, list: SendList, options: SendOptions = {}): Promise<SendOutcome> {
  const total = list.files.length + list.missing.length;
  let done = list.missing.length;
  const outcome = await runQueued(options.queue, (signal) => stowFiles(settings, list.files, {
    signal,
    retries: options.retries,
    retryDelayMs: options.retryDelayMs,
    onBatch: (decided) => options.onProgress?.((done += decided.length), total),
  }), options.signal, (err) => {
    const error = failureBeforeRun('aborted', 'stopped', `DICOMweb: the send never started: ${err.message}`);
    return { command: '', sent: 0, warning: 0, failed: 0, elapsedMs: 0, error, files: list.files.map((file) => ({ path: file, SOPInstanceUID: '', status: 'failed' as const, reason: error.message })) };
  });
  const failures: SendFailure[] = [
    ...list.missing,
    ...outcome.files.filter((f) => f.status === 'failed').map((f) => ({ file: f.path, reason: f.reason ?? 'not stored', ...(f.code ? { status: f.code } : {}) })),
  ];
  const payload: SendPayload = { status: failures.length ? 'error' : 'success', command: outcome.command, data: failures, sent: outcome.sent, failed: failures.length, warning: outcome.warning };
  if (!failures.length) return { payload, total };
  const first = failures[0] as SendFailure;
  const stored = outcome.sent + outcome.warning;
  const whole = outcome.error && stored === 0;
  const message = whole
    ? (outcome.error as PacsError).message
    : `DICOMweb: ${stored} of ${total} file${total === 1 ? '' : 's'} stored at ${settings.dicomweb.url}${outcome.warning ? ` (${outcome.warning} with a warning)` : ''}, ${failures.length} failed; first: ${first.file}: ${first.reason}`;
  const reason = whole ? (outcome.error as PacsError).reason : `${failures.length}/${total} failed`;
  return { payload, error: new PacsError(whole ? (outcome.error as PacsError).kind : 'dicom-status', reason, message, payload), total };
}

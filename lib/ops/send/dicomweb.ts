// px-send over STOW-RS: the same outcome as over C-STORE, so the nodes, commands and module calls do
// not change with the protocol.
import { failureBeforeRun, PacsError } from '../../core/errors';
import { runQueued } from '../../core/queue';
import type { DicomwebPacs } from '../../core/settings';
import { stowFiles } from './stow';
import type { SendFailure, SendList, SendOptions, SendOutcome, SendPayload } from './types';

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

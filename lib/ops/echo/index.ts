// C-ECHO, or its DICOMweb counterpart: the protocol is chosen here, from the PACS settings.
import { failureBeforeRun, toPacsError } from '../../core/errors';
import { runQueued } from '../../core/queue';
import type { PypxResult } from '../../core/result';
import { isDicomweb, type PacsSettings, validatePacsSettings } from '../../core/settings';
import { qidoEcho } from './dicomweb';
import { runEchoscu } from './dimse';
import type { EchoOutcome, OperationOptions } from './types';

/** Is the PACS there and does it accept us? Never throws for what the PACS or the settings do. */
export async function runEcho(settings: PacsSettings, options: OperationOptions = {}): Promise<EchoOutcome> {
  return runQueued(options.queue, (signal) => echoNow(settings, { ...options, signal }), options.signal, (err) => {
    const error = failureBeforeRun('aborted', 'stopped', `echo: never started: ${err.message}`);
    return { result: error.result as PypxResult<string>, error, elapsedMs: 0 };
  });
}

async function echoNow(settings: PacsSettings, options: OperationOptions): Promise<EchoOutcome> {
  if (!isDicomweb(settings)) return runEchoscu(settings, options);
  try {
    const { command, elapsedMs } = await qidoEcho(settings, options.signal);
    return { result: { status: 'success', command, data: '' }, elapsedMs };
  } catch (err) {
    const error = toPacsError(err);
    return { result: error.result as PypxResult<string>, error, elapsedMs: 0 };
  }
}

/** pypx's `echo(settings)`: settings as a plain object (pypx 0.8 or 3 keys), answer as pypx's dict. */
export async function echo(settings: Record<string, unknown>, options: OperationOptions = {}): Promise<PypxResult<string>> {
  let checked: PacsSettings;
  try {
    checked = validatePacsSettings(settings);
  } catch (err) {
    return toPacsError(err).result as PypxResult<string>;
  }
  return (await runEcho(checked, options)).result;
}

import { runDcmtk } from '../../dcmtk/run';
import { qidoEcho } from '../find/dicomweb';
import { type PacsError, toPacsError } from '../../core/errors';
import type { PypxResult } from '../../core/result';
import { type PacsSettings, validatePacsSettings } from '../../core/settings';
import { dieWithThisProcess } from '../../dcmtk/processes';
import { describeDcmtkFailure } from '../../dcmtk/failures';
import { buildAssociationArgs, buildTimeoutArgs, processDeadlineMs } from '../../dcmtk/args';
import { buildTlsArgs, tlsKeyInput } from '../../dcmtk/tls';
import { isDicomweb } from '../../core/settings';

export function buildEchoArgs(settings: PacsSettings): string[] {
  return [...buildTimeoutArgs(settings), ...buildTlsArgs(settings, 'scu'), ...buildAssociationArgs(settings)];
}

export interface OperationOptions {
  signal?: AbortSignal;
}

export interface EchoOutcome {
  result: PypxResult<string>;
  /** Set when the echo failed; result then holds pypx's error payload. */
  error?: PacsError;
  elapsedMs: number;
}

/** C-ECHO: is the PACS there and does it accept us? */
export async function runEcho(settings: PacsSettings, options: OperationOptions = {}): Promise<EchoOutcome> {
  if (isDicomweb(settings)) {
    try {
      const { command, elapsedMs } = await qidoEcho(settings, options.signal);
      return { result: { status: 'success', command, data: '' }, elapsedMs };
    } catch (err) {
      const error = toPacsError(err);
      return { result: error.result as PypxResult<string>, error, elapsedMs: 0 };
    }
  }
  const args = buildEchoArgs(settings);
  try {
    const run = await runDcmtk('echoscu', args, {
      dcmtkDir: settings.dcmtkDir,
      executable: settings.executable,
      input: tlsKeyInput(settings),
      timeoutMs: processDeadlineMs(settings),
      signal: options.signal,
      runUnder: await dieWithThisProcess(),
    });
    if (run.exitCode === 0 && !run.timedOut && !run.aborted) {
      return { result: { status: 'success', command: run.command, data: '' }, elapsedMs: run.elapsedMs };
    }
    const error = describeDcmtkFailure('echoscu', run, settings);
    return { result: error.result as PypxResult<string>, error, elapsedMs: run.elapsedMs };
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

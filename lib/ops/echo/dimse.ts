// C-ECHO over DIMSE with DCMTK's echoscu.
import { runDcmtk } from '../../dcmtk/run';
import { toPacsError } from '../../core/errors';
import type { PypxResult } from '../../core/result';
import type { PacsSettings } from '../../core/settings';
import type { EchoOutcome, OperationOptions } from './types';
import { dieWithThisProcess } from '../../dcmtk/processes';
import { describeDcmtkFailure } from '../../dcmtk/failures';
import { buildAssociationArgs, buildTimeoutArgs, processDeadlineMs } from '../../dcmtk/args';
import { buildTlsArgs, tlsKeyInput } from '../../dcmtk/tls';

export function buildEchoArgs(settings: PacsSettings): string[] {
  return [...buildTimeoutArgs(settings), ...buildTlsArgs(settings, 'scu'), ...buildAssociationArgs(settings)];
}

/** C-ECHO with echoscu: is the PACS there and does it accept us? */
export async function runEchoscu(settings: PacsSettings, options: OperationOptions = {}): Promise<EchoOutcome> {
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

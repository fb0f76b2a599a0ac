// px-send's operation: the protocol chosen in one place, DICOMweb's STOW-RS (dicomweb.ts) where the
// settings name a DICOMweb service, C-STORE (dimse.ts) otherwise; both take the same list of files and
// answer the same outcome (types.ts). And pypx's module call, send().
import { toPacsError } from '../../core/errors';
import type { PypxResult } from '../../core/result';
import { isDicomweb, type PacsSettings, splitSettingsAndQuery, validatePacsSettings } from '../../core/settings';
import { stowSend } from './dicomweb';
import { cstoreSend } from './dimse';
import { collectSendFiles } from './files';
import type { SendList, SendOptions, SendOutcome, SendPayload } from './types';

/** Every file of the list sent to the PACS, by the protocol its settings name. Never throws for what the PACS or the files do. */
export async function runSend(settings: PacsSettings, list: SendList, options: SendOptions = {}): Promise<SendOutcome> {
  return isDicomweb(settings) ? stowSend(settings, list, options) : cstoreSend(settings, list, options);
}

/**
 * pypx-style `send(settings, files)`: PACS settings (pypx's keys accepted) and a file, folder, array
 * or px-listen payload. Answers `{status, command, data, sent, failed, warning}`.
 */
export async function send(input: Record<string, unknown>, files: unknown, options: Pick<SendOptions, 'signal' | 'onProgress' | 'retries' | 'retryDelayMs'> = {}): Promise<SendPayload> {
  try {
    const settings = validatePacsSettings(splitSettingsAndQuery(input ?? {}).settings);
    const list = await collectSendFiles(files, 'files');
    return (await runSend(settings, list, options)).payload;
  } catch (err) {
    const error = toPacsError(err);
    return { ...(error.result as PypxResult<never>), data: [], sent: 0, failed: 0, warning: 0 };
  }
}

// px-send's operation: the protocol chosen in one place, DICOMweb's STOW-RS (dicomweb.ts) where the
// settings name a DICOMweb service, C-STORE (dimse.ts) otherwise; both take the same list of files and
// answer the same outcome (types.ts). And pypx's module call, send().
import { anyToPacsError, PacsError } from '../../core/errors';
import type { PypxResult } from '../../core/result';
import { isDicomweb, type PacsSettings, splitSettingsAndQuery, validatePacsSettings } from '../../core/settings';
import { stowSend } from './dicomweb';
import { cstoreSend } from './dimse';
import { collectSendFiles } from './files';
import type { SendList, SendOptions, SendOutcome, SendPayload } from './types';

/** Every file of the list sent to the PACS, by the protocol its settings name. Never throws: an OS error is an outcome too. */
export async function runSend(settings: PacsSettings, list: SendList, options: SendOptions = {}): Promise<SendOutcome> {
  try {
    return await (isDicomweb(settings) ? stowSend(settings, list, options) : cstoreSend(settings, list, options));
  } catch (err) {
    const error = anyToPacsError(err, 'failed', `px-send: the send to ${settings.aec} failed`);
    const data = [...list.files.map((file) => ({ file, reason: error.message })), ...list.missing];
    return { payload: { ...(error.result as PypxResult<never>), data, sent: 0, failed: data.length, warning: 0 }, error, total: data.length };
  }
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
    // A folder that cannot be read (EACCES, a name too long) is an answer naming it, never a throw.
    const error = anyToPacsError(err, 'cannot read files', 'nothing was sent: cannot read the files to send');
    const folder = err instanceof PacsError ? undefined : (err as NodeJS.ErrnoException)?.path;
    const data = folder === undefined ? [] : [{ file: folder, reason: error.message }];
    return { ...(error.result as PypxResult<never>), data, sent: 0, failed: data.length, warning: 0 };
  }
}

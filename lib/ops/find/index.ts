// C-FIND, or QIDO-RS: the protocol is chosen here, from the PACS settings.
import { describeType, isPlainObject } from '../../core/describe';
import { failureBeforeRun, toPacsError } from '../../core/errors';
import type { PypxRecord, PypxResult } from '../../core/result';
import { isDicomweb, type PacsSettings, splitSettingsAndQuery, validatePacsSettings } from '../../core/settings';
import { runQidoFind } from './dicomweb';
import { runFindscu } from './dimse';
import type { FindOptions, FindOutcome } from './types';

/** A find against one PACS: pypx's result with one record per match, or the reason it failed. */
export function runFind(settings: PacsSettings, query: unknown, options: FindOptions = {}): Promise<FindOutcome> {
  return isDicomweb(settings) ? runQidoFind(settings, query, options) : runFindscu(settings, query, options);
}

/**
 * pypx's `find({...settings, ...query})`: PACS settings (pypx 0.8 or 3 keys) and query keywords
 * in one object; answers pypx's dict, never throws for what the PACS or the input does.
 */
export async function find(
  settingsAndQuery: Record<string, unknown>,
  options: Omit<FindOptions, 'level'> = {},
): Promise<PypxResult<PypxRecord[] | string>> {
  if (!isPlainObject(settingsAndQuery)) {
    return failureBeforeRun('bad-input', 'bad query', `find() takes one object of PACS settings and query keys, not ${describeType(settingsAndQuery)}`).result as PypxResult<string>;
  }
  const { settings: settingsPart, query } = splitSettingsAndQuery(settingsAndQuery);
  let settings: PacsSettings;
  try {
    settings = validatePacsSettings(settingsPart);
  } catch (err) {
    return toPacsError(err).result as PypxResult<string>;
  }
  return (await runFind(settings, query, options)).result;
}

// px-get's entry: a retrieve over C-GET or, for a DICOMweb PACS, WADO-RS (the one place the protocol
// is chosen), and pypx-style get().
import { toPacsError } from '../../core/errors';
import type { PypxResult } from '../../core/result';
import { isDicomweb, type PacsSettings, splitSettingsAndQuery, validatePacsSettings } from '../../core/settings';
import { type MoveRequest, parseMoveRequests } from '../move/request';
import type { MovePayload } from '../move/types';
import { wadoGet } from './dicomweb';
import { runCGet } from './dimse';
import { sweepLeftoverRetrieves } from './leftovers';
import type { GetOptions, GetOutcome } from './types';

/** One retrieve, start to end, every instance filed. Never throws: failures are in the outcome. */
export async function runGet(settings: PacsSettings, request: MoveRequest, options: GetOptions): Promise<GetOutcome> {
  // What retrieves into this data folder left when their process crashed (patient data) goes first, once.
  if (options.dataDir?.trim()) await sweepLeftoverRetrieves(options.dataDir);
  if (isDicomweb(settings)) return wadoGet(settings, request, options);
  return runCGet(settings, request, options);
}

/** What px-get's second output and get() carry: px-move's payload. */
export function getPayload(outcome: GetOutcome): MovePayload {
  return { ...outcome.result, completed: outcome.completed, failed: outcome.failed, warning: outcome.warning };
}

/**
 * pypx-style `get({...settings, StudyInstanceUID, ...}, {dataDir})`: PACS settings and UIDs in one
 * object, as move(); answers px-move's dict, with every instance filed under dataDir.
 */
export async function get(input: Record<string, unknown>, options: Pick<GetOptions, 'dataDir' | 'seriesTimeout' | 'signal' | 'onInstance' | 'onProgress'>): Promise<MovePayload> {
  const { settings: settingsPart, query } = splitSettingsAndQuery(input ?? {});
  let settings: PacsSettings;
  let requests: MoveRequest[];
  try {
    settings = validatePacsSettings(settingsPart);
    requests = parseMoveRequests(query, 'query');
  } catch (err) {
    const error = toPacsError(err);
    return { ...(error.result as PypxResult<string>), completed: 0, failed: 0, warning: 0 };
  }
  return getPayload(await runGet(settings, requests[0] as MoveRequest, options));
}

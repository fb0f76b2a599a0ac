// px-move's entry: a C-MOVE, refused at once for a DICOMweb PACS (DICOMweb has no move), and pypx's
// module call move().
import { failureBeforeRun, type PacsError, toPacsError } from '../../core/errors';
import type { PypxResult } from '../../core/result';
import { type PacsSettings, splitSettingsAndQuery, PACS_SETTING_KEYS, validatePacsSettings } from '../../core/settings';
import { describeType } from '../../core/describe';
import { type MoveRequest, parseMoveRequests, UID_KEYS } from './request';
import { failedMove, type MoveOptions, type MoveOutcome, type MovePayload } from './types';
import { runCMove } from './dimse';

/** DICOMweb has no C-MOVE: the error for a move asked of a DICOMweb PACS, or undefined. */
export function dicomwebMoveProblem(settings: PacsSettings): PacsError | undefined {
  if (!settings.dicomweb) return undefined;
  return failureBeforeRun('bad-input', 'DICOMweb has no move',
    `${settings.dicomweb.url} is a DICOMweb service, and DICOMweb has no move (C-MOVE): use px-get, which retrieves over WADO-RS into its data folder`);
}

/** One C-MOVE, start to final response. Never throws: failures are in the outcome. */
export async function runMove(settings: PacsSettings, request: MoveRequest, options: MoveOptions = {}): Promise<MoveOutcome> {
  const noMove = dicomwebMoveProblem(settings);
  if (noMove) return failedMove(request, options.destination ?? '', noMove);
  return runCMove(settings, request, options);
}

/** px-move's payload: pypx's result of one move, with its final sub-operation counts. */
export function movePayload(outcome: MoveOutcome): MovePayload {
  return { ...outcome.result, completed: outcome.completed, failed: outcome.failed, warning: outcome.warning };
}

// pypx 0.8's own spellings (pypx/move.py, and its tests): `aet_listener` for the destination, `series_uid`.
const PYPX08_KEYS: Record<string, string> = { aet_listener: 'aetl', series_uid: 'SeriesInstanceUID' };
const MOVE_KEYS = new Set<string>([...UID_KEYS, 'QueryRetrieveLevel']);

/** pypx 0.8's keys turned into this package's; a key named twice with different values, or unknown, is refused by name. */
function canonicalMoveInput(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(input)) {
    const name = PYPX08_KEYS[key] ?? key;
    if (name in out && out[name] !== value) problems.push(`${key} and ${name} are the same key, given two values`);
    out[name] = value;
  }
  const unknown = Object.keys(out).filter((key) => !PACS_SETTING_KEYS.has(key) && !MOVE_KEYS.has(key));
  if (unknown.length) {
    problems.push(`unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (move() takes PACS settings: aet, aec, server_ip, server_port, aetl or aet_listener, timeout, executable; and what to move: StudyInstanceUID, SeriesInstanceUID or series_uid, SOPInstanceUID, QueryRetrieveLevel)`);
  }
  if (problems.length) throw failureBeforeRun('bad-input', 'bad move input', `nothing was moved: ${problems.join('; ')}`);
  return out;
}

/**
 * pypx's `move(settings)`: PACS settings and the UIDs in one plain object, in this package's spelling
 * (`{aet, aec, server_ip, server_port, aetl, SeriesInstanceUID}`) or pypx 0.8's (`aet_listener`,
 * `series_uid`). Answers pypx's dict with the final sub-operation counts added.
 */
export async function move(input: Record<string, unknown>, options: Pick<MoveOptions, 'signal' | 'onProgress'> = {}): Promise<MovePayload> {
  let settings: PacsSettings;
  let requests: MoveRequest[];
  try {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw failureBeforeRun('bad-input', 'bad move input', `move() takes one object of PACS settings and UIDs, not ${describeType(input)}`);
    }
    const { settings: settingsPart, query } = splitSettingsAndQuery(canonicalMoveInput(input));
    settings = validatePacsSettings(settingsPart);
    requests = parseMoveRequests(query, 'query');
  } catch (err) {
    const error = toPacsError(err);
    return { ...(error.result as PypxResult<string>), completed: 0, failed: 0, warning: 0 };
  }
  return movePayload(await runMove(settings, requests[0] as MoveRequest, options));
}

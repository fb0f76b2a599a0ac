// Hierarchical retrieve: a C-MOVE or C-GET names the unique keys of every level above the one it
// retrieves. A strictly hierarchical PACS (DCMTK's dcmqrscp, many production archives) answers a
// SERIES-level retrieve without the StudyInstanceUID with success and sends nothing; an IMAGE-level one
// needs the study's and the series' UIDs. What a request lacks is found with one C-FIND first, on the
// PACS's association queue, as px-get over DICOMweb finds a study with QIDO-RS (get/dicomweb.ts). Where
// the PACS refuses that C-FIND, the retrieve is tried as given (a lenient PACS, such as Orthanc, needs no
// more); if it then sends nothing, the error says what the PACS needs. And a retrieve the PACS answers
// with success but no sub-operation is said to have found nothing, never a silent success.
import { failureBeforeRun, PacsError } from '../../core/errors';
import type { AssociationQueue } from '../../core/queue';
import type { PypxResult } from '../../core/result';
import type { PacsSettings } from '../../core/settings';
import { trimUid } from '../../dicom/uid';
import { runFind } from '../find';
import { describeRequest, type MoveRequest } from './request';

type Tool = 'movescu' | 'getscu';
const VERB: Record<Tool, string> = { movescu: 'move', getscu: 'get' };
const OPERATION: Record<Tool, string> = { movescu: 'C-MOVE', getscu: 'C-GET' };
// Failures of the C-FIND itself (a status, an association refused for this AE title): the PACS will not
// look the UIDs up for us. Anything else (PACS down, timeout, stopped) is reported as it is.
const REFUSED_FIND = new Set(['dicom-status', 'rejected']);

/**
 * The settings of a C-FIND made on the way to a C-MOVE or C-GET: settings.executable names movescu or
 * getscu (pypx's `executable`), never findscu, so it is left out and findscu is found as usual.
 */
export function findSettingsOf(settings: PacsSettings): PacsSettings {
  const findSettings: PacsSettings = { ...settings };
  delete findSettings.executable;
  return findSettings;
}

/** True when the request names every level above its own: no C-FIND is needed. */
export function hasUpperKeys(request: MoveRequest): boolean {
  if (request.level === 'STUDY') return true;
  return !!request.StudyInstanceUID && (request.level === 'SERIES' || !!request.SeriesInstanceUID);
}

export interface UpperKeys {
  /** The request with every upper level's UID. */
  request: MoveRequest;
  /** findscu's command line, when a C-FIND was needed. */
  command?: string;
  error?: PacsError;
  /**
   * The PACS refused the C-FIND: `error` says what it needs. Try the retrieve as given, and answer
   * `error` only if it sends nothing (unlessNothingSent).
   */
  refused?: boolean;
}

const NOTHING_TO_SEND = 'nothing to send';
const where = (settings: PacsSettings) => `${settings.aec} at ${settings.host}:${settings.port}`;

/**
 * The request with the UIDs of the levels above it, looked up with one C-FIND where missing (at most
 * one query per request, waiting its turn on the queue like any association). Never throws.
 */
export async function withUpperKeys(settings: PacsSettings, request: MoveRequest, tool: Tool, options: { signal?: AbortSignal; queue?: AssociationQueue } = {}): Promise<UpperKeys> {
  if (hasUpperKeys(request)) return { request };
  const image = request.level === 'IMAGE';
  const key = image ? 'SOPInstanceUID' : 'SeriesInstanceUID';
  const query: Record<string, string> = { StudyInstanceUID: request.StudyInstanceUID ?? '', SeriesInstanceUID: request.SeriesInstanceUID ?? '' };
  query[key] = request[key] as string;
  const found = await runFind(findSettingsOf(settings), query, { level: request.level, returnTags: ['StudyInstanceUID', 'SeriesInstanceUID', key], signal: options.signal, queue: options.queue });
  const command = found.result.command ?? '';
  if (found.error && !REFUSED_FIND.has(found.error.kind)) return { request, command, error: found.error };
  if (found.error) return { request, command, refused: true, error: needs(settings, request, tool, command, found.error.kind, `it answered: ${found.error.message.replace(/^findscu: /, '')}`) };
  const match = found.result.data.find((record) => trimUid(String(record[key]?.value ?? '')) === request[key]) ?? found.result.data[0];
  if (!match) {
    return { request, command, error: nothingToSend(settings, request, tool, command, `it lists no ${image ? 'instance' : 'series'} with that UID (asked with a C-FIND for the UIDs above it)`) };
  }
  const study = trimUid(String(match.StudyInstanceUID?.value ?? ''));
  const series = trimUid(String(match.SeriesInstanceUID?.value ?? '')) || request.SeriesInstanceUID;
  if (!study || (image && !series)) {
    // Listed, but without the UIDs asked for: tried as given, like a refused C-FIND.
    return { request, command, refused: true, error: needs(settings, request, tool, command, 'not-found', 'it listed the UID without them') };
  }
  return { request: { ...request, StudyInstanceUID: study, ...(image ? { SeriesInstanceUID: series } : {}) }, command };
}

/** What a strictly hierarchical PACS needs to retrieve a series or an instance the C-FIND could not complete. */
function needs(settings: PacsSettings, request: MoveRequest, tool: Tool, command: string, kind: PacsError['kind'], answered: string): PacsError {
  const image = request.level === 'IMAGE';
  const uids = image ? "the study's and the series' UIDs" : "the study's UID";
  const give = image ? 'StudyInstanceUID and SeriesInstanceUID' : 'StudyInstanceUID';
  const message = `${tool}: the PACS needs ${uids} to ${VERB[tool]} ${image ? 'an instance' : 'a series'}: give ${give}, or allow C-FIND from "${settings.aet}" `
    + `(a PACS that follows the standard's hierarchical retrieve sends nothing without them, and ${where(settings)} found nothing to send without them; asked for them with a C-FIND, ${answered})`;
  return failureBeforeRun(kind, image ? 'needs study, series UIDs' : 'needs study UID', message, command);
}

/** A retrieve with nothing to send: its final status was success with no sub-operation, or the UID is not listed at all. */
export function nothingToSend(settings: PacsSettings, request: MoveRequest, tool: Tool, command: string, why = `it answered the ${OPERATION[tool]} with success and 0 sub-operations: it holds nothing under that UID`): PacsError {
  const message = `${tool}: ${where(settings)} found nothing to send for ${describeRequest(request)}: ${why}`;
  return failureBeforeRun('not-found', NOTHING_TO_SEND, message, command);
}

/** After a refused C-FIND (UpperKeys.refused): a retrieve that sent nothing answers what the PACS needs instead. */
export function unlessNothingSent<O extends { result: PypxResult<string>; error?: PacsError }>(outcome: O, looked: UpperKeys): O {
  if (!looked.refused || !looked.error || outcome.error?.reason !== NOTHING_TO_SEND) return outcome;
  const { kind, reason, message } = looked.error;
  const error = failureBeforeRun(kind, reason, message, outcome.result.command);
  return { ...outcome, result: error.result as PypxResult<string>, error };
}

/** An outcome with findscu's command line put before the retrieve's own, in its result and its error. */
export function afterLookup<O extends { result: PypxResult<string>; error?: PacsError }>(outcome: O, command: string | undefined): O {
  if (!command) return outcome;
  const join = (c: unknown) => (typeof c === 'string' && c ? `${command}\n${c}` : command);
  const result = { ...outcome.result, command: join(outcome.result.command) };
  const { error } = outcome;
  if (!error) return { ...outcome, result };
  return { ...outcome, result, error: new PacsError(error.kind, error.reason, error.message, { ...error.result, command: join(error.result.command) }) };
}

// What a retrieve asks for, read from UIDs or a px-find result: one MoveRequest per study, series or
// instance. px-move's C-MOVE and px-get's C-GET and WADO-RS all take their input from here.
import { failureBeforeRun } from '../../core/errors';
import { trimUid, uidProblem } from '../../dicom/uid';
import { describeType } from '../../core/describe';

export type MoveLevel = 'STUDY' | 'SERIES' | 'IMAGE';
export const UID_KEYS = ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID'] as const;
type UidKey = (typeof UID_KEYS)[number];
const KEY_OF_LEVEL: Record<MoveLevel, UidKey> = { STUDY: 'StudyInstanceUID', SERIES: 'SeriesInstanceUID', IMAGE: 'SOPInstanceUID' };

/**
 * One C-MOVE. StudyInstanceUID may be absent below STUDY level: pypx moves a series by its
 * SeriesInstanceUID alone. A strictly hierarchical PACS needs it (and an instance's series too): the
 * retrieve finds what is missing with a C-FIND first (lookup.ts).
 */
export interface MoveRequest {
  level: MoveLevel;
  StudyInstanceUID?: string;
  SeriesInstanceUID?: string;
  SOPInstanceUID?: string;
}

const MAX_PROBLEMS_SHOWN = 5;

/** A field as text: a plain string or pypx's `{tag, value, label}`; empty counts as absent. */
function fieldText(item: Record<string, unknown>, key: string, where: string, problems: string[]): string | undefined {
  let value = item[key];
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'value' in value) value = (value as { value: unknown }).value;
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') {
    problems.push(`${where}: ${key} must be text, not ${describeType(value)}`);
    return undefined;
  }
  return trimUid(value) || undefined;
}

function levelOf(text: string): MoveLevel | undefined {
  const level = text.trim().toUpperCase();
  if (level === 'INSTANCE') return 'IMAGE';
  return level === 'STUDY' || level === 'SERIES' || level === 'IMAGE' ? level : undefined;
}

function requestFromObject(item: Record<string, unknown>, where: string, problems: string[]): MoveRequest | undefined {
  const before = problems.length;
  const uids: Partial<Record<UidKey, string>> = {};
  for (const key of UID_KEYS) uids[key] = fieldText(item, key, where, problems);
  const explicit = fieldText(item, 'QueryRetrieveLevel', where, problems);
  let level: MoveLevel | undefined;
  if (explicit) {
    level = levelOf(explicit);
    if (!level) problems.push(`${where}: QueryRetrieveLevel "${explicit}" cannot be moved; use STUDY, SERIES or IMAGE`);
  } else {
    level = uids.SOPInstanceUID ? 'IMAGE' : uids.SeriesInstanceUID ? 'SERIES' : uids.StudyInstanceUID ? 'STUDY' : undefined;
    if (!level && problems.length === before) problems.push(`${where}: has no StudyInstanceUID, SeriesInstanceUID or SOPInstanceUID`);
  }
  if (!level) return undefined;
  const needed = KEY_OF_LEVEL[level];
  if (!uids[needed]) {
    if (problems.length === before) problems.push(`${where}: a ${level} move needs a ${needed}`);
    return undefined;
  }
  const request: MoveRequest = { level };
  for (const key of UID_KEYS.slice(0, UID_KEYS.indexOf(needed) + 1)) {
    const uid = uids[key];
    if (!uid) continue;
    const problem = uidProblem(uid);
    if (problem) problems.push(`${where}: ${key} "${uid.length > 70 ? `${uid.slice(0, 70)}…` : uid}" is not a DICOM UID: it ${problem}`);
    else request[key] = uid;
  }
  return problems.length === before ? request : undefined;
}

function isFindResult(value: object): value is { status?: unknown; data: unknown[] } {
  return 'data' in value && Array.isArray((value as { data: unknown }).data);
}

function collect(item: unknown, where: string, problems: string[], out: MoveRequest[], depth: number): void {
  if (Array.isArray(item) && depth < 3) {
    item.forEach((each, i) => collect(each, `${where}[${i}]`, problems, out, depth + 1));
  } else if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
    if (isFindResult(item)) {
      if (item.status === 'error') problems.push(`${where}: is a failed px-find result (status "error"), with nothing to move`);
      else item.data.forEach((each, i) => collect(each, `${where}.data[${i}]`, problems, out, depth + 1));
      return;
    }
    const request = requestFromObject(item as Record<string, unknown>, where, problems);
    if (request) out.push(request);
  } else {
    problems.push(`${where}: must be an object with StudyInstanceUID, SeriesInstanceUID or SOPInstanceUID, a px-find result, or an array of them; not ${describeType(item)}`);
  }
}

/**
 * Every move the input asks for: a UID object, a px-find result, or an array of either. Any
 * problem anywhere fails the whole input, so that nothing is sent to the PACS.
 */
export function parseMoveRequests(payload: unknown, name = 'payload'): MoveRequest[] {
  const problems: string[] = [];
  const requests: MoveRequest[] = [];
  collect(payload, name, problems, requests, 0);
  if (problems.length) {
    const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).join('; ');
    const more = problems.length > MAX_PROBLEMS_SHOWN ? `; and ${problems.length - MAX_PROBLEMS_SHOWN} more` : '';
    throw failureBeforeRun('bad-input', problems.length === 1 ? 'bad move input' : `${problems.length} bad items`, `nothing was moved: ${shown}${more}`);
  }
  return requests;
}

/** True when the input is a list of things to move (its outputs then carry msg.parts). */
export function isMoveCollection(payload: unknown): boolean {
  return Array.isArray(payload) || (payload !== null && typeof payload === 'object' && isFindResult(payload));
}

/** The level and its UID, e.g. "series 1.2.3", for messages. */
export function describeRequest(request: MoveRequest): string {
  const key = KEY_OF_LEVEL[request.level];
  return `${request.level.toLowerCase()} ${request[key]}`;
}

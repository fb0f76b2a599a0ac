// QIDO-RS: px-find's query keys as a DICOMweb search, and its DICOM JSON answer as pypx records.
import { failureBeforeRun, toPacsError } from '../../core/errors';
import { lookupKeyword } from '../../dicom/dictionary';
import { buildFindQuery, type FindKey, type FindRequest, type QueryLevel } from './query';
import type { PypxRecord } from '../../core/result';
import { dicomwebRequest } from '../../dicomweb/http';
import type { DicomwebPacs } from '../../core/settings';
import type { FindOptions, FindOutcome } from './types';

const RESOURCES: Record<Exclude<QueryLevel, 'PATIENT'>, string> = { STUDY: 'studies', SERIES: 'series', IMAGE: 'instances' };
// Keys that steer the query itself and are no attribute to match or return.
const NOT_ATTRIBUTES = new Set(['QueryRetrieveLevel', 'SpecificCharacterSet']);

export class QidoLevelError extends Error {}

/**
 * `/studies?PatientID=1&includefield=PatientName...`: keys with a value are matched (wildcards and
 * ranges as DIMSE writes them; a UID list's backslashes become QIDO's commas), keys without one are
 * asked back with includefield. With a limit, one match more is asked for, to know whether there are more.
 */
export function buildQidoPath(request: FindRequest, limit = 0): string {
  if (request.level === 'PATIENT') {
    throw failureBeforeRun('bad-input', 'no PATIENT level', 'QIDO-RS has no PATIENT level: query at STUDY level, whose records carry the patient keys (PatientID, PatientName, ...)');
  }
  const params: string[] = [];
  for (const key of request.keys) {
    if (NOT_ATTRIBUTES.has(key.keyword)) continue;
    if (key.value === '') params.push(`includefield=${key.keyword}`);
    else {
      const value = lookupKeyword(key.keyword)?.vr === 'UI' ? key.value.split('\\').map((uid) => uid.trim()).join(',') : key.value;
      params.push(`${key.keyword}=${encodeURIComponent(value)}`);
    }
  }
  if (limit > 0) params.push(`limit=${limit + 1}`);
  return `/${RESOURCES[request.level]}${params.length ? `?${params.join('&')}` : ''}`;
}

interface JsonAttribute {
  vr?: string;
  Value?: unknown[];
}

/** A person name as DIMSE gives it: alphabetic=ideographic=phonetic, empty trailing groups left out. */
function personName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!value || typeof value !== 'object') return '';
  const groups = ['Alphabetic', 'Ideographic', 'Phonetic'].map((group) => {
    const text = (value as Record<string, unknown>)[group];
    return typeof text === 'string' ? text : '';
  });
  while (groups.length && groups[groups.length - 1] === '') groups.pop();
  return groups.join('=');
}

/** An attribute's value as the text the DIMSE path gives: several values joined by backslash, sequences and bulk data empty. */
export function attributeText(attribute: JsonAttribute | undefined): string {
  if (!attribute || !Array.isArray(attribute.Value) || attribute.vr === 'SQ') return '';
  return attribute.Value.map((value) => {
    if (attribute.vr === 'PN') return personName(value);
    if (value === null || value === undefined) return '';
    return typeof value === 'object' ? '' : String(value);
  }).join('\\');
}

/** DICOM JSON's "0020000D" for pypx's "0020,000d". */
function jsonTag(tag: string): string {
  return tag.replace(',', '').toUpperCase();
}

/** pypx's records from a QIDO-RS answer: the keys asked for, in the order asked, and the uid counter. */
export function qidoRecords(answer: unknown, keys: readonly FindKey[], level: QueryLevel, limit = 0): { records: PypxRecord[]; cut: boolean } {
  if (!Array.isArray(answer)) throw new TypeError(`the answer is ${answer === null ? 'null' : typeof answer}, not a list of matches`);
  const cut = limit > 0 && answer.length > limit;
  const matches = cut ? answer.slice(0, limit) : answer;
  const recordKeys = keys.filter((k) => k.inRecord);
  const records = matches.map((match, index) => {
    if (!match || typeof match !== 'object') throw new TypeError(`match ${index + 1} is not a DICOM JSON object`);
    const attributes = match as Record<string, JsonAttribute>;
    const record: PypxRecord = { uid: { tag: 0, value: index, label: 'uid' } };
    for (const key of recordKeys) {
      const value = key.keyword === 'QueryRetrieveLevel' ? level : attributeText(attributes[jsonTag(key.tag)]);
      record[key.keyword] = { tag: key.tag, value, label: key.keyword };
    }
    return record;
  });
  return { records, cut };
}

/** px-find over QIDO-RS: the same query keys, options and result as over C-FIND. */
export async function runQidoFind(settings: DicomwebPacs, query: unknown, options: FindOptions = {}): Promise<FindOutcome> {
  const started = Date.now();
  let command = '';
  try {
    const request = buildFindQuery(options.level ?? 'SERIES', query, options.returnTags);
    const limit = options.limit && options.limit > 0 ? Math.floor(options.limit) : 0;
    const path = buildQidoPath(request, limit);
    const answer = await dicomwebRequest(settings, { path, headers: { accept: 'application/dicom+json' }, what: 'the QIDO-RS query', signal: options.signal });
    command = answer.command;
    // 204 No Content: no match.
    const text = answer.status === 204 ? '' : await answer.text();
    let json: unknown = [];
    if (text.trim()) {
      try {
        json = JSON.parse(text);
      } catch {
        throw failureBeforeRun('malformed', 'bad answer', `DICOMweb: ${settings.dicomweb.url} answered the QIDO-RS query with something that is not JSON: ${text.slice(0, 200)}`, command);
      }
    }
    let parsed;
    try {
      parsed = qidoRecords(json, request.keys, request.level, limit);
    } catch (err) {
      throw failureBeforeRun('malformed', 'bad answer', `DICOMweb: ${settings.dicomweb.url} answered the QIDO-RS query with JSON that is not DICOM JSON: ${(err as Error).message}`, command);
    }
    return { result: { status: 'success', command, data: parsed.records }, limited: parsed.cut, elapsedMs: Date.now() - started };
  } catch (err) {
    const error = toPacsError(err);
    return { result: error.result as FindOutcome['result'], error, limited: false, elapsedMs: Date.now() - started };
  }
}

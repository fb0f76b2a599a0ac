// C-FIND query keys: checked against the DICOM dictionary before anything reaches findscu.
import { allowsMultipleValues, lookupKeyword, nearestKeyword } from '../../dicom/dictionary';
import { describeType, isPlainObject } from '../../core/describe';
import { KnownProblem } from '../../core/errors';

export const QUERY_LEVELS = ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'] as const;
export type QueryLevel = (typeof QUERY_LEVELS)[number];

const PATIENT_KEYS = ['PatientID', 'PatientName', 'PatientBirthDate', 'PatientSex'];
const STUDY_KEYS = ['StudyDate', 'StudyDescription', 'StudyInstanceUID', 'AccessionNumber', 'ModalitiesInStudy'];
/** pypx 0.8's key set, which is a SERIES-level query. */
const PYPX_SERIES_KEYS = [
  'PatientID', 'PatientName', 'PatientBirthDate', 'PatientSex', 'StudyDate', 'StudyDescription', 'StudyInstanceUID',
  'ModalitiesInStudy', 'PerformedStationAETitle', 'NumberOfSeriesRelatedInstances', 'InstanceNumber', 'SeriesDate',
  'SeriesDescription', 'SeriesInstanceUID',
];

/**
 * Keys asked for when the caller names none. SERIES is pypx 0.8's set; the others keep to keys that
 * exist at their level (a PACS answers keys of a lower level empty, or refuses them).
 */
export const DEFAULT_RETURN_KEYS: Record<QueryLevel, readonly string[]> = {
  PATIENT: [...PATIENT_KEYS, 'NumberOfPatientRelatedStudies'],
  STUDY: [...PATIENT_KEYS, ...STUDY_KEYS, 'NumberOfStudyRelatedSeries'],
  SERIES: PYPX_SERIES_KEYS,
  IMAGE: [...PYPX_SERIES_KEYS.filter((k) => k !== 'NumberOfSeriesRelatedInstances'), 'Modality', 'SOPInstanceUID', 'SOPClassUID'],
};

/** Unique keys of each level and the levels above (Study Root): always asked, so a record can be retrieved. */
const UNIQUE_KEYS: Record<QueryLevel, readonly string[]> = {
  PATIENT: ['PatientID'],
  STUDY: ['StudyInstanceUID'],
  SERIES: ['StudyInstanceUID', 'SeriesInstanceUID'],
  IMAGE: ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID'],
};

// Elements that cannot be a C-FIND key given as text.
const UNQUERYABLE_VRS = new Set(['SQ', 'OB', 'OW', 'OF', 'OD', 'OL', 'OV', 'UN']);

export class QueryError extends KnownProblem {
  constructor(readonly problems: string[]) {
    super('bad-input', 'bad query', `invalid C-FIND query: ${problems.join('; ')}`);
    this.name = 'QueryError';
  }
}

export interface FindKey {
  keyword: string;
  /** pypx's "gggg,eeee". */
  tag: string;
  /** dicom-parser's "xggggeeee". */
  parserTag: string;
  value: string;
  /** False for keys this package adds for itself (Specific Character Set), which records leave out. */
  inRecord: boolean;
}

export interface FindRequest {
  level: QueryLevel;
  /** QueryRetrieveLevel first, then every key, each once. */
  keys: FindKey[];
}


const CONTROL_NAMES: Record<string, string> = { '\n': 'a newline', '\r': 'a carriage return', '\0': 'a NUL', '\t': 'a tab' };

/** Why a value cannot be sent as this key, or undefined. */
function valueProblem(keyword: string, vr: string, value: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  const control = /[\x00-\x1f\x7f]/.exec(value)?.[0];
  if (control) return `${keyword} contains ${CONTROL_NAMES[control] ?? 'a control character'}, which a DICOM query value cannot hold`;
  // Backslash separates values: a list of UIDs (list matching) or a multi-valued element may hold it.
  if (value.includes('\\') && vr !== 'UI' && !allowsMultipleValues(keyword)) {
    return `${keyword} contains a backslash, which DICOM reads as a value separator, but ${keyword} holds one value`;
  }
  return undefined;
}

export function parseLevel(value: unknown): QueryLevel | undefined {
  if (typeof value !== 'string') return undefined;
  const level = value.trim().toUpperCase();
  return (QUERY_LEVELS as readonly string[]).includes(level) ? (level as QueryLevel) : undefined;
}

/**
 * Turns a query object ({PatientName: 'SMITH*', StudyDate: '20200101-20201231'}) and the keys to
 * return into findscu's keys. Values pass through untouched: wildcards, ranges and UID lists are
 * the PACS's to interpret. Every problem is named in one QueryError.
 */
export function buildFindQuery(level: string, query: unknown, returnTags?: readonly string[]): FindRequest {
  const problems: string[] = [];
  if (query !== undefined && !isPlainObject(query)) {
    throw new QueryError([`the query must be an object of DICOM keywords to values, not ${describeType(query)}`]);
  }
  const given = query ?? {};
  const levelValue = given.QueryRetrieveLevel ?? level;
  const checkedLevel = parseLevel(levelValue);
  if (!checkedLevel) {
    throw new QueryError([`QueryRetrieveLevel must be one of ${QUERY_LEVELS.join(', ')}, not ${describeType(levelValue)}`]);
  }
  if (returnTags !== undefined && (!Array.isArray(returnTags) || returnTags.some((t) => typeof t !== 'string'))) {
    throw new QueryError([`return tags must be a list of DICOM keywords, not ${describeType(returnTags)}`]);
  }

  const values = new Map<string, string>();
  const unknown = (keyword: string) => {
    const near = nearestKeyword(keyword);
    return `"${keyword}" is not a DICOM keyword${near ? ` (did you mean ${near}?)` : ''}`;
  };
  const add = (keyword: string, value: unknown) => {
    const entry = lookupKeyword(keyword);
    if (!entry) return problems.push(unknown(keyword));
    if (UNQUERYABLE_VRS.has(entry.vr)) return problems.push(`${keyword} (VR ${entry.vr}) cannot be a C-FIND key given as text`);
    let text: string;
    if (typeof value === 'string') text = value;
    else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
    else return problems.push(`${keyword} must be text or a number, not ${describeType(value)}`);
    const problem = valueProblem(keyword, entry.vr, text);
    if (problem) return problems.push(problem);
    values.set(keyword, text);
  };

  const returned = returnTags && returnTags.length ? returnTags : DEFAULT_RETURN_KEYS[checkedLevel];
  for (const keyword of [...UNIQUE_KEYS[checkedLevel], ...returned]) {
    if (keyword !== 'QueryRetrieveLevel') add(keyword.trim(), '');
  }
  for (const [keyword, value] of Object.entries(given)) {
    if (keyword !== 'QueryRetrieveLevel') add(keyword, value);
  }
  if (problems.length) throw new QueryError(problems);

  const keys: FindKey[] = [key('QueryRetrieveLevel', checkedLevel, true)];
  for (const [keyword, value] of values) keys.push(key(keyword, value, true));
  // findscu sends the bytes it is given, which are UTF-8: say so, or the PACS reads them as Latin-1.
  // eslint-disable-next-line no-control-regex
  if (!values.has('SpecificCharacterSet') && [...values.values()].some((v) => /[^\x00-\x7f]/.test(v))) {
    keys.push(key('SpecificCharacterSet', 'ISO_IR 192', false));
  }
  return { level: checkedLevel, keys };
}

function key(keyword: string, value: string, inRecord: boolean): FindKey {
  const tag = (lookupKeyword(keyword) as { tag: string }).tag;
  return { keyword, tag, parserTag: `x${tag.replace(',', '')}`, value, inRecord };
}

// A SERIES or IMAGE query that matches on attributes of a level above it (pypx's usual "--PatientID X" at
// SERIES level, or Modality at IMAGE level), asked as the standard's hierarchical query: a strictly
// hierarchical PACS (DCMTK's dcmqrscp, many archives) ignores keys of the levels above the one queried and
// answers everything at that level. So the studies (or series) are found first with those keys, then what
// lies in them, by lists of their UIDs. A lenient PACS (Orthanc) answers both alike.
import type { PypxRecord } from '../../core/result';
import type { FindKey, FindRequest } from './query';

/** Attributes of the patient and study levels of the Study Root model (PS3.4 C.6.2.1), where a query matches them. */
const STUDY_LEVEL = new Set([
  'PatientName', 'PatientID', 'IssuerOfPatientID', 'OtherPatientIDs', 'OtherPatientNames', 'PatientBirthDate', 'PatientBirthTime',
  'PatientSex', 'EthnicGroup', 'PatientComments', 'StudyDate', 'StudyTime', 'AccessionNumber', 'StudyID', 'ReferringPhysicianName',
  'StudyDescription', 'ModalitiesInStudy', 'SOPClassesInStudy', 'NameOfPhysiciansReadingStudy', 'AdmittingDiagnosesDescription',
  'PatientAge', 'PatientSize', 'PatientWeight', 'Occupation', 'AdditionalPatientHistory',
]);
/** Attributes of the series level. */
const SERIES_LEVEL = new Set([
  'Modality', 'SeriesNumber', 'SeriesDescription', 'SeriesDate', 'SeriesTime', 'BodyPartExamined', 'ProtocolName', 'Laterality',
  'PerformedProcedureStepStartDate', 'PerformedProcedureStepStartTime', 'PerformedStationAETitle', 'OperatorsName',
]);

/** UIDs per query of the second step: each list stays far below the kernel's limit for one argument. */
const UIDS_PER_QUERY = 500;

export interface HierarchicalPlan {
  /** The query that finds the studies or series first (itself hierarchical where it needs to be). */
  first: FindRequest;
  /** The query as given, once per list of the UIDs the first one found. */
  within(found: readonly PypxRecord[]): FindRequest[];
}

const value = (record: PypxRecord, keyword: string) => String(record[keyword]?.value ?? '');

/** The steps of a SERIES or IMAGE query that matches on attributes of a level above it; undefined for any other query. */
export function planHierarchicalFind(request: FindRequest): HierarchicalPlan | undefined {
  if (request.level !== 'SERIES' && request.level !== 'IMAGE') return undefined;
  const matching = (level: Set<string>) => request.keys.filter((k) => k.value !== '' && level.has(k.keyword));
  const study = matching(STUDY_LEVEL);
  const series = request.level === 'IMAGE' ? matching(SERIES_LEVEL) : [];
  if (!study.length && !series.length) return undefined;
  const given = (keyword: string) => request.keys.find((k) => k.keyword === keyword);
  const byLevel = series.length ? 'SERIES' : 'STUDY';
  const uniques = byLevel === 'SERIES' ? ['StudyInstanceUID', 'SeriesInstanceUID'] : ['StudyInstanceUID'];
  const keys: FindKey[] = [
    { ...(given('QueryRetrieveLevel') as FindKey), value: byLevel },
    ...uniques.map((keyword) => given(keyword) as FindKey),
    ...study,
    ...series,
    ...[given('SpecificCharacterSet')].filter((k): k is FindKey => k !== undefined),
  ];
  return {
    first: { level: byLevel, keys },
    within(found) {
      const requests: FindRequest[] = [];
      for (let i = 0; i < found.length; i += UIDS_PER_QUERY) {
        const part = found.slice(i, i + UIDS_PER_QUERY);
        const lists = new Map(uniques.map((keyword) => [keyword, [...new Set(part.map((r) => value(r, keyword)).filter(Boolean))].join('\\')]));
        requests.push({ level: request.level, keys: request.keys.map((k) => (lists.has(k.keyword) ? { ...k, value: lists.get(k.keyword) as string } : k)) });
      }
      return requests;
    },
  };
}

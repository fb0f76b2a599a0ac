// A SERIES or IMAGE query that matches on patient or study attributes (pypx's usual "--PatientID X" at
// SERIES level), asked as the standard's hierarchical query: a strictly hierarchical PACS (DCMTK's
// dcmqrscp, many archives) ignores keys of the levels above the one queried and answers every series.
// So the studies are found first, at STUDY level with those keys, then the series or images of those
// studies, by a list of their UIDs. A lenient PACS (Orthanc) answers both alike.
import type { FindKey, FindRequest } from './query';

/** Attributes of the patient and study levels of the Study Root model (PS3.4 C.6.2.1), where a query matches them. */
const STUDY_LEVEL = new Set([
  'PatientName', 'PatientID', 'IssuerOfPatientID', 'OtherPatientIDs', 'OtherPatientNames', 'PatientBirthDate', 'PatientBirthTime',
  'PatientSex', 'EthnicGroup', 'PatientComments', 'StudyDate', 'StudyTime', 'AccessionNumber', 'StudyID', 'ReferringPhysicianName',
  'StudyDescription', 'ModalitiesInStudy', 'SOPClassesInStudy', 'NameOfPhysiciansReadingStudy', 'AdmittingDiagnosesDescription',
  'PatientAge', 'PatientSize', 'PatientWeight', 'Occupation', 'AdditionalPatientHistory',
]);

/** UIDs per query of the second step: each list stays far below the kernel's limit for one argument. */
const UIDS_PER_QUERY = 500;

export interface HierarchicalPlan {
  /** The STUDY-level query that finds the studies: the patient and study keys given, and StudyInstanceUID. */
  studies: FindRequest;
  /** The query as given, for the studies' UIDs (a list each) in place of StudyInstanceUID's value. */
  within(studyUids: readonly string[]): FindRequest[];
}

/** The two steps of a SERIES or IMAGE query that matches on patient or study attributes; undefined for any other query. */
export function planHierarchicalFind(request: FindRequest): HierarchicalPlan | undefined {
  if (request.level !== 'SERIES' && request.level !== 'IMAGE') return undefined;
  const upper = request.keys.filter((k) => k.value !== '' && STUDY_LEVEL.has(k.keyword));
  if (!upper.length) return undefined;
  const given = (keyword: string) => request.keys.find((k) => k.keyword === keyword);
  const charset = given('SpecificCharacterSet');
  const studyKeys: FindKey[] = [
    { ...(given('QueryRetrieveLevel') as FindKey), value: 'STUDY' },
    { ...(given('StudyInstanceUID') as FindKey) },
    ...upper,
    ...(charset ? [charset] : []),
  ];
  return {
    studies: { level: 'STUDY', keys: studyKeys },
    within(studyUids) {
      const requests: FindRequest[] = [];
      for (let i = 0; i < studyUids.length; i += UIDS_PER_QUERY) {
        const list = studyUids.slice(i, i + UIDS_PER_QUERY).join('\\');
        requests.push({ level: request.level, keys: request.keys.map((k) => (k.keyword === 'StudyInstanceUID' ? { ...k, value: list } : k)) });
      }
      return requests;
    },
  };
}

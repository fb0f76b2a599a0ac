// One input file de-identified: read, checked for burned-in text, the profile applied, written.
import type dicomParser from 'dicom-parser';
import { type DicomDataset, decodeText } from '../../dicom/dataset';
import { encodeDataset, encodeFileMeta, encodingOf, EXPLICIT_LITTLE_ENDIAN, type OutElement, stringValue } from '../../dicom/write-dataset';
import { DEFLATED_EXPLICIT_LITTLE_ENDIAN } from '../../dicom/dataset';
import type { InstanceHeader } from '../../filing/header';
import { burnedInReason } from './burned-in';
import { ID_TAGS, NAME_TAGS, OTHER_IDS_SEQUENCE, PatientIdentifiers } from './descriptors';
import { DEIDENTIFICATION_METHOD, DEIDENTIFICATION_METHOD_CODES, LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED, methodElements, PATIENT_IDENTITY_REMOVED } from './method';
import type { ProfileOptions } from './profile';
import type { Pseudonyms } from './pseudonyms';
import { InstanceProblem, readInstance } from './read-instance';
import { transformDataSet } from './transform';
import type { DeidentifiedInstance } from './types';
import { type OutputFolder, writeInstance } from './write-instance';

const PATIENT_NAME = 0x00100010;
const PATIENT_ID = 0x00100020;
const WRITTEN_HERE = new Set([PATIENT_NAME, PATIENT_ID, PATIENT_IDENTITY_REMOVED, DEIDENTIFICATION_METHOD, DEIDENTIFICATION_METHOD_CODES, LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED]);
/** This writer's Implementation Class UID (PS3.7 D.3.3.2), a UUID-derived UID of its own. */
const IMPLEMENTATION_CLASS_UID = '2.25.236410348888412791152605112646804425048';
const IMPLEMENTATION_VERSION_NAME = 'PYPX_DEIDENTIFY';

export interface InstanceSettings {
  options: ProfileOptions & { allowBurnedIn?: boolean };
  pseudonyms: Pseudonyms;
  folder: OutputFolder;
}

function tagKey(tag: number): string {
  return `x${tag.toString(16).padStart(8, '0')}`;
}

/** The patient's names and IDs as this file holds them, for the Clean Descriptors check. */
function patientIdentifiers(dataset: DicomDataset): PatientIdentifiers {
  const identifiers = new PatientIdentifiers();
  for (const tag of NAME_TAGS) identifiers.add('name', dataset.text(tagKey(tag)) ?? '');
  for (const tag of ID_TAGS) identifiers.add('id', dataset.text(tagKey(tag)) ?? '');
  const others = dataset.dataSet.elements[tagKey(OTHER_IDS_SEQUENCE)] as (dicomParser.Element & { items?: Array<{ dataSet?: dicomParser.DataSet }> }) | undefined;
  for (const item of others?.items ?? []) {
    const id = item.dataSet?.elements[tagKey(PATIENT_ID)];
    if (id && item.dataSet) identifiers.add('id', decodeText(item.dataSet.byteArray.subarray(id.dataOffset, id.dataOffset + id.length), 'LO', dataset.specificCharacterSet));
  }
  return identifiers;
}

function uidElement(tag: number, uid: string): OutElement {
  return { tag, vr: 'UI', value: stringValue(uid, 'UI') };
}

/** The de-identified values filing and the announcement are built from. */
function filedHeader(elements: OutElement[], charset: string): InstanceHeader {
  const byTag = new Map(elements.map((e) => [e.tag, e]));
  const value = (tag: number) => {
    const element = byTag.get(tag);
    return element?.value ? decodeText(element.value, element.vr, charset) : '';
  };
  return {
    PatientID: value(PATIENT_ID), PatientName: value(PATIENT_NAME), StudyInstanceUID: value(0x0020000d), SeriesInstanceUID: value(0x0020000e),
    SOPInstanceUID: value(0x00080018), SOPClassUID: value(0x00080016), Modality: value(0x00080060), StudyDate: value(0x00080020),
    StudyDescription: value(0x00081030), SeriesDate: value(0x00080021), SeriesDescription: value(0x0008103e), SeriesNumber: value(0x00200011),
    InstanceNumber: value(0x00200013), callingAET: '',
  };
}

/** De-identifies one file into the layout; InstanceProblem when it fails or is refused. */
export async function deidentifyFile(input: string, settings: InstanceSettings): Promise<DeidentifiedInstance> {
  const read = readInstance(input);
  const { dataset } = read;
  const sopClass = dataset.text('x00020002') || dataset.text('x00080016') || '';
  if (!settings.options.allowBurnedIn) {
    // The meta header and the data set may name different classes: either may say what the image is.
    const burnedIn = burnedInReason(dataset.text('x00080016') ?? '', dataset.text('x00280301')) ?? burnedInReason(sopClass, dataset.text('x00280301'));
    if (burnedIn) throw new InstanceProblem('refused', burnedIn);
  }
  const { pseudonyms } = settings;
  const patientId = dataset.text('x00100020') ?? '';
  const patientName = dataset.text('x00100010') ?? '';
  const identity = patientId ? `id:${patientId}` : patientName ? `name:${patientName}` : `study:${dataset.text('x0020000d') ?? ''}`;
  const pseudonym = pseudonyms.patient(identity);
  const elements = transformDataSet(dataset.dataSet, {
    options: settings.options, pseudonyms, charset: dataset.specificCharacterSet, identifiers: patientIdentifiers(dataset),
    dayShift: pseudonyms.dayShift(identity), writtenByCaller: WRITTEN_HERE, dataSetStart: dataset.deflatedFrom ?? 0,
  }, true);
  elements.push({ tag: PATIENT_NAME, vr: 'PN', value: stringValue(pseudonym, 'PN') }, { tag: PATIENT_ID, vr: 'LO', value: stringValue(pseudonym, 'LO') });
  elements.push(...methodElements(settings.options));
  const syntax = dataset.transferSyntax === DEFLATED_EXPLICIT_LITTLE_ENDIAN ? EXPLICIT_LITTLE_ENDIAN : dataset.transferSyntax;
  const meta: OutElement[] = [
    { tag: 0x00020001, vr: 'OB', value: Buffer.from([0, 1]) },
    uidElement(0x00020002, sopClass),
    uidElement(0x00020003, pseudonyms.uid(dataset.text('x00020003') || dataset.text('x00080018') || '')),
    uidElement(0x00020010, syntax),
    uidElement(0x00020012, IMPLEMENTATION_CLASS_UID),
    { tag: 0x00020013, vr: 'SH', value: stringValue(IMPLEMENTATION_VERSION_NAME, 'SH') },
  ];
  const head = Buffer.concat([encodeFileMeta(meta), ...encodeDataset(elements, encodingOf(syntax))]);
  const header = filedHeader(elements, dataset.specificCharacterSet);
  const path = await writeInstance(input, read, head, header, settings.folder);
  const { callingAET: _unused, SeriesDate: _seriesDate, ...values } = header;
  return { path, ...values };
}

// What the output says was done to it (PS3.15 E.1.1, PS3.3 C.7.1.1): Patient Identity Removed, the
// De-identification Method and its codes (CID 7050), Longitudinal Temporal Information Modified.
import { type OutElement, stringValue } from '../../dicom/write-dataset';
import type { ProfileOptions } from './profile';

export const PATIENT_IDENTITY_REMOVED = 0x00120062;
export const DEIDENTIFICATION_METHOD = 0x00120063;
export const DEIDENTIFICATION_METHOD_CODES = 0x00120064;
export const LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED = 0x00280303;

/** The profile's and each option's code (scheme DCM) and meaning. */
const CODES: Array<[keyof ProfileOptions | 'basic', string, string]> = [
  ['basic', '113100', 'Basic Application Confidentiality Profile'],
  ['cleanDescriptors', '113105', 'Clean Descriptors Option'],
  ['retainLongitudinalModifiedDates', '113107', 'Retain Longitudinal Temporal Information Modified Dates Option'],
  ['retainPatientCharacteristics', '113108', 'Retain Patient Characteristics Option'],
  ['retainDeviceIdentity', '113109', 'Retain Device Identity Option'],
  ['retainInstitutionIdentity', '113112', 'Retain Institution Identity Option'],
];

function text(tag: number, vr: string, value: string): OutElement {
  return { tag, vr, value: stringValue(value, vr) };
}

/** The elements that record the de-identification, for the top level of every instance written. */
export function methodElements(options: ProfileOptions): OutElement[] {
  const applied = CODES.filter(([option]) => option === 'basic' || options[option]);
  return [
    text(PATIENT_IDENTITY_REMOVED, 'CS', 'YES'),
    // LO: each value at most 64 characters, so one value per code.
    text(DEIDENTIFICATION_METHOD, 'LO', applied.map(([, , meaning]) => meaning).join('\\')),
    {
      tag: DEIDENTIFICATION_METHOD_CODES,
      vr: 'SQ',
      items: applied.map(([, code, meaning]) => [text(0x00080100, 'SH', code), text(0x00080102, 'SH', 'DCM'), text(0x00080104, 'LO', meaning)]),
    },
    text(LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED, 'CS', options.retainLongitudinalModifiedDates ? 'MODIFIED' : 'REMOVED'),
  ];
}

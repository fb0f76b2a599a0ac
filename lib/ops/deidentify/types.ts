// What a de-identification is asked and answers: PS3.15 Annex E's Basic Application Level
// Confidentiality Profile and the options named below, over files and folders.
import type { PypxResult } from '../../core/result';
import type { InstanceHeader } from '../../filing/header';

export interface DeidentifyOptions {
  /** The secret that pseudonyms are derived from (HMAC-SHA-256); never logged, never in a result. */
  key: string | Buffer;
  /** De-identified copies are filed here, in pypx's layout built from the de-identified values. */
  outDir: string;
  /** Retain Longitudinal Temporal Information with Modified Dates: dates and date-times shifted by days derived from the key and the patient. */
  retainLongitudinalModifiedDates?: boolean;
  /** Retain Patient Characteristics (sex, age, size, weight, ...). */
  retainPatientCharacteristics?: boolean;
  /** Retain Device Identity (manufacturer's model, serial numbers, station name, ...). */
  retainDeviceIdentity?: boolean;
  /** Retain Institution Identity (institution name, address, department). */
  retainInstitutionIdentity?: boolean;
  /** Clean Descriptors: descriptions kept where they name neither the patient nor their IDs (else removed). */
  cleanDescriptors?: boolean;
  /** De-identify instances that may show the patient in their pixels (burned-in text) instead of refusing them. */
  allowBurnedIn?: boolean;
  /** Called once per instance written, after it is in place. */
  onInstance?: (instance: DeidentifiedInstance) => void;
  /** Called once per input file that failed or was refused. */
  onFailure?: (failure: DeidentifyFailure) => void;
  signal?: AbortSignal;
}

/** One instance written: de-identified values and its new path only, named as px-listen names them. */
export type DeidentifiedInstance = { path: string } & Omit<InstanceHeader, 'callingAET' | 'SeriesDate'>;

/**
 * An input file that was not written. `refused`: it may show the patient in its pixels (burned-in
 * annotation) and allowBurnedIn is off; `failed`: it could not be read or written. `input` is the
 * path as given (the user's own file name); `reason` says why in plain words.
 */
export interface DeidentifyFailure {
  input: string;
  outcome: 'failed' | 'refused';
  reason: string;
}

export interface DeidentifyData {
  instances: DeidentifiedInstance[];
  failures: DeidentifyFailure[];
}

/**
 * pypx's result shape with counts. `status` is 'success' when every file found was written, 'error'
 * when any failed or was refused, or when no file was found at all.
 */
export type DeidentifyResult = PypxResult<DeidentifyData> & { deidentified: number; failed: number; refused: number };

#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { deidentify } from '../lib';
import { main, UsageError } from './cli';

/** The key file's bytes, without one trailing newline (as `echo secret > key` writes it). */
function readKey(file: string): Buffer {
  let key: Buffer;
  try {
    key = readFileSync(file);
  } catch (err) {
    throw new UsageError(`cannot read the key file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const end = key.length - (key.subarray(-2).toString('latin1') === '\r\n' ? 2 : key.subarray(-1).toString('latin1') === '\n' ? 1 : 0);
  if (end <= 0) throw new UsageError(`the key file ${file} is empty: the key is the secret pseudonyms are derived from`);
  return key.subarray(0, end);
}

/** What the command takes and does; exported so that test/commands.args.test.ts can check its flags without running it. */
export const command = {
  name: 'px-deidentify',
  operands: 'FILE|DIR...',
  summary: [
    'De-identifies DICOM files by DICOM PS3.15 Annex E (the Basic Application Level Confidentiality Profile and',
    'the options below) and files the copies under OUTDIR the way px-listen files, by their de-identified values.',
    'UIDs become 2.25 UIDs derived from the key, and the patient a pseudonym derived from it: the same key gives',
    'the same values on every run. Private attributes are removed; pixel data is copied as it is, so images that',
    'may show the patient in their pixels (Burned In Annotation YES; secondary captures, ultrasound, photographs',
    'and documents that do not say NO) are refused unless --allowBurnedIn. Folders are walked recursively. Prints',
    'pypx\'s result as JSON with the counts deidentified, failed and refused; exits 0 when every file was written,',
    '1 otherwise, 2 on bad usage.',
  ].join('\n'),
  flags: [
    { name: 'keyFile', value: 'FILE', help: 'file holding the secret key (one trailing newline is ignored); required' },
    { name: 'o', alias: 'outDir', value: 'DIR', help: 'where the de-identified copies are filed (required)' },
    { name: 'retainLongitudinalModifiedDates', help: 'keep dates, each patient\'s moved back by the same number of days' },
    { name: 'retainPatientCharacteristics', help: 'keep sex, age, size, weight and the like' },
    { name: 'retainDeviceIdentity', help: 'keep device names and serial numbers' },
    { name: 'retainInstitutionIdentity', help: 'keep institution name, address and department' },
    { name: 'cleanDescriptors', help: 'keep descriptions (study, series, ...) that name neither the patient nor their IDs' },
    { name: 'allowBurnedIn', help: 'de-identify images that may show the patient in their pixels too' },
  ],
  acceptPositional: true,
  footer: 'example: px-deidentify --keyFile /etc/pypx/deid.key -o /data/research /data/pypx/PX0001-Smith.John',
  run: async ({ flags, positional }) => {
    if (typeof flags.keyFile !== 'string') throw new UsageError('--keyFile is required');
    if (typeof flags.o !== 'string') throw new UsageError('-o (the output folder) is required');
    if (!positional.length) throw new UsageError('give the files or folders to de-identify');
    const result = await deidentify(positional, {
      key: readKey(flags.keyFile),
      outDir: flags.o,
      retainLongitudinalModifiedDates: flags.retainLongitudinalModifiedDates === true,
      retainPatientCharacteristics: flags.retainPatientCharacteristics === true,
      retainDeviceIdentity: flags.retainDeviceIdentity === true,
      retainInstitutionIdentity: flags.retainInstitutionIdentity === true,
      cleanDescriptors: flags.cleanDescriptors === true,
      allowBurnedIn: flags.allowBurnedIn === true,
    });
    const problems = result.failed + result.refused;
    return { result, ...(problems ? { error: new Error(`${result.failed} failed, ${result.refused} refused; see "failures" in data`) } : {}) };
  },
} satisfies Parameters<typeof main>[0];

if (require.main === module) void main(command);

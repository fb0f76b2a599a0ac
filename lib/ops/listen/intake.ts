// Whether a file storescp left can be filed: its header read (and, when its writer died or it was
// left by an earlier run, the file checked whole). A file that is not DICOM is quarantined, or, when
// its writer was killed mid-write (so the sender was never told it was stored), removed.
import { unlinkSync } from 'node:fs';
import { type InstanceHeader, MalformedFileError, readReceivedHeader } from '../../filing/header';
import { quarantine } from '../../filing/file-instance';
import { deflatedStreamComplete } from '../../dicom/deflated';

export interface FilingJob {
  file: string;
  calledAET: string;
  /** Its writer died or it is a leftover: check it is whole before filing. */
  check: boolean;
  /** Its writer was killed: a file cut short was never acknowledged and is removed, not quarantined. */
  abandoned: boolean;
  /** Inflated to its end already (deflated files too large to check at once). */
  inflated?: boolean;
}

export interface IntakeHooks {
  malformed(message: string, data: unknown): void;
  log(text: string): void;
  /** A deflated file checked whole in the background: file it now. */
  checked(job: FilingJob): void;
  /** Not DICOM and cannot be moved aside either. */
  failed(job: FilingJob, err: unknown): void;
}

/** The header, or undefined when the file was dealt with otherwise (gone, not DICOM, checked in the background). */
export function readJobHeader(job: FilingJob, hooks: IntakeHooks, dataDir: string): InstanceHeader | undefined {
  try {
    const { header, dataset, wholeUnknown } = readReceivedHeader(job.file, job.check && !job.inflated);
    if (!wholeUnknown || dataset.deflatedFrom === undefined) return header;
    void deflatedStreamComplete(job.file, dataset.deflatedFrom).then((whole) => {
      if (whole) hooks.checked({ ...job, inflated: true });
      else notDicom(job, new MalformedFileError(job.file, 'truncated: the deflated data set ends before its end'), hooks, dataDir);
    });
    return undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // filed meanwhile by another path
    if (!(err instanceof MalformedFileError)) throw err;
    notDicom(job, err, hooks, dataDir);
    return undefined;
  }
}

export function notDicom(job: FilingJob, err: MalformedFileError, hooks: IntakeHooks, dataDir: string): void {
  try {
    if (job.abandoned) {
      unlinkSync(job.file);
      hooks.log(`removed unfinished ${job.file} (its writer was stopped: ${err.message})`);
      return;
    }
    const kept = quarantine(job.file, dataDir);
    hooks.malformed(`received file cannot be read as DICOM (${err.message.replace(`${job.file}: `, '')}); kept as ${kept}`, { file: kept, reason: err.message });
  } catch (failure) {
    hooks.failed(job, failure);
  }
}

/** At close, for a file a stopped child was writing: removed when cut short (never acknowledged), else left for the next start. */
export function discardIfCut(file: string, hooks: IntakeHooks, dataDir: string): void {
  try {
    readReceivedHeader(file, true);
  } catch (err) {
    if (err instanceof MalformedFileError) notDicom({ file, calledAET: '', check: true, abandoned: true }, err, hooks, dataDir);
  }
}

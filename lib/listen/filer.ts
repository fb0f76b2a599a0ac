// Files what storescp finished writing, a batch per turn of the event loop: read each header, write
// the batch to the announcement journal, rename each into pypx's layout, announce it. A file that is
// not DICOM is quarantined (or, when its writer was killed mid-write and the sender so never told it
// was stored, removed). While the data folder is gone or not a folder, files wait in tmpDir.
import { accessSync, constants, statSync, unlinkSync } from 'node:fs';
import { deflatedStreamComplete } from '../dicom';
import {
  buildFiledPath, fileReceivedInstance, type FilingDirs, type InstanceHeader, type InstancePayload, MalformedFileError, quarantine, readReceivedHeader,
} from '../filing';
import type { SeriesKey } from '../series';
import type { Announcement, AnnouncementJournal } from './announcements';

const BATCH = 64;
/** Folders known to exist are remembered up to this many, then forgotten (memory stays flat over months). */
const KNOWN_FOLDERS_KEPT = 10000;

export interface FilingJob {
  file: string;
  calledAET: string;
  /** Its writer died or it is a leftover: check it is whole before filing. */
  check: boolean;
  /** Its writer was killed: a file cut short was never acknowledged and is removed, not quarantined. */
  abandoned: boolean;
  /** Inflated to its end already (deflated files). */
  inflated?: boolean;
}

export interface FilerEvents {
  filed(payload: InstancePayload, series: SeriesKey): void;
  malformed(message: string, data: unknown): void;
  /** A file could not be filed; it stays in tmpDir. `parked`: it is retried once the data folder is usable. */
  failed(message: string, parked: boolean): void;
  /** Once per batch, after its instances were announced. */
  batchDone(): void;
  log(text: string): void;
}

export class Filer {
  private readonly queue: FilingJob[] = [];
  private readonly claimed = new Set<string>();
  private parked: FilingJob[] = [];
  private pumping = false;
  private stopped = false;
  private idle: Array<() => void> = [];

  constructor(private readonly dirs: FilingDirs, private readonly tmpDir: string, private readonly journal: AnnouncementJournal, private readonly on: FilerEvents) {}

  get waiting(): number {
    return this.parked.length;
  }

  add(job: FilingJob): void {
    if (this.stopped || this.claimed.has(job.file)) return;
    this.claimed.add(job.file);
    this.queue.push(job);
    this.retryParked();
    this.pump();
  }

  /** Files that waited for the data folder are tried again once it is usable. */
  retryParked(): void {
    if (!this.parked.length || !this.dataDirUsable()) return;
    this.queue.unshift(...this.parked.splice(0));
    this.pump();
  }

  /** Resolves once nothing is queued. */
  drained(): Promise<void> {
    if (!this.pumping && !this.queue.length) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const { file } of this.queue.splice(0)) this.claimed.delete(file);
    for (const resolve of this.idle.splice(0)) resolve();
  }

  /** At close, for a file a stopped child was writing: removed when cut short (never acknowledged), else left for the next start. */
  discardIfCut(file: string): void {
    try {
      readReceivedHeader(file, true);
    } catch (err) {
      if (err instanceof MalformedFileError) this.notDicom({ file, calledAET: '', check: true, abandoned: true }, err);
    }
  }

  private pump(): void {
    if (this.pumping || this.stopped) return;
    this.pumping = true;
    setImmediate(() => {
      this.pumping = false;
      if (this.stopped) return;
      this.fileBatch(this.queue.splice(0, BATCH));
      if (this.queue.length) this.pump();
      else for (const resolve of this.idle.splice(0)) resolve();
    });
  }

  private fileBatch(jobs: FilingJob[]): void {
    if (this.dirs.knownDirs.size > KNOWN_FOLDERS_KEPT) {
      this.dirs.knownDirs.clear();
      this.dirs.knownInfo.clear();
    }
    const ready: Array<{ job: FilingJob; header: InstanceHeader; announcement: Announcement }> = [];
    for (const job of jobs) {
      const header = this.readHeader(job);
      if (!header) continue;
      const filed = buildFiledPath(this.dirs.dataDir, header).file;
      ready.push({ job, header, announcement: { filed, original: job.file, calledAET: job.calledAET } });
    }
    // Synchronous from here to the last emit: close() finds each file either still in tmpDir or
    // filed, journalled and emitted, never in between.
    this.journal.record(ready.map((r) => r.announcement));
    for (const { job, header, announcement } of ready) {
      this.claimed.delete(job.file);
      try {
        const { payload, where } = fileReceivedInstance(job.file, header, { ...this.dirs, calledAET: job.calledAET });
        this.on.filed(payload, { StudyInstanceUID: header.StudyInstanceUID, SeriesInstanceUID: header.SeriesInstanceUID, PatientID: header.PatientID, path: where.seriesDir });
      } catch (err) {
        this.journal.forget(announcement.filed);
        this.cannotFile(job, err);
      }
    }
    if (ready.length) this.on.batchDone();
  }

  /** The header, or undefined when the file was dealt with otherwise (gone, malformed, checked later). */
  private readHeader(job: FilingJob): InstanceHeader | undefined {
    try {
      const { header, dataset } = readReceivedHeader(job.file, job.check);
      if (job.check && !job.inflated && dataset.deflatedFrom !== undefined) {
        void deflatedStreamComplete(job.file, dataset.deflatedFrom).then((whole) => {
          this.claimed.delete(job.file);
          if (whole) this.add({ ...job, inflated: true });
          else this.notDicom(job, new MalformedFileError(job.file, 'truncated: the deflated data set ends before its end'));
        });
        return undefined;
      }
      return header;
    } catch (err) {
      this.claimed.delete(job.file);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // filed meanwhile by another path
      if (err instanceof MalformedFileError) this.notDicom(job, err);
      else this.cannotFile(job, err);
      return undefined;
    }
  }

  private notDicom(job: FilingJob, err: MalformedFileError): void {
    try {
      if (job.abandoned) {
        unlinkSync(job.file);
        this.on.log(`removed unfinished ${job.file} (its writer was stopped: ${err.message})`);
        return;
      }
      const kept = quarantine(job.file, this.dirs.dataDir);
      this.on.malformed(`received file cannot be read as DICOM (${err.message.replace(`${job.file}: `, '')}); kept as ${kept}`, { file: kept, reason: err.message });
    } catch (failure) {
      this.cannotFile(job, failure);
    }
  }

  private cannotFile(job: FilingJob, err: unknown): void {
    const reason = err instanceof Error ? err.message : String(err);
    if (!this.dataDirUsable()) {
      const first = !this.parked.length;
      this.claimed.add(job.file);
      this.parked.push(job);
      if (first) this.on.failed(`cannot file into the data folder ${this.dirs.dataDir}: it is missing or not a writable folder (${reason}); received instances wait in ${this.tmpDir} and are filed once it is usable again`, true);
      return;
    }
    this.on.failed(`cannot file ${job.file}: ${reason}; it stays in ${this.tmpDir} and is filed at the next start`, false);
  }

  private dataDirUsable(): boolean {
    try {
      if (!statSync(this.dirs.dataDir).isDirectory()) return false;
      accessSync(this.dirs.dataDir, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }
}

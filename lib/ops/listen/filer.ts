// Files what storescp finished writing, a batch per turn of the event loop: read each header (see
// intake), write the batch to the announcement journal, rename each into pypx's layout, announce it.
// While the data folder cannot be written (gone, not a folder, disk full, read-only, ...), files wait
// in tmpDir, said once, and are tried again when the listener finds it writable (retryParked).
import { accessSync, constants, statSync } from 'node:fs';
import type { SeriesKey } from '../../filing/series';
import type { Announcement, AnnouncementJournal } from './announcements';
import { discardIfCut, type FilingJob, type IntakeHooks, readJobHeader } from './intake';

export type { FilingJob } from './intake';
import { buildFiledPath, type FiledPath } from '../../filing/layout';
import { fileReceivedInstance, type FilingDirs, type InstancePayload } from '../../filing/file-instance';
import { type InstanceHeader } from '../../filing/header';
import { describeWriteFailure, isFolderWriteFailure, writeFailureWords } from '../../filing/write-failure';

const BATCH = 64;

export interface FilerEvents {
  /** Filed and journalled as number seq: announce it. */
  filed(payload: InstancePayload, series: SeriesKey, seq: number): void;
  malformed(message: string, data: unknown): void;
  /** A file could not be filed; it stays in tmpDir and is filed at the next start. */
  failed(message: string): void;
  /** A folder cannot be written (in `words`); what could not be filed waits in tmpDir for retryParked(). */
  cannotWrite(folder: string, words: string, message: string): void;
  /** Once per batch, after its instances were announced. */
  batchDone(): void;
  log(text: string): void;
}

export class Filer {
  private readonly queue: FilingJob[] = [];
  private readonly claimed = new Set<string>();
  private readonly parked: FilingJob[] = [];
  private readonly intake: IntakeHooks;
  private pumping = false;
  private stopped = false;
  private readonly idle: Array<() => void> = [];

  constructor(private readonly dirs: FilingDirs, private readonly tmpDir: string, private readonly journal: AnnouncementJournal, private readonly on: FilerEvents) {
    this.intake = {
      malformed: on.malformed,
      log: on.log,
      checked: (job) => {
        this.claimed.delete(job.file);
        this.add(job);
      },
      failed: (job, err) => this.cannotFile(job, err),
    };
  }

  add(job: FilingJob): void {
    if (this.stopped || this.claimed.has(job.file)) return;
    this.claimed.add(job.file);
    this.queue.push(job);
    this.pump();
  }

  /** Files that waited for a folder that could not be written are tried again (it can be, now). */
  retryParked(): void {
    if (!this.parked.length) return;
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
    this.queue.length = 0;
    for (const resolve of this.idle.splice(0)) resolve();
  }

  discardIfCut(file: string): void {
    discardIfCut(file, this.intake, this.dirs.dataDir);
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
    const ready: Array<{ job: FilingJob; header: InstanceHeader; where: FiledPath; announcement: Announcement }> = [];
    for (const job of jobs) {
      let header: InstanceHeader | undefined;
      try {
        header = readJobHeader(job, this.intake, this.dirs.dataDir);
      } catch (err) {
        this.cannotFile(job, err);
        continue;
      }
      if (!header) {
        this.claimed.delete(job.file);
        continue;
      }
      let where: FiledPath;
      try {
        where = buildFiledPath(this.dirs.dataDir, header);
      } catch (err) {
        this.cannotFile(job, err);
        continue;
      }
      ready.push({ job, header, where, announcement: { filed: where.file, original: job.file, calledAET: job.calledAET } });
    }
    // Synchronous from here to the last emit: close() finds each file either still in tmpDir or
    // filed, journalled and emitted, never in between.
    try {
      this.journal.record(ready.map((r) => r.announcement));
    } catch (err) {
      this.cannotJournal(ready.map((r) => r.job), ready.map((r) => r.announcement), err);
      return;
    }
    for (const { job, header, where, announcement } of ready) {
      try {
        const { payload } = fileReceivedInstance(job.file, header, { ...this.dirs, calledAET: job.calledAET }, { modeSet: !job.check, where });
        this.claimed.delete(job.file);
        this.on.filed(payload, { StudyInstanceUID: header.StudyInstanceUID, SeriesInstanceUID: header.SeriesInstanceUID, PatientID: header.PatientID, path: where.seriesDir }, announcement.seq as number);
      } catch (err) {
        this.journal.forget(announcement);
        this.cannotFile(job, err);
      }
    }
    if (ready.length) this.on.batchDone();
  }

  private cannotFile(job: FilingJob, err: unknown): void {
    const reason = err instanceof Error ? err.message : String(err);
    const missing = !this.dataDirUsable();
    if (missing || isFolderWriteFailure(err)) {
      // It stays claimed while it waits, so that no scan of tmpDir queues it twice.
      this.claimed.add(job.file);
      this.parked.push(job);
      const words = missing ? 'data folder unusable' : writeFailureWords(err);
      const why = missing ? `it is missing or not a writable folder (${reason})` : describeWriteFailure(err);
      this.on.cannotWrite(this.dirs.dataDir, words, `cannot file into the data folder ${this.dirs.dataDir}: ${why}; received instances wait in ${this.tmpDir} and are filed once it can be written again`);
      return;
    }
    this.claimed.delete(job.file);
    this.on.failed(`cannot file ${job.file}: ${reason}; it stays in ${this.tmpDir} and is filed at the next start`);
  }

  /** The journal could not be written (disk full): nothing of the batch is filed; it waits in tmpDir, retried as files waiting for the data folder are. */
  private cannotJournal(jobs: FilingJob[], announcements: Announcement[], err: unknown): void {
    for (const announcement of announcements) this.journal.forget(announcement);
    for (const job of jobs) this.claimed.add(job.file);
    this.parked.push(...jobs);
    this.on.cannotWrite(this.tmpDir, writeFailureWords(err), `cannot write the announcement journal in ${this.tmpDir}: ${describeWriteFailure(err)}; received instances wait in ${this.tmpDir} and are filed once it can be written again`);
  }

  private dataDirUsable(): boolean {
    try {
      accessSync(this.dirs.dataDir, constants.W_OK);
      return statSync(this.dirs.dataDir).isDirectory();
    } catch {
      return false;
    }
  }
}

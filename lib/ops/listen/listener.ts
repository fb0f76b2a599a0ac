// A DICOM receiver: storescp --fork writes each instance into tmpDir; this files it in pypx's layout
// and tells whoever listens, once per instance and once per completed series. The parts: keeping
// storescp running (supervisor, storescp-run), its log telling when a file is whole (storescp-log),
// filing (filer), the announcement journal (announcements), the series journal (../series), and whether
// its folders can be written (storage-watch).
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { appendFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { failureBeforeRun, PacsError } from '../../core/errors';
import { type SeriesComplete, type SeriesKey, SeriesTracker } from '../../filing/series';
import { RedisSeriesView } from '../../filing/shared-series';
import { AnnouncementJournal } from './announcements';
import { Filer } from './filer';
import { type ListenerOptions, type ResolvedListenerOptions, resolveListenerOptions } from './options';
import { QUIET_MS } from './storescp-log';
import { StorescpSupervisor } from './supervisor';
import { type FilingDirs, type InstancePayload, instancePayload } from '../../filing/file-instance';
import { makeFolder } from '../../filing/layout';
import { readReceivedHeader } from '../../filing/header';
import { describeWriteFailure, isFolderWriteFailure, probeWrite, writeFailureWords } from '../../filing/write-failure';
import { type StorageProblem, StorageWatch } from './storage-watch';

const SERIES_JOURNAL = '.px-listen-series.jsonl';
const ANNOUNCEMENTS = '.px-listen-announced.jsonl';

export interface ListenerEvents {
  instance: [InstancePayload];
  series: [SeriesComplete];
  /** A file could not be filed, storescp died, or bookkeeping failed. The listener carries on. */
  error: [PacsError];
  /** storescp died on its own (or could not start again) and will be started again after delayMs. */
  restarting: [{ reason: string; delayMs: number; error: PacsError }];
  /** storescp runs and accepts associations (after start and after each restart). */
  listening: [];
  /**
   * A folder cannot be written (disk full, quota, permissions, read-only): storescp refuses what
   * arrives, or what arrived waits in tmpDir. Once per episode, right after the same error on 'error'.
   */
  'storage-failing': [StorageProblem];
  /** The folders can be written again (a probe write succeeded); what waited is filed now. */
  'storage-recovered': [StorageProblem & { lastedMs: number }];
}

export class Listener extends EventEmitter<ListenerEvents> {
  readonly options: ResolvedListenerOptions;
  private closing = false;
  private started = false;
  private sweepTimer?: NodeJS.Timeout;
  private readonly series: SeriesTracker;
  private readonly journal: AnnouncementJournal;
  private readonly filer: Filer;
  private readonly storescp: StorescpSupervisor;
  private readonly storage: StorageWatch;
  /** Instances filed since start. */
  received = 0;
  private announced = 0;

  constructor(options: ListenerOptions) {
    super();
    this.options = resolveListenerOptions(options);
    const { dataDir, tmpDir, aet, seriesTimeout, confirmByCaller } = this.options;
    const dirs: FilingDirs = { dataDir, calledAET: aet, knownDirs: new Set(), knownInfo: new Set() };
    this.storage = new StorageWatch([tmpDir, dataDir], {
      failing: (problem) => {
        this.report(problem.error);
        this.emit('storage-failing', problem);
      },
      recovered: (problem) => {
        const lastedMs = Date.now() - problem.since;
        this.writeLog(`can write again in ${problem.folder} (${problem.words} for ${Math.round(lastedMs / 1000)} s)`);
        this.emit('storage-recovered', { ...problem, lastedMs });
        this.filer.retryParked();
      },
    });
    this.series = new SeriesTracker(seriesTimeout * 1000, path.join(tmpDir, SERIES_JOURNAL), (done) => this.emit('series', done),
      (err) => {
        if (err.message.startsWith('Redis')) this.fail('failed', 'Redis unreachable', err.message);
        else if (isFolderWriteFailure(err.cause)) this.cannotWrite(tmpDir, writeFailureWords(err.cause), err.message);
        else this.fail('failed', 'series journal', err.message);
      },
      this.options.redis ? new RedisSeriesView(this.options.redis, dataDir, aet) : undefined);
    this.journal = new AnnouncementJournal(path.join(tmpDir, ANNOUNCEMENTS));
    this.filer = new Filer(dirs, tmpDir, this.journal, {
      filed: (payload, series, seq) => this.announce(payload, series, seq),
      malformed: (message, data) => this.fail('malformed', 'malformed file', message, data),
      failed: (message) => this.fail('failed', 'filing failed', message),
      cannotWrite: (folder, words, message) => this.cannotWrite(folder, words, message),
      batchDone: () => { if (!confirmByCaller) this.confirmJournal(); },
      log: (text) => this.writeLog(text),
    });
    this.storescp = new StorescpSupervisor(this.options, {
      onWritten: (file, calledAET, how) => this.filer.add({ file, calledAET: calledAET || aet, check: how !== 'logged', abandoned: how === 'abandoned' }),
      refused: (file, words) => this.refused(file, words),
      afterDeath: async () => {
        await this.fileLeftovers();
        await this.filer.drained();
      },
      log: (text) => this.writeLog(text),
      fail: (error) => this.report(error),
      listening: () => this.emit('listening'),
      restarting: (info) => this.emit('restarting', info),
    });
  }

  /** Ends what a crashed earlier run left, files and announces what it left, then starts storescp; rejects with a PacsError when it cannot listen. */
  async start(): Promise<void> {
    if (this.started) throw new Error('listener already started');
    this.started = true;
    for (const dir of [this.options.dataDir, this.options.tmpDir, this.options.logDir]) {
      try {
        if (dir) makeFolder(dir);
      } catch (err) {
        throw failureBeforeRun('bad-input', 'folder not writable', `cannot use folder ${dir}: ${(err as Error).message}`);
      }
    }
    await this.series.restore();
    this.announceAgain();
    await this.fileLeftovers();
    await this.storescp.start();
    this.sweepTimer = setInterval(() => {
      this.storescp.sweep();
      this.storage.probe();
      this.guardJournal(() => this.journal.flush());
    }, QUIET_MS);
  }

  /** The number of the instance last emitted, for confirmAnnounced(). */
  get lastAnnounced(): number {
    return this.announced;
  }

  /** The instances emitted up to number upTo (default: all so far) have been handed on (with confirmByCaller). */
  confirmAnnounced(upTo?: number): void {
    this.confirmJournal(upTo);
  }

  private confirmJournal(upTo?: number): void {
    this.guardJournal(() => this.journal.confirm(upTo));
  }

  /** A journal write that fails (disk full) is reported; the listener keeps receiving and filing. */
  private guardJournal(write: () => void): void {
    try {
      write();
    } catch (err) {
      if (isFolderWriteFailure(err)) return this.cannotWrite(this.options.tmpDir, writeFailureWords(err), `cannot write the announcement journal in ${this.options.tmpDir}: ${describeWriteFailure(err)}; instances are still filed and announced, but after a crash some may be announced again (flagged duplicate)`);
      this.fail('failed', 'journal not writable', `cannot write the announcement journal ${path.join(this.options.tmpDir, ANNOUNCEMENTS)}: ${(err as Error).message}; instances are still filed and announced, but after a crash some may be announced again (flagged duplicate)`);
    }
  }

  /** Ends storescp and every child it forked; instances emitted but not confirmed go back to tmpDir for the next start. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.received -= this.journal.takeBack();
    clearInterval(this.sweepTimer);
    this.filer.stop();
    // What the stopped children were writing stays for the next start when whole.
    for (const file of await this.storescp.stop()) this.filer.discardIfCut(file);
    await this.series.stop();
    this.journal.close();
  }

  /** The series is in its journal before the instance is announced. */
  private announce(payload: InstancePayload, series: SeriesKey, seq: number): void {
    this.series.touch(series, payload.SOPInstanceUID);
    this.received++;
    this.announced = seq;
    this.emit('instance', payload);
  }

  /** What an earlier run filed but may not have announced (a crash): announced again, flagged duplicate. */
  private announceAgain(): void {
    const pending = this.journal.open();
    let seq = this.journal.last - pending.length;
    for (const { filed, calledAET } of pending) {
      seq++;
      try {
        const { header } = readReceivedHeader(filed, false);
        const { StudyInstanceUID, SeriesInstanceUID, PatientID } = header;
        this.announce(instancePayload(header, filed, calledAET, true), { StudyInstanceUID, SeriesInstanceUID, PatientID, path: path.dirname(filed) }, seq);
      } catch (err) {
        this.fail('failed', 'announcing again', `cannot announce again ${filed}, filed before a crash: ${(err as Error).message}`);
      }
    }
    if (!this.options.confirmByCaller) this.confirmJournal();
  }

  /** Files in tmpDir that no storescp is writing (left by an earlier run or a dead storescp): filed when whole. */
  private async fileLeftovers(): Promise<void> {
    for (const entry of await readdir(this.options.tmpDir, { withFileTypes: true })) {
      if (entry.isFile() && !entry.name.startsWith('.')) this.filer.add({ file: path.join(this.options.tmpDir, entry.name), calledAET: this.options.aet, check: true, abandoned: false });
    }
  }

  /**
   * storescp could not write an instance and refused it to its sender, which keeps it. What it wrote is
   * removed (storescp does so itself): never filed. Why, when it is the folder's fault, is found by a probe.
   */
  private refused(file: string, words: string): void {
    rmSync(file, { force: true });
    if (this.storage.failing) return;
    const { tmpDir } = this.options;
    const failure = probeWrite(tmpDir);
    const why = failure ? describeWriteFailure(failure) : words;
    this.cannotWrite(tmpDir, failure ? writeFailureWords(failure) : 'cannot write', `storescp cannot write received instances into ${tmpDir}: ${why}; it refuses each one (Refused: Out of Resources), which its sender keeps to send again, until it can write there again`);
  }

  private cannotWrite(folder: string, words: string, message: string): void {
    this.storage.failed(folder, words, message, this.storescp.command);
  }

  private fail(kind: 'malformed' | 'failed', reason: string, message: string, data: unknown = message): void {
    this.report(new PacsError(kind, reason, message, { status: 'error', command: this.storescp.command, data: data as string }));
  }

  private report(error: PacsError): void {
    this.writeLog(`error: ${error.message}`);
    if (this.listenerCount('error')) this.emit('error', error);
  }

  private writeLog(text: string): void {
    if (!this.options.logDir) return;
    void appendFile(path.join(this.options.logDir, 'px-listen.log'), `${new Date().toISOString()} ${text}\n`).catch(() => undefined);
  }
}

// A DICOM receiver: storescp --fork writes each instance into tmpDir; this files it in pypx's layout
// and tells whoever listens, once per instance and once per completed series. The parts: storescp's
// run and its pidfile (storescp-run), its log telling when a file is whole (storescp-log), filing
// (filer), the announcement journal (announcements), and the series journal (../series).
import { EventEmitter } from 'node:events';
import { appendFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { failureBeforeRun, PacsError } from '../errors';
import { type FilingDirs, type InstancePayload, makeFolder, readReceivedHeader, instancePayload } from '../filing';
import { type SeriesComplete, SeriesTracker } from '../series';
import { AnnouncementJournal } from './announcements';
import { Filer } from './filer';
import { type ListenerOptions, type ResolvedListenerOptions, resolveListenerOptions } from './options';
import { StorescpLog, QUIET_MS } from './storescp-log';
import { endPreviousRun, StorescpRun } from './storescp-run';

const SERIES_JOURNAL = '.px-listen-series.json';
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
}

export class Listener extends EventEmitter<ListenerEvents> {
  readonly options: ResolvedListenerOptions;
  private run?: StorescpRun;
  private log?: StorescpLog;
  private closing = false;
  private started = false;
  private restarts = 0;
  private lastStart = 0;
  private lastRestartFailure = '';
  private restartTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private spawning: Promise<void> = Promise.resolve();
  private readonly series: SeriesTracker;
  private readonly journal: AnnouncementJournal;
  private readonly filer: Filer;
  /** Instances filed since start. */
  received = 0;

  constructor(options: ListenerOptions) {
    super();
    this.options = resolveListenerOptions(options);
    const { dataDir, tmpDir, aet, seriesTimeout, confirmByCaller } = this.options;
    const dirs: FilingDirs = { dataDir, calledAET: aet, knownDirs: new Set(), knownInfo: new Set() };
    this.series = new SeriesTracker(seriesTimeout * 1000, path.join(tmpDir, SERIES_JOURNAL), (done) => this.emit('series', done),
      (err) => this.fail('failed', 'series journal', err.message));
    this.journal = new AnnouncementJournal(path.join(tmpDir, ANNOUNCEMENTS));
    this.filer = new Filer(dirs, tmpDir, this.journal, {
      filed: (payload, series) => this.announce(payload, series),
      malformed: (message, data) => this.fail('malformed', 'malformed file', message, data),
      failed: (message, parked) => this.fail('failed', parked ? 'data folder unusable' : 'filing failed', message),
      batchDone: () => { if (!confirmByCaller) this.journal.confirm(); },
      log: (text) => void this.writeLog(text),
    });
  }

  /** Ends what a crashed earlier run left, files what it left, then starts storescp; rejects with a PacsError when it cannot listen. */
  async start(): Promise<void> {
    if (this.started) throw new Error('listener already started');
    this.started = true;
    const { dataDir, tmpDir, logDir } = this.options;
    for (const dir of [dataDir, tmpDir, logDir]) {
      if (!dir) continue;
      try {
        makeFolder(dir);
      } catch (err) {
        throw failureBeforeRun('bad-input', 'folder not writable', `cannot use folder ${dir}: ${(err as Error).message}`);
      }
    }
    const ended = await endPreviousRun(tmpDir);
    if (ended) void this.writeLog(`ended ${ended} storescp process(es) an earlier run of this listener left running`);
    await this.series.restore();
    this.announceAgain();
    await this.fileLeftovers();
    this.spawning = this.startStorescp();
    await this.spawning;
    this.sweepTimer = setInterval(() => {
      void this.log?.sweep();
      this.filer.retryParked();
    }, QUIET_MS);
  }

  /** The instances emitted so far have been handed on (with confirmByCaller). */
  confirmAnnounced(): void {
    this.journal.confirm();
  }

  /** Ends storescp and every child it forked; instances emitted but not confirmed go back to tmpDir for the next start. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.received -= this.journal.takeBack();
    clearTimeout(this.restartTimer);
    clearInterval(this.sweepTimer);
    this.filer.stop();
    await this.spawning.catch(() => undefined);
    await this.run?.stop();
    // What the stopped children were writing stays for the next start when whole.
    for (const file of this.log?.end(true) ?? []) this.filer.discardIfCut(file);
    await this.series.stop();
    this.journal.close();
  }

  private announce(payload: InstancePayload, series: Parameters<SeriesTracker['touch']>[0]): void {
    this.series.touch(series);
    this.received++;
    this.emit('instance', payload);
  }

  /** What an earlier run filed but may not have announced (a crash): announced again, flagged duplicate. */
  private announceAgain(): void {
    for (const { filed, calledAET } of this.journal.open()) {
      try {
        const { header } = readReceivedHeader(filed, false);
        this.announce(instancePayload(header, filed, calledAET, true), {
          StudyInstanceUID: header.StudyInstanceUID, SeriesInstanceUID: header.SeriesInstanceUID, PatientID: header.PatientID, path: path.dirname(filed),
        });
      } catch (err) {
        this.fail('failed', 'announcing again', `cannot announce again ${filed}, filed before a crash: ${(err as Error).message}`);
      }
    }
    if (!this.options.confirmByCaller) this.journal.confirm();
  }

  /** Files in tmpDir that no storescp is writing (left by an earlier run or a dead storescp): filed when whole. */
  private async fileLeftovers(): Promise<void> {
    for (const entry of await readdir(this.options.tmpDir, { withFileTypes: true })) {
      if (entry.isFile() && !entry.name.startsWith('.')) this.filer.add({ file: path.join(this.options.tmpDir, entry.name), calledAET: this.options.aet, check: true, abandoned: false });
    }
  }

  private async startStorescp(): Promise<void> {
    const log = new StorescpLog(this.options.tmpDir, (file, calledAET, abandoned) => {
      this.filer.add({ file, calledAET: calledAET || this.options.aet, check: abandoned, abandoned });
    }, (text) => void this.writeLog(text));
    const run = await StorescpRun.start(this.options, (line) => log.onLine(line));
    void this.writeLog(`started: ${run.command}`);
    if (this.closing) return run.stop();
    this.run = run;
    this.log = log;
    this.lastStart = Date.now();
    this.lastRestartFailure = '';
    void run.ended.then((how) => this.onStorescpEnded(run, log, how));
    this.emit('listening');
  }

  /** storescp died on its own: its group has ended; what it left is filed before a new one starts. */
  private async onStorescpEnded(run: StorescpRun, log: StorescpLog, how: string): Promise<void> {
    if (this.closing || run !== this.run) return;
    this.run = undefined;
    log.end();
    await this.fileLeftovers().catch(() => undefined);
    await this.filer.drained();
    if (Date.now() - this.lastStart > 60000) this.restarts = 0;
    this.scheduleRestart(new PacsError('receiver-died', 'storescp died', `storescp exited (${how})`, { status: 'error', command: run.command, data: how }));
  }

  private scheduleRestart(error: PacsError): void {
    if (this.closing) return;
    const delays = this.options.restartDelaysMs;
    const delayMs = delays[Math.min(this.restarts++, delays.length - 1)] as number;
    // A restart that fails the same way again (a port still in use) is said once, not at every retry.
    if (error.message !== this.lastRestartFailure) {
      this.lastRestartFailure = error.message;
      this.fail(error.kind as 'receiver-died', error.reason, `${error.message}; starting it again in ${delayMs / 1000} s`);
    }
    this.emit('restarting', { reason: error.message, delayMs, error });
    this.restartTimer = setTimeout(() => {
      this.spawning = this.startStorescp().catch((err: unknown) => {
        if (!this.closing) this.scheduleRestart(err instanceof PacsError ? err : new PacsError('receiver-died', 'storescp failed', String(err), { status: 'error', command: '', data: String(err) }));
      });
    }, delayMs);
  }

  private fail(kind: 'malformed' | 'receiver-died' | 'failed' | 'port-in-use', reason: string, message: string, data: unknown = message): PacsError {
    const error = new PacsError(kind, reason, message, { status: 'error', command: this.run?.command ?? '', data: data as string });
    void this.writeLog(`error: ${message}`);
    if (this.listenerCount('error')) this.emit('error', error);
    return error;
  }

  private async writeLog(text: string): Promise<void> {
    if (!this.options.logDir) return;
    await appendFile(path.join(this.options.logDir, 'px-listen.log'), `${new Date().toISOString()} ${text}\n`).catch(() => undefined);
  }
}

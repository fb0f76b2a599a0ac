// One C-GET pass: getscu run into a folder of its own, each instance it stores filed with px-listen's
// filing code as soon as getscu has closed its file, and the pass stopped when the PACS goes silent.
import { readdirSync, realpathSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runDcmtk } from '../../dcmtk/run';
import { failureBeforeRun, type PacsError } from '../../core/errors';
import { dieWithThisProcess, openFiles } from '../../dcmtk/processes';
import { runQueued } from '../../core/queue';
import { RetrievedSeries } from '../../filing/retrieved-series';
import type { PacsSettings } from '../../core/settings';
import { describeDcmtkFailure } from '../../dcmtk/failures';
import { idleDeadlineMs } from '../../dcmtk/args';
import type { MoveProgress } from '../move/responses';
import { buildGetArgs, GET_LOG_CONFIG_TEXT, GetLogReader, getscuWriteFailure } from './getscu';
import { StallWatch } from './stall';
import type { GetFailure, GetOptions } from './types';
import { fileReceivedInstance, type FilingDirs, quarantine } from '../../filing/file-instance';
import { MalformedFileError, readReceivedHeader } from '../../filing/header';
import { FILE_MODE } from '../../filing/layout';
import { folderWriteError } from '../../filing/write-failure';
import { workingFolderPrefix } from './leftovers';

/** How often getscu's folder is looked at for what it has finished writing: a batch at a time, not one per instance. */
const COLLECT_EVERY_MS = 10;
const GETSCU_UMASK = 0o027; // files created 0666 & ~0027: FILE_MODE

/** One getscu run: its log as read, its command line, and how it ended where that was not a final response. */
export interface Pass {
  reader: GetLogReader;
  command: string;
  error?: PacsError;
  /** Stopped by the series timeout: the PACS sent no new instance for that long. */
  stalled?: boolean;
}

/** A retrieve under way: its folder, what it filed, and how to run one getscu. */
export class Retrieve {
  readonly received = new Set<string>();
  readonly series = new RetrievedSeries();
  readonly problems: GetFailure[] = [];
  private readonly dirs: FilingDirs;
  /** tmpDir as the kernel names it in /proc/<pid>/fd (its links resolved). */
  private realTmpDir?: string;
  /** Names seen in tmpDir and not yet filed: a name not among them is an instance begun since the last look. */
  private readonly seen = new Set<string>();
  /** Filing failed (disk full, a data folder that cannot be written): the retrieve stops with this error. */
  fault?: PacsError;
  private halt?: AbortController;
  /** getscu's folder under <dataDir>/incoming, made when the first pass gets its turn on the queue ('' before). */
  private tmpDir = '';
  private logConfig?: string;

  constructor(private readonly settings: PacsSettings, private readonly incoming: string, private readonly options: GetOptions, readonly seriesTimeout: number) {
    this.dirs = { dataDir: options.dataDir, calledAET: settings.aet, knownDirs: options.filing?.knownDirs ?? new Set(), knownInfo: options.filing?.knownInfo ?? new Set() };
  }

  /** Makes getscu's folder and, beside it, its log configuration (gone with it: every file in the folder is taken for an instance). */
  private async workingFolder(): Promise<string> {
    if (this.tmpDir) return this.tmpDir;
    try {
      await mkdir(this.incoming, { recursive: true });
      this.tmpDir = await mkdtemp(workingFolderPrefix(this.incoming, 'get'));
      this.logConfig = `${this.tmpDir}.log.cfg`;
      await writeFile(this.logConfig, GET_LOG_CONFIG_TEXT, { mode: FILE_MODE });
    } catch (err) {
      throw folderWriteError(this.incoming, err, `getscu: cannot make a working folder in ${this.incoming}`);
    }
    return this.tmpDir;
  }

  /** Removes getscu's folder and its log configuration, once the retrieve is over. */
  async remove(): Promise<void> {
    if (this.tmpDir) await Promise.all([rm(this.tmpDir, { recursive: true, force: true }), rm(`${this.tmpDir}.log.cfg`, { force: true })]);
  }

  /**
   * Files what getscu has finished writing: every file in its folder that it does not hold open (it
   * writes one at a time, and closes each before it answers the C-STORE), read from /proc/<pid>/fd.
   * Says whether a file new in the folder appeared (an instance begun) and whether something was filed.
   * Where /proc cannot be read, nothing is filed here: the sweep at getscu's exit files it all.
   */
  collectWritten(pid: number): { arrived: boolean; filed: boolean } {
    const waiting = readdirSync(this.tmpDir);
    let arrived = false;
    for (const name of waiting) {
      if (this.seen.has(name)) continue;
      this.seen.add(name);
      arrived = true;
    }
    if (!waiting.length) return { arrived, filed: false };
    const open = openFiles(pid);
    if (!open) return { arrived, filed: false };
    try {
      this.realTmpDir ??= realpathSync(this.tmpDir);
    } catch {
      return { arrived, filed: false };
    }
    let filed = false;
    for (const name of waiting) {
      if (open.has(path.join(this.realTmpDir, name))) continue;
      if (this.file(path.join(this.tmpDir, name), 'if-whole')) {
        this.seen.delete(name);
        filed = true;
      }
    }
    return { arrived, filed };
  }

  /**
   * Files one instance getscu stored. A file that cannot be read as DICOM is quarantined, or dropped
   * when getscu was stopped while writing it, or (if-whole) left where it is. True when it was dealt with.
   */
  file(file: string, mode: 'written' | 'if-whole' | 'stopped' = 'written'): boolean {
    const full = path.resolve(this.tmpDir, file);
    if (path.dirname(full) !== this.tmpDir) return false;
    let read: ReturnType<typeof readReceivedHeader>;
    try {
      read = readReceivedHeader(full, true);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      if (!(err instanceof MalformedFileError)) throw err;
      if (mode === 'if-whole') return false;
      if (mode === 'stopped') {
        rmSync(full, { force: true });
        return true;
      }
      const kept = quarantine(full, this.options.dataDir);
      this.problems.push({ SOPInstanceUID: path.basename(full).replace(/^[^.]*[A-Za-z][^.]*\./, ''), reason: `received, but not readable as DICOM (${err.message.replace(`${full}: `, '')}); kept as ${kept}` });
      return true;
    }
    const { payload } = fileReceivedInstance(full, read.header, this.dirs, { modeSet: true });
    this.received.add(read.header.SOPInstanceUID);
    this.series.add(payload);
    this.options.onInstance?.(payload);
    return true;
  }

  /** Files whatever getscu left in the folder once it has exited. */
  async sweep(stopped: boolean): Promise<void> {
    if (!this.tmpDir) return;
    for (const name of await readdir(this.tmpDir).catch(() => [] as string[])) {
      if (this.fault) return;
      this.guarded(() => this.file(path.join(this.tmpDir, name), stopped ? 'stopped' : 'written'));
    }
  }

  /** Runs a filing step from getscu's output; an error is recorded as the retrieve's failure and stops getscu, never thrown. */
  private guarded(step: () => void): void {
    if (this.fault) return;
    try {
      step();
    } catch (err) {
      const error = folderWriteError(this.options.dataDir, err, `getscu: cannot file into the data folder ${this.options.dataDir}`);
      this.fault = failureBeforeRun(error.kind, error.reason, `${error.message}; the retrieve was stopped after ${this.received.size} instance${this.received.size === 1 ? '' : 's'} filed`);
      this.problems.push({ SOPInstanceUID: '(the rest of the retrieve)', reason: this.fault.message.replace(/^getscu: /, '') });
      this.halt?.abort();
    }
  }

  async run(keys: Parameters<typeof buildGetArgs>[1], preference?: string, debug = false): Promise<Pass> {
    const progress = (p: MoveProgress) => this.options.onProgress?.(p);
    const watch = new StallWatch(this.seriesTimeout);
    const halt = (this.halt = new AbortController());
    const reader = new GetLogReader({
      stored: (file) => {
        watch.arrived();
        this.guarded(() => this.file(file));
      },
      answered: () => watch.arrived(),
      progress,
      // An instance that has begun to arrive is no stall, however long it takes to come whole.
      arriving: () => watch.arrived(),
    });
    // -d names each file it wrote. Otherwise getscu prints no line per instance, and its folder is looked
    // at every COLLECT_EVERY_MS: a file new there is an instance that has begun to arrive (for the stall
    // watch, and for the idle deadline as a printed line is), and what getscu has closed is filed. Looking
    // and the folder start when the queue gives the turn: a retrieve waiting there neither polls nor has one.
    let pid: number | undefined;
    let active: (() => void) | undefined;
    let collecting: NodeJS.Timeout | undefined;
    const collect = () => {
      if (pid === undefined) return;
      const running = pid;
      let seen = { arrived: false, filed: false };
      // Filing that fails (the data folder gone, disk full) stops getscu and fails the retrieve.
      this.guarded(() => {
        seen = this.collectWritten(running);
      });
      if (this.fault) return clearInterval(collecting);
      if (!seen.arrived && !seen.filed) return;
      watch.arrived();
      active?.();
      if (seen.filed) progress({ completed: this.received.size, failed: 0, warning: 0, remaining: 0, total: 0 });
    };
    let run: Awaited<ReturnType<typeof runDcmtk>>;
    try {
      run = await runQueued(
        this.options.queue,
        async (signal) => {
          const args = buildGetArgs(this.settings, keys, await this.workingFolder(), preference, debug, this.logConfig);
          if (!debug) collecting = setInterval(collect, COLLECT_EVERY_MS);
          const either = watch.orWhen(signal);
          try {
            return await runDcmtk('getscu', args, {
              dcmtkDir: this.settings.dcmtkDir, executable: this.settings.executable, signal: AbortSignal.any([either.signal, halt.signal]), idleTimeoutMs: idleDeadlineMs(this.settings), buffer: false,
              runUnder: await dieWithThisProcess(), onLine: (line) => reader.read(line),
              // getscu creates each file 0640 (patient data: owner and group only): no chmod per instance.
              umask: GETSCU_UMASK,
              onSpawn: (id) => { pid = id; },
              onActivity: (fn) => { active = fn; },
            });
          } finally {
            either.release();
          }
        },
        this.options.signal,
        (err) => {
          throw failureBeforeRun('aborted', 'stopped', `getscu: the retrieve never started: ${err.message}`);
        },
      );
    } finally {
      // getscu has exited: whatever it left is filed by the sweep.
      clearInterval(collecting);
    }
    watch.stop();
    await this.sweep(run.aborted || run.timedOut);
    if (this.fault) return { reader, command: run.command, error: this.fault };
    if (watch.stalled && !this.options.signal?.aborted) return { reader, command: run.command, stalled: true };
    if (reader.final && !run.aborted) return { reader, command: run.command };
    return { reader, command: run.command, error: getscuWriteFailure(reader.log, this.incoming, run.command) ?? describeDcmtkFailure('getscu', { ...run, output: reader.log.join('\n') }, this.settings) };
  }
}

/** The final status of a pass as DCMTK words it, with its code and the PACS's comment where given. */
export function statusWords(pass: Pass): string {
  const final = pass.reader.final;
  if (!final) return 'no final response';
  const code = final.code === undefined ? '' : `0x${final.code.toString(16).padStart(4, '0')}`;
  const comment = pass.reader.errorComment ? `"${pass.reader.errorComment}"` : '';
  const details = [code, comment].filter(Boolean).join(', ');
  return `"${pass.reader.statusName ?? final.text}"${details ? ` (${details})` : ''}`;
}

/** A pass that came to a final status of success, or of warning with nothing failed. */
export const succeeded = (pass: Pass) => {
  const final = pass.reader.final;
  if (pass.error || !final) return false;
  return final.code === undefined ? final.text === 'Success' || (/^Warning/.test(final.text) && final.failed === 0) : final.code === 0 || (final.code === 0xb000 && final.failed === 0);
};

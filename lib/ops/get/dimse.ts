// C-GET with getscu: the PACS sends the instances back on our own association (no AE registration,
// no inbound port). Each instance getscu stores is filed with px-listen's filing code as soon as getscu
// has closed its file.
//
// Where an instance cannot come uncompressed (the PACS holds it compressed and cannot transcode),
// a PACS such as Orthanc ends the whole C-GET at that instance. What is left is then retrieved
// instance by instance (listed with a C-FIND where the PACS allows one), and what fails uncompressed
// is asked for again proposing each compressed syntax in turn (getscu's +x preferences).
import { readdirSync, realpathSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runDcmtk } from '../../dcmtk/run';
import { wadoGet } from './dicomweb';
import { failureBeforeRun, PacsError, toPacsError } from '../../core/errors';
import { openFiles } from '../../dcmtk/processes';
import { FILE_MODE, fileReceivedInstance, type FilingDirs, type InstancePayload, MalformedFileError, quarantine, readReceivedHeader } from '../../filing/instance';
import { runFind } from '../find/dimse';
import { buildGetArgs, GET_LOG_CONFIG_TEXT, GetLogReader } from './getscu';
import { type AssociationQueue, runQueued } from '../../core/queue';
import type { PypxResult } from '../../core/result';
import { RetrievedSeries } from '../../filing/retrieved-series';
import type { SeriesComplete } from '../../filing/series';
import { type PacsSettings, splitSettingsAndQuery, validatePacsSettings } from '../../core/settings';
import { trimUid } from '../../dicom/uid';
import { describeDcmtkFailure } from '../../dcmtk/failures';
import { dieWithThisProcess } from '../../dcmtk/processes';
import { StallWatch, seriesTimeoutSeconds, stallReason } from './stall';
import { idleDeadlineMs } from '../../dcmtk/args';
import { refuseTlsFor } from '../../dcmtk/tls';
import { isDicomweb } from '../../core/settings';
import { type MoveProgress } from '../move/responses';
import { type MoveRequest, parseMoveRequests } from '../move/request';
import { type MovePayload } from '../move/types';

/** getscu's storage preferences tried, in order, for instances that failed uncompressed: lossless first. */
export const COMPRESSED_PREFERENCES = ['+xs', '+xt', '+xv', '+xr', '+xd', '+xy', '+xx', '+xu', '+xw'] as const;
/** UIDs per C-GET when retrieving instance by instance. */
const UIDS_PER_GET = 50;
/** A preference that brings nothing this many times in a row is given up for the rest. */
const FRUITLESS_RUNS_PER_PREFERENCE = 3;
/** How often getscu's folder is looked at for what it has finished writing: a batch at a time, not one per instance. */
const COLLECT_EVERY_MS = 10;
/** Files created 0666 & ~0027: FILE_MODE. */
const GETSCU_UMASK = 0o027;

export interface GetOptions {
  /** Where instances are filed, as px-listen files them. */
  dataDir: string;
  /** Seconds the retrieve may go without a new instance, once they have begun to come, before it is stopped as stalled (default 10). */
  seriesTimeout?: number | string;
  /** Folders and .info files already made, shared across retrieves (a node's lifetime). */
  filing?: Pick<FilingDirs, 'knownDirs' | 'knownInfo'>;
  signal?: AbortSignal;
  queue?: AssociationQueue;
  onInstance?: (instance: InstancePayload) => void;
  onProgress?: (progress: MoveProgress) => void;
}

export interface GetFailure {
  SOPInstanceUID: string;
  reason: string;
}

export interface GetOutcome {
  /** pypx's result: `data` is '' on success, what failed and why otherwise. */
  result: PypxResult<string>;
  completed: number;
  failed: number;
  warning: number;
  request: MoveRequest;
  failures: GetFailure[];
  /** The series this retrieve filed, each with its files. */
  series: SeriesComplete[];
  error?: PacsError;
  elapsedMs: number;
}

interface Pass {
  reader: GetLogReader;
  command: string;
  error?: PacsError;
  /** Stopped by the series timeout: the PACS sent no new instance for that long. */
  stalled?: boolean;
}

const describeRequest = (request: MoveRequest) => `${request.level.toLowerCase()} ${request.level === 'STUDY' ? request.StudyInstanceUID : request.level === 'SERIES' ? request.SeriesInstanceUID : request.SOPInstanceUID}`;

/** A retrieve under way: its folder, what it filed, and how to run one getscu. */
class Retrieve {
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

  constructor(private readonly settings: PacsSettings, private readonly tmpDir: string, private readonly options: GetOptions, readonly seriesTimeout: number, private readonly logConfig?: string) {
    this.dirs = { dataDir: options.dataDir, calledAET: settings.aet, knownDirs: options.filing?.knownDirs ?? new Set(), knownInfo: options.filing?.knownInfo ?? new Set() };
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
      const message = `getscu: cannot file into the data folder ${this.options.dataDir}: ${err instanceof Error ? err.message : String(err)}; the retrieve was stopped after ${this.received.size} instance${this.received.size === 1 ? '' : 's'} filed`;
      this.fault = failureBeforeRun('failed', 'cannot file', message);
      this.problems.push({ SOPInstanceUID: '(the rest of the retrieve)', reason: message.replace(/^getscu: /, '') });
      this.halt?.abort();
    }
  }

  async run(keys: Parameters<typeof buildGetArgs>[1], preference?: string, debug = false): Promise<Pass> {
    const args = buildGetArgs(this.settings, keys, this.tmpDir, preference, debug, this.logConfig);
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
    // watch, and for the idle deadline as a printed line is), and what getscu has closed is filed.
    let pid: number | undefined;
    let active: (() => void) | undefined;
    const collecting = debug ? undefined : setInterval(() => {
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
    }, COLLECT_EVERY_MS);
    let run: Awaited<ReturnType<typeof runDcmtk>>;
    try {
      run = await runQueued(
        this.options.queue,
        async (signal) => {
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
    return { reader, command: run.command, error: describeDcmtkFailure('getscu', { ...run, output: reader.log.join('\n') }, this.settings) };
  }
}

function statusWords(pass: Pass): string {
  const final = pass.reader.final;
  if (!final) return 'no final response';
  const code = final.code === undefined ? '' : `0x${final.code.toString(16).padStart(4, '0')}`;
  const comment = pass.reader.errorComment ? `"${pass.reader.errorComment}"` : '';
  const details = [code, comment].filter(Boolean).join(', ');
  return `"${pass.reader.statusName ?? final.text}"${details ? ` (${details})` : ''}`;
}

const succeeded = (pass: Pass) => {
  const final = pass.reader.final;
  if (pass.error || !final) return false;
  return final.code === undefined ? final.text === 'Success' || (/^Warning/.test(final.text) && final.failed === 0) : final.code === 0 || (final.code === 0xb000 && final.failed === 0);
};

/** The instances under a study or series, by C-FIND; undefined where the PACS will not answer one. */
async function listInstances(settings: PacsSettings, request: MoveRequest, options: GetOptions): Promise<Array<{ SOPInstanceUID: string; SeriesInstanceUID?: string }> | undefined> {
  if (request.level === 'IMAGE') return [{ SOPInstanceUID: request.SOPInstanceUID as string, SeriesInstanceUID: request.SeriesInstanceUID }];
  const query: Record<string, string> = { SOPInstanceUID: '', SeriesInstanceUID: request.SeriesInstanceUID ?? '' };
  if (request.StudyInstanceUID) query.StudyInstanceUID = request.StudyInstanceUID;
  const found = await runFind(settings, query, { level: 'IMAGE', returnTags: ['SOPInstanceUID', 'SeriesInstanceUID'], signal: options.signal, queue: options.queue });
  if (found.error) return undefined;
  return found.result.data
    .map((record) => ({ SOPInstanceUID: trimUid(String(record.SOPInstanceUID?.value ?? '')), SeriesInstanceUID: trimUid(String(record.SeriesInstanceUID?.value ?? '')) || undefined }))
    .filter((r) => r.SOPInstanceUID);
}

/**
 * After a C-GET that ended early: the instances not received, by lists of UIDs, first uncompressed
 * (skipping those known to fail), then each compressed preference for what still fails.
 */
async function retrieveRest(retrieve: Retrieve, request: MoveRequest, first: Pass, settings: PacsSettings, options: GetOptions): Promise<{ hard: Map<string, string>; error?: PacsError; commands: string[]; listed?: number }> {
  const hard = new Map<string, string>();
  const commands: string[] = [];
  const firstReason = `${settings.aec} answered the C-GET with ${statusWords(first)}`;
  for (const uid of first.reader.failedUids) if (!retrieve.received.has(uid)) hard.set(uid, firstReason);
  const listed = await listInstances(settings, request, options);
  const all = listed ?? [...hard.keys()].map((SOPInstanceUID) => ({ SOPInstanceUID, SeriesInstanceUID: request.SeriesInstanceUID }));
  const seriesOf = new Map(all.map((i) => [i.SOPInstanceUID, i.SeriesInstanceUID]));
  if (!listed && request.level !== 'IMAGE') {
    hard.set(`(the rest of ${describeRequest(request)})`, `${firstReason}, which ended the retrieve there; the instances it did not send cannot be listed to ask for them one by one: the PACS refused a C-FIND from "${settings.aet}"`);
  }

  for (const preference of [undefined, ...COMPRESSED_PREFERENCES]) {
    let todo = (preference ? [...hard.keys()] : all.map((i) => i.SOPInstanceUID).filter((u) => !hard.has(u))).filter((u) => !retrieve.received.has(u) && seriesOf.has(u));
    let fruitless = 0;
    while (todo.length && !options.signal?.aborted) {
      const chunk = todo.slice(0, UIDS_PER_GET);
      const series = new Set(chunk.map((u) => seriesOf.get(u)));
      const keys = { level: 'IMAGE', StudyInstanceUID: request.StudyInstanceUID, SeriesInstanceUID: series.size === 1 ? [...series][0] : undefined, SOPInstanceUID: chunk.join('\\') };
      const before = retrieve.received.size;
      const pass = await retrieve.run(keys, preference, true);
      commands.push(pass.command);
      if (pass.stalled) {
        const reason = stallReason(settings.aec, retrieve.seriesTimeout);
        for (const uid of todo) if (!retrieve.received.has(uid)) hard.set(uid, reason);
        return { hard, commands };
      }
      if (pass.error) return { hard, error: pass.error, commands };
      const reason = `${settings.aec} answered the C-GET with ${statusWords(pass)}${preference ? ` also when ${preference} proposed compressed syntaxes` : ''}`;
      const failedNow = pass.reader.failedUids.filter((u) => chunk.includes(u) && !retrieve.received.has(u));
      // No failed UID named and nothing new: the whole chunk failed alike.
      const settled = failedNow.length || retrieve.received.size > before ? failedNow : chunk.filter((u) => !retrieve.received.has(u));
      for (const uid of settled) if (!preference || hard.has(uid)) hard.set(uid, reason);
      if (preference) for (const uid of chunk) if (retrieve.received.has(uid)) hard.delete(uid);
      fruitless = retrieve.received.size > before ? 0 : fruitless + 1;
      if (preference && fruitless >= FRUITLESS_RUNS_PER_PREFERENCE) break;
      todo = todo.filter((u) => !retrieve.received.has(u) && !settled.includes(u));
    }
    for (const uid of [...hard.keys()]) if (retrieve.received.has(uid)) hard.delete(uid);
    if (!hard.size || options.signal?.aborted) break;
  }
  return { hard, commands, listed: listed?.length };
}

function outcomeOf(request: MoveRequest, retrieve: Retrieve | undefined, started: number, result: PypxResult<string>, failures: GetFailure[], warning: number, error?: PacsError): GetOutcome {
  return { result, completed: retrieve?.received.size ?? 0, failed: failures.length, warning, request, failures, series: retrieve?.series.list() ?? [], error, elapsedMs: Date.now() - started };
}

/** DCMTK's getscu has no TLS: a PACS configured for TLS is refused before anything is sent in clear. */
export function refuseGetOverTls(settings: PacsSettings): void {
  try {
    refuseTlsFor('getscu', settings);
  } catch (err) {
    throw toPacsError(err);
  }
}

/** One retrieve, start to end, every instance filed. Never throws: failures are in the outcome. */
export async function runGet(settings: PacsSettings, request: MoveRequest, options: GetOptions): Promise<GetOutcome> {
  if (isDicomweb(settings)) return wadoGet(settings, request, options);
  const started = Date.now();
  let retrieve: Retrieve | undefined;
  let tmpDir: string | undefined;
  try {
    if (!options.dataDir?.trim()) throw failureBeforeRun('bad-input', 'no data folder', 'px-get needs a data folder (dataDir) to file the instances in');
    const seriesTimeout = seriesTimeoutSeconds(options.seriesTimeout);
    refuseGetOverTls(settings);
    const incoming = path.join(path.resolve(options.dataDir), 'incoming');
    await mkdir(incoming, { recursive: true });
    tmpDir = await mkdtemp(path.join(incoming, '.get-'));
    // Beside the folder getscu writes into (whose every file is taken for an instance), gone with it.
    const logConfig = `${tmpDir}.log.cfg`;
    await writeFile(logConfig, GET_LOG_CONFIG_TEXT, { mode: FILE_MODE });
    retrieve = new Retrieve(settings, tmpDir, { ...options, dataDir: path.resolve(options.dataDir) }, seriesTimeout, logConfig);
    const first = await retrieve.run({ ...request });
    const final = first.reader.final;
    const warning = final?.warning ?? 0;
    // Read through a function: filing sets it from getscu's output, out of the compiler's sight.
    const faulted = (r: Retrieve) => r.fault && outcomeOf(request, r, started, r.fault.result as PypxResult<string>, r.problems, warning, r.fault);
    const firstFault = faulted(retrieve);
    if (firstFault) return firstFault;
    if (first.stalled) return stalledOutcome(settings, request, retrieve, first, started);
    if (succeeded(first) && !retrieve.problems.length) return outcomeOf(request, retrieve, started, { status: 'success', command: first.command, data: '' }, [], warning);
    if (first.error && !retrieve.received.size) {
      return outcomeOf(request, retrieve, started, first.error.result as PypxResult<string>, [], warning, first.error);
    }
    const rest = succeeded(first) ? { hard: new Map<string, string>(), commands: [] as string[] } : await retrieveRest(retrieve, request, first, settings, options);
    const restFault = faulted(retrieve);
    if (restFault) return restFault;
    const failures: GetFailure[] = [...retrieve.problems, ...[...rest.hard].map(([SOPInstanceUID, reason]) => ({ SOPInstanceUID, reason }))];
    if (!failures.length && !rest.error && !retrieve.received.size && 'listed' in rest && rest.listed === 0) {
      // The PACS failed the C-GET and holds nothing under these UIDs: its answer stands.
      const message = `getscu: ${settings.aec} at ${settings.host}:${settings.port} answered the C-GET of ${describeRequest(request)} with ${statusWords(first)}, and lists no instance under it: check the UIDs`;
      const result: PypxResult<string> = { status: 'error', command: first.command, data: [message, ...first.reader.log].join('\n') };
      return outcomeOf(request, retrieve, started, result, [], warning, new PacsError('dicom-status', (first.reader.statusName ?? final?.text ?? 'failed').replace(/^Failed: /, '').slice(0, 20), message, result));
    }
    const command = [first.command, ...rest.commands].join('\n');
    const error = rest.error ?? first.error;
    if (!failures.length && !error) return outcomeOf(request, retrieve, started, { status: 'success', command, data: '' }, [], warning);
    const where = `${settings.aec} at ${settings.host}:${settings.port}`;
    const head = `getscu: ${retrieve.received.size} instance${retrieve.received.size === 1 ? '' : 's'} of ${describeRequest(request)} retrieved from ${where}, ${failures.length} failed`;
    const firstFailure = failures[0];
    const message = error && !failures.length
      ? `${head}; then ${error.message.replace(/^getscu: /, '')}`
      : `${head}: ${firstFailure?.SOPInstanceUID}: ${firstFailure?.reason}. What a PACS cannot send over C-GET can come with C-MOVE (px-move) or DICOMweb`;
    const data = [message, ...failures.map((f) => `${f.SOPInstanceUID}: ${f.reason}`)].join('\n');
    const result: PypxResult<string> = { status: 'error', command, data };
    return outcomeOf(request, retrieve, started, result, failures, warning, new PacsError(error?.kind ?? 'dicom-status', failures.length ? `${failures.length} failed` : error?.reason ?? 'failed', message, result));
  } catch (err) {
    const error = toPacsError(err);
    return outcomeOf(request, retrieve, started, error.result as PypxResult<string>, retrieve?.problems ?? [], 0, error);
  } finally {
    if (tmpDir) await Promise.all([rm(tmpDir, { recursive: true, force: true }), rm(`${tmpDir}.log.cfg`, { force: true })]);
  }
}

/**
 * A C-GET the series timeout stopped: what arrived is filed; the rest fails as one line, counted once,
 * since a silent PACS names nothing it has not sent (getscu -v prints no pending counts to count it by).
 */
function stalledOutcome(settings: PacsSettings, request: MoveRequest, retrieve: Retrieve, pass: Pass, started: number): GetOutcome {
  const received = retrieve.received.size;
  const reason = stallReason(settings.aec, retrieve.seriesTimeout);
  const failures: GetFailure[] = [...retrieve.problems, { SOPInstanceUID: `(the rest of ${describeRequest(request)})`, reason }];
  const message = `getscu: ${received} instance${received === 1 ? '' : 's'} of ${describeRequest(request)} retrieved from ${settings.aec} at ${settings.host}:${settings.port}, then ${reason}; the rest failed`;
  const data = [message, ...failures.map((f) => `${f.SOPInstanceUID}: ${f.reason}`)].join('\n');
  const result: PypxResult<string> = { status: 'error', command: pass.command, data };
  return outcomeOf(request, retrieve, started, result, failures, 0, new PacsError('timeout', `stalled ${retrieve.seriesTimeout} s`, message, result));
}

/** What px-get's second output and get() carry: px-move's payload. */
export function getPayload(outcome: GetOutcome): MovePayload {
  return { ...outcome.result, completed: outcome.completed, failed: outcome.failed, warning: outcome.warning };
}

/**
 * pypx-style `get({...settings, StudyInstanceUID, ...}, {dataDir})`: PACS settings and UIDs in one
 * object, as move(); answers px-move's dict, with every instance filed under dataDir.
 */
export async function get(input: Record<string, unknown>, options: Pick<GetOptions, 'dataDir' | 'seriesTimeout' | 'signal' | 'onInstance' | 'onProgress'>): Promise<MovePayload> {
  const { settings: settingsPart, query } = splitSettingsAndQuery(input ?? {});
  let settings: PacsSettings;
  let requests: MoveRequest[];
  try {
    settings = validatePacsSettings(settingsPart);
    requests = parseMoveRequests(query, 'query');
  } catch (err) {
    const error = toPacsError(err);
    return { ...(error.result as PypxResult<string>), completed: 0, failed: 0, warning: 0 };
  }
  return getPayload(await runGet(settings, requests[0] as MoveRequest, options));
}

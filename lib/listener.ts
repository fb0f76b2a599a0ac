// A DICOM receiver: storescp --fork writes each instance into tmpDir; this files it in pypx's layout
// and tells whoever listens, once per instance and once per completed series.
//
// When is a file whole? storescp logs "storing DICOM file: <f>" before it writes <f>, under its final
// name. Every forked child logs through the same pipe, so the log pattern starts each line with the
// process id: the next line the same child logs from storescp's own logger ("Received Store Request",
// "Association Release", ...) comes after the write returned. A child that logs nothing more
// (killed, or holding an idle association) is checked by the sweep: when it has died or no longer
// holds the file open, the file is final. Files found in tmpDir at start (left by a redeploy or a
// crash) are filed too; each file is checked whole before it is filed, else quarantined.
import { EventEmitter } from 'node:events';
import { existsSync, readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { type DcmtkProcess, spawnDcmtk } from './dcmtk';
import { describeIncomingTlsFailure, failureBeforeRun, PacsError } from './errors';
import {
  fileReceivedInstance, type FilingDirs, type InstanceHeader, type InstancePayload, MalformedFileError, quarantine, readReceivedHeader,
} from './filing';
import { type SeriesComplete, SeriesTracker } from './series';
import { aeTitleProblem } from './settings';
import { buildTlsArgs, checkTlsSettings } from './tls';

export interface ListenerOptions {
  /** The AE title this receiver answers as. */
  aet: string;
  port: number;
  /** Where filed data goes. */
  dataDir: string;
  /** Where storescp writes first; default <dataDir>/incoming. */
  tmpDir?: string;
  /** Where px-listen.log goes; none when empty. */
  logDir?: string;
  /** Seconds without a new instance after which a series counts as complete. */
  seriesTimeout?: number;
  dcmtkDir?: string;
  executable?: string;
  /** Waits before each restart of a storescp that died, in ms; the last one repeats. */
  restartDelaysMs?: number[];
  /**
   * The consumer hands each instance on at the next turn of the event loop, as Node-RED delivers
   * messages. A close() that comes first would drop it there: such files go back to tmpDir and are
   * emitted again at the next start.
   */
  handOffNextTurn?: boolean;
  /** DICOM over TLS: storescp presents tlsCert/tlsKey (PEM, key without password). */
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  /** When set, only senders whose certificate this CA (PEM) signed are accepted. */
  tlsCa?: string;
}

type OptionalListenerKeys = 'dcmtkDir' | 'executable' | 'logDir' | 'handOffNextTurn' | 'tls' | 'tlsCert' | 'tlsKey' | 'tlsCa';
export type ResolvedListenerOptions = Required<Omit<ListenerOptions, OptionalListenerKeys>> & Pick<ListenerOptions, OptionalListenerKeys>;

export const DEFAULT_SERIES_TIMEOUT = 10;
const DEFAULT_RESTART_DELAYS_MS = [1000, 2000, 5000, 10000, 30000];
const STOP_GRACE_MS = 2000;
const SWEEP_INTERVAL_MS = 1000;
const BATCH = 64;
/** Folders known to exist are remembered up to this many, then forgotten (memory stays flat over months). */
const KNOWN_FOLDERS_KEPT = 10000;
const LOG_CONFIG = '.px-listen-log.cfg';
const SERIES_JOURNAL = '.px-listen-series.json';

/** Checks listener settings; every problem is named in one PacsError. */
export function resolveListenerOptions(input: ListenerOptions): ResolvedListenerOptions {
  const problems: string[] = [];
  const aeProblem = aeTitleProblem(input.aet);
  if (aeProblem) problems.push(`AE title ${aeProblem}`);
  const port = Number(input.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`port must be a whole number from 1 to 65535, not ${JSON.stringify(input.port)}`);
  if (typeof input.dataDir !== 'string' || !input.dataDir.trim()) problems.push('data folder (dataDir) is empty');
  const timeout = input.seriesTimeout === undefined || String(input.seriesTimeout).trim() === '' ? DEFAULT_SERIES_TIMEOUT : Number(input.seriesTimeout);
  if (!Number.isFinite(timeout) || timeout <= 0) problems.push(`series timeout must be a number of seconds above 0, not ${JSON.stringify(input.seriesTimeout)}`);
  const tls = checkTlsSettings({ tls: input.tls, tlsCert: input.tlsCert, tlsKey: input.tlsKey, tlsCa: input.tlsCa }, 'scp');
  problems.push(...tls.problems);
  if (problems.length) {
    const message = `invalid px-listen settings: ${problems.join('; ')}`;
    throw failureBeforeRun('bad-input', 'bad settings', message);
  }
  const dataDir = path.resolve(input.dataDir);
  return {
    aet: input.aet.trim(),
    port,
    dataDir,
    tmpDir: input.tmpDir?.trim() ? path.resolve(input.tmpDir) : path.join(dataDir, 'incoming'),
    logDir: input.logDir?.trim() ? path.resolve(input.logDir) : undefined,
    seriesTimeout: timeout,
    dcmtkDir: input.dcmtkDir?.trim() || undefined,
    executable: input.executable?.trim() || undefined,
    restartDelaysMs: input.restartDelaysMs?.length ? input.restartDelaysMs : DEFAULT_RESTART_DELAYS_MS,
    handOffNextTurn: input.handOffNextTurn === true,
    ...(tls.settings.tls ? tls.settings : {}),
  };
}

/**
 * storescp's log: INFO and above, less "Received Store Request" (the next "storing" line or the
 * association's end says as well that a file is written), plus dcmnet's DEBUG words, which are per
 * association only: among them the start of each A-ASSOCIATE-RQ in hex, whose bytes 10-25 are the
 * called AE title. (dcmnet's TRACE would name it in words, but also dumps every DIMSE command: ~40
 * lines per instance, formatted by each storescp child and thrown away.) Each line starts with the
 * process id and the logger, as "<pid> <level> <logger>: <message>".
 */
const LOG_CONFIG_TEXT = `log4cplus.rootLogger = INFO, console
log4cplus.logger.dcmtk.dcmnet = DEBUG, dcmnet
log4cplus.additivity.dcmtk.dcmnet = false
log4cplus.logger.dcmtk.apps.storescp.progress = WARN
log4cplus.appender.console = log4cplus::ConsoleAppender
log4cplus.appender.console.logToStderr = false
log4cplus.appender.console.ImmediateFlush = true
log4cplus.appender.console.layout = log4cplus::PatternLayout
log4cplus.appender.console.layout.ConversionPattern = %i %P %c: %m%n
log4cplus.appender.console.filters.1 = log4cplus::spi::StringMatchFilter
log4cplus.appender.console.filters.1.StringToMatch = Received Store Request
log4cplus.appender.console.filters.1.AcceptOnMatch = false
log4cplus.appender.console.filters.2 = log4cplus::spi::LogLevelRangeFilter
log4cplus.appender.console.filters.2.LogLevelMin = INFO
log4cplus.appender.console.filters.2.LogLevelMax = FATAL
log4cplus.appender.console.filters.2.AcceptOnMatch = true
log4cplus.appender.dcmnet = log4cplus::ConsoleAppender
log4cplus.appender.dcmnet.logToStderr = false
log4cplus.appender.dcmnet.ImmediateFlush = true
log4cplus.appender.dcmnet.layout = log4cplus::PatternLayout
log4cplus.appender.dcmnet.layout.ConversionPattern = %i %P %c: %m%n
`;

export function buildStorescpArgs(options: ResolvedListenerOptions, logConfig: string): string[] {
  // +uf: unique names, so that the same instance arriving twice never shares a file being written.
  return ['--fork', '-dhl', '+xa', '-pm', '+uf', ...buildTlsArgs(options, 'scp'), '-aet', options.aet, '-lc', logConfig, '-od', options.tmpDir, String(options.port)];
}

const LINE = /^(\d+) ([TDIWEF]) (\S+): (.*)$/;
const STORING = 'storing DICOM file: ';
const HEX_DUMP_LINE = /^\s+[0-9a-f]{2}(?:\s+[0-9a-f]{2})*\s*$/i;
/** Where an A-ASSOCIATE-RQ PDU holds the called AE title (PS3.8 9.3.2), header included. */
const CALLED_AE_START = 10;
const CALLED_AE_END = 26;

interface Writing {
  file: string;
  since: number;
}

export interface ListenerEvents {
  instance: [InstancePayload];
  series: [SeriesComplete];
  /** A file could not be filed, storescp died, or bookkeeping failed. The listener carries on. */
  error: [PacsError];
  /** storescp died on its own and will be started again after delayMs. */
  restarting: [{ reason: string; delayMs: number }];
  /** storescp runs and accepts associations (after start and after each restart). */
  listening: [];
}

export class Listener extends EventEmitter<ListenerEvents> {
  readonly options: ResolvedListenerOptions;
  private storescp?: DcmtkProcess;
  private command = '';
  private closing = false;
  private started = false;
  private restarts = 0;
  private restartTimer?: NodeJS.Timeout;
  private spawning: Promise<void> = Promise.resolve();
  private lastStart = 0;
  private sweepTimer?: NodeJS.Timeout;
  private readonly writing = new Map<number, Writing>();
  private readonly calledAET = new Map<number, string>();
  /** A-ASSOCIATE-RQ bytes read so far, by the storescp child that received it. */
  private readonly associateBytes = new Map<number, number[]>();
  private readonly queue: Array<{ file: string; calledAET: string; abandoned: boolean }> = [];
  private readonly claimed = new Set<string>();
  private pumping = false;
  /** Filed and emitted this turn, not yet handed on: filed path -> where it came from. */
  private readonly handingOff = new Map<string, string>();
  private readonly series: SeriesTracker;
  private readonly filing: FilingDirs;
  private storescpExited: Promise<void> = Promise.resolve();
  /** Instances filed since start. */
  received = 0;

  constructor(options: ListenerOptions) {
    super();
    this.options = resolveListenerOptions(options);
    this.filing = { dataDir: this.options.dataDir, calledAET: this.options.aet, knownDirs: new Set(), knownInfo: new Set() };
    this.series = new SeriesTracker(
      this.options.seriesTimeout * 1000,
      path.join(this.options.tmpDir, SERIES_JOURNAL),
      (done) => this.emit('series', done),
      (err) => this.fail('failed', 'series journal', err.message),
    );
  }

  /** Files what an earlier run left, then starts storescp; rejects with a PacsError when it cannot listen. */
  async start(): Promise<void> {
    if (this.started) throw new Error('listener already started');
    this.started = true;
    const { dataDir, tmpDir, logDir } = this.options;
    for (const dir of [dataDir, tmpDir, logDir]) {
      if (!dir) continue;
      try {
        await mkdir(dir, { recursive: true });
        if (dir === tmpDir) await writeFile(path.join(tmpDir, LOG_CONFIG), LOG_CONFIG_TEXT);
      } catch (err) {
        throw failureBeforeRun('bad-input', 'folder not writable', `cannot use folder ${dir}: ${(err as Error).message}`);
      }
    }
    await this.series.restore();
    await this.recoverLeftovers();
    this.spawning = this.spawnStorescp();
    await this.spawning;
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
  }

  /** Ends storescp and every child it forked, then waits for filing in progress; unfiled files stay in tmpDir. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.takeBackUnhanded();
    clearTimeout(this.restartTimer);
    clearInterval(this.sweepTimer);
    await this.spawning.catch(() => undefined);
    await this.stopStorescp();
    await this.settleUnfinished();
    await this.series.stop();
  }

  private fail(kind: 'malformed' | 'receiver-died' | 'failed' | 'port-in-use' | 'tls', reason: string, message: string, data: unknown = message): PacsError {
    const error = new PacsError(kind, reason, message, { status: 'error', command: this.command, data: data as string });
    void this.log(`error: ${message}`);
    if (this.listenerCount('error')) this.emit('error', error);
    return error;
  }

  private async log(text: string): Promise<void> {
    if (!this.options.logDir) return;
    await appendFile(path.join(this.options.logDir, 'px-listen.log'), `${new Date().toISOString()} ${text}\n`).catch(() => undefined);
  }

  private portInUseError(): PacsError {
    const { port, aet } = this.options;
    return failureBeforeRun('port-in-use', `port ${port} in use`,
      `cannot listen as ${aet} on port ${port}: the port is already in use by another program (another listener, storescp or PACS); choose another port or stop that program`);
  }

  private async spawnStorescp(): Promise<void> {
    if (await isPortInUse(this.options.port)) throw this.portInUseError();
    const output: string[] = [];
    const { command, process: child } = await spawnDcmtk('storescp', buildStorescpArgs(this.options, path.join(this.options.tmpDir, LOG_CONFIG)), {
      dcmtkDir: this.options.dcmtkDir,
      executable: this.options.executable,
      service: true,
      onLine: (line) => {
        if (output.length < 20) output.push(line);
        this.onLine(line);
      },
    });
    this.command = command;
    this.storescp = child;
    let exited = false;
    this.storescpExited = child.then(() => {
      exited = true;
    });
    void this.log(`started: ${command}`);
    try {
      await this.waitUntilListening(() => exited);
    } catch {
      await this.killGroup(child);
      const said = output.join('\n');
      if (/Address already in use/i.test(said)) throw this.portInUseError();
      throw new PacsError('receiver-died', 'storescp failed', `storescp did not start listening on port ${this.options.port}: ${said.trim() || 'it exited without a word'}`,
        { status: 'error', command, data: said });
    }
    if (this.closing) {
      await this.killGroup(child);
      return;
    }
    this.lastStart = Date.now();
    void child.then((result) => this.onStorescpExit(child, result.exitCode, result.signal));
    this.emit('listening');
  }

  /** Resolves once storescp's socket listens (Linux: /proc/net/tcp), rejects if it exits first. */
  private async waitUntilListening(exited: () => boolean): Promise<void> {
    const hexPort = this.options.port.toString(16).toUpperCase().padStart(4, '0');
    for (let waited = 0; waited < 10000; waited += 20) {
      if (exited()) throw new Error('exited');
      const tables = await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((f) => readFile(f, 'utf8').catch(() => undefined)));
      if (tables.every((t) => t === undefined)) {
        await new Promise((r) => setTimeout(r, 300));
        if (exited()) throw new Error('exited');
        return;
      }
      if (tables.some((t) => t?.split('\n').some((row) => { const f = row.trim().split(/\s+/); return f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A'; }))) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('not listening after 10 s');
  }

  private onStorescpExit(child: DcmtkProcess, exitCode: number | undefined, signal: string | undefined): void {
    if (this.closing || child !== this.storescp) return;
    this.storescp = undefined;
    if (Date.now() - this.lastStart > 60000) this.restarts = 0;
    void this.killGroup(child).then(() => this.finishAbandoned());
    this.scheduleRestart(`storescp exited (${signal ?? `code ${exitCode}`})`);
  }

  private scheduleRestart(reason: string): void {
    const delays = this.options.restartDelaysMs;
    const delayMs = delays[Math.min(this.restarts++, delays.length - 1)] as number;
    this.fail('receiver-died', 'storescp died', `${reason}; starting it again in ${delayMs / 1000} s`);
    this.emit('restarting', { reason, delayMs });
    this.restartTimer = setTimeout(() => {
      if (this.closing) return;
      this.spawning = this.spawnStorescp().catch((err: unknown) => {
        if (!this.closing) this.scheduleRestart(err instanceof Error ? err.message : String(err));
      });
    }, delayMs);
  }

  /** TERM to storescp and every child it forked (one process group), KILL after a grace period. */
  private async killGroup(child: DcmtkProcess): Promise<void> {
    const group = child.pid;
    if (!group) return;
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-group, signal);
      } catch {
        /* the group is gone */
      }
    };
    signalGroup('SIGTERM');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (Date.now() < deadline && groupAlive(group)) await new Promise((r) => setTimeout(r, 25));
    if (groupAlive(group)) signalGroup('SIGKILL');
    for (let i = 0; i < 80 && groupAlive(group); i++) await new Promise((r) => setTimeout(r, 25));
  }

  private async stopStorescp(): Promise<void> {
    const child = this.storescp;
    if (!child) return;
    await this.killGroup(child);
    await Promise.race([this.storescpExited, new Promise((r) => setTimeout(r, 1000))]);
  }

  private onLine(line: string): void {
    const match = LINE.exec(line);
    if (!match) return;
    const pid = Number(match[1]);
    const level = match[2] as string;
    const logger = match[3] as string;
    const text = match[4] as string;
    if (logger === 'dcmtk.dcmnet') {
      this.readAssociateRequest(pid, text);
      if (level === 'W' || level === 'E' || level === 'F') void this.log(line);
      return;
    }
    if (logger !== 'dcmtk.apps.storescp') {
      if (level === 'W' || level === 'E' || level === 'F') void this.log(line);
      return;
    }
    // Anything storescp's own logger says after "storing" comes after the file was written.
    const written = this.writing.get(pid);
    if (written) {
      this.writing.delete(pid);
      this.enqueue(written.file, this.calledAET.get(pid));
    }
    if (text.startsWith(STORING)) {
      const file = path.resolve(this.options.tmpDir, text.slice(STORING.length));
      if (path.dirname(file) === this.options.tmpDir) this.writing.set(pid, { file, since: Date.now() });
    } else if (/^Association (Release|Aborted)|^Association Request Failed|^DIMSE failure/.test(text)) {
      this.calledAET.delete(pid);
      this.associateBytes.delete(pid);
      void this.log(`${pid}: ${text}`);
    } else if (level !== 'I' || text.startsWith('Association Received')) {
      void this.log(`${pid}: ${text}`);
      const refused = describeIncomingTlsFailure(text, this.options);
      if (refused) this.fail('tls', 'TLS sender refused', refused);
    }
  }

  /** The called AE title, from dcmnet's hex dump of the A-ASSOCIATE-RQ that follows "PDU Type: Associate Request". */
  private readAssociateRequest(pid: number, text: string): void {
    if (text.startsWith('PDU Type: Associate Request')) {
      this.associateBytes.set(pid, []);
      return;
    }
    const bytes = this.associateBytes.get(pid);
    if (!bytes || !HEX_DUMP_LINE.test(text)) return;
    for (const hex of text.trim().split(/\s+/)) bytes.push(parseInt(hex, 16));
    if (bytes.length < CALLED_AE_END) return;
    this.associateBytes.delete(pid);
    this.calledAET.set(pid, Buffer.from(bytes.slice(CALLED_AE_START, CALLED_AE_END)).toString('latin1').trim());
  }

  /** Files whose writer went quiet: final once the child has died or no longer holds them open. */
  private async sweep(): Promise<void> {
    const now = Date.now();
    for (const [pid, written] of this.writing) {
      if (now - written.since < SWEEP_INTERVAL_MS) continue;
      const alive = processAlive(pid);
      if (alive && (!existsSync(written.file) || (await holdsOpen(pid, written.file)))) continue;
      if (this.writing.get(pid) !== written) continue;
      this.writing.delete(pid);
      this.enqueue(written.file, this.calledAET.get(pid), !alive);
    }
  }

  /** After storescp died: what its children were writing is filed if whole, quarantined if not. */
  private finishAbandoned(): void {
    for (const [pid, written] of this.writing) {
      this.writing.delete(pid);
      this.enqueue(written.file, this.calledAET.get(pid), true);
    }
    this.calledAET.clear();
    this.associateBytes.clear();
  }

  private async recoverLeftovers(): Promise<void> {
    const names = await readdir(this.options.tmpDir, { withFileTypes: true });
    for (const entry of names) {
      if (entry.isFile() && !entry.name.startsWith('.')) this.enqueue(path.join(this.options.tmpDir, entry.name), undefined);
    }
  }

  /** `abandoned`: its writer died; a cut-short file was never acknowledged to the sender and is dropped. */
  private enqueue(file: string, calledAET: string | undefined, abandoned = false): void {
    if (this.closing || this.claimed.has(file)) return;
    this.claimed.add(file);
    this.queue.push({ file, calledAET: calledAET || this.options.aet, abandoned });
    this.pump();
  }

  /** Files what is queued, a batch per turn of the event loop: each file is a few small synchronous reads and a rename. */
  private pump(): void {
    if (this.pumping || this.closing) return;
    this.pumping = true;
    setImmediate(() => {
      for (let n = 0; n < BATCH && this.queue.length && !this.closing; n++) {
        const job = this.queue.shift() as { file: string; calledAET: string; abandoned: boolean };
        try {
          this.fileOne(job.file, job.calledAET, job.abandoned);
        } catch (err) {
          this.fail('failed', 'filing failed', `cannot file ${job.file}: ${err instanceof Error ? err.message : String(err)}; it stays in ${this.options.tmpDir} and is filed at the next start`);
        }
        this.claimed.delete(job.file);
      }
      this.pumping = false;
      if (this.closing) for (const { file } of this.queue.splice(0)) this.claimed.delete(file);
      else if (this.queue.length) this.pump();
    });
  }

  /**
   * A file whose writer was killed mid-write: storescp answers the sender only after the write, so
   * the sender was told it failed and this partial copy is removed rather than quarantined.
   */
  private discardUnfinished(file: string, err: Error): void {
    try {
      unlinkSync(file);
    } catch {
      /* already gone */
    }
    void this.log(`removed unfinished ${file} (its writer was stopped: ${err.message})`);
  }

  /** Files emitted in the turn close() began in were never handed on: back to tmpDir for the next start. */
  private takeBackUnhanded(): void {
    for (const [filed, original] of this.handingOff) {
      try {
        renameSync(filed, original);
        this.received--;
      } catch {
        /* moved on already */
      }
    }
    this.handingOff.clear();
  }

  /** At close: what the stopped children were writing stays for the next start when whole. */
  private async settleUnfinished(): Promise<void> {
    for (const [pid, { file }] of this.writing) {
      this.writing.delete(pid);
      try {
        readReceivedHeader(file, true);
      } catch (err) {
        if (err instanceof MalformedFileError) this.discardUnfinished(file, err);
      }
    }
  }

  private fileOne(file: string, calledAET: string, abandoned: boolean): void {
    let header: InstanceHeader;
    try {
      ({ header } = readReceivedHeader(file, true));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // filed meanwhile by another path
      if (!(err instanceof MalformedFileError)) throw err;
      if (abandoned) return this.discardUnfinished(file, err);
      const kept = quarantine(file, this.options.dataDir);
      this.fail('malformed', 'malformed file', `received file cannot be read as DICOM (${err.message.replace(`${file}: `, '')}); kept as ${kept}`,
        { file: kept, reason: err.message });
      return;
    }
    if (this.filing.knownDirs.size > KNOWN_FOLDERS_KEPT) {
      this.filing.knownDirs.clear();
      this.filing.knownInfo.clear();
    }
    // Synchronous from read to emit: close() finds each file either still in tmpDir (filed at the
    // next start) or filed and emitted, never in between.
    const { payload, where } = fileReceivedInstance(file, header, { ...this.filing, calledAET });
    this.received++;
    this.emit('instance', payload);
    if (this.options.handOffNextTurn) {
      if (this.handingOff.size === 0) setImmediate(() => this.handingOff.clear());
      this.handingOff.set(payload.path, file);
    }
    this.series.touch({ StudyInstanceUID: header.StudyInstanceUID, SeriesInstanceUID: header.SeriesInstanceUID, PatientID: header.PatientID, path: where.seriesDir });
  }
}

/** Whether another program already listens on this TCP port (on any interface). */
export function isPortInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE'));
    probe.listen(port, () => probe.close(() => resolve(false)));
  });
}

/** State letter and process group of a process, from /proc; undefined where /proc cannot tell. */
function procStat(pid: number | string): { state: string; group: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', group: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return procStat(pid)?.state !== 'Z';
}

/** Whether any process of the group still runs (zombies, which hold no port or file, do not count). */
function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0);
  } catch {
    return false;
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return true;
  }
  return entries.some((pid) => {
    const stat = procStat(pid);
    return stat !== undefined && stat.group === group && stat.state !== 'Z';
  });
}
/** Whether a process has a file open (Linux /proc); true where that cannot be known. */
async function holdsOpen(pid: number, file: string): Promise<boolean> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return !existsSync('/proc/self/fd');
  }
  for (const fd of fds) {
    if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === file) return true;
  }
  return false;
}

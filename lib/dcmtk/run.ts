import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { KnownProblem } from '../core/errors';
import type { DcmtkLocation } from '../core/settings';
import type { ResultPromise } from 'execa' with { 'resolution-mode': 'import' };

export type DcmtkTool = 'echoscu' | 'findscu' | 'movescu' | 'storescp' | 'storescu' | 'getscu' | 'dcmsend';


export class DcmtkNotFoundError extends KnownProblem {
  constructor(readonly tool: DcmtkTool, readonly lookedIn: string) {
    super('dcmtk-missing', `${tool} missing`, `${tool} not found (looked in ${lookedIn}): install DCMTK (apt-get install dcmtk) or set the DCMTK folder`);
    this.name = 'DcmtkNotFoundError';
  }
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Resolves a tool to an absolute path. A configured file or folder is authoritative: no fallback to PATH. */
export async function locateDcmtkTool(tool: DcmtkTool, where: DcmtkLocation = {}): Promise<string> {
  if (where.executable) {
    if (await isExecutableFile(where.executable)) return where.executable;
    throw new DcmtkNotFoundError(tool, where.executable);
  }
  const folders = where.dcmtkDir
    ? [where.dcmtkDir]
    : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const folder of folders) {
    const candidate = path.join(folder, tool);
    if (await isExecutableFile(candidate)) return candidate;
  }
  throw new DcmtkNotFoundError(tool, where.dcmtkDir ?? 'PATH');
}

/** A command line as a person would type it, for pypx's `command` field. Never executed. */
export function formatCommandLine(file: string, args: readonly string[]): string {
  const quote = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);
  return [file, ...args].map(quote).join(' ');
}

export interface RunOptions extends DcmtkLocation {
  /** Kill the process after this many milliseconds. */
  timeoutMs?: number;
  /**
   * Kill the process when it prints nothing for this many milliseconds: for finds and moves that
   * may rightly take hours but must not hang. Reported as timedOut.
   */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  cwd?: string;
  /** Called with each line DCMTK prints (stdout and stderr), as it prints it. */
  onLine?: (line: string) => void;
  /** Keep the output in memory for RunResult.output (default true). A long move's debug log need not be. */
  buffer?: boolean;
  /**
   * A long-running server (storescp): its output is handed to onLine and not kept in memory, and it
   * leads its own process group, so that it and every child it forks can be signalled together.
   */
  service?: boolean;
  /**
   * Written to the tool's standard input (a TLS key's password, which must not appear in `ps`). The
   * tool then runs in a session of its own: with no controlling terminal, OpenSSL reads the password
   * from standard input instead of prompting on the terminal this process was started from.
   */
  input?: string;
  /** Programs the tool runs under, e.g. ['setpriv', '--pdeathsig', 'TERM', '--']: the tool's path and arguments follow. */
  runUnder?: readonly string[];
  /** The file-creation mask the tool starts with (the process-wide mask is set only while it is spawned). */
  umask?: number;
  /** Called with the tool's process id once it is started (runUnder's programs exec it: the same id). */
  onSpawn?: (pid: number) => void;
  /** Given a function that counts as activity for idleTimeoutMs, as a line printed does (e.g. a file it wrote). */
  onActivity?: (active: () => void) => void;
}

export interface RunResult {
  command: string;
  exitCode?: number;
  /** stdout and stderr interleaved: DCMTK logs to both. */
  output: string;
  timedOut: boolean;
  aborted: boolean;
  elapsedMs: number;
}

// DCMTK leaves Nagle's algorithm on unless this is set: 50x slower on loopback without it.
export const DCMTK_ENV = { TCP_NODELAY: '1' } as const;

type Execa = typeof import('execa', { with: { 'resolution-mode': 'import' } }).execa;
let execaLoaded: Promise<Execa> | undefined;
/** execa 9 is ESM-only; this package compiles to CommonJS. */
export function loadExeca(): Promise<Execa> {
  execaLoaded ??= import('execa').then((m) => m.execa);
  return execaLoaded;
}

export type DcmtkProcess = ResultPromise<{ all: true; reject: false; stdin: 'ignore'; stripFinalNewline: false }>;

/** Starts a DCMTK tool without waiting for it: for long-running processes such as storescp. */
export async function spawnDcmtk(
  tool: DcmtkTool,
  args: readonly string[],
  options: RunOptions = {},
): Promise<{ command: string; process: DcmtkProcess }> {
  const file = await locateDcmtkTool(tool, options);
  const execa = await loadExeca();
  const [program, ...before] = options.runUnder?.length ? [...options.runUnder, file] : [file];
  const umask = options.umask === undefined ? undefined : process.umask(options.umask);
  let child: DcmtkProcess;
  try {
    child = execa(program as string, [...before, ...args], {
      all: true,
      reject: false,
      ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
      env: DCMTK_ENV,
      cwd: options.cwd,
      timeout: options.timeoutMs,
      cancelSignal: options.signal,
      forceKillAfterDelay: 2000,
      stripFinalNewline: false,
      buffer: options.buffer ?? !options.service,
      detached: options.service === true || options.input !== undefined,
    }) as unknown as DcmtkProcess;
  } finally {
    if (umask !== undefined) process.umask(umask);
  }
  if (options.onLine) forwardLines(child.all, options.onLine);
  if (child.pid !== undefined) options.onSpawn?.(child.pid);
  return { command: formatCommandLine(file, args), process: child };
}

function forwardLines(stream: NodeJS.ReadableStream | undefined, onLine: (line: string) => void): void {
  if (!stream) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (pending) onLine(pending);
  });
}

/**
 * Runs a DCMTK tool to completion. Never throws for what the tool does (exit codes, timeouts,
 * aborts are in the result); throws DcmtkNotFoundError when the binary is missing.
 */
export async function runDcmtk(tool: DcmtkTool, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const { idleTimeoutMs } = options;
  if (!idleTimeoutMs) {
    const { command, process: child } = await spawnDcmtk(tool, args, options);
    return resultOf(command, await child, started, false);
  }
  const stop = new AbortController();
  let stalled = false;
  let watchdog: NodeJS.Timeout | undefined;
  // Called on every line (10,000 for a large find): refresh() re-arms without a new timer.
  const rearm = () => {
    if (watchdog) watchdog.refresh();
    else {
      watchdog = setTimeout(() => {
        stalled = true;
        stop.abort();
      }, idleTimeoutMs);
    }
  };
  const forwardAbort = () => stop.abort();
  if (options.signal?.aborted) stop.abort();
  options.signal?.addEventListener('abort', forwardAbort, { once: true });
  rearm();
  options.onActivity?.(rearm);
  try {
    const onLine = (line: string) => {
      rearm();
      options.onLine?.(line);
    };
    const { command, process: child } = await spawnDcmtk(tool, args, { ...options, signal: stop.signal, onLine });
    return resultOf(command, await child, started, stalled && !options.signal?.aborted);
  } finally {
    clearTimeout(watchdog);
    options.signal?.removeEventListener('abort', forwardAbort);
  }
}

function resultOf(command: string, done: Awaited<DcmtkProcess>, started: number, stalled: boolean): RunResult {
  return {
    command,
    exitCode: done.exitCode,
    output: typeof done.all === 'string' ? done.all : '',
    timedOut: done.timedOut || stalled,
    aborted: done.isCanceled && !stalled,
    elapsedMs: Date.now() - started,
  };
}

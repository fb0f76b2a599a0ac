// DCMTK tools log through log4cplus; given `-lc <file>` they take their logging from a configuration.
// -v's lines, less those named here: each printed line is a pipe write that wakes Node.js, and a line
// per instance costs Node.js a wake-up per instance beside a tool it shares 2 cores with.
import { readFileSync } from 'node:fs';

export interface LogConfigOptions {
  /** Lines containing any of these are not printed. */
  drop: readonly string[];
  /**
   * false: lines collect in the tool's output buffer (about 4 KB) and reach Node.js a block at a time,
   * and whatever is left at exit. For per-instance lines whose arrival time does not matter. Error lines
   * (E:, F:) still come as printed, and bring what was printed before them: a caller may have to act on
   * them at once (a DIMSE timeout after which storescu would go on over an association out of step).
   */
  immediateFlush?: boolean;
  /** Named loggers set to their own level, e.g. `{'dcmtk.apps.storescu.progress': 'WARN'}`. */
  levels?: Readonly<Record<string, 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL'>>;
}

/** A log4cplus configuration printing what -v prints (`I: ...`, `E: ...`) except the dropped lines. */
export function buildLogConfig({ drop, immediateFlush = true, levels = {} }: LogConfigOptions): string {
  const appender = (name: string, flush: boolean) => [
    `log4cplus.appender.${name} = log4cplus::ConsoleAppender`,
    `log4cplus.appender.${name}.logToStderr = false`,
    `log4cplus.appender.${name}.ImmediateFlush = ${flush}`,
    `log4cplus.appender.${name}.layout = log4cplus::PatternLayout`,
    `log4cplus.appender.${name}.layout.ConversionPattern = %P: %m%n`,
  ];
  const lines = [
    `log4cplus.rootLogger = INFO, console${immediateFlush ? '' : ', errors'}`,
    ...Object.entries(levels).map(([logger, level]) => `log4cplus.logger.${logger} = ${level}`),
    ...appender('console', immediateFlush),
  ];
  const filters = drop.map((text) => ['StringMatchFilter', `StringToMatch = ${text}`]);
  // Both appenders write to the same standard output, in order: the buffered one up to warnings, the other errors, flushed.
  if (!immediateFlush) filters.push(['LogLevelRangeFilter', 'LogLevelMin = TRACE', 'LogLevelMax = WARN']);
  filters.forEach(([kind, ...settings], i) => {
    const filter = `log4cplus.appender.console.filters.${i + 1}`;
    lines.push(`${filter} = log4cplus::spi::${kind}`, ...settings.map((setting) => `${filter}.${setting}`), `${filter}.AcceptOnMatch = false`);
  });
  if (!immediateFlush) lines.push(...appender('errors', true), 'log4cplus.appender.errors.Threshold = ERROR');
  return `${lines.join('\n')}\n`;
}

/**
 * Bytes a process has read and written so far (/proc/<pid>/io), as one number that grows while it
 * works; undefined where it cannot be read. For a tool whose output comes in blocks: activity between them.
 */
export function ioCount(pid: number): number | undefined {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'latin1');
    const rchar = /^rchar: (\d+)$/m.exec(io)?.[1];
    const wchar = /^wchar: (\d+)$/m.exec(io)?.[1];
    return rchar === undefined || wchar === undefined ? undefined : Number(rchar) + Number(wchar);
  } catch {
    return undefined;
  }
}

/**
 * Whether this system shows what a process reads and writes (/proc/<pid>/io: Linux with task I/O
 * accounting). Where it does not, a tool's lines must come as printed (ImmediateFlush): they are then
 * the only sign of a slow send's progress for its idle deadline.
 */
export const ioVisible = ioCount(process.pid) !== undefined;

/**
 * For runDcmtk's onSpawn/onActivity: what the process reads and writes, looked at every `everyMs`,
 * counts as activity for its idle deadline while its lines wait in its buffer. `stop()` when it ends.
 */
export function ioActivity(everyMs = 1000): { onSpawn(pid: number): void; onActivity(active: () => void): void; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let active: (() => void) | undefined;
  return {
    onSpawn(pid) {
      let last = ioCount(pid);
      timer = setInterval(() => {
        const now = ioCount(pid);
        if (now !== last) active?.();
        last = now;
      }, everyMs);
    },
    onActivity(fn) {
      active = fn;
    },
    stop() {
      clearInterval(timer);
    },
  };
}

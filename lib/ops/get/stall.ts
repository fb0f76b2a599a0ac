// px-get's series timeout: the seconds a retrieve may go without a new instance, once instances have
// begun to come, before it is stopped as stalled. The wait for the first instance is the PACS timeout's
// (a PACS may rightly take long to fetch a study from its archive before it sends anything).
import { failureBeforeRun } from '../../core/errors';
import { DEFAULT_SERIES_TIMEOUT } from '../../filing/series';

/** The series timeout in seconds: missing or empty is px-listen's default; anything else a number above 0. */
export function seriesTimeoutSeconds(value: unknown): number {
  if (value === undefined || value === null || String(value).trim() === '') return DEFAULT_SERIES_TIMEOUT;
  const seconds = Number(value);
  if (typeof value === 'boolean' || !Number.isFinite(seconds) || seconds <= 0) {
    throw failureBeforeRun('bad-input', 'bad series timeout', `the series timeout must be a number of seconds above 0, not ${JSON.stringify(value)}`);
  }
  return seconds;
}

/**
 * Aborts its signal when no instance has arrived for the given seconds since the last one. arrived()
 * only notes the time (it is called for every chunk of a WADO-RS answer): the one timer, when it
 * fires, looks how long it has really been, and waits out the rest if something came meanwhile.
 */
export class StallWatch {
  private readonly controller = new AbortController();
  private timer?: NodeJS.Timeout;
  private lastArrival = 0;
  private stopped = false;
  stalled = false;

  constructor(readonly seconds: number) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** One more instance came (or began to come): the clock starts again. */
  arrived(): void {
    this.lastArrival = Date.now();
    if (!this.timer && !this.stopped) this.wait(this.seconds * 1000);
  }

  /**
   * Its signal or the given one, whichever aborts first; release() takes its listener off the given one
   * (a node's signal, which lives for months) as soon as the retrieve is over.
   */
  orWhen(other: AbortSignal | undefined): { signal: AbortSignal; release(): void } {
    if (!other) return { signal: this.signal, release: () => undefined };
    const either = new AbortController();
    const abort = () => either.abort();
    if (other.aborted) either.abort();
    other.addEventListener('abort', abort, { once: true });
    this.signal.addEventListener('abort', abort, { once: true });
    return {
      signal: either.signal,
      release: () => {
        other.removeEventListener('abort', abort);
        this.signal.removeEventListener('abort', abort);
      },
    };
  }

  /** The transfer has ended: nothing more to watch. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private wait(ms: number): void {
    this.timer = setTimeout(() => {
      const left = this.lastArrival + this.seconds * 1000 - Date.now();
      if (left > 0) return this.wait(left);
      this.timer = undefined;
      this.stalled = true;
      this.controller.abort();
    }, ms);
  }
}

/** What the failure of a stalled retrieve says. */
export function stallReason(who: string, seconds: number): string {
  return `${who} went silent: no new instance for ${seconds} s (the series timeout), so the retrieve was stopped as stalled`;
}

// When a series counts as complete: seriesTimeout seconds with no new instance. Series still
// arriving are in a journal, so that a restart, a redeploy or a crash still ends them with a message.
// The journal is appended to (a line when a series opens, one when it completes) and written afresh
// only at start: appending costs one small write, where replacing a file makes ext4 flush it.
import { closeSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { SeriesVerdict, SharedSeriesView } from './shared-series';

/** Seconds without a new instance after which a series counts as complete (px-listen) or a retrieve as stalled (px-get). */
export const DEFAULT_SERIES_TIMEOUT = 10;

export interface SeriesKey {
  StudyInstanceUID: string;
  SeriesInstanceUID: string;
  PatientID: string;
  /** The series folder. */
  path: string;
}

export interface SeriesComplete extends SeriesKey {
  /** Every instance in the series folder when the series completed, sorted. */
  files: string[];
  count: number;
}

/** The journal is written afresh, with only the open series, once it is this long. */
const REWRITE_AT_BYTES = 1 << 20;

export class SeriesTracker {
  private readonly open = new Map<string, { key: SeriesKey; timer: NodeJS.Timeout; touched: number }>();
  private stopped = false;
  private fd?: number;
  private bytes = 0;

  constructor(
    private readonly timeoutMs: number,
    private readonly journal: string,
    private readonly onComplete: (series: SeriesComplete) => void,
    private readonly onError: (err: Error) => void,
    /** Set when several receivers file to one data folder: they decide together who announces a series. */
    private readonly view?: SharedSeriesView,
  ) {}

  /** Whether the shared view failed last time it was asked: said once per outage. */
  private viewDown = false;

  get pending(): number {
    return this.open.size;
  }

  /**
   * An instance of this series was filed: its timeout starts again. A series not seen before is in
   * the journal when this returns: call it before announcing the instance, so that a crash right
   * after cannot lose the series' message.
   */
  touch(key: SeriesKey, sopInstanceUID?: string): void {
    if (this.stopped) return;
    if (this.view && sopInstanceUID) this.view.filed(key.path, sopInstanceUID).then(() => this.viewAnswers(), (err: Error) => this.viewFailed(err));
    const id = key.path;
    const known = this.open.get(id);
    if (known) {
      known.touched++;
      known.timer.refresh();
      return;
    }
    this.open.set(id, { key, touched: 0, timer: setTimeout(() => this.complete(id), this.timeoutMs) });
    this.append(`+${JSON.stringify(key)}\n`);
  }

  private append(line: string): void {
    try {
      if (this.bytes >= REWRITE_AT_BYTES) this.rewrite();
      this.fd ??= openSync(this.journal, 'a', 0o640);
      this.bytes += writeSync(this.fd, line);
    } catch (err) {
      this.onError(new Error(`cannot write the open-series journal ${this.journal}: ${(err as Error).message}`, { cause: err }));
    }
  }

  /** The journal afresh: the series open now. */
  private rewrite(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    const text = [...this.open.values()].map(({ key }) => `+${JSON.stringify(key)}\n`).join('');
    writeFileSync(`${this.journal}.new`, text, { mode: 0o640 });
    renameSync(`${this.journal}.new`, this.journal);
    this.bytes = Buffer.byteLength(text);
  }

  /** Who announces the series: this receiver alone, or the one that wins the claim in the shared view. */
  private async verdict(id: string): Promise<SeriesVerdict> {
    if (!this.view) return { verdict: 'announce', count: 0 };
    try {
      const verdict = await this.view.claim(id, this.timeoutMs);
      this.viewAnswers();
      return verdict;
    } catch (err) {
      // Announced here rather than never: another receiver may announce it too.
      this.viewFailed(err as Error);
      return { verdict: 'announce', count: 0 };
    }
  }

  private viewAnswers(): void {
    this.viewDown = false;
  }

  private viewFailed(err: Error): void {
    if (this.viewDown) return;
    this.viewDown = true;
    this.onError(new Error(`${err.message}: the series view shared with the other receivers is kept there; until it answers, this receiver announces the series it completes on its own, and another receiver may announce the same series too`));
  }

  private complete(id: string): void {
    const entry = this.open.get(id);
    if (!entry) return;
    const touched = entry.touched;
    this.verdict(id)
      .then(async (decided) => {
        if (this.stopped || entry.touched !== touched) return undefined;
        if (decided.verdict === 'wait') {
          entry.timer = setTimeout(() => this.complete(id), decided.ms);
          return undefined;
        }
        if (decided.verdict === 'elsewhere') {
          this.open.delete(id);
          this.append(`-${JSON.stringify(id)}\n`);
          return undefined;
        }
        return readdir(entry.key.path);
      })
      .then((names) => {
        // Stopped: the series stays in the journal. Touched meanwhile: its timer runs again.
        if (!names || this.stopped || entry.touched !== touched) return;
        this.open.delete(id);
        const files = names.filter((n) => n.endsWith('.dcm')).sort().map((n) => path.join(entry.key.path, n));
        this.onComplete({ ...entry.key, files, count: files.length });
        this.append(`-${JSON.stringify(id)}\n`);
      })
      .catch((err: Error) => {
        this.open.delete(id);
        this.append(`-${JSON.stringify(id)}\n`);
        this.onError(new Error(`series ${entry.key.SeriesInstanceUID} completed but its folder cannot be listed: ${err.message}`));
      });
  }

  /** Series a previous run left open: their timeout starts now. The journal is written afresh with them. */
  async restore(): Promise<void> {
    const open = new Map<string, SeriesKey>();
    let text = '';
    try {
      text = readFileSync(this.journal, 'utf8');
    } catch {
      /* no journal: nothing was open */
    }
    for (const line of text.split('\n')) {
      try {
        if (line.startsWith('+')) {
          const key = JSON.parse(line.slice(1)) as SeriesKey;
          if (typeof key?.path === 'string' && typeof key.SeriesInstanceUID === 'string') open.set(key.path, key);
        } else if (line.startsWith('-')) {
          open.delete(JSON.parse(line.slice(1)) as string);
        }
      } catch {
        /* a line cut short by a crash */
      }
    }
    for (const key of open.values()) this.open.set(key.path, { key, touched: 0, timer: setTimeout(() => this.complete(key.path), this.timeoutMs) });
    try {
      this.rewrite();
    } catch (err) {
      this.onError(new Error(`cannot write the open-series journal ${this.journal}: ${(err as Error).message}`, { cause: err }));
    }
  }

  /** Stops the timers and leaves the open series in the journal for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.open.values()) clearTimeout(timer);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    await this.view?.close();
  }
}

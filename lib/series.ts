// When a series counts as complete: seriesTimeout seconds with no new instance. Series still
// arriving are written to a journal, so that a restart or redeploy still ends them with a message.
import { renameSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

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

export class SeriesTracker {
  private readonly open = new Map<string, { key: SeriesKey; timer: NodeJS.Timeout; touched: number }>();
  private stopped = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly journal: string,
    private readonly onComplete: (series: SeriesComplete) => void,
    private readonly onError: (err: Error) => void,
  ) {}

  get pending(): number {
    return this.open.size;
  }

  /**
   * An instance of this series was filed: its timeout starts again. A series not seen before is in
   * the journal when this returns: call it before announcing the instance, so that a crash right
   * after cannot lose the series' message.
   */
  touch(key: SeriesKey): void {
    if (this.stopped) return;
    const id = key.path;
    const known = this.open.get(id);
    if (known) {
      known.touched++;
      known.timer.refresh();
      return;
    }
    this.open.set(id, { key, touched: 0, timer: setTimeout(() => this.complete(id), this.timeoutMs) });
    this.saveJournalNow();
  }

  private journalText(): string {
    return JSON.stringify([...this.open.values()].map((e) => e.key));
  }

  private saveJournalNow(): void {
    try {
      writeFileSync(`${this.journal}.new`, this.journalText());
      renameSync(`${this.journal}.new`, this.journal);
    } catch (err) {
      this.onError(new Error(`cannot write the open-series journal ${this.journal}: ${(err as Error).message}`));
    }
  }

  private complete(id: string): void {
    const entry = this.open.get(id);
    if (!entry) return;
    const touched = entry.touched;
    readdir(entry.key.path)
      .then((names) => {
        // Stopped: the series stays in the journal. Touched meanwhile: its timer runs again.
        if (this.stopped || entry.touched !== touched) return;
        this.open.delete(id);
        this.saveJournalNow();
        const files = names.filter((n) => n.endsWith('.dcm')).sort().map((n) => path.join(entry.key.path, n));
        this.onComplete({ ...entry.key, files, count: files.length });
      })
      .catch((err: Error) => {
        this.open.delete(id);
        this.saveJournalNow();
        this.onError(new Error(`series ${entry.key.SeriesInstanceUID} completed but its folder cannot be listed: ${err.message}`));
      });
  }

  /** Series a previous run left open: their timeout starts now. */
  async restore(): Promise<void> {
    let keys: SeriesKey[] = [];
    try {
      keys = JSON.parse(await readFile(this.journal, 'utf8')) as SeriesKey[];
    } catch {
      return;
    }
    for (const key of Array.isArray(keys) ? keys : []) {
      if (typeof key?.path === 'string' && typeof key.SeriesInstanceUID === 'string') this.touch(key);
    }
  }

  /** Stops the timers and leaves the open series in the journal for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.open.values()) clearTimeout(timer);
    this.saveJournalNow();
  }
}

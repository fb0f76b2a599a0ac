// When a series counts as complete: seriesTimeout seconds with no new instance. Series still
// arriving are written to a journal, so that a restart or redeploy still ends them with a message.
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
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
  private journalWrite: Promise<void> = Promise.resolve();
  private journalDirty = false;
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

  /** An instance of this series was filed: its timeout starts again. */
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
    this.saveJournal();
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
        this.saveJournal();
        const files = names.filter((n) => n.endsWith('.dcm')).sort().map((n) => path.join(entry.key.path, n));
        this.onComplete({ ...entry.key, files, count: files.length });
      })
      .catch((err: Error) => {
        this.open.delete(id);
        this.saveJournal();
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

  private saveJournal(): void {
    if (this.journalDirty) return;
    this.journalDirty = true;
    this.journalWrite = this.journalWrite.then(async () => {
      this.journalDirty = false;
      const text = JSON.stringify([...this.open.values()].map((e) => e.key));
      const temporary = `${this.journal}.tmp`;
      await writeFile(temporary, text);
      await rename(temporary, this.journal);
    }).catch((err: Error) => this.onError(new Error(`cannot write the open-series journal ${this.journal}: ${err.message}`)));
  }

  /** Stops the timers and leaves the open series in the journal for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.open.values()) clearTimeout(timer);
    this.saveJournal();
    await this.journalWrite;
  }
}

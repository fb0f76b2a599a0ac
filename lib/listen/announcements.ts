// Which filed instances have been announced, on disk before they are: each batch of instances is
// written to the journal before the first of them is renamed into place, and a marker line follows
// once the consumer has handed them on. After a crash, what follows the last marker may never have
// been announced: it is announced again, flagged duplicate, rather than risk never being announced.
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

const CONFIRMED = '.';
/** The journal is emptied at a confirmation once it is this long (all before it is announced). */
const COMPACT_AT_BYTES = 1 << 20;

export interface Announcement {
  /** The filed instance. */
  filed: string;
  /** Where it came from in tmpDir, so that close() can take it back. */
  original: string;
  calledAET: string;
}

export class AnnouncementJournal {
  private fd?: number;
  private bytes = 0;
  private readonly unconfirmed = new Map<string, Announcement>();
  /** A confirmation not yet on disk: written with the next batch, or by flush(), one write instead of two. */
  private markerOwed = false;

  constructor(private readonly file: string) {}

  /** Opens the journal; returns what an earlier run filed but may not have announced. */
  open(): Array<{ filed: string; calledAET: string }> {
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const lines = text.split('\n');
    const pending: Array<{ filed: string; calledAET: string }> = [];
    for (let i = lines.lastIndexOf(CONFIRMED) + 1; i < lines.length; i++) {
      try {
        const [calledAET, filed] = JSON.parse(lines[i] as string) as [string, string];
        if (typeof filed === 'string' && typeof calledAET === 'string' && existsSync(filed)) pending.push({ filed, calledAET });
      } catch {
        /* a line cut short by the crash: its instance was never renamed into place */
      }
    }
    // They stay in the journal, unconfirmed, until announced again and handed on.
    this.fd = openSync(this.file, 'w', 0o640);
    this.bytes = 0;
    this.record(pending.map((p) => ({ ...p, original: p.filed })));
    return pending;
  }

  /** Before the batch is renamed into place and announced. */
  record(batch: Announcement[]): void {
    if (this.fd === undefined || !batch.length) return;
    const text = batch.map((a) => `${JSON.stringify([a.calledAET, a.filed])}\n`).join('');
    this.bytes += writeSync(this.fd, this.markerOwed ? `${CONFIRMED}\n${text}` : text);
    this.markerOwed = false;
    for (const a of batch) this.unconfirmed.set(a.filed, a);
  }

  /** Not filed after all (its rename failed): nothing to take back at close. */
  forget(filed: string): void {
    this.unconfirmed.delete(filed);
  }

  /**
   * Everything recorded so far has been handed on. Until the marker is on disk (next batch, or
   * flush()), a crash makes those instances announced again, flagged duplicate: never lost.
   */
  confirm(): void {
    if (this.fd === undefined || !this.unconfirmed.size) return;
    this.unconfirmed.clear();
    if (this.bytes >= COMPACT_AT_BYTES) {
      ftruncateSync(this.fd, 0);
      this.bytes = 0;
      this.markerOwed = false;
    } else {
      this.markerOwed = true;
    }
  }

  /** Writes a confirmation still owed (the listener calls this once a second and at close). */
  flush(): void {
    if (this.fd === undefined || !this.markerOwed) return;
    this.bytes += writeSync(this.fd, `${CONFIRMED}\n`);
    this.markerOwed = false;
  }

  /**
   * At close: instances emitted but not yet handed on go back to where they came from, to be filed
   * and announced (once) at the next start; those an earlier run filed stay in the journal, to be
   * announced again. Returns how many went back.
   */
  takeBack(): number {
    let back = 0;
    const stay: Announcement[] = [];
    for (const announcement of this.unconfirmed.values()) {
      if (announcement.original === announcement.filed) {
        stay.push(announcement);
        continue;
      }
      try {
        renameSync(announcement.filed, announcement.original);
        back++;
      } catch {
        /* moved on already */
      }
    }
    this.unconfirmed.clear();
    this.markerOwed = false;
    if (this.fd !== undefined) {
      ftruncateSync(this.fd, 0);
      this.bytes = 0;
      this.record(stay);
    }
    return back;
  }

  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    closeSync(this.fd);
    this.fd = undefined;
  }
}

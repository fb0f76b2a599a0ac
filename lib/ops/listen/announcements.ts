// Which filed instances have been announced, on disk before they are: each batch of instances is
// written to the journal, numbered, before the first of them is renamed into place, and a marker
// ".<n>" follows once the consumer has handed on every instance up to number n. After a crash, what
// the last marker does not cover may never have been announced: it is announced again, flagged
// duplicate, rather than risk never being announced.
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

/** The journal is emptied at a confirmation once it is this long and nothing is unconfirmed. */
const COMPACT_AT_BYTES = 1 << 20;

export interface Announcement {
  /** The filed instance. */
  filed: string;
  /** Where it came from in tmpDir, so that close() can take it back. */
  original: string;
  calledAET: string;
  /** Its number in the journal, set by record(). */
  seq?: number;
}

export class AnnouncementJournal {
  private fd?: number;
  private bytes = 0;
  private seq = 0;
  /** In the order recorded, which is the order announced and handed on. */
  private readonly unconfirmed = new Map<number, Announcement>();
  /** A confirmation not yet on disk: written with the next batch, or by flush(), one write instead of two. */
  private markerOwed?: number;

  constructor(private readonly file: string) {}

  /** The number of the last instance recorded. */
  get last(): number {
    return this.seq;
  }

  /** Opens the journal; returns what an earlier run filed but may not have announced. */
  open(): Array<{ filed: string; calledAET: string }> {
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    let confirmedUpTo = -1;
    const entries: Array<[number, string, string]> = [];
    for (const line of text.split('\n')) {
      if (line.startsWith('.')) confirmedUpTo = Math.max(confirmedUpTo, Number(line.slice(1)));
      try {
        if (line.startsWith('[')) entries.push(JSON.parse(line) as [number, string, string]);
      } catch {
        /* a line cut short by the crash: its instance was never renamed into place */
      }
    }
    const pending = entries
      .filter(([seq, calledAET, filed]) => seq > confirmedUpTo && typeof filed === 'string' && typeof calledAET === 'string' && existsSync(filed))
      .map(([, calledAET, filed]) => ({ filed, calledAET }));
    // They stay in the journal, unconfirmed, until announced again and handed on.
    this.fd = openSync(this.file, 'w', 0o640);
    this.bytes = 0;
    this.record(pending.map((p) => ({ ...p, original: p.filed })));
    return pending;
  }

  /** Before the batch is renamed into place and announced; numbers each announcement. */
  record(batch: Announcement[]): void {
    if (this.fd === undefined || !batch.length) return;
    let text = this.markerOwed === undefined ? '' : `.${this.markerOwed}\n`;
    for (const a of batch) {
      a.seq = ++this.seq;
      this.unconfirmed.set(a.seq, a);
      text += `${JSON.stringify([a.seq, a.calledAET, a.filed])}\n`;
    }
    this.append(text);
    this.markerOwed = undefined;
  }

  /** Whole lines or nothing: a write the disk cut short is taken back, so that the next line never runs on from half a line. */
  private append(text: string): void {
    const bytes = Buffer.from(text);
    const written = writeSync(this.fd as number, bytes, 0, bytes.length, this.bytes);
    if (written < bytes.length) {
      ftruncateSync(this.fd as number, this.bytes);
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    this.bytes += written;
  }

  /** Not filed after all (its rename failed): nothing to take back at close. */
  forget(announcement: Announcement): void {
    if (announcement.seq !== undefined) this.unconfirmed.delete(announcement.seq);
  }

  /**
   * Every instance up to number upTo (default: all) has been handed on. Until the marker is on disk
   * (next batch, or flush()), a crash makes them announced again, flagged duplicate: never lost.
   */
  confirm(upTo = this.seq): void {
    if (this.fd === undefined) return;
    for (const seq of this.unconfirmed.keys()) {
      if (seq > upTo) break;
      this.unconfirmed.delete(seq);
    }
    if (this.bytes >= COMPACT_AT_BYTES && !this.unconfirmed.size) {
      ftruncateSync(this.fd, 0);
      this.bytes = 0;
      this.markerOwed = undefined;
    } else {
      this.markerOwed = Math.min(upTo, this.seq);
    }
  }

  /** Writes a confirmation still owed (the listener calls this once a second and at close). */
  flush(): void {
    if (this.fd === undefined || this.markerOwed === undefined) return;
    this.append(`.${this.markerOwed}\n`);
    this.markerOwed = undefined;
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
    this.markerOwed = undefined;
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

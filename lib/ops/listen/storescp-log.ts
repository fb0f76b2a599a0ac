// When is a file whole? storescp logs "storing DICOM file: <f>" before it writes <f>, under its final
// name. Every forked child logs through the same pipe, so the log pattern starts each line with the
// process id: the next line the same child logs from storescp's own logger ("Association Release",
// the next "storing", ...) comes after the write returned. A child that logs nothing more (killed,
// or holding an idle association) is checked by sweep(): when it has died or no longer holds the
// file open, the file is final. A write that failed ("cannot write DICOM file", the disk full) was
// refused to the sender, and storescp deletes what it wrote: it is handed on as refused, never as
// written. One StorescpLog reads one storescp run, and only its own children.
import { existsSync } from 'node:fs';
import { holdsOpen, processAlive } from '../../dcmtk/processes';

const LINE = /^(\d+) ([TDIWEF]) (\S+): (.*)$/;
const STORING = 'storing DICOM file: ';
const NOT_WRITTEN = 'cannot write DICOM file: ';
const HEX_DUMP_LINE = /^\s+[0-9a-f]{2}(?:\s+[0-9a-f]{2})*\s*$/i;
const ASSOCIATION_END = /^Association (Release|Aborted)|^Association Request Failed|^DIMSE failure/;
/** Where an A-ASSOCIATE-RQ PDU holds the called AE title (PS3.8 9.3.2), header included. */
const CALLED_AE_START = 10;
const CALLED_AE_END = 26;
export const QUIET_MS = 1000;

/**
 * A file storescp has finished with. How it is known: `logged`, its writer said more after it;
 * `quiet`, its writer no longer holds it open; `abandoned`, its writer died. The last two may be cut short.
 */
export type OnWritten = (file: string, calledAET: string | undefined, how: 'logged' | 'quiet' | 'abandoned') => void;
/** storescp could not write this file (its words) and refused the instance to its sender. */
export type OnRefused = (file: string, words: string) => void;

export class StorescpLog {
  private readonly writing = new Map<number, { file: string; since: number }>();
  private readonly calledAET = new Map<number, string>();
  /** A-ASSOCIATE-RQ bytes read so far, by the storescp child that received it. */
  private readonly associateBytes = new Map<number, number[]>();
  private ended = false;
  private readonly inFolder: string;

  constructor(
    tmpDir: string,
    private readonly onWritten: OnWritten,
    private readonly log: (text: string) => void,
    private readonly onRefused: OnRefused,
  ) {
    this.inFolder = `${tmpDir}/`;
  }

  onLine(line: string): void {
    if (this.ended) return;
    const match = LINE.exec(line);
    if (!match) return;
    const pid = Number(match[1]);
    const [, , level, logger, text] = match as unknown as [string, string, string, string, string];
    const worth = level === 'W' || level === 'E' || level === 'F';
    if (logger === 'dcmtk.dcmnet') {
      this.readAssociateRequest(pid, text);
      if (worth) this.log(line);
      return;
    }
    if (logger !== 'dcmtk.apps.storescp') {
      if (worth) this.log(line);
      return;
    }
    // Anything storescp's own logger says after "storing" comes after the file was written.
    const written = this.writing.get(pid);
    if (written) {
      this.writing.delete(pid);
      if (text.startsWith(NOT_WRITTEN)) this.onRefused(written.file, text);
      else this.onWritten(written.file, this.calledAET.get(pid), 'logged');
    }
    if (text.startsWith(NOT_WRITTEN)) {
      this.log(`${pid}: ${text}`);
    } else if (text.startsWith(STORING)) {
      // storescp names the file in the folder it was given (-od, absolute); nothing else is taken.
      const file = text.slice(STORING.length);
      if (file.startsWith(this.inFolder) && !file.includes('/', this.inFolder.length) && !file.endsWith('/..')) this.writing.set(pid, { file, since: Date.now() });
    } else if (ASSOCIATION_END.test(text)) {
      this.calledAET.delete(pid);
      this.associateBytes.delete(pid);
      this.log(`${pid}: ${text}`);
    } else if (level !== 'I' || text.startsWith('Association Received')) {
      this.log(`${pid}: ${text}`);
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
  sweep(): void {
    const now = Date.now();
    for (const [pid, written] of this.writing) {
      if (now - written.since < QUIET_MS) continue;
      const alive = processAlive(pid);
      if (alive && (!existsSync(written.file) || holdsOpen(pid, written.file))) continue;
      this.writing.delete(pid);
      this.onWritten(written.file, this.calledAET.get(pid), alive ? 'quiet' : 'abandoned');
    }
  }

  /**
   * The run is over and every process of it has ended: what its children were writing is handed
   * on as abandoned (filed when whole). With `keep`, it is returned instead, not handed on.
   */
  end(keep = false): string[] {
    this.ended = true;
    const files = [...this.writing.values()].map((w) => w.file);
    if (!keep) for (const [pid, { file }] of this.writing) this.onWritten(file, this.calledAET.get(pid), 'abandoned');
    this.writing.clear();
    this.calledAET.clear();
    this.associateBytes.clear();
    return files;
  }
}

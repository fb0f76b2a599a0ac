// What storescu says while it sends, read back into each file's outcome: the log configuration that
// keeps its -v lines few, and the reader that relies on what that configuration leaves out.
import { buildLogConfig, ioVisible } from '../../dcmtk/log';
import type { SendFailure } from './types';

/**
 * -v's lines, a block at a time, less three per instance (the success of each is read from the next
 * file's line: with them storescu took 8% longer); and no "XMIT: ...." progress (a dot and a flush per
 * PDU, printed while the progress logger is at INFO): with it storescu took 20% longer.
 */
export const STORESCU_LOG_CONFIG_TEXT = buildLogConfig({
  drop: ['Sending Store Request', 'Converting transfer syntax', 'Received Store Response (Success)'],
  immediateFlush: !ioVisible,
  levels: { 'dcmtk.apps.storescu.progress': 'WARN' },
});

/** How one file ended; `uncompressed-only`: the PACS took its SOP class only uncompressed, which storescu cannot make. */
type StorescuOutcome = { kind: 'sent' | 'warning' } | { kind: 'failed' | 'uncompressed-only'; failure: SendFailure };

const SENDING = 'I: Sending file: ';
const SUCCESS = 'I: Received Store Response (Success)';
const RELEASING = 'I: Releasing Association';
/**
 * Why a C-STORE failed when the association failed with it: the file may go again on a new one. A DIMSE
 * timeout and an answer out of step ("Unexpected Response MsgId", a late answer to an earlier request)
 * count too: storescu -nh would go on over an association whose answers no longer match its requests.
 */
const ASSOCIATION_LOST = /Peer aborted|Association Aborted|DIMSE Failed to (send|receive)|DUL |Network|Connection|timeout|Unexpected Response/i;

/**
 * The C-STORE status code behind DCMTK's words for it (DU_cstoreStatusString): exact where DCMTK names one
 * code or prints it ("Unknown Status: 0x0001"), its class where DCMTK names a range ("0xa7xx").
 */
export function storeStatusCode(words: string): string | undefined {
  const printed = /^Unknown Status: 0x([0-9a-f]{1,4})$/i.exec(words);
  if (printed) return `0x${(printed[1] as string).toLowerCase().padStart(4, '0')}`;
  return STATUS_WORDS[words];
}

const STATUS_WORDS: Record<string, string> = {
  'Refused: SOPClassNotSupported': '0x0122',
  'Warning: CoercionOfDataElements': '0xb000',
  'Warning: DataSetDoesNotMatchSOPClass': '0xb007',
  'Warning: ElementsDiscarded': '0xb006',
  'Refused: OutOfResources': '0xa7xx',
  'Error: DataSetDoesNotMatchSOPClass': '0xa9xx',
  'Error: CannotUnderstand': '0xcxxx',
};

/**
 * Reads storescu's -v lines: which file it is sending, and how that ended. The log config leaves out
 * "Received Store Response (Success)" (a line per instance costs storescu time): a file nothing went
 * wrong with was stored once storescu goes on to the next file or releases the association.
 */
export class StorescuLogReader {
  readonly outcomes = new Map<string, StorescuOutcome>();
  readonly log: string[] = [];
  private current?: string;
  private conversion?: { reason: string; toUncompressed: boolean };
  /** "Store Failed" was said of the current file: the error line after it says why. */
  private storeFailed = false;
  /** The current file was lost with the association: left unsettled, for sending again. */
  private lost = false;
  /** Whether any file was lost with the association (storescu may still exit 0). */
  associationLost = false;
  /** The file storescu was sending when the association was lost (the first loss: the files after it failed with it). */
  lostWhileSending?: string;
  /** An error line about the current file that none of the rules below reads: it was not stored. */
  private trouble?: string;

  /** Where in `files` the next "Sending file" line is expected. */
  private next = 0;

  /**
   * `files`: what storescu was given, in order; it sends them in that order. `lost`: called once, when the
   * association is lost or out of step, so that storescu is stopped rather than sending on over it.
   */
  constructor(private readonly where: string, private readonly done: () => void, private readonly files?: readonly string[], private readonly onLost?: () => void) {}

  read(line: string): void {
    if (line.startsWith(SENDING) || line === RELEASING) {
      this.movedOn();
      this.current = line.startsWith(SENDING) ? this.fileSent(line.slice(SENDING.length)) : undefined;
      this.conversion = this.trouble = undefined;
      this.storeFailed = this.lost = false;
      return;
    }
    const file = this.current;
    if (line === SUCCESS && file !== undefined && !this.outcomes.has(file)) return this.settle(file, { kind: 'sent' });
    if (/^[WEF]: /.test(line) && this.log.length < 1000) this.log.push(line);
    if (!file || this.outcomes.has(file) || this.lost) return;
    const converting = /unable to convert dataset from '(.+)' transfer syntax to '(.+)'/.exec(line);
    if (converting) this.conversion = { reason: `${this.where} took it only in ${converting[2]}, and storescu cannot decompress ${converting[1]}`, toUncompressed: /Endian/.test(converting[2] as string) };
    const response = /^I: Received Store Response \((.+)\)$/.exec(line);
    if (response) {
      const words = response[1] as string;
      const status = storeStatusCode(words);
      if (words === 'Success') this.settle(file, { kind: 'sent' });
      else if (/^Warning/.test(words) || /^0x(0001|b...)$/.test(status ?? '')) this.settle(file, { kind: 'warning' });
      else this.settle(file, { kind: 'failed', failure: { file, reason: `${this.where} refused to store it: C-STORE status "${words}"`, ...(status ? { status } : {}) } });
      return;
    }
    const noContext = /^E: No presentation context for: \((.+?)\) (\S+)/.exec(line);
    if (noContext) {
      this.settle(file, { kind: 'failed', failure: { file, reason: `${this.where} accepts no presentation context for ${noContext[1]} ${noContext[2]}: it does not take this SOP class or transfer syntax` } });
      return;
    }
    const bad = /^E: Bad DICOM file: .*?: (.+)$/.exec(line);
    if (bad) {
      this.settle(file, { kind: 'failed', failure: { file, reason: `not a readable DICOM file: ${bad[1]}` } });
      return;
    }
    if (/^E: Store Failed, file: /.test(line)) {
      const { conversion } = this;
      if (conversion?.toUncompressed) this.outcomes.set(file, { kind: 'uncompressed-only', failure: { file, reason: conversion.reason } });
      else if (conversion) this.settle(file, { kind: 'failed', failure: { file, reason: conversion.reason } });
      else this.storeFailed = true;
      return;
    }
    if (!/^[EF]: /.test(line)) return;
    if (this.storeFailed && ASSOCIATION_LOST.test(line)) {
      this.lost = true;
      this.lostWhileSending ??= file;
      if (!this.associationLost) this.onLost?.();
      this.associationLost = true;
    }
    else if (this.storeFailed) this.settle(file, { kind: 'failed', failure: { file, reason: `storescu could not send it (${line.slice(3)})` } });
    else this.trouble ??= line.slice(3);
  }

  /**
   * Which of the files storescu names: the next in order, whose path starts as printed (a newline in a
   * name ends the line early). Where it names a later one, those between were left out (storescu found
   * them unreadable) or their line was (a path holding a text the log config drops).
   */
  private fileSent(printed: string): string {
    if (!this.files) return printed;
    const expected = this.files[this.next];
    if (expected !== undefined && (expected === printed || expected.startsWith(printed))) {
      this.next++;
      return expected;
    }
    const later = this.files.indexOf(printed, this.next);
    if (later >= 0) {
      this.next = later + 1;
      return printed;
    }
    this.next++;
    return expected ?? printed;
  }

  /** storescu went on: the file it was sending, where nothing went wrong, was stored. */
  private movedOn(): void {
    const file = this.current;
    // Once the association is lost nothing on it is confirmed by storescu going on: those files go again.
    if (file === undefined || this.outcomes.has(file) || this.lost || this.storeFailed || this.associationLost) return;
    if (this.trouble) this.settle(file, { kind: 'failed', failure: { file, reason: `storescu could not send it (${this.trouble})` } });
    else this.settle(file, { kind: 'sent' });
  }

  private settle(file: string, outcome: StorescuOutcome): void {
    this.outcomes.set(file, outcome);
    this.done();
  }
}

// C-STORE with storescu, with or without TLS. storescu proposes one list of syntaxes for every file
// unless given an association profile (-xf): this writes one that offers each file in its own transfer
// syntax, plus uncompressed ones. Debian's storescu cannot decompress: a compressed file the PACS takes
// only uncompressed comes back as `uncompressedOnly`, for dcmsend to decompress and send (lib/send.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatCommandLine, runDcmtk, type RunResult } from '../../dcmtk/run';
import { buildLogConfig, ioActivity, ioVisible } from '../../dcmtk/log';
import { runQueued } from '../../core/queue';
import { type PacsSettings } from '../../core/settings';
import { describeDcmtkFailure } from '../../dcmtk/failures';
import { dieWithThisProcess } from '../../dcmtk/processes';
import { buildTimeoutArgs } from '../../dcmtk/args';
import type { BatchResult, SendFailure, SendOptions, StorescuTls } from './types';

const UNCOMPRESSED = ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2'];
/** DICOM allows 128 presentation contexts per association. */
export const MAX_CONTEXTS = 128;
const PROFILE = 'Send';

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

export interface FileSyntax {
  file: string;
  sopClass: string;
  transferSyntax: string;
}

/** The presentation contexts one file needs, by a key per context: its SOP class in its own syntax, and uncompressed. */
function contextsOf({ sopClass, transferSyntax }: FileSyntax): Array<[string, [string, string[]]]> {
  const uncompressed: [string, [string, string[]]] = [`${sopClass}\\uncompressed`, [sopClass, UNCOMPRESSED]];
  return UNCOMPRESSED.includes(transferSyntax) ? [uncompressed] : [[`${sopClass}\\${transferSyntax}`, [sopClass, [transferSyntax]]], uncompressed];
}

/** The presentation contexts a set of files needs: each SOP class in each file's own syntax, and uncompressed. */
export function contextsFor(files: FileSyntax[]): Array<[string, string[]]> {
  const pairs = new Map(files.map((file) => [`${file.sopClass}\\${file.transferSyntax}`, file]));
  return [...new Map([...pairs.values()].flatMap(contextsOf)).values()];
}

/** Files in order, in groups whose presentation contexts fit in one association. */
export function groupsWithinContexts(files: FileSyntax[]): FileSyntax[][] {
  const groups: FileSyntax[][] = [];
  let group: FileSyntax[] = [];
  let keys = new Set<string>();
  let pairs = new Set<string>();
  for (const file of files) {
    const pair = `${file.sopClass}\\${file.transferSyntax}`;
    if (!pairs.has(pair)) {
      const added = contextsOf(file).map(([key]) => key).filter((key) => !keys.has(key));
      if (group.length && keys.size + added.length > MAX_CONTEXTS) {
        groups.push(group);
        group = [];
        keys = new Set();
        pairs = new Set();
      }
      for (const key of contextsOf(file)) keys.add(key[0]);
      pairs.add(pair);
    }
    group.push(file);
  }
  if (group.length) groups.push(group);
  return groups;
}

/** DCMTK's association configuration file (asconfig) with one profile proposing these contexts. */
export function associationProfile(contexts: Array<[string, string[]]>): string {
  const syntaxLists = new Map<string, string>();
  const lines = ['[[TransferSyntaxes]]'];
  for (const [, syntaxes] of contexts) {
    const key = syntaxes.join('\\');
    if (syntaxLists.has(key)) continue;
    const name = `TS${syntaxLists.size + 1}`;
    syntaxLists.set(key, name);
    lines.push(`[${name}]`, ...syntaxes.map((uid, i) => `TransferSyntax${i + 1} = ${uid}`));
  }
  lines.push('', '[[PresentationContexts]]', `[${PROFILE}]`);
  contexts.forEach(([sopClass, syntaxes], i) => lines.push(`PresentationContext${i + 1} = ${sopClass}\\${syntaxLists.get(syntaxes.join('\\'))}`));
  lines.push('', '[[Profiles]]', `[${PROFILE}]`, `PresentationContexts = ${PROFILE}`, '');
  return lines.join('\n');
}

/** How one file ended; `uncompressed-only`: the PACS took its SOP class only uncompressed, which storescu cannot make. */
type StorescuOutcome = { kind: 'sent' | 'warning' } | { kind: 'failed' | 'uncompressed-only'; failure: SendFailure };

const SENDING = 'I: Sending file: ';
const SUCCESS = 'I: Received Store Response (Success)';
const RELEASING = 'I: Releasing Association';
/** Why a C-STORE failed when the association failed with it: the file may go again on a new one. */
const ASSOCIATION_LOST = /Peer aborted|Association Aborted|DIMSE Failed to (send|receive)|DUL |Network|Connection|timeout/i;

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

  /** `files`: what storescu was given, in order; it sends them in that order. */
  constructor(private readonly where: string, private readonly done: () => void, private readonly files?: readonly string[]) {}

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
      this.lost = this.associationLost = true;
      this.lostWhileSending ??= file;
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
    if (file === undefined || this.outcomes.has(file) || this.lost || this.storeFailed) return;
    if (this.trouble) this.settle(file, { kind: 'failed', failure: { file, reason: `storescu could not send it (${this.trouble})` } });
    else this.settle(file, { kind: 'sent' });
  }

  private settle(file: string, outcome: StorescuOutcome): void {
    this.outcomes.set(file, outcome);
    this.done();
  }
}

/**
 * One association's worth of files (at most MAX_CONTEXTS presentation contexts) with storescu.
 * Files it never reached count as not sent; a connection that failed or was lost is for the caller to retry.
 * Those the PACS took only uncompressed are not counted done: they are the caller's to send otherwise.
 */
export async function sendBatchWithStorescu(settings: PacsSettings, files: FileSyntax[], tls: StorescuTls | undefined, options: SendOptions, done: (n: number) => void): Promise<BatchResult> {
  // Two small files, written synchronously: through the thread pool they took longer than storescu's start.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pypx-storescu-'));
  const profile = path.join(dir, 'profile.cfg');
  const logConfig = path.join(dir, 'log.cfg');
  const seconds = String(Math.max(1, Math.ceil(settings.timeout)));
  const args = ['-lc', logConfig, '-nh', '-xf', profile, PROFILE, ...(tls?.args ?? []), ...buildTimeoutArgs(settings).filter((a, i, all) => a !== '--dimse-timeout' && all[i - 1] !== '--dimse-timeout'), '-td', seconds,
    '-aec', settings.aec, '-aet', settings.aet, settings.host, String(settings.port)];
  const command = `${formatCommandLine('storescu', args)} <${files.length} file${files.length === 1 ? '' : 's'}>`;
  const where = `${settings.aec} at ${settings.host}:${settings.port}`;
  const reader = new StorescuLogReader(where, () => done(1), files.map((f) => f.file));
  const activity = ioActivity();
  try {
    writeFileSync(profile, associationProfile(contextsFor(files)));
    writeFileSync(logConfig, STORESCU_LOG_CONFIG_TEXT);
    const run: RunResult = await runQueued(
      options.queue,
      async (signal) => runDcmtk('storescu', [...args, ...files.map((f) => f.file)], {
        dcmtkDir: settings.dcmtkDir, signal, idleTimeoutMs: settings.timeout * 1000 + 5000, buffer: false,
        runUnder: await dieWithThisProcess(), onLine: (line) => reader.read(line), input: tls?.input,
        onSpawn: activity.onSpawn, onActivity: activity.onActivity,
      }),
      options.signal,
      (): RunResult => ({ command, output: '', timedOut: false, aborted: true, elapsedMs: 0 }),
    );
    activity.stop();
    const result: BatchResult = { sent: 0, warning: 0, failures: [], uncompressedOnly: [], command };
    for (const outcome of reader.outcomes.values()) {
      if (outcome.kind === 'failed') result.failures.push(outcome.failure);
      else if (outcome.kind === 'uncompressed-only') result.uncompressedOnly?.push(outcome.failure);
      else result[outcome.kind]++;
    }
    const unreached = files.filter((f) => !reader.outcomes.has(f.file));
    if (unreached.length === files.length && reader.log.some((line) => /No Acceptable Presentation Contexts/i.test(line))) {
      // The PACS took none of the contexts proposed (each file's SOP class in its own syntax and uncompressed): a refusal, not a lost connection.
      for (const { file, sopClass, transferSyntax } of files) {
        const syntaxes = UNCOMPRESSED.includes(transferSyntax) ? 'uncompressed' : `${transferSyntax} nor uncompressed`;
        result.failures.push({ file, reason: `${where} accepts no presentation context for SOP class ${sopClass} in ${syntaxes}: it does not take this SOP class or transfer syntax` });
        done(1);
      }
      return result;
    }
    if (unreached.length && (run.exitCode !== 0 || run.aborted || run.timedOut || reader.associationLost)) {
      // The association failed or was lost: what was stored stays stored; the rest may be sent again.
      const error = describeDcmtkFailure('storescu', { ...run, command, output: reader.log.join('\n') }, settings);
      return { ...result, connectionError: error, unsent: unreached.map((f) => f.file), inFlight: reader.lostWhileSending };
    }
    for (const { file } of unreached) result.failures.push({ file, reason: 'storescu did not send it (see its log)' });
    return result;
  } finally {
    activity.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

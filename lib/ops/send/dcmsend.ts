// C-STORE with dcmsend: the second pass, for the files the PACS took only uncompressed, which storescu
// cannot decompress (storescu.ts). dcmsend decompresses where that is lossless, and its transfer report
// (+crf) says how each file ended. dcmsend has no TLS: over TLS those files fail alone (dimse.ts).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runQueued } from '../../core/queue';
import { failureBeforeRun } from '../../core/errors';
import type { PacsSettings } from '../../core/settings';
import { buildTimeoutArgs } from '../../dcmtk/args';
import { describeDcmtkFailure } from '../../dcmtk/failures';
import { buildLogConfig, ioActivity, ioVisible } from '../../dcmtk/log';
import { dieWithThisProcess } from '../../dcmtk/processes';
import { formatCommandLine, runDcmtk, type RunResult } from '../../dcmtk/run';
import type { BatchResult, SendFailure, SendOptions } from './types';

/**
 * dcmsend's log: -v's lines, less "Sending C-STORE Request", and a block at a time: the C-STORE
 * responses count progress, and dcmsend's report (+crf) says how each file ended.
 */
export const SEND_LOG_CONFIG_TEXT = buildLogConfig({ drop: ['Sending C-STORE Request'], immediateFlush: !ioVisible });

/** `dcmsend -v|-lc <cfg> -nh +crf <report> <timeouts> -aec .. -aet .. host port` (the files follow). */
export function buildSendArgs(settings: PacsSettings, reportFile: string, logConfig?: string): string[] {
  const timeouts = buildTimeoutArgs(settings).filter((arg, i, all) => !(arg === '--dimse-timeout' || all[i - 1] === '--dimse-timeout'));
  const seconds = String(Math.max(1, Math.ceil(settings.timeout)));
  return [...(logConfig ? ['-lc', logConfig] : ['-v']), '-nh', '+crf', reportFile, ...timeouts, '-td', seconds, '-aec', settings.aec, '-aet', settings.aet, settings.host, String(settings.port)];
}

/** One file's entry in dcmsend's report: its name and the DIMSE Status line. */
export interface ReportEntry {
  file: string;
  status: string;
  sopClass: string;
  xfer: string;
}

/** Reads dcmsend's +crf report: one block per file, "Filename : ..." to "DIMSE Status : ...". */
export function parseSendReport(text: string): ReportEntry[] {
  const entries: ReportEntry[] = [];
  let current: Partial<ReportEntry> = {};
  for (const line of text.split('\n')) {
    const field = /^(Filename|SOP Class|Original Xfer|DIMSE Status)\s*: (.*)$/.exec(line);
    if (!field) continue;
    const [, name, value] = field as unknown as [string, string, string];
    if (name === 'Filename') current = { file: value };
    else if (name === 'SOP Class') current.sopClass = value.replace(/^[\d.]+ = /, '');
    else if (name === 'Original Xfer') current.xfer = value.replace(/^[\d.]+ = /, '');
    else if (current.file !== undefined) {
      entries.push({ file: current.file, status: value.trim(), sopClass: current.sopClass ?? '', xfer: current.xfer ?? '' });
      current = {};
    }
  }
  return entries;
}

type FileVerdict = { kind: 'sent' } | { kind: 'warning' } | { kind: 'failed'; failure: SendFailure };

/** What one report entry means, in the words a PACS administrator uses. */
export function verdictOf(entry: ReportEntry, where: string): FileVerdict {
  const code = /^0x([0-9a-f]{4})\s*(?:\((.*)\))?/i.exec(entry.status);
  if (code) {
    const status = parseInt(code[1] as string, 16);
    if (status === 0) return { kind: 'sent' };
    if (status === 0x0001 || (status & 0xf000) === 0xb000) return { kind: 'warning' };
    const words = code[2] ?? 'failure';
    return { kind: 'failed', failure: { file: entry.file, status: `0x${code[1]?.toLowerCase()}`, reason: `${where} refused to store it: C-STORE status "${words}" (0x${code[1]?.toLowerCase()})` } };
  }
  if (/no acceptable pres/i.test(entry.status)) {
    return { kind: 'failed', failure: { file: entry.file, reason: `${where} accepts no presentation context for ${entry.sopClass} in ${entry.xfer}${/Explicit|Implicit/.test(entry.xfer) ? '' : ' nor, where that compression is lossless, uncompressed'}: it does not take this SOP class or transfer syntax` } };
  }
  return { kind: 'failed', failure: { file: entry.file, reason: `not stored: ${entry.status.replace(/[<>]/g, '')}` } };
}

/** dcmsend's "bad DICOM file: <path>: <why>, ignoring file" warnings, by path. */
function badFilesIn(log: string[]): Map<string, string> {
  const bad = new Map<string, string>();
  for (const line of log) {
    const match = /^W: bad DICOM file: (.*?): (.*), ignoring file$/.exec(line);
    if (match) bad.set(match[1] as string, `not a readable DICOM file: ${match[2]}`);
  }
  return bad;
}

/** One association's worth of files with dcmsend, each file's end read from its report. */
export async function sendBatchWithDcmsend(settings: PacsSettings, files: string[], options: SendOptions, done: (n: number) => void): Promise<BatchResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-send-'));
  const log: string[] = [];
  const activity = ioActivity();
  try {
    const report = path.join(dir, 'report.txt');
    const logConfig = path.join(dir, 'log.cfg');
    await writeFile(logConfig, SEND_LOG_CONFIG_TEXT);
    const args = buildSendArgs(settings, report, logConfig);
    const command = `${formatCommandLine('dcmsend', args)} ${files.length === 1 ? formatCommandLine(files[0] as string, []) : `<${files.length} files>`}`;
    // After a DIMSE timeout dcmsend -nh sends on, and takes the late answer to one file for the next one's:
    // the association is given up at once, and the batch goes again on a new one.
    const giveUp = new AbortController();
    const run: RunResult = await runQueued(
      options.queue,
      async (signal) => runDcmtk('dcmsend', [...args, ...files], {
        dcmtkDir: settings.dcmtkDir,
        runUnder: await dieWithThisProcess(),
        signal: signal ? AbortSignal.any([signal, giveUp.signal]) : giveUp.signal,
        idleTimeoutMs: settings.timeout * 1000 + 5000,
        buffer: false,
        onLine: (line) => {
          if (/^I: Received C-STORE Response|^E: No presentation context found/.test(line) && !giveUp.signal.aborted) done(1);
          if (/^[WEF]: /.test(line) && log.length < 1000) log.push(line.trimEnd());
          if (/^E: Failed receiving DIMSE response|Unexpected Response/.test(line)) giveUp.abort();
        },
        onSpawn: activity.onSpawn,
        onActivity: activity.onActivity,
      }),
      options.signal,
      (): RunResult => ({ command, output: '', timedOut: false, aborted: true, elapsedMs: 0 }),
    );
    activity.stop();
    const text = await readFile(report, 'utf8').catch(() => undefined);
    const where = `${settings.aec} at ${settings.host}:${settings.port}`;
    if (text === undefined || run.aborted || run.timedOut || giveUp.signal.aborted) {
      const given = giveUp.signal.aborted && !options.signal?.aborted ? { aborted: false, timedOut: false, exitCode: run.exitCode ?? 1 } : {};
      const error = describeDcmtkFailure('dcmsend', { ...run, ...given, command, output: log.join('\n') }, settings);
      return { sent: 0, warning: 0, failures: [], connectionError: error, command };
    }
    const result: BatchResult = { sent: 0, warning: 0, failures: [], command };
    const reported = new Set<string>();
    // A file dcmsend reports "<not sent>" was never answered: the association went before it (a PACS killed).
    // dcmsend may have gone on over a new association for later files, and then exits 0.
    const unanswered: string[] = [];
    for (const entry of parseSendReport(text)) {
      reported.add(entry.file);
      if (/not sent/i.test(entry.status)) {
        unanswered.push(entry.file);
        continue;
      }
      const verdict = verdictOf(entry, where);
      if (verdict.kind === 'failed') result.failures.push(verdict.failure);
      else result[verdict.kind]++;
    }
    const bad = badFilesIn(log);
    for (const file of files) {
      if (reported.has(file)) continue;
      result.failures.push({ file, reason: bad.get(file) ?? 'dcmsend did not send it (see its log)' });
      done(1);
    }
    if (unanswered.length) {
      const connectionError = run.exitCode !== 0
        ? describeDcmtkFailure('dcmsend', { ...run, command, output: log.join('\n') }, settings)
        : failureBeforeRun('failed', 'association lost', `dcmsend: ${where} did not answer for ${unanswered.length} files: the association ended before them`, command);
      return { ...result, connectionError, unsent: unanswered };
    }
    return result;
  } finally {
    activity.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

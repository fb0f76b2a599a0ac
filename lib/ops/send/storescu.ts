// C-STORE with storescu, with or without TLS. storescu proposes one list of syntaxes for every file
// unless given an association profile (-xf): this writes one that offers each file in its own transfer
// syntax, plus uncompressed ones. Debian's storescu cannot decompress: a compressed file the PACS takes
// only uncompressed comes back as `uncompressedOnly`, for dcmsend to decompress and send (dcmsend.ts).
// How each file ended is read from storescu's log (storescu-log.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatCommandLine, runDcmtk, type RunResult } from '../../dcmtk/run';
import { ioActivity } from '../../dcmtk/log';
import { runQueued } from '../../core/queue';
import { type PacsSettings } from '../../core/settings';
import { describeDcmtkFailure } from '../../dcmtk/failures';
import { dieWithThisProcess } from '../../dcmtk/processes';
import { buildTimeoutArgs } from '../../dcmtk/args';
import type { BatchResult, SendOptions, StorescuTls } from './types';
import { STORESCU_LOG_CONFIG_TEXT, StorescuLogReader } from './storescu-log';

const UNCOMPRESSED = ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2'];
/** DICOM allows 128 presentation contexts per association. */
export const MAX_CONTEXTS = 128;
const PROFILE = 'Send';

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
  // An association lost or out of step is given up at once: storescu -nh would go on sending over it.
  const giveUp = new AbortController();
  const reader = new StorescuLogReader(where, () => done(1), files.map((f) => f.file), () => giveUp.abort());
  const activity = ioActivity();
  try {
    writeFileSync(profile, associationProfile(contextsFor(files)));
    writeFileSync(logConfig, STORESCU_LOG_CONFIG_TEXT);
    const run: RunResult = await runQueued(
      options.queue,
      async (signal) => runDcmtk('storescu', [...args, ...files.map((f) => f.file)], {
        dcmtkDir: settings.dcmtkDir, signal: signal ? AbortSignal.any([signal, giveUp.signal]) : giveUp.signal, idleTimeoutMs: settings.timeout * 1000 + 5000, buffer: false,
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
      const given = giveUp.signal.aborted && !options.signal?.aborted ? { aborted: false, timedOut: false, exitCode: run.exitCode ?? 1 } : {};
      const error = describeDcmtkFailure('storescu', { ...run, ...given, command, output: reader.log.join('\n') }, settings);
      return { ...result, connectionError: error, unsent: unreached.map((f) => f.file), inFlight: reader.lostWhileSending };
    }
    for (const { file } of unreached) result.failures.push({ file, reason: 'storescu did not send it (see its log)' });
    return result;
  } finally {
    activity.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

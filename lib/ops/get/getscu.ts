// getscu's side of a C-GET: its command line, and what its log says (each instance stored, the
// final response with its counts, the UIDs the PACS says failed).
import { buildLogConfig } from '../../dcmtk/log';
import { type PacsSettings } from '../../core/settings';
import { trimUid } from '../../dicom/uid';
import { buildAssociationArgs, buildTimeoutArgs } from '../../dcmtk/args';
import { type MoveProgress, MoveResponseReader, progressOf } from '../move/responses';
import { UID_KEYS } from '../move/request';
import type { PacsError } from '../../core/errors';
import { folderWriteError, probeWrite } from '../../filing/write-failure';

/**
 * getscu's log for a whole study or series: -v's lines, less the three per instance. What it has
 * written is found in its folder.
 */
export const GET_LOG_CONFIG_TEXT = buildLogConfig({ drop: ['Received C-STORE Request', 'Received C-GET Response (Pending)', 'Sending C-STORE Response'] });

/**
 * `getscu -v|-d|-lc <cfg> -S [+x..] -od <dir> <timeouts> -k QueryRetrieveLevel=.. -k ..UID=.. -aec .. -aet .. host port`.
 * -v (or, given logConfig, GET_LOG_CONFIG_TEXT's lines) for a whole study or series: -d doubles getscu's
 * time with a dump of every DIMSE message. -d for lists of instances after a failure: only it prints
 * the PACS's Failed SOP Instance UID List.
 */
export function buildGetArgs(settings: PacsSettings, keys: Partial<Record<(typeof UID_KEYS)[number], string>> & { level: string }, outputDir: string, preference?: string, debug = false, logConfig?: string): string[] {
  const args = [...(debug ? ['-d'] : logConfig ? ['-lc', logConfig] : ['-v']), '-S', ...(preference ? [preference] : []), '-od', outputDir, ...buildTimeoutArgs(settings), '-k', `QueryRetrieveLevel=${keys.level}`];
  for (const key of UID_KEYS) if (keys[key]) args.push('-k', `${key}=${keys[key]}`);
  return [...args, ...buildAssociationArgs(settings)];
}

/** The C-GET's final response: DCMTK's words for its status, its code where printed, the sub-operation counts. */
export interface GetFinal {
  text: string;
  code?: number;
  completed: number;
  failed: number;
  warning: number;
}

const MAX_LOG_LINES = 100;

/**
 * Reads getscu's log. In -v mode each instance is announced by "Sending C-STORE Response (Success)"
 * once written; in -d mode by "Filename: <file>". The final response comes from -v's status report or,
 * in -d mode, from the C-GET responses as movescu prints its own.
 */
export class GetLogReader {
  readonly failedUids: string[] = [];
  readonly log: string[] = [];
  statusName?: string;
  private readonly responses = new MoveResponseReader();
  private inGetResponse = false;
  private verboseFinal?: string;
  private readonly counts = { completed: 0, failed: 0, warning: 0 };

  constructor(private readonly on: { stored(file: string): void; answered(): void; progress(p: MoveProgress): void; arriving?(): void }) {}

  get final(): GetFinal | undefined {
    const debug = this.responses.final;
    if (debug) return { text: debug.statusText, code: debug.status, completed: debug.completed, failed: debug.failed, warning: debug.warning };
    return this.verboseFinal === undefined ? undefined : { text: this.verboseFinal, ...this.counts };
  }

  get errorComment(): string | undefined {
    return this.responses.errorComment;
  }

  read(line: string): void {
    if (line.startsWith('D: ')) return this.readDebug(line);
    if (line.startsWith('I: Received C-STORE Request')) this.on.arriving?.();
    if (line.startsWith('I: Sending C-STORE Response')) {
      if (/\((Success|Warning)/.test(line)) this.on.answered();
      return;
    }
    const response = /^I: Received C-GET Response \((.+)\)$/.exec(line);
    if (response) {
      if (!/^Pending/.test(response[1] as string)) this.verboseFinal = response[1];
      return;
    }
    const count = /^I: {3}Number of (Completed|Failed|Warning) Suboperations\s*: (\d+)/.exec(line);
    if (count) {
      this.counts[(count[1] as string).toLowerCase() as 'completed' | 'failed' | 'warning'] = Number(count[2]);
      return;
    }
    const named = /^E: DIMSE status is: (.+)$/.exec(line);
    if (named) this.statusName = named[1]?.trim();
    if (/^I: (Received C-STORE Request|Received C-GET Response|Number of|Final status)/.test(line) || !line.trim()) return;
    if (this.log.length < MAX_LOG_LINES) this.log.push(line.trimEnd());
  }

  private readDebug(line: string): void {
    if (line.startsWith('D: Message Type')) this.inGetResponse = /C-GET RSP/.test(line);
    const stored = /^D: {3}Filename: (.+)$/.exec(line);
    if (stored) return this.on.stored(stored[1] as string);
    const failed = /^D: \(0008,0058\) UI \[([^\]]*)\]?/.exec(line);
    if (failed) {
      for (const uid of (failed[1] as string).split('\\')) if (uid && !uid.endsWith('...')) this.failedUids.push(trimUid(uid));
      return;
    }
    if (!this.inGetResponse && !line.startsWith('D: Message Type')) return;
    const response = this.responses.read(line);
    if (response && !this.responses.final) this.on.progress(progressOf(response));
  }
}

/**
 * getscu could not write an instance (disk full, quota, permissions, read-only) and stopped: the error
 * names the cause, found by a probe write into `folder`, and the folder. It is ours, not the PACS's.
 */
export function getscuWriteFailure(log: string[], folder: string, command: string): PacsError | undefined {
  const said = log.find((line) => line.includes('cannot write DICOM file'));
  if (!said) return undefined;
  const failure = probeWrite(folder) ?? new Error(said.replace(/^[EFW]: /, ''));
  return folderWriteError(folder, failure, `getscu: cannot write received instances into ${folder}`, command);
}

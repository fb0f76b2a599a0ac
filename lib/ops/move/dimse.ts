// C-MOVE with movescu: what to move (parsed from UIDs or a px-find result), the command line, and the
// PACS's answers read from movescu's debug log (sub-operation counts and the final DIMSE status).
import { runDcmtk } from '../../dcmtk/run';
import { failureBeforeRun, PacsError, toPacsError } from '../../core/errors';
import { type AssociationQueue, runQueued } from '../../core/queue';
import type { PypxResult } from '../../core/result';
import { aeTitleProblem, type PacsSettings, splitSettingsAndQuery, PACS_SETTING_KEYS, validatePacsSettings } from '../../core/settings';
import { trimUid, uidProblem } from '../../dicom/uid';
import { dieWithThisProcess } from '../../dcmtk/processes';
import { describeDcmtkFailure } from '../../dcmtk/failures';
import { buildAssociationArgs, buildTimeoutArgs, idleDeadlineMs } from '../../dcmtk/args';
import { describeType } from '../../core/describe';
import { refuseTlsFor } from '../../dcmtk/tls';

export type MoveLevel = 'STUDY' | 'SERIES' | 'IMAGE';
export const UID_KEYS = ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID'] as const;
type UidKey = (typeof UID_KEYS)[number];
const KEY_OF_LEVEL: Record<MoveLevel, UidKey> = { STUDY: 'StudyInstanceUID', SERIES: 'SeriesInstanceUID', IMAGE: 'SOPInstanceUID' };

/**
 * One C-MOVE. StudyInstanceUID may be absent below STUDY level: pypx moves a series by its
 * SeriesInstanceUID alone, and most PACS (Orthanc among them) accept such relational retrieves.
 */
export interface MoveRequest {
  level: MoveLevel;
  StudyInstanceUID?: string;
  SeriesInstanceUID?: string;
  SOPInstanceUID?: string;
}

const MAX_PROBLEMS_SHOWN = 5;

/** A field as text: a plain string or pypx's `{tag, value, label}`; empty counts as absent. */
function fieldText(item: Record<string, unknown>, key: string, where: string, problems: string[]): string | undefined {
  let value = item[key];
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'value' in value) value = (value as { value: unknown }).value;
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') {
    problems.push(`${where}: ${key} must be text, not ${describeType(value)}`);
    return undefined;
  }
  return trimUid(value) || undefined;
}

function levelOf(text: string): MoveLevel | undefined {
  const level = text.trim().toUpperCase();
  if (level === 'INSTANCE') return 'IMAGE';
  return level === 'STUDY' || level === 'SERIES' || level === 'IMAGE' ? level : undefined;
}

function requestFromObject(item: Record<string, unknown>, where: string, problems: string[]): MoveRequest | undefined {
  const before = problems.length;
  const uids: Partial<Record<UidKey, string>> = {};
  for (const key of UID_KEYS) uids[key] = fieldText(item, key, where, problems);
  const explicit = fieldText(item, 'QueryRetrieveLevel', where, problems);
  let level: MoveLevel | undefined;
  if (explicit) {
    level = levelOf(explicit);
    if (!level) problems.push(`${where}: QueryRetrieveLevel "${explicit}" cannot be moved; use STUDY, SERIES or IMAGE`);
  } else {
    level = uids.SOPInstanceUID ? 'IMAGE' : uids.SeriesInstanceUID ? 'SERIES' : uids.StudyInstanceUID ? 'STUDY' : undefined;
    if (!level && problems.length === before) problems.push(`${where}: has no StudyInstanceUID, SeriesInstanceUID or SOPInstanceUID`);
  }
  if (!level) return undefined;
  const needed = KEY_OF_LEVEL[level];
  if (!uids[needed]) {
    if (problems.length === before) problems.push(`${where}: a ${level} move needs a ${needed}`);
    return undefined;
  }
  const request: MoveRequest = { level };
  for (const key of UID_KEYS.slice(0, UID_KEYS.indexOf(needed) + 1)) {
    const uid = uids[key];
    if (!uid) continue;
    const problem = uidProblem(uid);
    if (problem) problems.push(`${where}: ${key} "${uid.length > 70 ? `${uid.slice(0, 70)}…` : uid}" is not a DICOM UID: it ${problem}`);
    else request[key] = uid;
  }
  return problems.length === before ? request : undefined;
}

function isFindResult(value: object): value is { status?: unknown; data: unknown[] } {
  return 'data' in value && Array.isArray((value as { data: unknown }).data);
}

function collect(item: unknown, where: string, problems: string[], out: MoveRequest[], depth: number): void {
  if (Array.isArray(item) && depth < 3) {
    item.forEach((each, i) => collect(each, `${where}[${i}]`, problems, out, depth + 1));
  } else if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
    if (isFindResult(item)) {
      if (item.status === 'error') problems.push(`${where}: is a failed px-find result (status "error"), with nothing to move`);
      else item.data.forEach((each, i) => collect(each, `${where}.data[${i}]`, problems, out, depth + 1));
      return;
    }
    const request = requestFromObject(item as Record<string, unknown>, where, problems);
    if (request) out.push(request);
  } else {
    problems.push(`${where}: must be an object with StudyInstanceUID, SeriesInstanceUID or SOPInstanceUID, a px-find result, or an array of them; not ${describeType(item)}`);
  }
}

/**
 * Every move the input asks for: a UID object, a px-find result, or an array of either. Any
 * problem anywhere fails the whole input, so that nothing is sent to the PACS.
 */
export function parseMoveRequests(payload: unknown, name = 'payload'): MoveRequest[] {
  const problems: string[] = [];
  const requests: MoveRequest[] = [];
  collect(payload, name, problems, requests, 0);
  if (problems.length) {
    const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).join('; ');
    const more = problems.length > MAX_PROBLEMS_SHOWN ? `; and ${problems.length - MAX_PROBLEMS_SHOWN} more` : '';
    throw failureBeforeRun('bad-input', problems.length === 1 ? 'bad move input' : `${problems.length} bad items`, `nothing was moved: ${shown}${more}`);
  }
  return requests;
}

/** True when the input is a list of things to move (its outputs then carry msg.parts). */
export function isMoveCollection(payload: unknown): boolean {
  return Array.isArray(payload) || (payload !== null && typeof payload === 'object' && isFindResult(payload));
}

/** The destination AE title: the one given, else the config's aetl, else its calling AE title. */
export function moveDestination(settings: PacsSettings, destination?: string): string {
  const title = destination?.trim() || settings.aetl || settings.aet;
  const problem = aeTitleProblem(title);
  if (problem) throw failureBeforeRun('bad-input', 'bad destination', `move destination AE title ${problem}`);
  return title;
}

/** `movescu --move <dest> ... -S -d -k QueryRetrieveLevel=.. -k ..UID=.. -aec .. -aet .. host port`; no port of its own (movescu's default --no-port). */
export function buildMoveArgs(settings: PacsSettings, request: MoveRequest, destination: string): string[] {
  const keys = [`QueryRetrieveLevel=${request.level}`];
  for (const key of UID_KEYS) if (request[key]) keys.push(`${key}=${request[key]}`);
  return [
    '--move', destination,
    ...buildTimeoutArgs(settings),
    '-S', '-d',
    ...keys.flatMap((k) => ['-k', k]),
    ...buildAssociationArgs(settings),
  ];
}

/** One C-MOVE response as movescu -d prints it. */
export interface MoveResponse {
  status: number;
  /** DCMTK's words for the status, e.g. "Pending: Sub-operations are continuing". */
  statusText: string;
  remaining?: number;
  completed: number;
  failed: number;
  warning: number;
}

export interface MoveProgress {
  completed: number;
  failed: number;
  warning: number;
  remaining: number;
  total: number;
}

const isPending = (status: number) => status === 0xff00 || status === 0xff01;
const MAX_LOG_LINES = 100;

/** Reads movescu -d output line by line; keeps the responses and DCMTK's own (non-debug) words. */
export class MoveResponseReader {
  final?: MoveResponse;
  last?: MoveResponse;
  /** DCMTK's name for an error status, from "Move response with error status (Failed: UnableToProcess)". */
  errorStatusName?: string;
  errorComment?: string;
  /** Info, warning and error lines: pypx's `data` on failure. */
  readonly log: string[] = [];
  private counts: Partial<MoveResponse> = {};

  read(line: string): MoveResponse | undefined {
    if (!line.startsWith('D: ')) {
      // One "Received Move Response N" per instance would crowd out the lines that explain a failure.
      const keep = (/^[WEF]: /.test(line) && this.log.length < 10 * MAX_LOG_LINES) || (!/^I: Received Move Response \d/.test(line) && this.log.length < MAX_LOG_LINES);
      if (line.trim() && keep) this.log.push(line.trimEnd());
      const named = /^W: Move response with error status \((.+)\)/.exec(line);
      if (named) this.errorStatusName = named[1];
      return undefined;
    }
    const field = /^D: (Message Type|Remaining Suboperations|Completed Suboperations|Failed Suboperations|Warning Suboperations|DIMSE Status|Error Comment)\s*: (.*)$/.exec(line);
    const comment = /\(0000,0902\) LO \[(.*)\]/.exec(line);
    if (comment) this.errorComment = comment[1].trim();
    if (!field) return undefined;
    const [, name, value] = field;
    const count = () => (/^\d+$/.test(value.trim()) ? Number(value) : undefined);
    switch (name) {
      case 'Message Type':
        this.counts = {};
        return undefined;
      case 'Remaining Suboperations': this.counts.remaining = count(); return undefined;
      case 'Completed Suboperations': this.counts.completed = count(); return undefined;
      case 'Failed Suboperations': this.counts.failed = count(); return undefined;
      case 'Warning Suboperations': this.counts.warning = count(); return undefined;
      case 'Error Comment': this.errorComment = value.trim(); return undefined;
    }
    const status = /^0x([0-9a-f]{4}):?\s*(.*)$/i.exec(value.trim());
    if (!status) return undefined;
    const response: MoveResponse = {
      status: parseInt(status[1], 16),
      statusText: status[2],
      remaining: this.counts.remaining,
      completed: this.counts.completed ?? this.last?.completed ?? 0,
      failed: this.counts.failed ?? this.last?.failed ?? 0,
      warning: this.counts.warning ?? this.last?.warning ?? 0,
    };
    this.last = response;
    if (!isPending(response.status)) this.final = response;
    this.counts = {};
    return response;
  }
}

export function progressOf(response: MoveResponse): MoveProgress {
  const remaining = response.remaining ?? 0;
  return {
    completed: response.completed,
    failed: response.failed,
    warning: response.warning,
    remaining,
    total: remaining + response.completed + response.failed + response.warning,
  };
}

export interface MoveOptions {
  /** AE title the PACS sends to; default the settings' aetl, else aet. */
  destination?: string;
  signal?: AbortSignal;
  /** Called on each pending C-MOVE response. */
  onProgress?: (progress: MoveProgress) => void;
  /** Wait for a turn here first: at most its concurrency associations run at once. */
  queue?: AssociationQueue;
}

export interface MoveOutcome {
  /** pypx's move result: `data` is '' on success, DCMTK's words on failure. */
  result: PypxResult<string>;
  completed: number;
  failed: number;
  warning: number;
  request: MoveRequest;
  destination: string;
  error?: PacsError;
  elapsedMs: number;
}

/** What px-move sends and move() returns: pypx's result with the final sub-operation counts. */
export type MovePayload = PypxResult<string> & { completed: number; failed: number; warning: number };

export function movePayload(outcome: MoveOutcome): MovePayload {
  return { ...outcome.result, completed: outcome.completed, failed: outcome.failed, warning: outcome.warning };
}

function describeUids(request: MoveRequest): string {
  const key = KEY_OF_LEVEL[request.level];
  return `${request.level.toLowerCase()} ${request[key]}`;
}

/** A final status other than success, in DICOM words with what a PACS administrator can do about it. */
function describeFinalStatus(final: MoveResponse, reader: MoveResponseReader, settings: PacsSettings, request: MoveRequest, destination: string, command: string): PacsError {
  const where = `${settings.aec} at ${settings.host}:${settings.port}`;
  const code = `0x${final.status.toString(16).padStart(4, '0')}`;
  const words = reader.errorStatusName ?? final.statusText;
  const comment = reader.errorComment ? ` ("${reader.errorComment}")` : '';
  const counts = `${final.completed} completed, ${final.failed} failed, ${final.warning} warning`;
  const head = `movescu: ${where} answered the C-MOVE of ${describeUids(request)} to ${destination} with "${words}" (${code})${comment}; ${counts}`;
  let reason: string;
  let hint: string;
  if (final.status === 0xa801) {
    reason = 'destination unknown';
    hint = `the PACS does not know the AE title "${destination}": it must list it among its modalities (DICOM nodes), with its host and port`;
  } else if (final.status === 0xb000) {
    reason = `${final.failed} failed`;
    hint = `${final.failed} instance${final.failed === 1 ? '' : 's'} did not reach ${destination}: it refused them or could not store them`;
  } else if ((final.status & 0xf000) === 0xc000) {
    reason = words.replace(/^Failed: /, '').slice(0, 20);
    hint = `PACS give this answer for many causes; the most common: the PACS does not know the destination AE title "${destination}" (it must list it among its modalities, with its host and port), "${destination}" did not accept the PACS's association, or the PACS does not hold these UIDs`;
  } else if (final.status === 0xfe00) {
    reason = 'cancelled';
    hint = 'the move was cancelled before all instances were sent';
  } else if ((final.status & 0xff00) === 0xa700) {
    reason = 'out of resources';
    hint = 'the PACS could not start the sub-operations: try again later or with fewer moves at once';
  } else {
    reason = words.slice(0, 20);
    hint = 'see the PACS log for its reason';
  }
  return new PacsError('dicom-status', reason, `${head}: ${hint}`, { status: 'error', command, data: reader.log.join('\n') });
}

function failed(request: MoveRequest, destination: string, error: PacsError, elapsedMs = 0): MoveOutcome {
  return { result: error.result as PypxResult<string>, completed: 0, failed: 0, warning: 0, request, destination, error, elapsedMs };
}

/** One C-MOVE, start to final response. Never throws: failures are in the outcome. */
/** DICOMweb has no C-MOVE: the error for a move asked of a DICOMweb PACS, or undefined. */
export function dicomwebMoveProblem(settings: PacsSettings): PacsError | undefined {
  if (!settings.dicomweb) return undefined;
  return failureBeforeRun('bad-input', 'DICOMweb has no move',
    `${settings.dicomweb.url} is a DICOMweb service, and DICOMweb has no move (C-MOVE): use px-get, which retrieves over WADO-RS into this Node-RED's data folder`);
}

export async function runMove(settings: PacsSettings, request: MoveRequest, options: MoveOptions = {}): Promise<MoveOutcome> {
  const noMove = dicomwebMoveProblem(settings);
  if (noMove) return failed(request, options.destination ?? '', noMove);
  let destination: string;
  try {
    refuseTlsFor('movescu', settings);
    destination = moveDestination(settings, options.destination);
  } catch (err) {
    return failed(request, options.destination ?? '', toPacsError(err));
  }
  return runQueued(
    options.queue,
    (signal) => movescu(settings, request, destination, { ...options, signal }),
    options.signal,
    (err) => failed(request, destination, failureBeforeRun('aborted', 'stopped', `movescu: the move of ${describeUids(request)} never started: ${err.message}`)),
  );
}

async function movescu(settings: PacsSettings, request: MoveRequest, destination: string, options: MoveOptions): Promise<MoveOutcome> {
  const args = buildMoveArgs(settings, request, destination);
  const reader = new MoveResponseReader();
  try {
    // A move may take hours; what must not happen is silence. DCMTK's own timeouts come first, this is the backstop.
    const run = await runDcmtk('movescu', args, {
      dcmtkDir: settings.dcmtkDir,
      executable: settings.executable,
      signal: options.signal,
      idleTimeoutMs: idleDeadlineMs(settings),
      buffer: false,
      runUnder: await dieWithThisProcess(),
      onLine: (line) => {
        const response = reader.read(line);
        if (response && !reader.final) options.onProgress?.(progressOf(response));
      },
    });
    const final = reader.final;
    const counts = { completed: final?.completed ?? 0, failed: final?.failed ?? 0, warning: final?.warning ?? 0 };
    const base = { ...counts, request, destination, elapsedMs: run.elapsedMs };
    if (final && !run.aborted) {
      const succeeded = final.status === 0 || (final.status === 0xb000 && final.failed === 0);
      if (succeeded) return { ...base, result: { status: 'success', command: run.command, data: '' } };
      const error = describeFinalStatus(final, reader, settings, request, destination, run.command);
      return { ...base, result: error.result as PypxResult<string>, error };
    }
    // No final response: the association failed, was aborted, or movescu was stopped.
    const error = describeDcmtkFailure('movescu', { ...run, output: reader.log.join('\n') }, settings);
    return { ...base, result: error.result as PypxResult<string>, error };
  } catch (err) {
    return failed(request, destination, toPacsError(err));
  }
}

// pypx 0.8's own spellings (pypx/move.py, and its tests): `aet_listener` for the destination, `series_uid`.
const PYPX08_KEYS: Record<string, string> = { aet_listener: 'aetl', series_uid: 'SeriesInstanceUID' };
const MOVE_KEYS = new Set<string>([...UID_KEYS, 'QueryRetrieveLevel']);

/** pypx 0.8's keys turned into this package's; a key named twice with different values, or unknown, is refused by name. */
function canonicalMoveInput(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(input)) {
    const name = PYPX08_KEYS[key] ?? key;
    if (name in out && out[name] !== value) problems.push(`${key} and ${name} are the same key, given two values`);
    out[name] = value;
  }
  const unknown = Object.keys(out).filter((key) => !PACS_SETTING_KEYS.has(key) && !MOVE_KEYS.has(key));
  if (unknown.length) {
    problems.push(`unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (move() takes PACS settings: aet, aec, server_ip, server_port, aetl or aet_listener, timeout, executable; and what to move: StudyInstanceUID, SeriesInstanceUID or series_uid, SOPInstanceUID, QueryRetrieveLevel)`);
  }
  if (problems.length) throw failureBeforeRun('bad-input', 'bad move input', `nothing was moved: ${problems.join('; ')}`);
  return out;
}

/**
 * pypx's `move(settings)`: PACS settings and the UIDs in one plain object, in this package's spelling
 * (`{aet, aec, server_ip, server_port, aetl, SeriesInstanceUID}`) or pypx 0.8's (`aet_listener`,
 * `series_uid`). Answers pypx's dict with the final sub-operation counts added.
 */
export async function move(input: Record<string, unknown>, options: Pick<MoveOptions, 'signal' | 'onProgress'> = {}): Promise<MovePayload> {
  let settings: PacsSettings;
  let requests: MoveRequest[];
  try {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw failureBeforeRun('bad-input', 'bad move input', `move() takes one object of PACS settings and UIDs, not ${describeType(input)}`);
    }
    const { settings: settingsPart, query } = splitSettingsAndQuery(canonicalMoveInput(input));
    settings = validatePacsSettings(settingsPart);
    requests = parseMoveRequests(query, 'query');
  } catch (err) {
    const error = toPacsError(err);
    return { ...(error.result as PypxResult<string>), completed: 0, failed: 0, warning: 0 };
  }
  return movePayload(await runMove(settings, requests[0] as MoveRequest, options));
}

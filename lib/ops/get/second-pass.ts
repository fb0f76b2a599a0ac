// After a C-GET that ended early. Where an instance cannot come uncompressed (the PACS holds it
// compressed and cannot transcode), a PACS such as Orthanc ends the whole C-GET at that instance. What
// is left is then retrieved instance by instance (listed with a C-FIND where the PACS allows one), and
// what fails uncompressed is asked for again proposing each compressed syntax in turn (getscu's +x
// preferences).
import type { PacsError } from '../../core/errors';
import type { PacsSettings } from '../../core/settings';
import { trimUid } from '../../dicom/uid';
import { describeRequest, type MoveRequest } from '../move/request';
import { findSettingsOf } from '../move/lookup';
import { type Pass, type Retrieve, statusWords } from './retrieve';
import { stallReason } from './stall';
import type { GetOptions } from './types';
import { runFind } from '../find';

/** getscu's storage preferences tried, in order, for instances that failed uncompressed: lossless first. */
export const COMPRESSED_PREFERENCES = ['+xs', '+xt', '+xv', '+xr', '+xd', '+xy', '+xx', '+xu', '+xw'] as const;
/** UIDs per C-GET when retrieving instance by instance. */
const UIDS_PER_GET = 50;
/** A preference that brings nothing this many times in a row is given up for the rest. */
const FRUITLESS_RUNS_PER_PREFERENCE = 3;

/** The instances under a study or series, by C-FIND; undefined where the PACS will not answer one. */
async function listInstances(settings: PacsSettings, request: MoveRequest, options: GetOptions): Promise<Array<{ SOPInstanceUID: string; SeriesInstanceUID?: string }> | undefined> {
  if (request.level === 'IMAGE') return [{ SOPInstanceUID: request.SOPInstanceUID as string, SeriesInstanceUID: request.SeriesInstanceUID }];
  const query: Record<string, string> = { SOPInstanceUID: '', SeriesInstanceUID: request.SeriesInstanceUID ?? '' };
  if (request.StudyInstanceUID) query.StudyInstanceUID = request.StudyInstanceUID;
  // settings.executable is getscu's: never run as findscu (move/lookup.ts).
  const found = await runFind(findSettingsOf(settings), query, { level: 'IMAGE', returnTags: ['SOPInstanceUID', 'SeriesInstanceUID'], signal: options.signal, queue: options.queue });
  if (found.error) return undefined;
  return found.result.data
    .map((record) => ({ SOPInstanceUID: trimUid(String(record.SOPInstanceUID?.value ?? '')), SeriesInstanceUID: trimUid(String(record.SeriesInstanceUID?.value ?? '')) || undefined }))
    .filter((r) => r.SOPInstanceUID);
}

/**
 * After a C-GET that ended early: the instances not received, by lists of UIDs, first uncompressed
 * (skipping those known to fail), then each compressed preference for what still fails.
 */
export async function retrieveRest(retrieve: Retrieve, request: MoveRequest, first: Pass, settings: PacsSettings, options: GetOptions): Promise<{ hard: Map<string, string>; error?: PacsError; commands: string[]; listed?: number }> {
  const hard = new Map<string, string>();
  const commands: string[] = [];
  const firstReason = `${settings.aec} answered the C-GET with ${statusWords(first)}`;
  for (const uid of first.reader.failedUids) if (!retrieve.received.has(uid)) hard.set(uid, firstReason);
  const listed = await listInstances(settings, request, options);
  const all = listed ?? [...hard.keys()].map((SOPInstanceUID) => ({ SOPInstanceUID, SeriesInstanceUID: request.SeriesInstanceUID }));
  const seriesOf = new Map(all.map((i) => [i.SOPInstanceUID, i.SeriesInstanceUID]));
  if (!listed && request.level !== 'IMAGE') {
    hard.set(`(the rest of ${describeRequest(request)})`, `${firstReason}, which ended the retrieve there; the instances it did not send cannot be listed to ask for them one by one: the PACS refused a C-FIND from "${settings.aet}"`);
  }

  for (const preference of [undefined, ...COMPRESSED_PREFERENCES]) {
    let todo = (preference ? [...hard.keys()] : all.map((i) => i.SOPInstanceUID).filter((u) => !hard.has(u))).filter((u) => !retrieve.received.has(u) && seriesOf.has(u));
    let fruitless = 0;
    while (todo.length && !options.signal?.aborted) {
      const chunk = todo.slice(0, UIDS_PER_GET);
      const series = new Set(chunk.map((u) => seriesOf.get(u)));
      const keys = { level: 'IMAGE', StudyInstanceUID: request.StudyInstanceUID, SeriesInstanceUID: series.size === 1 ? [...series][0] : undefined, SOPInstanceUID: chunk.join('\\') };
      const before = retrieve.received.size;
      const pass = await retrieve.run(keys, preference, true);
      commands.push(pass.command);
      if (pass.stalled) {
        const reason = stallReason(settings.aec, retrieve.seriesTimeout);
        for (const uid of todo) if (!retrieve.received.has(uid)) hard.set(uid, reason);
        return { hard, commands };
      }
      if (pass.error) return { hard, error: pass.error, commands };
      const reason = `${settings.aec} answered the C-GET with ${statusWords(pass)}${preference ? ` also when ${preference} proposed compressed syntaxes` : ''}`;
      const failedNow = pass.reader.failedUids.filter((u) => chunk.includes(u) && !retrieve.received.has(u));
      // No failed UID named and nothing new: the whole chunk failed alike.
      const settled = failedNow.length || retrieve.received.size > before ? failedNow : chunk.filter((u) => !retrieve.received.has(u));
      for (const uid of settled) if (!preference || hard.has(uid)) hard.set(uid, reason);
      if (preference) for (const uid of chunk) if (retrieve.received.has(uid)) hard.delete(uid);
      fruitless = retrieve.received.size > before ? 0 : fruitless + 1;
      if (preference && fruitless >= FRUITLESS_RUNS_PER_PREFERENCE) break;
      todo = todo.filter((u) => !retrieve.received.has(u) && !settled.includes(u));
    }
    for (const uid of [...hard.keys()]) if (retrieve.received.has(uid)) hard.delete(uid);
    if (!hard.size || options.signal?.aborted) break;
  }
  return { hard, commands, listed: listed?.length };
}

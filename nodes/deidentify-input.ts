// px-deidentify's side of a message: the files an input names, and what of the input may leave the node.
// No original identifier leaves: the payload is replaced, and any other property that carries one is dropped.
import type { NodeMessageInFlow } from 'node-red';
import { describeType, failureBeforeRun, isPlainObject, type PacsError, toPacsError } from '../lib';

/**
 * Properties px nodes and Node-RED's core nodes fill from the data itself: px-get's and px-move's
 * results (UIDs, PatientID, paths), a file node's filename, a Catch node's error message.
 */
const FILLED_FROM_DATA = ['series', 'get', 'move', 'filename', 'error'];
/** What the node needs of the input: never dropped. */
const KEPT = new Set(['_msgid', 'payload', 'req', 'res', 'parts']);
/** px-listen's and px-get's fields that name the patient or the data (as `data.<field>`). */
const IDENTIFYING_FIELDS = ['path', 'files', 'PatientID', 'PatientName', 'StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID', 'AccessionNumber'];

/** px-listen's and px-get's records in an input: the payload's data, and px-get's msg.series. */
function recordsOf(msg: NodeMessageInFlow): Array<Record<string, unknown>> {
  const { payload } = msg;
  const records: Array<Record<string, unknown>> = [];
  if (isPlainObject(payload) && isPlainObject(payload.data)) records.push(payload.data);
  if (Array.isArray(msg.series)) records.push(...(msg.series as unknown[]).filter(isPlainObject));
  return records;
}

function addPaths(item: unknown, where: string, out: string[], problems: string[]): void {
  if (typeof item === 'string' && item.trim() && !item.includes('\0')) out.push(item);
  else if (Array.isArray(item)) item.forEach((each, i) => addPaths(each, `${where}[${i}]`, out, problems));
  else problems.push(`${where} must be a file or folder path, an array of them, or what px-listen or px-get sends; not ${describeType(item)}`);
}

/**
 * The files and folders an input names: a path, an array of paths, px-listen's instance (data.path) or
 * series (data.files), px-get's instance, or px-get's result (the files of msg.series).
 */
function pathsToDeidentify(msg: NodeMessageInFlow): string[] {
  const paths: string[] = [];
  const problems: string[] = [];
  const { payload } = msg;
  if (isPlainObject(payload) && isPlainObject(payload.data)) {
    const { files, path } = payload.data;
    if (Array.isArray(files)) addPaths(files, 'msg.payload.data.files', paths, problems);
    else addPaths(path, 'msg.payload.data.path', paths, problems);
  } else if (isPlainObject(payload) && Array.isArray(msg.series)) {
    (msg.series as unknown[]).forEach((series, i) => addPaths(isPlainObject(series) ? series.files : series, `msg.series[${i}].files`, paths, problems));
  } else {
    addPaths(payload, 'msg.payload', paths, problems);
  }
  if (problems.length) throw failureBeforeRun('bad-input', 'bad input', `nothing was de-identified: ${problems.slice(0, 3).join('; ')}`);
  return paths;
}

/** Every original value an input carries that identifies the patient or the data. */
function identifiersIn(msg: NodeMessageInFlow, paths: string[]): string[] {
  const values = new Set(paths);
  for (const record of recordsOf(msg)) {
    for (const field of IDENTIFYING_FIELDS) {
      for (const value of [record[field]].flat()) if (typeof value === 'string' && value.trim()) values.add(value.trim());
    }
  }
  // A name also as its components (Family^Given=ideographic...), as a user may have written it; short Latin ones would match anything.
  for (const value of [...values]) for (const part of value.split(/[\^=]/)) if (part.trim().length >= 3 || /[^\x00-\x7f]/.test(part)) values.add(part.trim());
  return [...values];
}

/** What an input asks, read before anything identifying is taken off it. */
export type PreparedInput = { paths: string[] } | { problem: PacsError };

/**
 * Reads the files an input names, then removes from it what may identify: the properties that nodes
 * fill from the data, and any other property whose value contains an original identifier of the input
 * (a topic set to the SeriesInstanceUID or the patient's name); the input's own other properties stay.
 * The payload is replaced by every answer; a failed result's own words (which may quote the data) are
 * replaced by `unquoted` now, as the refusal of a failed input repeats them.
 */
export function prepareInput(msg: NodeMessageInFlow, unquoted: string): PreparedInput {
  let prepared: PreparedInput;
  try {
    prepared = { paths: pathsToDeidentify(msg) };
  } catch (err) {
    prepared = { problem: toPacsError(err) };
  }
  const identifiers = identifiersIn(msg, 'paths' in prepared ? prepared.paths : []);
  for (const key of Object.keys(msg)) {
    if (KEPT.has(key)) continue;
    const text = FILLED_FROM_DATA.includes(key) ? undefined : textOf(msg[key]);
    if (text === undefined || identifiers.some((id) => text.includes(id))) delete msg[key];
  }
  const { payload } = msg;
  if (isPlainObject(payload) && payload.status === 'error') msg.payload = { status: 'error', command: typeof payload.command === 'string' ? payload.command : '', data: unquoted };
  return prepared;
}

/** A property's value as text to search, or undefined when it cannot be read (a cycle): then it is dropped. */
function textOf(value: unknown): string | undefined {
  try {
    return typeof value === 'string' ? value : JSON.stringify(value) ?? '';
  } catch {
    return undefined;
  }
}

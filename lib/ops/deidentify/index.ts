// pypx's module call for de-identification (PS3.15 Annex E): every file under the inputs, one at a time,
// into pypx's layout under outDir. A file that fails or is refused fails alone.
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { KnownProblem } from '../../core/errors';
import { makeFolder } from '../../filing/layout';
import { failureWithoutPath } from '../../filing/write-failure';
import { filesUnder } from './files';
import { deidentifyFile } from './instance';
import { Pseudonyms } from './pseudonyms';
import { InstanceProblem } from './read-instance';
import type { DeidentifyFailure, DeidentifyOptions, DeidentifyResult } from './types';

export type { DeidentifyOptions, DeidentifyResult, DeidentifiedInstance, DeidentifyFailure, DeidentifyData } from './types';
export { PROFILE_EDITION } from './profile';
export { BURNED_IN_CLASSES } from './burned-in';

/** Reading and writing are synchronous per file (quicker for small files): the event loop gets a turn this often. */
const TURN_MS = 10;

/** The key as bytes; KnownProblem when there is none. Its value is never part of a message. */
function keyBytes(key: unknown): Buffer {
  if (Buffer.isBuffer(key) && key.length > 0) return key;
  if (typeof key === 'string' && key.length > 0) return Buffer.from(key, 'utf8');
  throw new KnownProblem('bad-input', 'no key', 'de-identification needs a key (a non-empty secret): pseudonyms are derived from it');
}

function checkedInputs(inputs: unknown): string[] {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  if (list.length === 0) throw new KnownProblem('bad-input', 'nothing to de-identify', 'nothing to de-identify: give a file, a folder or an array of them');
  for (const item of list) {
    if (typeof item !== 'string' || !item.trim() || item.includes('\0')) {
      throw new KnownProblem('bad-input', 'bad input', 'nothing was de-identified: every input must be a file or folder path (a non-empty string)');
    }
  }
  return list as string[];
}

/**
 * De-identifies every file in `inputs` (files, or folders walked recursively) into options.outDir.
 * Rejects with a KnownProblem for options it cannot run with; else resolves with every file's outcome.
 */
export async function deidentify(inputs: string | string[], options: DeidentifyOptions): Promise<DeidentifyResult> {
  const pseudonyms = new Pseudonyms(keyBytes(options.key));
  if (typeof options.outDir !== 'string' || !options.outDir.trim()) {
    throw new KnownProblem('bad-input', 'no output folder', 'de-identification needs an output folder (outDir)');
  }
  const list = checkedInputs(inputs);
  const outDir = path.resolve(options.outDir);
  makeFolder(outDir);
  const result: DeidentifyResult = { status: 'success', command: '', data: { instances: [], failures: [] }, deidentified: 0, failed: 0, refused: 0 };
  const fail = (failure: DeidentifyFailure) => {
    result.data.failures.push(failure);
    if (failure.outcome === 'refused') result.refused++;
    else result.failed++;
    options.onFailure?.(failure);
  };
  const settings = { options, pseudonyms, folder: { outDir, knownInfo: new Set<string>(), knownDirs: new Set<string>() } };
  const found = await filesUnder(list, outDir);
  let turnStarted = performance.now();
  for (const entry of found) {
    if (performance.now() - turnStarted >= TURN_MS) {
      await nextTurn();
      turnStarted = performance.now();
    }
    if (options.signal?.aborted) {
      fail({ input: entry.file, outcome: 'failed', reason: 'stopped before it was de-identified' });
      continue;
    }
    if ('problem' in entry) {
      fail({ input: entry.file, outcome: 'failed', reason: entry.problem });
      continue;
    }
    let instance;
    try {
      instance = await deidentifyFile(entry.file, settings);
    } catch (err) {
      if (err instanceof InstanceProblem) fail({ input: entry.file, outcome: err.outcome, reason: err.message });
      else fail({ input: entry.file, outcome: 'failed', reason: `cannot de-identify it: ${failureWithoutPath(err)}` });
      continue;
    }
    result.data.instances.push(instance);
    result.deidentified++;
    options.onInstance?.(instance);
  }
  if (found.length === 0) fail({ input: list.join(', '), outcome: 'failed', reason: 'no file found to de-identify' });
  if (result.failed + result.refused > 0) result.status = 'error';
  return result;
}

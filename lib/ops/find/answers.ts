// findscu's answers: each C-FIND response is a DICOM file it writes (-X -od), read into pypx's record.
import { readFileSync, unlinkSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { anyToPacsError, PacsError } from '../../core/errors';
import type { PypxRecord } from '../../core/result';
import type { PacsSettings } from '../../core/settings';
import { DicomReadError, parseDicomBytes } from '../../dicom/dataset';
import type { FindKey } from './query';

/**
 * Reads findscu's answers while it is still receiving them: an answer file is complete once findscu
 * names the next one (it writes each before it reads the next response), the last when findscu ends.
 * Each file is parsed and removed at once, so the answer folder never holds more than two.
 */
export class AnswerReader {
  readonly records: PypxRecord[] = [];
  /** Answers beyond the limit were dropped. */
  cut = false;
  /** The first answer that is not DICOM: the find fails with it. */
  error?: PacsError;
  private pending?: string;
  private readonly keys: readonly FindKey[];

  constructor(
    private readonly dir: string,
    keys: readonly FindKey[],
    private readonly limit: number,
    private readonly settings: Pick<PacsSettings, 'aec' | 'host' | 'port'>,
    private readonly onRecord?: (record: PypxRecord) => void,
  ) {
    this.keys = keys.filter((k) => k.inRecord);
  }

  /** findscu is about to write this answer file: the one before it is complete. */
  writing(file: string): void {
    this.flush();
    this.pending = path.join(this.dir, path.basename(file));
  }

  /** findscu ended: its last answer file is complete. */
  flush(): void {
    const file = this.pending;
    if (!file) return;
    this.pending = undefined;
    if (this.error || (this.limit > 0 && this.records.length >= this.limit)) {
      this.cut ||= !this.error;
    } else {
      try {
        const record = toRecord(readFileSync(file), this.keys, this.records.length, this.settings);
        this.records.push(record);
        this.onRecord?.(record);
      } catch (err) {
        // Whatever failed (a file gone, too many open files, onRecord throwing) fails the find, never the process.
        this.error = anyToPacsError(err, 'bad response', `findscu: cannot read an answer from ${this.settings.aec} at ${this.settings.host}:${this.settings.port} (${file})`);
      }
    }
    try {
      unlinkSync(file);
    } catch {
      /* removed with the folder */
    }
  }

}

const RESPONSE_FILE = /^rsp(\d+)\.dcm$/;

/** The response files of a folder in the order the PACS sent them (rsp0001.dcm ... rsp10000.dcm), as records: for the benchmark's parse figure. */
export async function readFindResponses(
  dir: string,
  keys: readonly FindKey[],
  limit: number,
  settings: Pick<PacsSettings, 'aec' | 'host' | 'port'>,
): Promise<{ records: PypxRecord[]; cut: boolean }> {
  const files = (await readdir(dir))
    .map((name) => ({ name, number: Number(RESPONSE_FILE.exec(name)?.[1] ?? NaN) }))
    .filter((f) => !Number.isNaN(f.number))
    .sort((a, b) => a.number - b.number);
  const cut = limit > 0 && files.length > limit;
  const wanted = cut ? files.slice(0, limit) : files;
  const recordKeys = keys.filter((k) => k.inRecord);
  const records = wanted.map(({ name }, index) => toRecord(readFileSync(path.join(dir, name)), recordKeys, index, settings));
  return { records, cut };
}

/** pypx's record: each key asked for, `{tag, value, label}`, and the `uid` counter. */
function toRecord(bytes: Uint8Array, keys: readonly FindKey[], index: number, settings: Pick<PacsSettings, 'aec' | 'host' | 'port'>): PypxRecord {
  let dataset;
  try {
    dataset = parseDicomBytes(bytes);
  } catch (err) {
    const why = err instanceof DicomReadError ? err.message : String(err);
    const message = `C-FIND response ${index + 1} from ${settings.aec} at ${settings.host}:${settings.port} is not valid DICOM (${why})`;
    throw new PacsError('failed', 'bad response', `findscu: ${message}`, { status: 'error', command: '', data: message });
  }
  const record: PypxRecord = { uid: { tag: 0, value: index, label: 'uid' } };
  for (const key of keys) record[key.keyword] = { tag: key.tag, value: dataset.text(key.parserTag) ?? '', label: key.keyword };
  return record;
}

// pypx's layout: <dataDir>/<patient>/<study>/<series>/<instance>.dcm, with patient.info, study.info
// and series.info beside it. Every tag value comes from a sender and is cleaned before it becomes part
// of a path.
import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { InstanceHeader } from './header';

export const PLACEHOLDER = 'UNKNOWN';
/** Patient data is readable by its owner and group only, whatever the umask: files 0640, folders 0750. */
export const FILE_MODE = 0o640;
export const FOLDER_MODE = 0o750;

/** mkdir -p, with every folder it creates set to FOLDER_MODE. */
export function makeFolder(dir: string): void {
  const first = mkdirSync(dir, { recursive: true });
  if (!first) return;
  for (let made = dir; ; made = path.dirname(made)) {
    chmodSync(made, FOLDER_MODE);
    if (made === first || made === path.dirname(made)) break;
  }
}

/** One folder below one that exists (never its parents: a data folder that is gone stays gone). True when made here. */
export function makeSubfolder(dir: string): boolean {
  try {
    mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  chmodSync(dir, FOLDER_MODE);
  return true;
}
/** Bytes (UTF-8) one tag value may take in a folder or file name; three of them stay under 255. */
export const MAX_PART_BYTES = 64;
const ALREADY_CLEAN = /^[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*$/;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\.|$)/i;

function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let out = '';
  for (const char of text) {
    bytes += Buffer.byteLength(char, 'utf8');
    if (bytes > maxBytes) break;
    out += char;
  }
  return out;
}

/**
 * Makes one tag value safe as part of a file name. As pypx did, every character that is not a letter
 * or a digit becomes "."; unlike pypx, letters and digits of every script are kept (Müller, 山田).
 * Runs of dots collapse and none lead or trail, so no part is ".", ".." or hidden; a Windows device
 * name gets a leading "_"; the result is at most MAX_PART_BYTES of UTF-8; empty becomes UNKNOWN.
 */
export function cleanPathPart(value: string | undefined, maxBytes = MAX_PART_BYTES): string {
  // Already clean (a UID, a plain ID): nothing to change.
  if (value && value.length <= maxBytes && ALREADY_CLEAN.test(value) && !WINDOWS_RESERVED.test(value)) return value;
  let text = (value ?? '').normalize('NFC').replace(/[^\p{L}\p{M}\p{N}]+/gu, '.');
  text = truncateUtf8(text.replace(/^\.+/, ''), maxBytes).replace(/\.+$/, '');
  if (!text) return PLACEHOLDER;
  return WINDOWS_RESERVED.test(text) ? `_${text}`.slice(0, maxBytes) : text;
}

export interface FiledPath {
  patientDir: string;
  studyDir: string;
  seriesDir: string;
  file: string;
}

export class UnsafePathError extends Error {
  constructor(readonly target: string, readonly dataDir: string) {
    super(`refusing to file outside the data folder: ${target} is not inside ${dataDir}`);
    this.name = 'UnsafePathError';
  }
}

type SeriesFolders = Omit<FiledPath, 'file'>;
/** The folders of series filed lately, by their tag values: cleaning is the same for every instance. */
const recentFolders = new Map<string, SeriesFolders>();
const RECENT_FOLDERS_KEPT = 1000;

function seriesFolders(root: string, header: InstanceHeader): SeriesFolders {
  const key = [root, header.PatientID, header.PatientName, header.StudyDescription, header.StudyDate, header.StudyInstanceUID,
    header.SeriesDescription, header.SeriesDate, header.SeriesInstanceUID].join('\0');
  const known = recentFolders.get(key);
  if (known) return known;
  const join = (...parts: Array<string | undefined>) => parts.map((p) => cleanPathPart(p)).join('-');
  const patientDir = path.join(root, join(header.PatientID, header.PatientName));
  const studyDir = path.join(patientDir, join(header.StudyDescription, header.StudyDate, header.StudyInstanceUID));
  const seriesDir = path.join(studyDir, join(header.SeriesDescription, header.SeriesDate, header.SeriesInstanceUID));
  // Checked here, once per series: a cleaned file name has no separator and no leading dot, so a file
  // in a series folder inside root is inside root too.
  if (!seriesDir.startsWith(root + path.sep)) throw new UnsafePathError(seriesDir, root);
  if (recentFolders.size >= RECENT_FOLDERS_KEPT) recentFolders.clear();
  const folders = { patientDir, studyDir, seriesDir };
  recentFolders.set(key, folders);
  return folders;
}

/** Where pypx filed an instance. The result is checked to lie inside dataDir, whatever the tags say. */
export function buildFiledPath(dataDir: string, header: InstanceHeader): FiledPath {
  const root = path.resolve(dataDir);
  const { patientDir, studyDir, seriesDir } = seriesFolders(root, header);
  const number = /^\s*[+-]?\d+\s*$/.test(header.InstanceNumber) ? String(Math.abs(parseInt(header.InstanceNumber, 10))) : '0';
  const file = `${seriesDir}${path.sep}${number.padStart(5, '0').slice(-9)}-${cleanPathPart(header.SOPInstanceUID)}.dcm`;
  return { patientDir, studyDir, seriesDir, file };
}

/** One INI value on one line: a sender's newline must not start a new key or section. */
function iniValue(value: string): string {
  return value.replace(/[\x00-\x1f\x7f]+/g, ' ');
}

function iniFile(section: string, entries: Record<string, string>): string {
  return `[${section}]\n${Object.entries(entries).map(([k, v]) => `${k} = ${iniValue(v)}`).join('\n')}\n`;
}

/** Writes pypx's patient.info, study.info and series.info for a new folder; `known` remembers folders done. */
export function writeInfoFiles(where: FiledPath, header: InstanceHeader, known: Set<string>): void {
  const files: Array<[string, () => string]> = [
    [path.join(where.patientDir, 'patient.info'), () => iniFile('PATIENT', { PatientID: header.PatientID, PatientName: header.PatientName, Location: where.patientDir })],
    [path.join(where.studyDir, 'study.info'), () => iniFile('STUDY', { StudyDescription: header.StudyDescription, StudyDate: header.StudyDate, StudyInstanceUID: header.StudyInstanceUID, Location: where.studyDir })],
    [path.join(where.seriesDir, 'series.info'), () => iniFile('SERIES', { SeriesDescription: header.SeriesDescription, SeriesDate: header.SeriesDate, SeriesInstanceUID: header.SeriesInstanceUID, SeriesNumber: header.SeriesNumber, Modality: header.Modality, Location: where.seriesDir })],
  ];
  for (const [file, text] of files) {
    if (known.has(file)) continue;
    // 'wx' keeps what an earlier run wrote; a folder is described by the first instance filed in it.
    let fd: number | undefined;
    try {
      fd = openSync(file, 'wx', FILE_MODE);
      fchmodSync(fd, FILE_MODE);
      const bytes = Buffer.from(text());
      if (writeSync(fd, bytes) < bytes.length) throw Object.assign(new Error(`ENOSPC: no space left on device, write ${file}`), { code: 'ENOSPC' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        // Cut short (disk full): removed, or 'wx' would keep it cut short for good.
        if (fd !== undefined) rmSync(file, { force: true });
        throw err;
      }
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    known.add(file);
  }
}

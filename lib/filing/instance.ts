// Filing a received DICOM file the way pypx did: <dataDir>/<patient>/<study>/<series>/<instance>.dcm,
// with patient.info, study.info and series.info beside it. Every tag value comes from a sender and
// is cleaned before it becomes part of a path.
import { chmodSync, closeSync, existsSync, fchmodSync, mkdirSync, openSync, readSync, renameSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { deflatedStreamCompleteSync, type DicomDataset, DicomReadError, parseDicomBytes, parseHeaderPrefix, readHeaderPrefixSync } from '../dicom/dataset';

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
function makeSubfolder(dir: string): boolean {
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

/** The tag values filing and the flow need, decoded by the file's own Specific Character Set. */
export interface InstanceHeader {
  PatientID: string;
  PatientName: string;
  StudyInstanceUID: string;
  SeriesInstanceUID: string;
  SOPInstanceUID: string;
  SOPClassUID: string;
  Modality: string;
  StudyDate: string;
  StudyDescription: string;
  SeriesDate: string;
  SeriesDescription: string;
  SeriesNumber: string;
  InstanceNumber: string;
  /** (0002,0016) Source Application Entity Title: storescp records the calling AE title there. */
  callingAET: string;
}

const HEADER_TAGS: Record<keyof InstanceHeader, string> = {
  PatientID: 'x00100020',
  PatientName: 'x00100010',
  StudyInstanceUID: 'x0020000d',
  SeriesInstanceUID: 'x0020000e',
  SOPInstanceUID: 'x00080018',
  SOPClassUID: 'x00080016',
  Modality: 'x00080060',
  StudyDate: 'x00080020',
  StudyDescription: 'x00081030',
  SeriesDate: 'x00080021',
  SeriesDescription: 'x0008103e',
  SeriesNumber: 'x00200011',
  InstanceNumber: 'x00200013',
  callingAET: 'x00020016',
};

const HEADER_ENTRIES = Object.entries(HEADER_TAGS) as Array<[keyof InstanceHeader, string]>;
/** The tags a received header is read for, with (0008,0005), by which its text is decoded. */
const HEADER_TAG_NUMBERS = new Set([...Object.values(HEADER_TAGS), 'x00080005'].map((tag) => parseInt(tag.slice(1), 16)));

export function instanceHeader(dataset: DicomDataset): InstanceHeader {
  const header = {} as InstanceHeader;
  for (const [key, tag] of HEADER_ENTRIES) header[key] = dataset.text(tag) ?? '';
  return header;
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
      writeSync(fd, text());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    known.add(file);
  }
}

const PIXEL_DATA = 'x7fe00010';
const UNDEFINED_LENGTH = 0xffffffff;
const SEQUENCE_DELIMITER = Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);

/**
 * Whether a file whose header parsed is also whole: its pixel data ends within the file (or, when
 * encapsulated, the file ends with the sequence delimiter). For files whose writer may have been
 * stopped mid-write: a header can parse while the image behind it is cut short.
 */
export function isWholeFile(file: string, dataset: DicomDataset, lastBytes?: Uint8Array): boolean {
  // Offsets in a deflated file's dataset are in its inflated bytes: see deflatedStreamComplete.
  if (dataset.deflatedFrom !== undefined) return true;
  const pixels = dataset.extent(PIXEL_DATA);
  const size = dataset.fileSize ?? statSync(file).size;
  if (!pixels) return true;
  if (pixels.length !== UNDEFINED_LENGTH) return pixels.offset + pixels.length <= size;
  if (lastBytes) return Buffer.from(lastBytes.buffer, lastBytes.byteOffset, lastBytes.length).subarray(-8).equals(SEQUENCE_DELIMITER);
  const fd = openSync(file, 'r');
  try {
    const tail = Buffer.alloc(8);
    readSync(fd, tail, 0, 8, Math.max(0, size - 8));
    return tail.equals(SEQUENCE_DELIMITER);
  } finally {
    closeSync(fd);
  }
}

export interface InstancePayload extends Omit<InstanceHeader, 'SeriesDate' | 'callingAET'> {
  path: string;
  callingAET: string;
  calledAET: string;
  duplicate: boolean;
}

/** Folders known to exist are remembered up to this many, then forgotten (memory stays flat over months). */
const KNOWN_FOLDERS_KEPT = 10000;

export interface FilingDirs {
  dataDir: string;
  /** AE title the sender called, when known; else the listener's own. */
  calledAET: string;
  /** .info files already written, shared across calls. */
  knownInfo: Set<string>;
  /** Folders already created, shared across calls (forgotten past KNOWN_FOLDERS_KEPT). */
  knownDirs: Set<string>;
}

export interface Filed {
  payload: InstancePayload;
  header: InstanceHeader;
  where: FiledPath;
}

export class MalformedFileError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'MalformedFileError';
  }
}

/**
 * Reads a file's header and checks it can be filed; MalformedFileError when it cannot. checkWhole
 * checks that the pixel data ends within the file; in a deflated file, that its deflate stream ends
 * (inflated and thrown away, when small enough to do here: else `wholeUnknown`, and
 * deflatedStreamComplete in lib/dicom checks it without holding it in memory).
 */
export function readReceivedHeader(file: string, checkWhole: boolean): { header: InstanceHeader; dataset: DicomDataset; wholeUnknown?: boolean } {
  let dataset: DicomDataset;
  try {
    dataset = readHeaderPrefixSync(file, { wanted: HEADER_TAG_NUMBERS });
  } catch (err) {
    if (err instanceof DicomReadError) throw new MalformedFileError(file, err.message.replace(`${file}: `, ''));
    throw err;
  }
  let wholeUnknown: boolean | undefined;
  if (checkWhole && dataset.deflatedFrom !== undefined) {
    const verdict = deflatedStreamCompleteSync(file, dataset.deflatedFrom);
    if (verdict === false) throw new MalformedFileError(file, 'truncated: the deflated data set ends before its end');
    if (verdict === undefined) wholeUnknown = true;
  } else if (checkWhole && !isWholeFile(file, dataset)) {
    throw new MalformedFileError(file, 'truncated: the file ends before its pixel data does');
  }
  const header = instanceHeader(dataset);
  if (!header.SOPInstanceUID) throw new MalformedFileError(file, 'no SOP Instance UID (0008,0018)');
  return wholeUnknown ? { header, dataset, wholeUnknown } : { header, dataset };
}

/**
 * The file names filed into each series folder this process made itself (mkdir succeeded): a name not
 * among them is not there, so no existence check is needed before the rename. Folders that existed
 * before are checked. Forgotten past FRESH_NAMES_KEPT names (they are then checked again).
 */
const namesInFreshFolders = new Map<string, Set<string>>();
let freshNames = 0;
const FRESH_NAMES_KEPT = 100000;

function forgetFreshFolder(dir: string): void {
  freshNames -= namesInFreshFolders.get(dir)?.size ?? 0;
  namesInFreshFolders.delete(dir);
}

/** Whether a file of this name is already in the series folder, and notes that it is now. */
function alreadyFiled(where: FiledPath): boolean {
  const names = namesInFreshFolders.get(where.seriesDir);
  if (!names) return existsSync(where.file);
  if (names.has(where.file)) return true;
  if (freshNames >= FRESH_NAMES_KEPT) {
    namesInFreshFolders.clear();
    freshNames = 0;
  } else {
    names.add(where.file);
    freshNames++;
  }
  return false;
}

/**
 * readReceivedHeader for a file this process has just written, from bytes still in memory: the first
 * ones written (reaching Pixel Data), the last 8, and the size. Undefined where they cannot decide (the
 * header runs past them, deflated, no pixel data, malformed, no SOP Instance UID): readReceivedHeader
 * on the file then decides, and names what is wrong.
 */
export function writtenHeader(first: Uint8Array, size: number, last: Uint8Array): InstanceHeader | undefined {
  let dataset: DicomDataset;
  try {
    dataset = parseHeaderPrefix(first, { wanted: HEADER_TAG_NUMBERS, whole: false }) ?? parseDicomBytes(first, { untilPixelData: true });
  } catch {
    return undefined;
  }
  if (dataset.deflatedFrom !== undefined || !dataset.extent(PIXEL_DATA) || last.length < 8) return undefined;
  dataset.fileSize = size;
  if (!isWholeFile('', dataset, last)) return undefined;
  const header = instanceHeader(dataset);
  return header.SOPInstanceUID ? header : undefined;
}

/**
 * Moves a received file into pypx's layout and describes it. The same SOP Instance filed again
 * replaces the earlier copy (rename is atomic) and is flagged duplicate. Synchronous from the first
 * check to the rename, so that two copies of one instance can never both look new. `where`: its
 * buildFiledPath, when the caller has it already.
 */
export function fileReceivedInstance(file: string, header: InstanceHeader, dirs: FilingDirs, options: { modeSet?: boolean; where?: FiledPath } = {}): Filed {
  if (dirs.knownDirs.size > KNOWN_FOLDERS_KEPT) {
    dirs.knownDirs.clear();
    dirs.knownInfo.clear();
  }
  const where = options.where ?? buildFiledPath(dirs.dataDir, header);
  // A series folder made and described once is not looked at again (mkdir and .info only for new folders).
  const prepare = () => {
    if (dirs.knownDirs.has(where.seriesDir)) return;
    makeSubfolder(where.patientDir);
    makeSubfolder(where.studyDir);
    forgetFreshFolder(where.seriesDir);
    if (makeSubfolder(where.seriesDir)) {
      namesInFreshFolders.set(where.seriesDir, new Set());
    }
    writeInfoFiles(where, header, dirs.knownInfo);
    dirs.knownDirs.add(where.seriesDir);
  };
  prepare();
  // modeSet: the writer created it FILE_MODE already (px-listen runs storescp with umask 027).
  if (!options.modeSet) chmodSync(file, FILE_MODE);
  let duplicate = alreadyFiled(where);
  try {
    renameSync(file, where.file);
  } catch (err) {
    // The series folder was moved or deleted since it was made (downstream processing): make it again.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync(file)) throw err;
    for (const known of [where.patientDir, where.studyDir, where.seriesDir]) dirs.knownDirs.delete(known);
    for (const info of ['patient.info', 'study.info', 'series.info']) {
      for (const dir of [where.patientDir, where.studyDir, where.seriesDir]) dirs.knownInfo.delete(path.join(dir, info));
    }
    prepare();
    duplicate = alreadyFiled(where);
    renameSync(file, where.file);
  }
  return { where, header, payload: instancePayload(header, where.file, dirs.calledAET, duplicate) };
}

/** What px-listen announces for a filed instance. */
export function instancePayload(header: InstanceHeader, filed: string, calledAET: string, duplicate: boolean): InstancePayload {
  // Spelled out, in this order: built for every instance received.
  return {
    path: filed, callingAET: header.callingAET, calledAET, PatientID: header.PatientID, PatientName: header.PatientName,
    StudyInstanceUID: header.StudyInstanceUID, SeriesInstanceUID: header.SeriesInstanceUID, SOPInstanceUID: header.SOPInstanceUID,
    SOPClassUID: header.SOPClassUID, Modality: header.Modality, StudyDate: header.StudyDate, StudyDescription: header.StudyDescription,
    SeriesDescription: header.SeriesDescription, SeriesNumber: header.SeriesNumber, InstanceNumber: header.InstanceNumber, duplicate,
  };
}

/** Moves a file that cannot be filed to <dataDir>/quarantine, keeping its name. */
export function quarantine(file: string, dataDir: string): string {
  const folder = path.join(path.resolve(dataDir), 'quarantine');
  makeFolder(folder);
  const target = path.join(folder, path.basename(file));
  chmodSync(file, FILE_MODE);
  renameSync(file, target);
  return target;
}

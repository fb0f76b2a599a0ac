// What filing reads of a received file: the tag values it is filed by, and whether the file is whole.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { type DicomDataset, DicomReadError, parseDicomBytes } from '../dicom/dataset';
import { deflatedStreamCompleteSync } from '../dicom/deflated';
import { parseHeaderPrefix, readHeaderPrefixSync } from '../dicom/read-file';

/** The tag values filing and its announcements need, decoded by the file's own Specific Character Set. */
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
 * deflatedStreamComplete (dicom/deflated.ts) checks it without holding it in memory).
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

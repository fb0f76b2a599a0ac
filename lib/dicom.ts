// Reading DICOM with dicom-parser, every string decoded by the dataset's own Specific Character Set.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { convertBytes } from 'dicom-character-set';
import dicomParser from 'dicom-parser';
import { lookupTag } from './dictionary';

const PIXEL_DATA = 'x7fe00010';
const SPECIFIC_CHARACTER_SET = 'x00080005';
const TEXT_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);
// Values in these VRs are never in a non-default character set (PS3.5 6.1.2.3).
const ASCII_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'TM', 'UI', 'UR']);

export class DicomReadError extends Error {
  constructor(message: string, readonly source?: string) {
    super(source ? `${source}: ${message}` : message);
    this.name = 'DicomReadError';
  }
}

/** A parsed dataset whose values come out as the strings a person would read. */
export class DicomDataset {
  readonly specificCharacterSet: string;
  /** Size of the file the dataset was read from, when read by readDicomHeader. */
  fileSize?: number;

  constructor(private readonly parsed: dicomParser.DataSet) {
    this.specificCharacterSet = this.raw(SPECIFIC_CHARACTER_SET, 'CS') ?? '';
  }

  /** Tags present at the top level, as "xggggeeee", in file order. */
  tags(): string[] {
    return Object.keys(this.parsed.elements);
  }

  has(tag: string): boolean {
    return tag in this.parsed.elements;
  }

  /** Where an element's value lies in the bytes read: offset, and length (undefined length: 0xffffffff). */
  extent(tag: string): { offset: number; length: number } | undefined {
    const element = this.parsed.elements[tag];
    return element ? { offset: element.dataOffset, length: element.length } : undefined;
  }

  /** The value's VR: from the file when it is explicit, else from the dictionary. */
  vr(tag: string): string | undefined {
    return this.parsed.elements[tag]?.vr ?? lookupTag(tag)?.vr;
  }

  private raw(tag: string, vr: string): string | undefined {
    const element = this.parsed.elements[tag];
    if (!element) return undefined;
    const bytes = this.parsed.byteArray.subarray(element.dataOffset, element.dataOffset + element.length);
    const text = ASCII_VRS.has(vr) || tag === SPECIFIC_CHARACTER_SET
      ? Buffer.from(bytes).toString('latin1')
      : convertBytes(this.specificCharacterSet || undefined, bytes, { vr });
    return text.replace(/[\0 ]+$/, '').replace(/^ +/, '');
  }

  /**
   * The value as text: strings decoded and trimmed of padding; numbers in binary VRs as decimal
   * text (several joined by backslash, as DICOM writes multiple values). Undefined for absent
   * elements and for sequences and bulk data, which have no text form.
   */
  text(tag: string): string | undefined {
    const element = this.parsed.elements[tag];
    if (!element) return undefined;
    const vr = this.vr(tag) ?? 'UN';
    if (TEXT_VRS.has(vr)) return this.raw(tag, vr);
    const count = (size: number) => Math.floor(element.length / size);
    const numbers = (size: number, read: (i: number) => number | undefined) =>
      Array.from({ length: count(size) }, (_, i) => read(i)).join('\\');
    switch (vr) {
      case 'US': return numbers(2, (i) => this.parsed.uint16(tag, i));
      case 'SS': return numbers(2, (i) => this.parsed.int16(tag, i));
      case 'UL': return numbers(4, (i) => this.parsed.uint32(tag, i));
      case 'SL': return numbers(4, (i) => this.parsed.int32(tag, i));
      case 'FL': return numbers(4, (i) => this.parsed.float(tag, i));
      case 'FD': return numbers(8, (i) => this.parsed.double(tag, i));
      case 'AT': return this.parsed.attributeTag(tag);
      default: return undefined;
    }
  }
}

export interface ParseOptions {
  /** Stop at Pixel Data: the header is all that is read. */
  untilPixelData?: boolean;
  /** Named in error messages. */
  source?: string;
}

export function parseDicomBytes(bytes: Uint8Array, options: ParseOptions = {}): DicomDataset {
  try {
    const parsed = dicomParser.parseDicom(bytes, options.untilPixelData ? { untilTag: PIXEL_DATA } : {});
    return new DicomDataset(parsed);
  } catch (err) {
    const reason = err instanceof Error ? err.message : typeof err === 'string' ? err : 'not a DICOM file';
    throw new DicomReadError(`cannot read DICOM: ${reason}`, options.source);
  }
}

const FIRST_READ = 64 * 1024;

/**
 * Reads a file's DICOM header without its pixel data, so that memory does not grow with image
 * size: the first 64 KB, and more only when the header runs past it.
 */
export async function readDicomHeader(file: string): Promise<DicomDataset> {
  return readDicomHeaderSync(file);
}

/**
 * Synchronous underneath: a few reads of at most 64 KB cost less than the thread pool's hand-offs,
 * which matters to a receiver filing thousands of small files.
 */
export function readDicomHeaderSync(file: string): DicomDataset {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    let length = Math.min(size, FIRST_READ);
    for (;;) {
      const buffer = Buffer.allocUnsafe(length);
      const bytesRead = readSync(fd, buffer, 0, length, 0);
      try {
        const dataset = parseDicomBytes(buffer.subarray(0, bytesRead), { untilPixelData: true, source: file });
        dataset.fileSize = size;
        return dataset;
      } catch (err) {
        if (length >= size) throw err;
        length = Math.min(size, length * 4);
      }
    }
  } finally {
    closeSync(fd);
  }
}

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
// Character sets whose first (G0) code element is ASCII, so printable ASCII bytes decode as themselves
// (not ISO_IR 13, whose G0 reads backslash as yen, nor a double-byte set named first).
const ASCII_FIRST = /^(|ISO_IR 6|ISO 2022 IR 6|ISO_IR 192|GB18030|GBK|(ISO_IR|ISO 2022 IR) (100|101|109|110|126|127|138|144|148|166|203))$/;

function printableAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (byte < 0x20 || byte > 0x7e) return byte === 0 && i === bytes.length - 1;
  }
  return true;
}

export class DicomReadError extends Error {
  constructor(message: string, readonly source?: string) {
    super(source ? `${source}: ${message}` : message);
    this.name = 'DicomReadError';
  }
}

/** A parsed dataset whose values come out as the strings a person would read. */
export class DicomDataset {
  readonly specificCharacterSet: string;
  private readonly asciiFirst: boolean;
  /** Size of the file the dataset was read from, when read by readDicomHeader. */
  fileSize?: number;

  constructor(private readonly parsed: dicomParser.DataSet) {
    this.specificCharacterSet = this.raw(SPECIFIC_CHARACTER_SET, 'CS') ?? '';
    this.asciiFirst = ASCII_FIRST.test((this.specificCharacterSet.split('\\')[0] ?? '').trim());
  }

  /** Bytes of the dataset as parsed: for a deflated file, its inflated length, not the file's. */
  get byteLength(): number {
    return this.parsed.byteArray.length;
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
    const text = ASCII_VRS.has(vr) || tag === SPECIFIC_CHARACTER_SET || (this.asciiFirst && printableAscii(bytes))
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
const firstRead = Buffer.allocUnsafe(FIRST_READ);

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
    // One read into a shared buffer, copied out at its true size: most headers (and small files)
    // fit, and neither a stat nor a 64 KB allocation per file is needed.
    let bytesRead = readSync(fd, firstRead, 0, FIRST_READ, 0);
    let size = bytesRead < FIRST_READ ? bytesRead : fstatSync(fd).size;
    let bytes: Uint8Array = Buffer.from(firstRead.subarray(0, bytesRead));
    for (let length = bytesRead; ; ) {
      try {
        const dataset = parseDicomBytes(bytes, { untilPixelData: true, source: file });
        dataset.fileSize = size;
        return dataset;
      } catch (err) {
        if (length >= size) throw err;
        length = Math.min(size, length * 4);
        const buffer = Buffer.allocUnsafe(length);
        bytesRead = readSync(fd, buffer, 0, length, 0);
        if (bytesRead < length) size = bytesRead;
        bytes = buffer.subarray(0, bytesRead);
      }
    }
  } finally {
    closeSync(fd);
  }
}

// Parsing DICOM with dicom-parser, every string decoded by the dataset's own Specific Character Set.
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import { convertBytes } from 'dicom-character-set';
import dicomParser from 'dicom-parser';
import { lookupTag } from './dictionary';

const PIXEL_DATA = 'x7fe00010';
const SPECIFIC_CHARACTER_SET = 'x00080005';
const TRANSFER_SYNTAX = 'x00020010';
export const DEFLATED_EXPLICIT_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';
/** What a deflated header may inflate to: the dataset before Pixel Data, never the image itself. */
const MAX_INFLATED_HEADER = 4 * 1024 * 1024;
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

const decoded = new Map<string, string>();
const DECODED_KEPT = 500;

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

/** Without trailing NULs and spaces and leading spaces (a loop: this runs for every value of every instance). */
function trimPadding(text: string): string {
  let end = text.length;
  while (end > 0 && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 0)) end--;
  let start = 0;
  while (start < end && text.charCodeAt(start) === 32) start++;
  return start === 0 && end === text.length ? text : text.slice(start, end);
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
  /** Where the deflated part starts in the file, for a Deflated Explicit VR Little Endian file. */
  deflatedFrom?: number;

  constructor(private readonly parsed: dicomParser.DataSet) {
    this.specificCharacterSet = this.raw(SPECIFIC_CHARACTER_SET, 'CS') ?? '';
    this.asciiFirst = ASCII_FIRST.test((this.specificCharacterSet.split('\\')[0] ?? '').trim());
  }

  /** dicom-parser's data set, with its sequences' items: for walking every element. */
  get dataSet(): dicomParser.DataSet {
    return this.parsed;
  }

  /** (0002,0010) Transfer Syntax UID of the file's meta header; empty when it has none. */
  get transferSyntax(): string {
    return this.raw(TRANSFER_SYNTAX, 'UI') ?? '';
  }

  /** Bytes of the dataset as parsed: for a deflated file, what was inflated (its header), not the file's length. */
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
    if (ASCII_VRS.has(vr) || tag === SPECIFIC_CHARACTER_SET || (this.asciiFirst && printableAscii(bytes))) return trimPadding(latin1(bytes));
    // The same name arrives with every instance of a series: decoded once, remembered (a few hundred kept).
    const key = `${this.specificCharacterSet}\0${vr}\0${latin1(bytes)}`;
    let text = decoded.get(key);
    if (text === undefined) {
      text = trimPadding(convertBytes(this.specificCharacterSet || undefined, bytes, { vr }));
      if (decoded.size >= DECODED_KEPT) decoded.clear();
      decoded.set(key, text);
    }
    return text;
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

/** A string value's bytes as text, decoded by a Specific Character Set as (0008,0005) names it, trimmed of padding. */
export function decodeText(bytes: Uint8Array, vr: string, specificCharacterSet: string): string {
  if (ASCII_VRS.has(vr) || printableAscii(bytes)) return trimPadding(latin1(bytes));
  return trimPadding(convertBytes(specificCharacterSet || undefined, bytes, { vr }));
}

export interface ParseOptions {
  /** Stop at Pixel Data: the header is all that is read. */
  untilPixelData?: boolean;
  /** Named in error messages. */
  source?: string;
}

/**
 * dicom-parser's hook for Deflated Explicit VR Little Endian: inflates what was read of the deflated
 * part, as far as it goes (a sync flush: a prefix of the stream inflates without error), and never
 * more than MAX_INFLATED_HEADER, so that an image that compresses well is not inflated into memory.
 */
function inflatePrefix(bytes: Uint8Array, position: number, deflatedFrom: (at: number) => void): Uint8Array {
  deflatedFrom(position);
  const meta = Buffer.from(bytes.buffer, bytes.byteOffset, position);
  for (let length = bytes.length - position; ; length = Math.floor(length / 8)) {
    try {
      const inflated = inflateRawSync(bytes.subarray(position, position + length), { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: MAX_INFLATED_HEADER });
      return Buffer.concat([meta, inflated]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE' || length < 64) throw err;
    }
  }
}

export function parseDicomBytes(bytes: Uint8Array, options: ParseOptions = {}): DicomDataset {
  try {
    let deflatedFrom: number | undefined;
    const inflater = (array: Uint8Array, position: number) => inflatePrefix(array, position, (at) => { deflatedFrom = at; });
    const parsed = dicomParser.parseDicom(bytes, { ...(options.untilPixelData ? { untilTag: PIXEL_DATA } : {}), inflater } as dicomParser.ParseDicomOptions);
    const dataset = new DicomDataset(parsed);
    dataset.deflatedFrom = deflatedFrom;
    return dataset;
  } catch (err) {
    const reason = err instanceof Error ? err.message : typeof err === 'string' ? err : 'not a DICOM file';
    throw new DicomReadError(`cannot read DICOM: ${reason}`, options.source);
  }
}

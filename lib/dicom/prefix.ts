// The quick way to a received file's header: its top-level elements walked in a prefix of its bytes up
// to Pixel Data (lengths read, values skipped), in explicit or implicit little endian and explicit big
// endian. Anything it does not walk simply (a deflated data set, an undefined length, a tag past Pixel
// Data, bytes running out) answers undefined, and dicom-parser reads the file instead: this is a
// shortcut, never a second opinion.
import dicomParser from 'dicom-parser';

const IMPLICIT_LITTLE_ENDIAN = '1.2.840.10008.1.2';
const EXPLICIT_BIG_ENDIAN = '1.2.840.10008.1.2.2';
const DEFLATED = '1.2.840.10008.1.2.1.99';
const PIXEL_DATA = 0x7fe00010;
const UNDEFINED_LENGTH = 0xffffffff;
/** VRs whose explicit length takes 4 bytes after 2 reserved ones (PS3.5 7.1.2). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV'].map((vr) => (vr.charCodeAt(0) << 8) | vr.charCodeAt(1)));

export interface PrefixOptions {
  /** The bytes are the whole file: their end is the data set's end. */
  whole: boolean;
  /** Data set elements to describe (the file meta information and Pixel Data always are); all when undefined. */
  wanted?: ReadonlySet<number>;
}

/** dicom-parser's names, made once per tag: the same few dozen tags come with every instance received. */
const tagNames = new Map<number, string>();
function tagName(tag: number): string {
  let name = tagNames.get(tag);
  if (name === undefined) {
    name = `x${(0x100000000 + tag).toString(16).slice(1)}`;
    if (tagNames.size < 4096) tagNames.set(tag, name);
  }
  return name;
}

function isVr(a: number, b: number): boolean {
  return a >= 0x41 && a <= 0x5a && b >= 0x41 && b <= 0x5a;
}

export interface Prefix {
  /** Top-level elements as dicom-parser describes them, by "xggggeeee". */
  elements: Record<string, dicomParser.Element>;
  /** Where the last value walked ends: the bytes the elements need. */
  end: number;
  littleEndian: boolean;
}

/** One element of the file meta information: its tag, VR, value length and where its value starts. */
export interface MetaElement {
  tag: number;
  vr: string;
  length: number;
  dataOffset: number;
}

/**
 * Walks the file meta information (group 0002, always explicit VR little endian) of bytes that begin
 * with the preamble and "DICM", handing each element to `visit` (answering true stops the walk).
 * Answers where the group ends, or undefined at an element that is malformed or not whole in `bytes`.
 */
export function walkFileMeta(bytes: Uint8Array, visit: (element: MetaElement) => boolean | void): number | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let pos = 132;
  while (pos + 8 <= bytes.length && view.getUint16(pos, true) === 0x0002) {
    const tag = (0x0002 << 16) | view.getUint16(pos + 2, true);
    const vrA = bytes[pos + 4] as number;
    const vrB = bytes[pos + 5] as number;
    if (!isVr(vrA, vrB)) return undefined;
    const long = LONG_VRS.has((vrA << 8) | vrB);
    if (long && pos + 12 > bytes.length) return undefined;
    const length = long ? view.getUint32(pos + 8, true) : view.getUint16(pos + 6, true);
    const dataOffset = pos + (long ? 12 : 8);
    if (length === UNDEFINED_LENGTH || dataOffset + length > bytes.length) return undefined;
    pos = dataOffset + length;
    if (visit({ tag, vr: String.fromCharCode(vrA, vrB), length, dataOffset })) break;
  }
  return pos;
}

/** The top-level elements up to Pixel Data, or undefined. */
export function readPrefix(bytes: Uint8Array, options: PrefixOptions): Prefix | undefined {
  if (bytes.length < 132 || bytes[128] !== 0x44 || bytes[129] !== 0x49 || bytes[130] !== 0x43 || bytes[131] !== 0x4d) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const elements: Record<string, dicomParser.Element> = {};
  let syntax: string | undefined;
  const metaEnd = walkFileMeta(bytes, ({ tag, vr, length, dataOffset }) => {
    const name = tagName(tag);
    elements[name] = { tag: name, vr, length, dataOffset } as dicomParser.Element;
    if (tag === 0x00020010) syntax = Buffer.from(bytes.buffer, bytes.byteOffset + dataOffset, length).toString('latin1').replace(/[\0 ]+$/, '');
  });
  if (metaEnd === undefined) return undefined;
  let pos = metaEnd;
  if (!syntax || syntax === DEFLATED) return undefined;
  const implicit = syntax === IMPLICIT_LITTLE_ENDIAN;
  const little = syntax !== EXPLICIT_BIG_ENDIAN;
  for (;;) {
    if (pos === bytes.length && options.whole) break;
    if (pos + 8 > bytes.length) return undefined;
    const tag = ((view.getUint16(pos, little) << 16) | view.getUint16(pos + 2, little)) >>> 0;
    // Past Pixel Data, or an item or delimiter at the top level.
    if (tag > PIXEL_DATA) return undefined;
    let length: number;
    let dataOffset: number;
    if (implicit) {
      length = view.getUint32(pos + 4, little);
      dataOffset = pos + 8;
    } else {
      const vrA = bytes[pos + 4] as number;
      const vrB = bytes[pos + 5] as number;
      if (!isVr(vrA, vrB)) return undefined;
      const long = LONG_VRS.has((vrA << 8) | vrB);
      if (long && pos + 12 > bytes.length) return undefined;
      length = long ? view.getUint32(pos + 8, little) : view.getUint16(pos + 6, little);
      dataOffset = pos + (long ? 12 : 8);
    }
    const pixels = tag === PIXEL_DATA;
    // A sequence of undefined length, or a value past the bytes read: dicom-parser's job.
    if (!pixels && (length === UNDEFINED_LENGTH || dataOffset + length > bytes.length)) return undefined;
    if (pixels || !options.wanted || options.wanted.has(tag)) {
      const name = tagName(tag);
      const vr = implicit ? undefined : String.fromCharCode(bytes[pos + 4] as number, bytes[pos + 5] as number);
      elements[name] = { tag: name, vr, length, dataOffset } as dicomParser.Element;
    }
    if (pixels) break;
    pos = dataOffset + length;
  }
  return { elements, end: pos, littleEndian: little };
}

const DataSet = (dicomParser as unknown as { DataSet: new (parser: dicomParser.ByteArrayParser, bytes: Uint8Array, elements: Record<string, dicomParser.Element>) => dicomParser.DataSet }).DataSet;

/** dicom-parser's DataSet over bytes that hold (at least) a prefix's values. */
export function prefixDataSet(prefix: Prefix, bytes: Uint8Array): dicomParser.DataSet {
  return new DataSet(prefix.littleEndian ? dicomParser.littleEndianByteArrayParser : dicomParser.bigEndianByteArrayParser, bytes, prefix.elements);
}

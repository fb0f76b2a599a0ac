// Writing a DICOM data set: elements in tag order, in the byte order and VR encoding of a transfer syntax
// (explicit or implicit VR, little or big endian). Sequences and their items are written with undefined
// length and delimiters, so that nothing needs measuring first. Values are written as given: binary
// values must already be in the syntax's byte order.

/** One element to write: a value (bytes as they are to appear) or, for a sequence, its items. */
export interface OutElement {
  tag: number;
  vr: string;
  value?: Uint8Array;
  items?: OutElement[][];
  /** An encapsulated value copied as it was read: written with undefined length, `value` ending with its delimiter. */
  undefinedLength?: boolean;
}

export interface Encoding {
  explicit: boolean;
  littleEndian: boolean;
}

export const EXPLICIT_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const IMPLICIT_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_BIG_ENDIAN = '1.2.840.10008.1.2.2';

/** VRs whose explicit length takes 4 bytes after 2 reserved ones (PS3.5 7.1.2). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
/** Padding to an even length: NUL for UIDs and bytes, space for text (PS3.5 6.2). */
const NUL_PADDED = new Set(['UI', 'OB', 'UN']);
const UNDEFINED_LENGTH = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_DELIMITER = 0xfffee00d;
const SEQUENCE_DELIMITER = 0xfffee0dd;

/** The value of a string element, padded to an even length as its VR pads. */
export function stringValue(text: string, vr: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  if (bytes.length % 2 === 0) return bytes;
  return Buffer.concat([bytes, Buffer.from([NUL_PADDED.has(vr) ? 0 : 0x20])]);
}

/** The encoding a transfer syntax stands for; encapsulated and other syntaxes are explicit VR little endian. */
export function encodingOf(transferSyntax: string): Encoding {
  if (transferSyntax === IMPLICIT_LITTLE_ENDIAN) return { explicit: false, littleEndian: true };
  if (transferSyntax === EXPLICIT_BIG_ENDIAN) return { explicit: true, littleEndian: false };
  return { explicit: true, littleEndian: true };
}

class Writer {
  readonly chunks: Buffer[] = [];
  length = 0;
  constructor(private readonly encoding: Encoding) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** An element's tag, VR (when explicit) and length. */
  header(tag: number, vr: string, length: number): void {
    const { explicit, littleEndian } = this.encoding;
    const group = tag >>> 16;
    const element = tag & 0xffff;
    // Items and delimiters have no VR, in every syntax.
    const noVr = !explicit || group === 0xfffe;
    const long = noVr || LONG_VRS.has(vr);
    const out = Buffer.alloc(noVr ? 8 : long ? 12 : 8);
    if (littleEndian) {
      out.writeUInt16LE(group, 0);
      out.writeUInt16LE(element, 2);
    } else {
      out.writeUInt16BE(group, 0);
      out.writeUInt16BE(element, 2);
    }
    if (noVr) {
      if (littleEndian) out.writeUInt32LE(length, 4);
      else out.writeUInt32BE(length, 4);
    } else {
      out.write(vr, 4, 'latin1');
      if (long) {
        if (littleEndian) out.writeUInt32LE(length, 8);
        else out.writeUInt32BE(length, 8);
      } else if (littleEndian) {
        out.writeUInt16LE(length, 6);
      } else {
        out.writeUInt16BE(length, 6);
      }
    }
    this.push(out);
  }

  element(element: OutElement): void {
    if (element.items) {
      this.header(element.tag, 'SQ', UNDEFINED_LENGTH);
      for (const item of element.items) {
        this.header(ITEM, '', UNDEFINED_LENGTH);
        this.elements(item);
        this.header(ITEM_DELIMITER, '', 0);
      }
      this.header(SEQUENCE_DELIMITER, '', 0);
      return;
    }
    if (element.undefinedLength && element.value) {
      this.header(element.tag, element.vr, UNDEFINED_LENGTH);
      this.push(Buffer.from(element.value.buffer, element.value.byteOffset, element.value.length));
      return;
    }
    let value = Buffer.from((element.value ?? new Uint8Array(0)).buffer, element.value?.byteOffset ?? 0, element.value?.length ?? 0);
    if (value.length % 2 === 1) value = Buffer.concat([value, Buffer.from([NUL_PADDED.has(element.vr) ? 0 : 0x20])]);
    if (this.encoding.explicit && !LONG_VRS.has(element.vr) && value.length > 0xffff) {
      throw new RangeError(`(${hex(element.tag >>> 16)},${hex(element.tag & 0xffff)}) is ${value.length} bytes long; ${element.vr} holds at most 65534`);
    }
    this.header(element.tag, element.vr, value.length);
    this.push(value);
  }

  elements(elements: OutElement[]): void {
    for (const element of [...elements].sort((a, b) => a.tag - b.tag)) this.element(element);
  }
}

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

/** A data set's elements (not its file meta information) encoded as a transfer syntax says. */
export function encodeDataset(elements: OutElement[], encoding: Encoding): Buffer[] {
  const writer = new Writer(encoding);
  writer.elements(elements);
  return writer.chunks;
}

/**
 * The 128-byte preamble, "DICM" and the file meta information (group 0002, always explicit VR little
 * endian, PS3.10 7.1) with its group length. `meta` holds the group's elements other than the length.
 */
export function encodeFileMeta(meta: OutElement[]): Buffer {
  const writer = new Writer({ explicit: true, littleEndian: true });
  writer.elements(meta.filter((e) => e.tag !== 0x00020000));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(writer.length, 0);
  const head = new Writer({ explicit: true, littleEndian: true });
  head.element({ tag: 0x00020000, vr: 'UL', value: length });
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), ...head.chunks, ...writer.chunks]);
}

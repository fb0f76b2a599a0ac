// Where encapsulated pixel data (PS3.5 A.4) ends: its items walked by their lengths, to the Sequence
// Delimitation Item, without reading the fragments themselves.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const ITEM = 0xe000;
const SEQUENCE_DELIMITER = 0xe0dd;

/**
 * The offset just past the Sequence Delimitation Item of encapsulated pixel data whose first item
 * starts at `from` (always little endian: PS3.5 A.4); undefined when the items run past the end
 * (truncated) or are not items. `read(position, into)` fills `into` from that position, answering how many bytes it read.
 */
export function encapsulatedEnd(from: number, size: number, read: (position: number, into: Buffer) => number): number | undefined {
  const header = Buffer.alloc(8);
  for (let position = from; position + 8 <= size; ) {
    if (read(position, header) < 8 || header.readUInt16LE(0) !== 0xfffe) return undefined;
    const element = header.readUInt16LE(2);
    const length = header.readUInt32LE(4);
    if (element === SEQUENCE_DELIMITER) return position + 8;
    if (element !== ITEM || length === 0xffffffff) return undefined;
    position += 8 + length;
  }
  return undefined;
}

/** encapsulatedEnd over a file. */
export function encapsulatedEndInFile(file: string, from: number): number | undefined {
  const fd = openSync(file, 'r');
  try {
    return encapsulatedEnd(from, fstatSync(fd).size, (position, into) => readSync(fd, into, 0, into.length, position));
  } finally {
    closeSync(fd);
  }
}

/** encapsulatedEnd over bytes in memory. */
export function encapsulatedEndInBytes(bytes: Uint8Array, from: number): number | undefined {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  return encapsulatedEnd(from, buffer.length, (position, into) => buffer.copy(into, 0, position, position + into.length));
}

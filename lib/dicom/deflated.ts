// Whether a Deflated Explicit VR Little Endian file is whole: its deflate stream ends where it must.
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw, inflateRawSync } from 'node:zlib';

/** Deflated files up to these sizes are checked whole in memory, at once; larger ones by deflatedStreamComplete. */
const CHECK_AT_ONCE_DEFLATED = 4 * 1024 * 1024;
const CHECK_AT_ONCE_INFLATED = 8 * 1024 * 1024;

/**
 * Whether the deflated part of a file ends as a deflate stream must, checked at once where it is
 * small: true or false; undefined when it is too large to inflate here.
 */
export function deflatedStreamCompleteSync(file: string, from: number): boolean | undefined {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size - from;
    if (size > CHECK_AT_ONCE_DEFLATED) return undefined;
    const deflated = Buffer.allocUnsafe(Math.max(0, size));
    const read = readSync(fd, deflated, 0, deflated.length, from);
    inflateRawSync(deflated.subarray(0, read), { maxOutputLength: CHECK_AT_ONCE_INFLATED });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return undefined;
    if ((err as NodeJS.ErrnoException).code?.startsWith('Z_')) return false;
    throw err;
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether the deflated part of a file ends as a deflate stream must: read and inflated in chunks,
 * the output thrown away, so memory stays flat whatever the image size. A file cut short fails.
 */
export async function deflatedStreamComplete(file: string, from: number): Promise<boolean> {
  let inflated = 0;
  try {
    await pipeline(createReadStream(file, { start: from }), createInflateRaw(), async function* count(source: AsyncIterable<Buffer>) {
      for await (const chunk of source) inflated += chunk.length;
    });
    return inflated > 0;
  } catch {
    return false;
  }
}

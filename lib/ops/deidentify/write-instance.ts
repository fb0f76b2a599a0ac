// Writing one de-identified instance into pypx's layout: the new header, then the input's pixel data
// byte for byte (streamed from the input file when it is large, so memory stays at the header's size),
// into a hidden file renamed into place when whole.
import { closeSync, createReadStream, createWriteStream, openSync, renameSync, rmSync, writeFileSync, writevSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw } from 'node:zlib';
import type { InstanceHeader } from '../../filing/header';
import { buildFiledPath, FILE_MODE, makeFolder, writeInfoFiles } from '../../filing/layout';
import { InstanceProblem, type PixelExtent, type ReadInstance } from './read-instance';

let writes = 0;

export interface OutputFolder {
  outDir: string;
  /** .info files written already, shared across instances. */
  knownInfo: Set<string>;
  /** Series folders made already in this run: not made again for every instance. */
  knownDirs: Set<string>;
}

/** The inflated bytes of a deflated file from `start` to `end`, inflated as they are read. */
async function* inflatedRange(file: string, pixels: PixelExtent & { deflatedFrom: number }): AsyncGenerator<Buffer> {
  const source = createReadStream(file, { start: pixels.deflatedFrom });
  const inflate = createInflateRaw();
  source.on('error', (err) => inflate.destroy(err));
  source.pipe(inflate);
  let position = 0;
  const { end } = pixels;
  try {
    for await (const chunk of inflate as AsyncIterable<Buffer>) {
      const from = Math.max(0, pixels.start - position);
      const to = Math.min(chunk.length, end - position);
      position += chunk.length;
      if (to > from) yield chunk.subarray(from, to);
      if (position >= end) return;
    }
  } catch {
    throw new InstanceProblem('failed', 'truncated: the deflated data set ends before its pixel data does');
  } finally {
    source.destroy();
    inflate.destroy();
  }
  if (position < end) throw new InstanceProblem('failed', 'truncated: the deflated data set ends before its pixel data does');
}

function pixelStream(file: string, pixels: PixelExtent): AsyncIterable<Buffer> {
  if (pixels.deflatedFrom !== undefined) return inflatedRange(file, { ...pixels, deflatedFrom: pixels.deflatedFrom });
  return createReadStream(file, { start: pixels.start, end: pixels.end - 1 });
}

/** Writes the header and the input's pixel data as the instance `header` describes, in its place in the layout; answers the path. */
/** The header and the pixel data in one write, without copying them into one buffer first. */
function writeBoth(file: string, head: Buffer, pixels: Buffer): void {
  const fd = openSync(file, 'w', FILE_MODE);
  try {
    // A write that ends short found the disk full, as filing's writes take it (writeInfoFiles).
    if (writevSync(fd, [head, pixels]) < head.length + pixels.length) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  } finally {
    closeSync(fd);
  }
}

export async function writeInstance(input: string, read: ReadInstance, head: Buffer, header: InstanceHeader, folder: OutputFolder): Promise<string> {
  const where = buildFiledPath(folder.outDir, header);
  if (!folder.knownDirs.has(where.seriesDir)) {
    makeFolder(where.seriesDir);
    writeInfoFiles(where, header, folder.knownInfo);
    folder.knownDirs.add(where.seriesDir);
  }
  // Hidden (a run over the output folder skips it), and unique to this write: two runs may write one instance at once.
  const partial = path.join(where.seriesDir, `.${path.basename(where.file)}.${process.pid}.${++writes}.part`);
  try {
    const { pixels, bytes } = read;
    if (!pixels) {
      writeFileSync(partial, head, { mode: FILE_MODE });
    } else if (bytes && pixels.deflatedFrom === undefined) {
      writeBoth(partial, head, bytes.subarray(pixels.start, pixels.end));
    } else {
      const file = input;
      await pipeline(Readable.from((async function* chunks() {
        yield head;
        yield* pixelStream(file, pixels);
      })()), createWriteStream(partial, { mode: FILE_MODE }));
    }
    renameSync(partial, where.file);
  } catch (err) {
    // The series folder was removed meanwhile (downstream processing): made again on the next instance.
    folder.knownDirs.delete(where.seriesDir);
    rmSync(partial, { force: true });
    throw err;
  }
  return where.file;
}

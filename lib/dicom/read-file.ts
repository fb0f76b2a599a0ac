// Reading a DICOM file's header without its pixel data, so that memory does not grow with image size.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DicomDataset, parseDicomBytes } from './dataset';
import { prefixDataSet, readPrefix } from './prefix';

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

/**
 * A received file's header, quick: the top-level elements up to Pixel Data walked in the first 64 KB,
 * those wanted described (with (0008,0005): the file's own character set is kept), only the bytes up to
 * Pixel Data copied. Falls back to readDicomHeaderSync for anything else (deflated, sequences of
 * undefined length, a longer header).
 */
export function readHeaderPrefixSync(file: string, options: { wanted?: ReadonlySet<number> } = {}): DicomDataset {
  const fd = openSync(file, 'r');
  let dataset: DicomDataset | undefined;
  try {
    const bytesRead = readSync(fd, firstRead, 0, FIRST_READ, 0);
    const whole = bytesRead < FIRST_READ;
    // Copied: firstRead is read into again for the next file.
    dataset = parseHeaderPrefix(firstRead.subarray(0, bytesRead), { ...options, whole, copy: true });
    if (dataset) dataset.fileSize = whole ? bytesRead : fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
  return dataset ?? readDicomHeaderSync(file);
}

/**
 * The same walk over bytes in memory (the first bytes of a file being written): undefined where it
 * does not walk simply, and dicom-parser must read them instead. `copy`: keep only the bytes up to
 * Pixel Data, copied, rather than a view of `bytes`.
 */
export function parseHeaderPrefix(bytes: Uint8Array, options: { wanted?: ReadonlySet<number>; whole: boolean; copy?: boolean }): DicomDataset | undefined {
  const prefix = readPrefix(bytes, options);
  if (!prefix) return undefined;
  return new DicomDataset(prefixDataSet(prefix, options.copy ? Buffer.from(bytes.subarray(0, prefix.end)) : bytes));
}

// Reading one input file for de-identification: its header (never its pixel data), and where the pixel
// data lies, to be copied byte for byte.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { type DicomDataset, DicomReadError, parseDicomBytes } from '../../dicom/dataset';
import { deflatedStreamCompleteSync } from '../../dicom/deflated';
import { readDicomHeaderSync } from '../../dicom/read-file';
import { encapsulatedEndInBytes, encapsulatedEndInFile } from '../../dicom/encapsulated';

/** Files up to this size are read whole and written at once; larger ones have their pixel data streamed. */
const READ_WHOLE = 1024 * 1024;
const PIXEL_DATA = 'x7fe00010';
const UNDEFINED_LENGTH = 0xffffffff;

/**
 * Where the Pixel Data element (tag, VR, length and value) lies: in the file, or, for a deflated file,
 * in its inflated data set, counted from where the deflated part starts. `end` undefined: to the end.
 */
export interface PixelExtent {
  start: number;
  end: number;
  /** Set for a deflated file: where its deflated part starts in the file. */
  deflatedFrom?: number;
}

export interface ReadInstance {
  dataset: DicomDataset;
  /** The whole file, when it is small enough to have been read whole. */
  bytes?: Buffer;
  pixels?: PixelExtent;
}

export class InstanceProblem extends Error {
  constructor(readonly outcome: 'failed' | 'refused', reason: string) {
    super(reason);
    this.name = 'InstanceProblem';
  }
}

function readWhole(file: string): { bytes?: Buffer; size: number } {
  const fd = openSync(file, 'r');
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new InstanceProblem('failed', 'not a regular file');
    if (info.size === 0) throw new InstanceProblem('failed', 'empty file (0 bytes): not DICOM');
    if (info.size > READ_WHOLE) return { size: info.size };
    const bytes = Buffer.allocUnsafe(info.size);
    const read = readSync(fd, bytes, 0, info.size, 0);
    return { bytes: bytes.subarray(0, read), size: read };
  } finally {
    closeSync(fd);
  }
}

/** The pixel data's extent, checked to lie whole within the file; undefined when there is none. */
function pixelExtent(file: string, dataset: DicomDataset, bytes: Buffer | undefined): PixelExtent | undefined {
  const pixels = dataset.extent(PIXEL_DATA);
  if (!pixels) return undefined;
  // Explicit VR OB/OW: tag, VR, 2 reserved bytes, 4 of length; implicit: tag and length.
  const headerLength = dataset.transferSyntax === '1.2.840.10008.1.2' ? 8 : 12;
  const undefinedLength = pixels.length === UNDEFINED_LENGTH;
  if (dataset.deflatedFrom !== undefined) {
    if (undefinedLength) throw new InstanceProblem('failed', 'a deflated file with encapsulated pixel data, which DICOM does not allow');
    const start = pixels.offset - headerLength - dataset.deflatedFrom;
    return { start, end: pixels.offset + pixels.length - dataset.deflatedFrom, deflatedFrom: dataset.deflatedFrom };
  }
  // What follows Pixel Data (Data Set Trailing Padding) is not copied.
  const size = dataset.fileSize ?? statSync(file).size;
  const end = !undefinedLength ? pixels.offset + pixels.length : bytes ? encapsulatedEndInBytes(bytes, pixels.offset) : encapsulatedEndInFile(file, pixels.offset);
  if (end === undefined || end > size) throw new InstanceProblem('failed', 'truncated: the file ends before its pixel data does');
  return { start: pixels.offset - headerLength, end };
}

/** Reads an input's header and finds its pixel data; InstanceProblem when it cannot be de-identified. */
export function readInstance(file: string): ReadInstance {
  const { bytes } = readWhole(file);
  let dataset: DicomDataset;
  try {
    dataset = bytes ? parseDicomBytes(bytes, { untilPixelData: true, source: file }) : readDicomHeaderSync(file);
  } catch (err) {
    if (err instanceof DicomReadError) throw new InstanceProblem('failed', `not a DICOM file that can be read: ${err.message.replace(`${file}: `, '')}`);
    throw err;
  }
  if (bytes) dataset.fileSize = bytes.length;
  if (dataset.deflatedFrom !== undefined && deflatedStreamCompleteSync(file, dataset.deflatedFrom) === false) {
    throw new InstanceProblem('failed', 'truncated: the deflated data set ends before its end');
  }
  if (!dataset.text('x00080018')) throw new InstanceProblem('failed', 'no SOP Instance UID (0008,0018): not a DICOM instance');
  if (!dataset.transferSyntax) throw new InstanceProblem('failed', 'no Transfer Syntax UID (0002,0010) in its meta header');
  return { dataset, bytes, pixels: pixelExtent(file, dataset, bytes) };
}

// What the de-identification tests look for: every identifying value an input holds (as its bytes in the
// file's own character set, and as UTF-8), the bytes of its pixel data, and what dciodvfy says of a file.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type dicomParser from 'dicom-parser';
import { decodeText, parseDicomBytes } from '../../lib/dicom/dataset';
import { lookupTag } from '../../lib/dicom/dictionary';
import { decide, isPrivate, type ProfileOptions } from '../../lib/ops/deidentify/profile';

type Parsed = dicomParser.Element & { items?: Array<{ dataSet?: dicomParser.DataSet }> };
const PIXEL_DATA = 'x7fe00010';
/** Shorter values (a sex, a one-digit number) say nothing alone, and turn up by chance. */
const MIN_BYTES = 4;
/** The values this tool writes itself (and the start of every patient pseudonym, ANON...). */
const WRITTEN = new Set(['ANONYMIZED', 'ANONYMOUS', 'ANON', '19000101', '19000101000000', '000000']);

export interface IdentifyingValue {
  tag: string;
  text: string;
  bytes: Buffer;
}

function trimmed(bytes: Uint8Array): Buffer {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0 || bytes[end - 1] === 0x20)) end--;
  return Buffer.from(bytes.buffer, bytes.byteOffset, end);
}

function collect(dataSet: dicomParser.DataSet, charset: string, options: ProfileOptions, out: IdentifyingValue[], kept: Buffer[]): void {
  for (const [key, element] of Object.entries(dataSet.elements) as Array<[string, Parsed]>) {
    const tag = parseInt(key.slice(1), 16);
    if (tag >>> 16 === 0x0002 || tag >>> 16 === 0xfffe || key === PIXEL_DATA) continue;
    const sequence = Boolean(element.items);
    const { action } = decide(tag, options, sequence);
    if (sequence) {
      for (const item of element.items ?? []) if (item.dataSet) collect(item.dataSet, charset, options, out, kept);
      continue;
    }
    const vr = element.vr && element.vr !== 'UN' ? element.vr : lookupTag(key)?.vr ?? 'UN';
    const raw = trimmed(dataSet.byteArray.subarray(element.dataOffset, element.dataOffset + element.length));
    if (action === 'K' && !isPrivate(tag)) {
      kept.push(raw);
      continue;
    }
    const binary = !/^[\x20-\x7e\x80-\xff\x1b\x0d\x0a]*$/.test(raw.toString('latin1'));
    if (binary && raw.length < 8) continue;
    const text = binary ? '' : decodeText(raw, vr, charset);
    if (text.startsWith('1.2.840.10008.')) continue;
    const values = new Map<string, Buffer>([[text || key, raw]]);
    if (text) {
      for (const part of text.split(/[\\^=]/)) values.set(part.trim(), Buffer.from(part.trim(), 'utf8'));
      values.set(text, Buffer.from(text, 'utf8'));
    }
    for (const [value, bytes] of values) {
      if (bytes.length >= MIN_BYTES && !WRITTEN.has(value)) out.push({ tag: key, text: value, bytes });
    }
  }
}

/** A file read whole, deflated ones inflated. */
export function readWhole(file: string): dicomParser.DataSet {
  return parseDicomBytes(readFileSync(file), { source: file }).dataSet;
}

/**
 * Every value of an attribute Table E.1-1 does not keep (with these options), and of every private one,
 * at any depth; but not those that an attribute it keeps holds too (a weight of 0.000000 beside a kept
 * 0.000000 says nothing of the patient).
 */
export function identifyingValues(file: string, options: ProfileOptions = {}): IdentifyingValue[] {
  const dataSet = readWhole(file);
  const charsetElement = dataSet.elements.x00080005;
  const charset = charsetElement ? trimmed(dataSet.byteArray.subarray(charsetElement.dataOffset, charsetElement.dataOffset + charsetElement.length)).toString('latin1') : '';
  const out: IdentifyingValue[] = [];
  const kept: Buffer[] = [];
  collect(dataSet, charset, options, out, kept);
  return out.filter((value) => !kept.some((bytes) => bytes.includes(value.bytes)));
}

/** The Pixel Data value as stored (fragments and delimiter included when encapsulated); empty when there is none. */
export function pixelBytes(file: string): Buffer {
  const dataSet = readWhole(file);
  const element = dataSet.elements[PIXEL_DATA];
  if (!element) return Buffer.alloc(0);
  return Buffer.from(dataSet.byteArray.subarray(element.dataOffset, element.dataOffset + element.length));
}

/** How often `needle` occurs in `haystack`. */
export function occurrences(haystack: Buffer, needle: Buffer): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) count++;
  return count;
}

/** dciodvfy's Error lines for a file, with values and item numbers left out so that input and output compare. */
export async function dciodvfyErrors(file: string): Promise<string[]> {
  const { stdout, stderr } = await promisify(execFile)('dciodvfy', ['-new', file], { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024 }).catch((err: { stdout: string; stderr: string }) => err);
  return `${stdout}\n${stderr}`.split('\n').filter((line) => line.startsWith('Error')).map((line) => line.replace(/=\s*<[^>]*>/g, '').replace(/\[[0-9]+\]/g, '').trim());
}

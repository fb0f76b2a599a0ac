// A minimal DICOM Part 10 writer (explicit VR little endian) for synthetic test and demo data.
import iconv from 'iconv-lite';

export type Vr = 'AE' | 'CS' | 'DA' | 'DS' | 'IS' | 'LO' | 'OB' | 'OW' | 'PN' | 'SH' | 'TM' | 'UI' | 'UL' | 'US' | 'UT' | 'LT' | 'ST';

export interface Element {
  tag: number; // (group << 16) | element
  vr: Vr;
  value: string | number | number[] | Buffer;
}

const LONG_LENGTH_VRS = new Set<Vr>(['OB', 'OW', 'UT']);
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

/** iconv-lite names for the single-byte and multi-byte DICOM character sets the samples use. */
const ENCODINGS: Record<string, string> = {
  '': 'latin1',
  'ISO_IR 6': 'latin1',
  'ISO_IR 100': 'latin1',
  'ISO_IR 101': 'iso-8859-2',
  'ISO_IR 144': 'iso-8859-5',
  'ISO_IR 126': 'iso-8859-7',
  'ISO_IR 127': 'iso-8859-6',
  'ISO_IR 138': 'iso-8859-8',
  'ISO_IR 192': 'utf8',
  GB18030: 'gb18030',
};

/**
 * Encodes text as the Specific Character Set says. The ISO 2022 sets switch with escape sequences:
 * ESC $ B selects JIS X 0208 (ISO 2022 IR 87), ESC $ ) C selects KS X 1001 (ISO 2022 IR 149),
 * and every run returns to ASCII before DICOM's ^ and = delimiters.
 */
export function encodeText(text: string, specificCharacterSet: string): Buffer {
  const sets = specificCharacterSet.split('\\');
  const extension = sets.find((s) => s.startsWith('ISO 2022 IR ') && s !== 'ISO 2022 IR 6');
  if (extension === 'ISO 2022 IR 87' || extension === 'ISO 2022 IR 149') {
    const parts: Buffer[] = [];
    for (const run of text.match(/[\x00-\x7f]+|[^\x00-\x7f]+/g) ?? []) {
      if (/^[\x00-\x7f]/.test(run)) {
        parts.push(Buffer.from(run, 'latin1'));
      } else if (extension === 'ISO 2022 IR 87') {
        const jis = Buffer.from(iconv.encode(run, 'euc-jp').map((b) => b & 0x7f));
        parts.push(Buffer.from([0x1b, 0x24, 0x42]), jis, Buffer.from([0x1b, 0x28, 0x42]));
      } else {
        parts.push(Buffer.from([0x1b, 0x24, 0x29, 0x43]), iconv.encode(run, 'euc-kr'));
      }
    }
    return Buffer.concat(parts);
  }
  const encoding = ENCODINGS[sets[0] ?? ''];
  if (!encoding) throw new Error(`sample writer cannot encode character set ${specificCharacterSet}`);
  return iconv.encode(text, encoding);
}

function valueBytes(element: Element, charset: string): Buffer {
  const { vr, value } = element;
  if (Buffer.isBuffer(value)) return value;
  if (vr === 'US') {
    const list = Array.isArray(value) ? value : [Number(value)];
    const buf = Buffer.alloc(2 * list.length);
    list.forEach((v, i) => buf.writeUInt16LE(v, 2 * i));
    return buf;
  }
  if (vr === 'UL') {
    const buf = Buffer.alloc(4);
    buf.writeUInt32LE(Number(value), 0);
    return buf;
  }
  const text = Array.isArray(value) ? value.join('\\') : String(value);
  const textual = ['PN', 'LO', 'SH', 'LT', 'ST', 'UT'].includes(vr);
  const bytes = textual ? encodeText(text, charset) : Buffer.from(text, 'latin1');
  if (bytes.length % 2 === 0) return bytes;
  return Buffer.concat([bytes, Buffer.from([vr === 'UI' ? 0 : 0x20])]);
}

function encodeElement(element: Element, charset: string): Buffer {
  const bytes = valueBytes(element, charset);
  const long = LONG_LENGTH_VRS.has(element.vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(element.tag >>> 16, 0);
  header.writeUInt16LE(element.tag & 0xffff, 2);
  header.write(element.vr, 4, 'latin1');
  if (long) header.writeUInt32LE(bytes.length, 8);
  else header.writeUInt16LE(bytes.length, 6);
  return Buffer.concat([header, bytes]);
}

/** A complete Part 10 file: preamble, DICM, file meta information, then the dataset sorted by tag. */
export function writeDicomFile(dataset: Element[], sopClassUid: string, sopInstanceUid: string): Buffer {
  const charsetElement = dataset.find((e) => e.tag === 0x00080005);
  const charset = charsetElement ? String(charsetElement.value) : '';
  const meta = [
    { tag: 0x00020001, vr: 'OB', value: Buffer.from([0, 1]) },
    { tag: 0x00020002, vr: 'UI', value: sopClassUid },
    { tag: 0x00020003, vr: 'UI', value: sopInstanceUid },
    { tag: 0x00020010, vr: 'UI', value: EXPLICIT_VR_LITTLE_ENDIAN },
    { tag: 0x00020012, vr: 'UI', value: '1.2.826.0.1.3680043.10.1109.1' },
    { tag: 0x00020013, vr: 'SH', value: 'PYPX_SAMPLE' },
  ].map((e) => encodeElement(e as Element, ''));
  const metaBody = Buffer.concat(meta);
  const groupLength = encodeElement({ tag: 0x00020000, vr: 'UL', value: metaBody.length }, '');
  const body = [...dataset].sort((a, b) => a.tag - b.tag).map((e) => encodeElement(e, charset));
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), groupLength, metaBody, ...body]);
}

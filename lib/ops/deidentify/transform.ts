// The profile applied to a data set read by dicom-parser, at every depth: the elements to write.
import type dicomParser from 'dicom-parser';
import { decodeText } from '../../dicom/dataset';
import { lookupTag } from '../../dicom/dictionary';
import { type OutElement, stringValue } from '../../dicom/write-dataset';
import { shiftDates } from './dates';
import type { PatientIdentifiers } from './descriptors';
import { dummyValue } from './dummies';
import { type Action, basicAction, decide, type ProfileOptions } from './profile';
import type { Pseudonyms } from './pseudonyms';

export interface TransformContext {
  options: ProfileOptions;
  pseudonyms: Pseudonyms;
  /** (0008,0005) of the data set: kept text is decoded by it for the Clean Descriptors check. */
  charset: string;
  identifiers: PatientIdentifiers;
  /** Days every date moves back by, with Retain Longitudinal Temporal Information with Modified Dates. */
  dayShift: number;
  /** Top-level tags the caller writes itself (the patient's pseudonym, the de-identification method). */
  writtenByCaller: ReadonlySet<number>;
  /**
   * Where the data set proper starts among the bytes read: dicom-parser, given a deflated file, also lists
   * bogus elements read from its preamble; those before this offset are not the data set's.
   */
  dataSetStart: number;
}

const PIXEL_DATA = 0x7fe00010;
/** VRs whose values are text that may name someone: checked by Clean Descriptors. */
const DESCRIPTIVE_VRS = new Set(['LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UT', 'CS', 'AE']);

type ParsedElement = dicomParser.Element & { items?: Array<{ dataSet?: dicomParser.DataSet }>; hadUndefinedLength?: boolean };

interface Found {
  tag: number;
  /** The VR as read (explicit files), else from the dictionary. */
  vr: string;
  /** The VR values are decided by: the dictionary's where the file says UN. */
  meaningVr: string;
  element: ParsedElement;
  bytes: Uint8Array;
}

function describe(key: string, element: ParsedElement, byteArray: Uint8Array): Found {
  const tag = parseInt(key.slice(1), 16);
  const known = element.items ? 'SQ' : element.vr && element.vr !== 'UN' ? element.vr : lookupTag(key)?.vr;
  const vr = element.items ? 'SQ' : element.vr ?? known ?? 'UN';
  return { tag, vr, meaningVr: known ?? vr, element, bytes: byteArray.subarray(element.dataOffset, element.dataOffset + element.length) };
}

function text(found: Found, context: TransformContext): string {
  return decodeText(found.bytes, found.meaningVr, context.charset);
}

function replaced(found: Found, value: string): OutElement {
  return { tag: found.tag, vr: found.meaningVr, value: stringValue(value, found.meaningVr) };
}

function kept(found: Found): OutElement {
  return { tag: found.tag, vr: found.vr, value: found.bytes, ...(found.element.hadUndefinedLength ? { undefinedLength: true } : {}) };
}

/** A UID value's pseudonym (each of several, joined by backslash). */
function pseudonymUid(found: Found, context: TransformContext): OutElement {
  const uids = text(found, context).split('\\').map((uid) => context.pseudonyms.uid(uid.trim()));
  return { tag: found.tag, vr: 'UI', value: stringValue(uids.join('\\'), 'UI') };
}

/** A sequence with the profile applied inside each of its items. */
function sequence(found: Found, context: TransformContext): OutElement {
  const items = (found.element.items ?? []).map((item) => (item.dataSet ? transformDataSet(item.dataSet, context, false) : []));
  return { tag: found.tag, vr: 'SQ', items };
}

function emptied(found: Found): OutElement {
  return found.vr === 'SQ' ? { tag: found.tag, vr: 'SQ', items: [] } : { tag: found.tag, vr: found.meaningVr, value: new Uint8Array(0) };
}

/** C: dates shifted; descriptions (and what the options keep "cleaned") kept where they name no one. */
function cleaned(found: Found, option: keyof ProfileOptions | undefined, context: TransformContext): OutElement | undefined {
  if (found.vr === 'SQ') return sequence(found, context);
  const value = text(found, context);
  if (option === 'retainLongitudinalModifiedDates' && (found.meaningVr === 'DA' || found.meaningVr === 'DT')) {
    if (!value) return kept(found);
    const shifted = shiftDates(value, found.meaningVr, context.dayShift);
    return shifted === undefined ? undefined : replaced(found, shifted);
  }
  if (!DESCRIPTIVE_VRS.has(found.meaningVr) || context.identifiers.passes(value)) return kept(found);
  return apply(found, basicAction(found.tag, false), undefined, context);
}

function apply(found: Found, action: Action, option: keyof ProfileOptions | undefined, context: TransformContext): OutElement | undefined {
  switch (action) {
    case 'X':
      return undefined;
    case 'Z':
      return emptied(found);
    case 'D':
      if (found.vr === 'SQ') return sequence(found, context);
      if (found.meaningVr === 'UI') return pseudonymUid(found, context);
      return { tag: found.tag, vr: found.meaningVr, value: dummyValue(found.meaningVr) };
    case 'U':
    case 'U*':
      if (found.vr === 'SQ') return sequence(found, context);
      return found.meaningVr === 'UI' ? pseudonymUid(found, context) : emptied(found);
    case 'C':
      return cleaned(found, option, context);
    case 'K':
      return found.vr === 'SQ' ? sequence(found, context) : kept(found);
  }
}

/**
 * The elements of a data set (or of one item of a sequence) to write: the file meta information,
 * group lengths and Pixel Data left out, the rest as the profile says.
 */
export function transformDataSet(dataSet: dicomParser.DataSet, context: TransformContext, top: boolean): OutElement[] {
  const out: OutElement[] = [];
  for (const [key, element] of Object.entries(dataSet.elements)) {
    const tag = parseInt(key.slice(1), 16);
    // Item delimiters are listed among an item's elements by dicom-parser; the writer makes its own.
    if (tag >>> 16 === 0x0002 || tag >>> 16 === 0xfffe || tag === PIXEL_DATA || (tag & 0xffff) === 0) continue;
    if (top && (context.writtenByCaller.has(tag) || element.dataOffset < context.dataSetStart)) continue;
    const found = describe(key, element as ParsedElement, dataSet.byteArray);
    const { action, option } = decide(tag, context.options, found.vr === 'SQ');
    const written = apply(found, action, option, context);
    if (written) out.push(written);
  }
  return out;
}

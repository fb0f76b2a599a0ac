// The DICOM data dictionary (PS3.6), from a maintained package: keywords, tags and VRs.
import { get_element as getElement, tags as keywordTags } from '@iwharris/dicom-data-dictionary';

export interface DictionaryEntry {
  keyword: string;
  /** pypx's spelling: "gggg,eeee", lower case. */
  tag: string;
  vr: string;
  retired: boolean;
}

const byTag = new Map<string, DictionaryEntry>();

function entryFor(keyword: string): DictionaryEntry | undefined {
  const element = getElement(keyword);
  if (!element || !element.keyword) return undefined;
  return {
    keyword: element.keyword,
    tag: element.tag.replace(/[()]/g, '').toLowerCase(),
    // Some entries list alternatives ("US or SS"); the first is what a query key needs.
    vr: element.vr.split(/\s+or\s+/)[0] ?? element.vr,
    retired: element.isRetired,
  };
}

/** The entry for a keyword such as "PatientName", or undefined when DICOM has no such keyword. */
export function lookupKeyword(keyword: string): DictionaryEntry | undefined {
  if (!Object.prototype.hasOwnProperty.call(keywordTags, keyword)) return undefined;
  return entryFor(keyword);
}

/** The entry for a tag written "gggg,eeee", "(gggg,eeee)", "ggggeeee" or dicom-parser's "xggggeeee". */
export function lookupTag(tag: string): DictionaryEntry | undefined {
  const hex = tag.replace(/^x/i, '').replace(/[(),]/g, '').toLowerCase();
  if (!/^[0-9a-f]{8}$/.test(hex)) return undefined;
  const key = `${hex.slice(0, 4)},${hex.slice(4)}`;
  if (!byTag.has(key)) {
    const element = getElement(`(${key.toUpperCase()})`);
    if (element?.keyword) byTag.set(key, entryFor(element.keyword) as DictionaryEntry);
    else return undefined;
  }
  return byTag.get(key);
}

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

/** Whether DICOM lets this element hold several values (VM other than 1), e.g. ModalitiesInStudy. */
export function allowsMultipleValues(keyword: string): boolean {
  if (!Object.prototype.hasOwnProperty.call(keywordTags, keyword)) return false;
  const vm = getElement(keyword)?.vm ?? '1';
  return vm.trim() !== '1';
}

let byLowerCase: Map<string, string> | undefined;
/** The keyword a mistyped one most likely meant: same letters in another case, else the closest spelling. */
export function nearestKeyword(typed: string): string | undefined {
  byLowerCase ??= new Map(Object.keys(keywordTags).map((k) => [k.toLowerCase(), k]));
  const lower = typed.toLowerCase();
  const sameLetters = byLowerCase.get(lower);
  if (sameLetters) return sameLetters;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(typed.length / 4)) + 1;
  for (const [candidate, keyword] of byLowerCase) {
    if (Math.abs(candidate.length - lower.length) >= bestDistance) continue;
    const distance = editDistance(lower, candidate, bestDistance);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = keyword;
    }
  }
  return best;
}

/** Levenshtein distance, giving up (returning `limit`) once it cannot be under `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin >= limit) return limit;
    previous = current;
  }
  return previous[b.length] as number;
}

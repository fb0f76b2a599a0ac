// The DICOM data dictionary (PS3.6), from a maintained package (@iwharris/dicom-data-dictionary):
// keywords, tags and VRs. The package is one 1.3 MB script, whose compilation cost every start (a
// command's, Node-RED's) about 80 ms of CPU: the build (scripts/build.js) writes what is used of it as
// JSON beside this file (TABLE_FILE), read at the first lookup in a fifth of that. Where that file is
// missing (compiled by tsc alone), the package itself is read.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface DictionaryEntry {
  keyword: string;
  /** pypx's spelling: "gggg,eeee", lower case. */
  tag: string;
  vr: string;
  retired: boolean;
}

/** By keyword: the tag as PS3.6 writes it ("(0010,0010)"), VR, VM, and 1 when retired. */
type Table = Record<string, [tag: string, vr: string, vm: string, retired: 0 | 1]>;
export const TABLE_FILE = 'dictionary.json';

/** The table, from the package. */
export function tableFromPackage(): Table {
  const { tags, elements } = require('@iwharris/dicom-data-dictionary') as typeof import('@iwharris/dicom-data-dictionary');
  const table: Table = {};
  for (const [keyword, tag] of Object.entries(tags)) {
    const element = elements[tag];
    if (element?.keyword) table[keyword] = [element.tag, element.vr, element.vm, element.isRetired ? 1 : 0];
  }
  return table;
}

let loaded: Table | undefined;
function table(): Table {
  if (!loaded) {
    try {
      loaded = JSON.parse(readFileSync(path.join(__dirname, TABLE_FILE), 'utf8')) as Table;
    } catch {
      loaded = tableFromPackage();
    }
  }
  return loaded;
}

function rowOf(keyword: string): Table[string] | undefined {
  const all = table();
  return Object.prototype.hasOwnProperty.call(all, keyword) ? all[keyword] : undefined;
}

/** The entry for a keyword such as "PatientName", or undefined when DICOM has no such keyword. */
export function lookupKeyword(keyword: string): DictionaryEntry | undefined {
  const row = rowOf(keyword);
  if (!row) return undefined;
  const [tag, vr, , retired] = row;
  return {
    keyword,
    tag: tag.replace(/[()]/g, '').toLowerCase(),
    // Some entries list alternatives ("US or SS"); the first is what a query key needs.
    vr: vr.split(/\s+or\s+/)[0] ?? vr,
    retired: retired === 1,
  };
}

let keywordByTag: Map<string, string> | undefined;
/** The entry for a tag written "gggg,eeee", "(gggg,eeee)", "ggggeeee" or dicom-parser's "xggggeeee". */
export function lookupTag(tag: string): DictionaryEntry | undefined {
  const hex = tag.replace(/^x/i, '').replace(/[(),]/g, '').toLowerCase();
  if (!/^[0-9a-f]{8}$/.test(hex)) return undefined;
  keywordByTag ??= new Map(Object.entries(table()).map(([keyword, [written]]) => [written.replace(/[()]/g, '').toLowerCase(), keyword]));
  const keyword = keywordByTag.get(`${hex.slice(0, 4)},${hex.slice(4)}`);
  return keyword === undefined ? undefined : lookupKeyword(keyword);
}

/** Whether DICOM lets this element hold several values (VM other than 1), e.g. ModalitiesInStudy. */
export function allowsMultipleValues(keyword: string): boolean {
  const vm = rowOf(keyword)?.[2] ?? '1';
  return vm.trim() !== '1';
}

let byLowerCase: Map<string, string> | undefined;
/** The keyword a mistyped one most likely meant: same letters in another case, else the closest spelling. */
export function nearestKeyword(typed: string): string | undefined {
  byLowerCase ??= new Map(Object.keys(table()).map((k) => [k.toLowerCase(), k]));
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

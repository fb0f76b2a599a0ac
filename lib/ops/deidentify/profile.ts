// PS3.15 Table E.1-1 (data: confidentiality-profile.json, the standard's edition named there) as the one
// action each attribute gets under the Basic Profile and the options asked for.
import table from './confidentiality-profile.json';

/** The profile's options that can be asked for (PS3.15 E.3). */
export interface ProfileOptions {
  retainLongitudinalModifiedDates?: boolean;
  retainPatientCharacteristics?: boolean;
  retainDeviceIdentity?: boolean;
  retainInstitutionIdentity?: boolean;
  cleanDescriptors?: boolean;
}
type OptionName = keyof ProfileOptions;

/**
 * What is done to one attribute: X removed, Z emptied, D a dummy value, K kept, U a pseudonym UID,
 * C cleaned (dates shifted, text kept only where it names neither the patient nor their IDs),
 * `U*` a sequence kept with its UIDs replaced within.
 */
export type Action = 'X' | 'Z' | 'D' | 'K' | 'U' | 'C' | 'U*';

export interface Decision {
  action: Action;
  /** The option that chose the action, when one did. */
  option?: OptionName;
}

interface Row {
  tag: string;
  name: string;
  basic: string;
  options?: Partial<Record<string, string>>;
}

/** The options' precedence where one attribute is named by several. */
const OPTION_ORDER: OptionName[] = ['retainLongitudinalModifiedDates', 'retainPatientCharacteristics', 'retainDeviceIdentity', 'retainInstitutionIdentity', 'cleanDescriptors'];

/**
 * The Basic Profile's combined actions, made one. Without the module tables of every IOD, "X unless
 * required" is taken as what is valid whatever the attribute's type: a dummy where D is allowed (X/D,
 * X/Z/D, Z/D: a Type 1 attribute stays filled), else emptied (X/Z); X/Z/U* keeps the sequence and
 * replaces its UIDs. A sequence is emptied rather than given dummy items (SEQUENCE_COMBINED).
 */
const COMBINED: Record<string, Action> = { X: 'X', Z: 'Z', D: 'D', K: 'K', U: 'U', C: 'C', 'X/Z': 'Z', 'X/D': 'D', 'X/Z/D': 'D', 'Z/D': 'D', 'X/Z/U*': 'U*' };
const SEQUENCE_COMBINED: Record<string, Action> = { ...COMBINED, 'X/D': 'X', 'X/Z/D': 'Z', 'Z/D': 'Z' };

export const PROFILE_EDITION: string = table.standard;
const rows = new Map<number, Row>();
for (const row of table.attributes as Row[]) {
  if (/^[0-9A-F]{8}$/.test(row.tag)) rows.set(parseInt(row.tag, 16), row);
  if (!(row.basic in COMBINED)) throw new Error(`confidentiality-profile.json: ${row.tag} has the unknown action ${row.basic}`);
}
const CURVE_DATA = table.attributes.find((r) => r.tag === '50XXXXXX');
const OVERLAY = new Map(table.attributes.filter((r) => r.tag.startsWith('60XX')).map((r) => [parseInt(r.tag.slice(4), 16), r as Row]));

/** The row of Table E.1-1 for a tag, repeating groups (50xx,xxxx) and (60xx,eeee) included. */
function rowFor(tag: number): Row | undefined {
  const known = rows.get(tag);
  if (known) return known;
  const group = tag >>> 16;
  if ((group & 0xff00) === 0x5000 && group % 2 === 0) return CURVE_DATA as Row | undefined;
  if ((group & 0xff00) === 0x6000 && group % 2 === 0) return OVERLAY.get(tag & 0xffff);
  return undefined;
}

export function isPrivate(tag: number): boolean {
  return (tag >>> 16) % 2 === 1;
}

/** Whether Table E.1-1 names the attribute (private ones aside). */
export function inProfile(tag: number): boolean {
  return rowFor(tag) !== undefined;
}

/** The action for one attribute, at any depth: private ones removed; those the table does not name kept. */
export function decide(tag: number, options: ProfileOptions, sequence: boolean): Decision {
  if (isPrivate(tag)) return { action: 'X' };
  const row = rowFor(tag);
  if (!row) return { action: 'K' };
  for (const option of OPTION_ORDER) {
    const action = options[option] ? row.options?.[option] : undefined;
    if (action === 'K' || action === 'C') return { action, option };
  }
  return { action: (sequence ? SEQUENCE_COMBINED : COMBINED)[row.basic] as Action };
}

/** The Basic Profile's own action, options aside (what a description that fails the check gets). */
export function basicAction(tag: number, sequence: boolean): Action {
  return decide(tag, {}, sequence).action;
}

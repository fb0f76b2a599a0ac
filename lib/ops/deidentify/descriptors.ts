// Clean Descriptors: a description is kept only where it names neither the patient nor one of their IDs.

/** Where names and IDs of the patient are, at the top level of a data set. */
export const NAME_TAGS = [0x00100010, 0x00101001, 0x00101005, 0x00101060];
export const ID_TAGS = [0x00100020, 0x00101000, 0x00080050, 0x00101090, 0x00100030];
/** Other Patient IDs Sequence: the Patient IDs in its items are IDs of the patient too. */
export const OTHER_IDS_SEQUENCE = 0x00101002;

const WORDS = /[^\p{L}\p{N}]+/u;
/** IDs this long are looked for inside words too ("ID12345-A"); shorter ones only as whole words. */
const SUBSTRING_FROM = 4;

export class PatientIdentifiers {
  private readonly words = new Set<string>();
  private readonly ids: string[] = [];

  /** Names are matched word by word (each of their parts); IDs as whole values. */
  add(kind: 'name' | 'id', value: string): void {
    for (const one of value.split('\\')) {
      const text = one.trim().toLowerCase();
      if (!text) continue;
      if (kind === 'id') {
        if (text.length >= SUBSTRING_FROM) this.ids.push(text);
        else this.words.add(text);
      } else {
        for (const word of text.split(WORDS)) if (word.length >= 2) this.words.add(word);
      }
    }
  }

  /** Whether a description names none of the patient's names or IDs. */
  passes(description: string): boolean {
    const text = description.toLowerCase();
    if (this.ids.some((id) => text.includes(id))) return false;
    return !text.split(WORDS).some((word) => this.words.has(word));
  }
}

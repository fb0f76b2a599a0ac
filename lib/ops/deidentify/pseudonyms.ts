// Everything derived from the key: HMAC-SHA-256 of the original value, so that the same key gives the
// same pseudonyms on every run and every machine, and another key others.
import { createHmac } from 'node:crypto';

/** UIDs of DICOM itself (SOP classes, transfer syntaxes, coding schemes): never replaced. */
const STANDARD_UID_ROOT = '1.2.840.10008.';
const REMEMBERED = 10000;

export class Pseudonyms {
  private readonly uids = new Map<string, string>();
  /** Each patient's pseudonym and day shift: the same for every instance of a study, asked for every instance. */
  private readonly patients = new Map<string, { pseudonym: string; dayShift: number }>();

  constructor(private readonly key: Buffer) {}

  private digest(purpose: string, value: string): Buffer {
    return createHmac('sha256', this.key).update(`${purpose}\0${value}`, 'utf8').digest();
  }

  /** A UID's pseudonym: "2.25." and the decimal of 128 bits (PS3.5 B.2); DICOM's own UIDs unchanged. */
  uid(original: string): string {
    if (!original || original.startsWith(STANDARD_UID_ROOT)) return original;
    let known = this.uids.get(original);
    if (known === undefined) {
      known = `2.25.${BigInt(`0x${this.digest('uid', original).subarray(0, 16).toString('hex')}`).toString(10)}`;
      if (this.uids.size >= REMEMBERED) this.uids.clear();
      this.uids.set(original, known);
    }
    return known;
  }

  private known(identity: string): { pseudonym: string; dayShift: number } {
    let known = this.patients.get(identity);
    if (known === undefined) {
      known = {
        pseudonym: `ANON${this.digest('patient', identity).subarray(0, 8).toString('hex').toUpperCase()}`,
        dayShift: 1 + (this.digest('dates', identity).readUInt32BE(0) % 3652),
      };
      if (this.patients.size >= REMEMBERED) this.patients.clear();
      this.patients.set(identity, known);
    }
    return known;
  }

  /** A patient's pseudonym, for Patient ID and Patient's Name: "ANON" and 16 hex digits (64 bits). */
  patient(identity: string): string {
    return this.known(identity).pseudonym;
  }

  /** Days a patient's dates move back by: between 1 and 3652, the same for every instance of the patient. */
  dayShift(identity: string): number {
    return this.known(identity).dayShift;
  }
}

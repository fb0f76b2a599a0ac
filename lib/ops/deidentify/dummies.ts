// Dummy values (action D): non-empty, valid for their VR, the same for every instance.
import { stringValue } from '../../dicom/write-dataset';

const TEXT_DUMMIES: Record<string, string> = {
  AE: 'ANONYMOUS', AS: '000Y', CS: 'ANONYMIZED', DA: '19000101', DT: '19000101000000', TM: '000000',
  DS: '0', IS: '0', LO: 'ANONYMIZED', LT: 'ANONYMIZED', PN: 'ANONYMIZED', SH: 'ANONYMIZED',
  ST: 'ANONYMIZED', UC: 'ANONYMIZED', UT: 'ANONYMIZED', UR: 'urn:anonymized',
};
const BINARY_SIZES: Record<string, number> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, AT: 4, FD: 8, SV: 8, UV: 8 };

/** The dummy value of a VR (zeros for binary ones); UIDs get pseudonyms, never dummies. */
export function dummyValue(vr: string): Buffer {
  const text = TEXT_DUMMIES[vr];
  if (text !== undefined) return stringValue(text, vr);
  return Buffer.alloc(BINARY_SIZES[vr] ?? 2);
}

// DICOM UIDs (PS3.5 9.1): numeric components separated by dots, no leading zeros, at most 64 characters.

const UID_COMPONENT = /^(0|[1-9][0-9]*)$/;

/** A UID as a PACS may pad it (trailing NUL or spaces, PS3.5 6.2) brought back to its value. */
export function trimUid(value: string): string {
  return value.replace(/[\0 ]+$/, '').replace(/^ +/, '');
}

/** Why a value is not a DICOM UID, or undefined when it is one. */
export function uidProblem(uid: string): string | undefined {
  if (uid.length === 0) return 'is empty';
  if (uid.length > 64) return `is ${uid.length} characters long; DICOM allows at most 64`;
  if (!/^[0-9.]+$/.test(uid)) {
    const bad = [...uid].find((c) => !/[0-9.]/.test(c)) ?? '';
    return `contains ${JSON.stringify(bad)}; a UID has only digits and dots`;
  }
  const components = uid.split('.');
  const wrong = components.find((c) => !UID_COMPONENT.test(c));
  if (wrong === '') return 'has an empty component (two dots in a row, or a dot at an end)';
  if (wrong !== undefined) return `has the component "${wrong}" with a leading zero`;
  return undefined;
}

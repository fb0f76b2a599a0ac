// Instances that may show the patient in their pixels: refused unless the caller allows them, since
// pixels are copied as they are, never looked at.

/**
 * SOP classes whose images commonly carry burned-in text or show the patient: secondary captures
 * (screenshots, scanned documents), ultrasound, visible-light photographs and video, and encapsulated
 * documents (the document itself is the payload, and it is not read).
 */
export const BURNED_IN_CLASSES: ReadonlyMap<string, string> = new Map([
  ['1.2.840.10008.5.1.4.1.1.7', 'Secondary Capture Image'],
  ['1.2.840.10008.5.1.4.1.1.7.1', 'Multi-frame Single Bit Secondary Capture Image'],
  ['1.2.840.10008.5.1.4.1.1.7.2', 'Multi-frame Grayscale Byte Secondary Capture Image'],
  ['1.2.840.10008.5.1.4.1.1.7.3', 'Multi-frame Grayscale Word Secondary Capture Image'],
  ['1.2.840.10008.5.1.4.1.1.7.4', 'Multi-frame True Color Secondary Capture Image'],
  ['1.2.840.10008.5.1.4.1.1.6.1', 'Ultrasound Image'],
  ['1.2.840.10008.5.1.4.1.1.6.2', 'Enhanced US Volume'],
  ['1.2.840.10008.5.1.4.1.1.3.1', 'Ultrasound Multi-frame Image'],
  ['1.2.840.10008.5.1.4.1.1.6', 'Ultrasound Image (retired)'],
  ['1.2.840.10008.5.1.4.1.1.3', 'Ultrasound Multi-frame Image (retired)'],
  ['1.2.840.10008.5.1.4.1.1.77.1.1', 'VL Endoscopic Image'],
  ['1.2.840.10008.5.1.4.1.1.77.1.1.1', 'Video Endoscopic Image'],
  ['1.2.840.10008.5.1.4.1.1.77.1.2', 'VL Microscopic Image'],
  ['1.2.840.10008.5.1.4.1.1.77.1.2.1', 'Video Microscopic Image'],
  ['1.2.840.10008.5.1.4.1.1.77.1.4', 'VL Photographic Image'],
  ['1.2.840.10008.5.1.4.1.1.77.1.4.1', 'Video Photographic Image'],
  ['1.2.840.10008.5.1.4.1.1.104.1', 'Encapsulated PDF'],
  ['1.2.840.10008.5.1.4.1.1.104.2', 'Encapsulated CDA'],
]);

/**
 * Why an instance may show the patient in its pixels, or undefined: Burned In Annotation (0028,0301)
 * YES, or a class of BURNED_IN_CLASSES that does not say NO.
 */
export function burnedInReason(sopClass: string, burnedInAnnotation: string | undefined): string | undefined {
  const said = burnedInAnnotation?.trim().toUpperCase();
  if (said === 'YES') return 'Burned In Annotation (0028,0301) is YES: its pixels may show who the patient is';
  const name = BURNED_IN_CLASSES.get(sopClass);
  if (name && said !== 'NO') {
    return `a ${name} that does not say Burned In Annotation (0028,0301) NO: such images commonly show who the patient is in their pixels`;
  }
  return undefined;
}

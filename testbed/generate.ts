// Synthetic DICOM studies for tests, the demo and benchmarks: patients x studies x series x instances,
// with names in several character sets. Deterministic: the same options give the same UIDs and bytes.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Element, writeDicomFile } from './dicom-writer';

export interface SamplePatient {
  id: string;
  /** DICOM PN: Family^Given, with =ideographic=phonetic groups where the set uses them. */
  name: string;
  /** Specific Character Set (0008,0005) the name is written in. */
  charset: string;
  sex?: 'M' | 'F' | 'O';
  birthDate?: string;
}

/** Names a PACS meets, in the character sets DICOM defines for them. */
export const SAMPLE_PATIENTS: SamplePatient[] = [
  { id: 'PX0001', name: 'Smith^John', charset: '', sex: 'M', birthDate: '19600214' },
  { id: 'PX0002', name: 'Müller^Jürgen', charset: 'ISO_IR 100', sex: 'M', birthDate: '19721105' },
  { id: 'PX0003', name: 'Иванов^Иван', charset: 'ISO_IR 144', sex: 'M', birthDate: '19850330' },
  { id: 'PX0004', name: 'Παπαδόπουλος^Γιώργος', charset: 'ISO_IR 126', sex: 'M', birthDate: '19910712' },
  { id: 'PX0005', name: 'Yamada^Tarou=山田^太郎=やまだ^たろう', charset: '\\ISO 2022 IR 87', sex: 'M', birthDate: '19780102' },
  { id: 'PX0006', name: 'Hong^Gildong=洪^吉洞=홍^길동', charset: '\\ISO 2022 IR 149', sex: 'M', birthDate: '19660918' },
  { id: 'PX0007', name: 'Wang^XiaoDong=王^小东', charset: 'GB18030', sex: 'M', birthDate: '19990521' },
  { id: 'PX0008', name: 'Ñúñez^Zoë', charset: 'ISO_IR 192', sex: 'F', birthDate: '20010101' },
  { id: 'PX0009', name: 'قباني^لنزار', charset: 'ISO_IR 127', sex: 'M', birthDate: '19230321' },
  { id: 'PX0010', name: 'שרון^דבורה', charset: 'ISO_IR 138', sex: 'F', birthDate: '19480815' },
];

export interface SampleOptions {
  patients?: SamplePatient[];
  studiesPerPatient?: number;
  seriesPerStudy?: number;
  instancesPerSeries?: number;
  /** Changes every UID, so that several sample sets can live in one PACS. */
  seed?: string;
  /** Rows and columns of the (blank) image; default 8. */
  imageSize?: number;
  /** Elements that replace (same tag) or join every instance's dataset: for hostile or odd values. */
  tags?: Element[];
}

export interface SampleInstance {
  patientID: string;
  patientName: string;
  charset: string;
  studyInstanceUID: string;
  studyDate: string;
  studyDescription: string;
  seriesInstanceUID: string;
  seriesDescription: string;
  seriesNumber: number;
  modality: string;
  sopInstanceUID: string;
  sopClassUID: string;
  instanceNumber: number;
  bytes: Buffer;
}

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';

/** A UID under 2.25 (ISO/IEC 9834-8) derived from a name, so the same sample gets the same UID. */
export function sampleUid(...parts: Array<string | number>): string {
  const digest = createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 30);
  return `2.25.${BigInt(`0x${digest}`).toString()}`;
}

function studyDateFor(index: number): string {
  const date = new Date(Date.UTC(2019, 0, 1) + index * 37 * 86400000);
  return date.toISOString().slice(0, 10).replace(/-/g, '');
}

export function* generateSampleInstances(options: SampleOptions = {}): Generator<SampleInstance> {
  const patients = options.patients ?? SAMPLE_PATIENTS;
  const studies = options.studiesPerPatient ?? 1;
  const seriesCount = options.seriesPerStudy ?? 2;
  const instances = options.instancesPerSeries ?? 3;
  const seed = options.seed ?? 'pypx';
  const size = options.imageSize ?? 8;
  const pixels = Buffer.alloc(size * size * 2);

  let studyIndex = 0;
  for (const patient of patients) {
    for (let st = 1; st <= studies; st++, studyIndex++) {
      const studyInstanceUID = sampleUid(seed, patient.id, 'study', st);
      const studyDate = studyDateFor(studyIndex);
      const studyDescription = st % 2 ? 'CT Chest' : 'MR Brain';
      for (let se = 1; se <= seriesCount; se++) {
        const modality = st % 2 ? 'CT' : 'MR';
        const sopClassUID = modality === 'CT' ? CT_IMAGE_STORAGE : MR_IMAGE_STORAGE;
        const seriesInstanceUID = sampleUid(seed, patient.id, 'study', st, 'series', se);
        const seriesDescription = `${modality} series ${se}`;
        for (let n = 1; n <= instances; n++) {
          const sopInstanceUID = sampleUid(seed, patient.id, 'study', st, 'series', se, 'instance', n);
          const dataset: Element[] = [
            { tag: 0x00080005, vr: 'CS', value: patient.charset },
            { tag: 0x00080008, vr: 'CS', value: 'ORIGINAL\\PRIMARY\\AXIAL' },
            { tag: 0x00080016, vr: 'UI', value: sopClassUID },
            { tag: 0x00080018, vr: 'UI', value: sopInstanceUID },
            { tag: 0x00080020, vr: 'DA', value: studyDate },
            { tag: 0x00080021, vr: 'DA', value: studyDate },
            { tag: 0x00080030, vr: 'TM', value: '093000' },
            { tag: 0x00080050, vr: 'SH', value: `ACC${String(studyIndex + 1).padStart(5, '0')}` },
            { tag: 0x00080060, vr: 'CS', value: modality },
            { tag: 0x00080090, vr: 'PN', value: '' },
            { tag: 0x00081030, vr: 'LO', value: studyDescription },
            { tag: 0x0008103e, vr: 'LO', value: seriesDescription },
            { tag: 0x00100010, vr: 'PN', value: patient.name },
            { tag: 0x00100020, vr: 'LO', value: patient.id },
            { tag: 0x00100030, vr: 'DA', value: patient.birthDate ?? '' },
            { tag: 0x00100040, vr: 'CS', value: patient.sex ?? 'O' },
            { tag: 0x0020000d, vr: 'UI', value: studyInstanceUID },
            { tag: 0x0020000e, vr: 'UI', value: seriesInstanceUID },
            { tag: 0x00200010, vr: 'SH', value: String(st) },
            { tag: 0x00200011, vr: 'IS', value: String(se) },
            { tag: 0x00200013, vr: 'IS', value: String(n) },
            { tag: 0x00280002, vr: 'US', value: 1 },
            { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
            { tag: 0x00280010, vr: 'US', value: size },
            { tag: 0x00280011, vr: 'US', value: size },
            { tag: 0x00280100, vr: 'US', value: 16 },
            { tag: 0x00280101, vr: 'US', value: 12 },
            { tag: 0x00280102, vr: 'US', value: 11 },
            { tag: 0x00280103, vr: 'US', value: 0 },
            { tag: 0x7fe00010, vr: 'OW', value: pixels },
          ];
          if (!patient.charset) dataset.shift();
          for (const extra of options.tags ?? []) {
            const at = dataset.findIndex((e) => e.tag === extra.tag);
            if (at >= 0) dataset[at] = extra;
            else dataset.push(extra);
          }
          yield {
            patientID: patient.id,
            patientName: patient.name,
            charset: patient.charset,
            studyInstanceUID,
            studyDate,
            studyDescription,
            seriesInstanceUID,
            seriesDescription,
            seriesNumber: se,
            modality,
            sopInstanceUID,
            sopClassUID,
            instanceNumber: n,
            bytes: writeDicomFile(dataset, sopClassUID, sopInstanceUID),
          };
        }
      }
    }
  }
}

/** Writes each sample instance as <dir>/<SOPInstanceUID>.dcm and returns what was written. */
export async function writeSampleInstances(dir: string, options: SampleOptions = {}): Promise<SampleInstance[]> {
  await mkdir(dir, { recursive: true });
  const written: SampleInstance[] = [];
  for (const instance of generateSampleInstances(options)) {
    await writeFile(path.join(dir, `${instance.sopInstanceUID}.dcm`), instance.bytes);
    written.push(instance);
  }
  return written;
}

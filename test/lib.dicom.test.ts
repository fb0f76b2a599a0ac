import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readDicomHeader, parseDicomBytes } from '../lib/dicom';
import { lookupKeyword, lookupTag } from '../lib/dictionary';
import { generateSampleInstances, SAMPLE_PATIENTS } from '../testbed/generate';

describe('reading DICOM', () => {
  it('decodes names in every sample character set exactly, by the file\'s own Specific Character Set', () => {
    const seen = new Map<string, string>();
    for (const instance of generateSampleInstances({ seriesPerStudy: 1, instancesPerSeries: 1 })) {
      const dataset = parseDicomBytes(instance.bytes, { untilPixelData: true });
      assert.equal(dataset.specificCharacterSet, instance.charset);
      seen.set(instance.charset, dataset.text('x00100010') ?? '');
    }
    for (const patient of SAMPLE_PATIENTS) assert.equal(seen.get(patient.charset), patient.name, patient.charset);
  });

  it('reads a header from disk without the pixel data, and gives numbers in binary VRs as text', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-dicom-'));
    try {
      const [instance] = generateSampleInstances({ imageSize: 512, seriesPerStudy: 1, instancesPerSeries: 1 });
      const file = path.join(dir, 'big.dcm');
      await writeFile(file, instance!.bytes);
      const dataset = await readDicomHeader(file);
      assert.equal(dataset.text('x00080018'), instance!.sopInstanceUID);
      assert.equal(dataset.text('x00280010'), '512');
      assert.equal(dataset.text('x7fe00010'), undefined);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('names the file when it is not DICOM', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-dicom-'));
    try {
      const file = path.join(dir, 'junk.dcm');
      await writeFile(file, Buffer.from('this is not DICOM at all'));
      await assert.rejects(readDicomHeader(file), (err: Error) => err.message.startsWith(`${file}: cannot read DICOM`));
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('knows keywords and tags from the standard dictionary', () => {
    assert.deepEqual(lookupKeyword('PatientName'), { keyword: 'PatientName', tag: '0010,0010', vr: 'PN', retired: false });
    assert.equal(lookupKeyword('PatientNam'), undefined);
    assert.equal(lookupKeyword('toString'), undefined);
    assert.equal(lookupTag('x0020000e')?.keyword, 'SeriesInstanceUID');
    assert.equal(lookupTag('(0008,0052)')?.keyword, 'QueryRetrieveLevel');
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseDicomBytes } from '../lib/dicom/dataset';
import { lookupKeyword, lookupTag } from '../lib/dicom/dictionary';
import { writeDicomFile } from '../testbed/dicom-writer';
import { generateSampleInstances, SAMPLE_PATIENTS } from '../testbed/generate';
import { instanceHeader, readReceivedHeader } from '../lib/filing/header';
import { readDicomHeader, readDicomHeaderSync } from '../lib/dicom/read-file';

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

  it('decodes plain ASCII text by the character set too: ISO_IR 13 reads a backslash in LT as a yen sign', () => {
    const file = () => writeDicomFile([
      { tag: 0x00080005, vr: 'CS', value: 'ISO_IR 100' },
      { tag: 0x00080018, vr: 'UI', value: '1.2.3' },
      { tag: 0x00100010, vr: 'PN', value: 'Doe^Jane' },
      { tag: 0x00204000, vr: 'LT', value: 'C:\\images' },
    ], '1.2.840.10008.5.1.4.1.1.7', '1.2.3');
    const latin1 = parseDicomBytes(file());
    assert.equal(latin1.text('x00204000'), 'C:\\images');
    // Same length as 'ISO_IR 100' once padded: only the character set differs.
    const bytes = file();
    const at = bytes.indexOf('ISO_IR 100', 0, 'latin1');
    bytes.write('ISO_IR 13 ', at, 'latin1');
    const katakana = parseDicomBytes(bytes);
    assert.equal(katakana.specificCharacterSet, 'ISO_IR 13');
    assert.equal(katakana.text('x00204000'), 'C:¥images');
    assert.equal(katakana.text('x00100010'), 'Doe^Jane');
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

  it('reads a received header quickly as dicom-parser reads it: every character set, implicit, big endian, deflated, a header past 64 KB', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-dicom-'));
    try {
      const files: string[] = [];
      for (const instance of generateSampleInstances({ seriesPerStudy: 1, instancesPerSeries: 1, imageSize: 64 })) {
        const file = path.join(dir, `${instance.sopInstanceUID}.dcm`);
        await writeFile(file, instance.bytes);
        files.push(file);
        for (const syntax of ['+ti', '+tb', '+td']) {
          const converted = `${file}${syntax}.dcm`;
          await promisify(execFile)('dcmconv', [syntax, file, converted]);
          files.push(converted);
        }
      }
      // The tags filing needs after a 70 KB value: beyond the first read, so read again in full.
      const long = path.join(dir, 'long.dcm');
      await writeFile(long, writeDicomFile([
        { tag: 0x00080005, vr: 'CS', value: 'ISO_IR 100' },
        { tag: 0x00080018, vr: 'UI', value: '1.2.3.4' },
        { tag: 0x00081030, vr: 'LO', value: 'Étude' },
        { tag: 0x00090010, vr: 'LO', value: 'PYPX' },
        { tag: 0x00091000, vr: 'UT', value: 'x'.repeat(70000) },
        { tag: 0x00100010, vr: 'PN', value: 'Müller^Jürgen' },
        { tag: 0x0020000e, vr: 'UI', value: '1.2.3.5' },
      ], '1.2.840.10008.5.1.4.1.1.7', '1.2.3.4'));
      files.push(long);
      for (const file of files) {
        const expected = instanceHeader(readDicomHeaderSync(file));
        assert.ok(expected.SOPInstanceUID && expected.PatientName, file);
        assert.deepEqual(readReceivedHeader(file, false).header, expected, file);
        assert.deepEqual(readReceivedHeader(file, true).header, expected, `${file}, checked whole`);
      }
      assert.equal(readReceivedHeader(long, false).header.PatientName, 'Müller^Jürgen');
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

// What de-identification refuses or fails on, one file at a time: images that may show the patient,
// empty, truncated and non-DICOM files; and an image far larger than memory grows for.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { deidentify } from '../lib';
import { generateSampleInstances, writeSampleInstances } from '../testbed/generate';

const KEY = 'k3y';
const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';

describe('deidentify(): refusals and failures', function () {
  this.timeout(300000);
  let work: string;
  before(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'pypx-deid-refuse-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('refuses Burned In Annotation YES, and a secondary capture that does not say NO, unless allowBurnedIn', async () => {
    const dir = path.join(work, 'burned');
    const [yes] = await writeSampleInstances(path.join(dir, 'yes'), { patients: [{ id: 'B1', name: 'Burned^Yes', charset: '' }], seriesPerStudy: 1, instancesPerSeries: 1, tags: [{ tag: 0x00280301, vr: 'CS', value: 'YES' }] });
    const [sc] = await writeSampleInstances(path.join(dir, 'sc'), { patients: [{ id: 'B2', name: 'Capture^Silent', charset: '' }], seriesPerStudy: 1, instancesPerSeries: 1, tags: [{ tag: 0x00080016, vr: 'UI', value: SECONDARY_CAPTURE }] });
    await writeSampleInstances(path.join(dir, 'no'), { patients: [{ id: 'B3', name: 'Capture^No', charset: '' }], seriesPerStudy: 1, instancesPerSeries: 1, tags: [{ tag: 0x00080016, vr: 'UI', value: SECONDARY_CAPTURE }, { tag: 0x00280301, vr: 'CS', value: 'NO' }] });
    assert.ok(yes && sc);
    const failures: string[] = [];
    const refused = await deidentify(dir, { key: KEY, outDir: path.join(work, 'burned-out'), onFailure: (f) => failures.push(f.reason) });
    assert.deepEqual([refused.deidentified, refused.refused, refused.failed, refused.status], [1, 2, 0, 'error']);
    assert.deepEqual(refused.data.failures.map((f) => [path.basename(path.dirname(f.input)), f.outcome]), [['sc', 'refused'], ['yes', 'refused']]);
    assert.match(refused.data.failures[1]?.reason ?? '', /Burned In Annotation \(0028,0301\) is YES/);
    assert.match(refused.data.failures[0]?.reason ?? '', /Secondary Capture Image that does not say Burned In Annotation \(0028,0301\) NO/);
    assert.equal(failures.length, 2);
    assert.equal(readdirSync(path.join(work, 'burned-out')).length, 1, 'nothing written for what was refused');
    const allowed = await deidentify(dir, { key: KEY, outDir: path.join(work, 'allowed-out'), allowBurnedIn: true });
    assert.deepEqual([allowed.deidentified, allowed.refused, allowed.status], [3, 0, 'success']);
  });

  it('fails a 0-byte, a truncated and a non-DICOM file alone, naming each, and writes the others', async () => {
    const dir = path.join(work, 'mixed');
    const samples = await writeSampleInstances(dir, { patients: [{ id: 'M1', name: 'Mixed^Bag', charset: '' }], seriesPerStudy: 1, instancesPerSeries: 3, imageSize: 64 });
    const whole = samples[0]?.bytes as Buffer;
    writeFileSync(path.join(dir, 'empty.dcm'), Buffer.alloc(0));
    writeFileSync(path.join(dir, 'cut-in-pixels.dcm'), whole.subarray(0, whole.length - 100));
    writeFileSync(path.join(dir, 'cut-in-header.dcm'), whole.subarray(0, 300));
    writeFileSync(path.join(dir, 'notes.txt'), 'Patient Mixed^Bag, see PACS\n');
    const result = await deidentify([dir, path.join(work, 'no-such-file.dcm')], { key: KEY, outDir: path.join(work, 'mixed-out') });
    assert.equal(result.deidentified, 3);
    assert.equal(result.failed, 5);
    assert.equal(result.status, 'error');
    const reasons = new Map(result.data.failures.map((f) => [path.basename(f.input), f.reason]));
    assert.match(reasons.get('empty.dcm') ?? '', /empty file/);
    assert.match(reasons.get('cut-in-pixels.dcm') ?? '', /truncated/);
    assert.match(reasons.get('cut-in-header.dcm') ?? '', /not a DICOM file that can be read/);
    assert.match(reasons.get('notes.txt') ?? '', /not a DICOM file/);
    assert.match(reasons.get('no-such-file.dcm') ?? '', /no such file/);
    const written = readdirSync(path.join(work, 'mixed-out'), { recursive: true }).map(String).filter((f) => f.endsWith('.dcm'));
    assert.equal(written.length, 3);
    assert.ok(!readdirSync(path.join(work, 'mixed-out'), { recursive: true }).map(String).some((f) => f.includes('.part')), 'no partial file left');
  });

  it('rejects a missing key or output folder before anything is read', async () => {
    await assert.rejects(deidentify(work, { key: '', outDir: path.join(work, 'x') }), /needs a key/);
    await assert.rejects(deidentify(work, { key: KEY, outDir: '' }), /output folder/);
  });

  it('streams a 300 MB image through without holding it in memory, byte for byte', async () => {
    const dir = path.join(work, 'large');
    mkdirSync(dir);
    const [sample] = generateSampleInstances({ patients: [{ id: 'L1', name: 'Large^Image', charset: '' }], seriesPerStudy: 1, instancesPerSeries: 1 });
    assert.ok(sample);
    // The sample's own Pixel Data (8x8, last in the file) grown to 300 MB: its length rewritten, the file extended (sparse).
    const size = 300 * 1024 * 1024;
    const bytes = Buffer.from(sample.bytes);
    const at = bytes.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57]));
    bytes.writeUInt32LE(size, at + 8);
    const input = path.join(dir, 'large.dcm');
    writeFileSync(input, bytes.subarray(0, at + 12));
    truncateSync(input, at + 12 + size);
    const fd = openSync(input, 'r+');
    writeSync(fd, Buffer.from('the last bytes of the image'), 0, 27, at + 12 + size - 27);
    closeSync(fd);
    const script = `require(${JSON.stringify(path.resolve(__dirname, '../lib'))}).deidentify(${JSON.stringify(input)}, { key: 'k', outDir: ${JSON.stringify(path.join(dir, 'out'))} })
      .then((r) => console.log(JSON.stringify({ path: r.data.instances[0].path, maxRssKb: process.resourceUsage().maxRSS })))`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script]);
    const { path: output, maxRssKb } = JSON.parse(stdout) as { path: string; maxRssKb: number };
    assert.ok(maxRssKb < 150 * 1024, `memory grew to ${Math.round(maxRssKb / 1024)} MB for a ${size / 1024 / 1024} MB image`);
    // Pixel Data is last in both: the same bytes end both files.
    const pixelsAt = statSync(output).size - size;
    assert.equal(await sha256(output, pixelsAt), await sha256(input, at + 12));
  });
});

/** SHA-256 of a file from an offset to its end, read as a stream. */
async function sha256(file: string, from: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { start: from })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

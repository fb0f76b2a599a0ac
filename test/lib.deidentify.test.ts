import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deidentify, type DeidentifiedInstance, type DeidentifyOptions } from '../lib';
import { readWhole, dciodvfyErrors, identifyingValues, occurrences, pixelBytes } from './support/deidentify-proof';
import { writeSampleInstances } from '../testbed/generate';

const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data';
const KEY = 'a research key';

/** The pydicom test and charset files (DICOM Part 10 files only: the others fail, as tested below). */
function pydicomFiles(): string[] {
  const out: string[] = [];
  for (const dir of ['test_files', 'charset_files']) {
    for (const name of readdirSync(path.join(PYDICOM, dir), { recursive: true }).map(String).sort()) {
      const file = path.join(PYDICOM, dir, name);
      if (statSync(file).isFile()) out.push(file);
    }
  }
  return out;
}

function text(file: string, tag: string): string {
  const dataSet = readWhole(file);
  return dataSet.string(tag) ?? '';
}

/**
 * Each input de-identified alone, into a folder of its own (pydicom's files share UIDs between
 * syntaxes), so that its output is known: input -> written instance.
 */
async function deidentifyEach(files: string[], outDir: string, options: Partial<DeidentifyOptions> = {}): Promise<Map<string, DeidentifiedInstance>> {
  const written = new Map<string, DeidentifiedInstance>();
  for (const [index, file] of files.entries()) {
    const result = await deidentify(file, { key: KEY, outDir: path.join(outDir, String(index)), allowBurnedIn: true, ...options });
    const instance = result.data.instances[0];
    if (instance) written.set(file, instance);
  }
  return written;
}

describe('deidentify(): PS3.15 Basic Profile over real files', function () {
  this.timeout(600000);
  let work: string;
  let written: Map<string, DeidentifiedInstance>;
  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'pypx-deid-'));
    const samples = path.join(work, 'samples');
    await writeSampleInstances(samples, { seriesPerStudy: 1, instancesPerSeries: 1, tags: [{ tag: 0x00081030, vr: 'LO', value: 'Smith PX0001 chest' }] });
    written = await deidentifyEach([...pydicomFiles(), ...readdirSync(samples).map((f) => path.join(samples, f))], path.join(work, 'out'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('de-identifies the pydicom files in every transfer syntax and character set, and every generated sample', () => {
    assert.ok(written.size >= 130, `only ${written.size} written`);
    for (const syntax of ['1.2.840.10008.1.2', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.5', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.50']) {
      assert.ok([...written.keys()].some((file) => text(file, 'x00020010') === syntax), `no input in ${syntax}`);
    }
  });

  it('leaves no value of an identifying attribute anywhere in the output bytes, in the file\'s encoding or in UTF-8', () => {
    let checked = 0;
    for (const [input, instance] of written) {
      const output = readFileSync(instance.path);
      // A value found in the input's pixel data too is copied with the image, not taken from the header.
      const pixels = pixelBytes(input);
      for (const value of identifyingValues(input)) {
        checked++;
        const found = occurrences(output, value.bytes);
        assert.ok(found <= occurrences(pixels, value.bytes), `${path.basename(input)}: ${value.tag} "${value.text}" is in ${instance.path}`);
      }
    }
    assert.ok(checked > 1000, `only ${checked} values checked`);
  });

  it('copies pixel data byte for byte, keeping the transfer syntax (deflated files are written inflated)', () => {
    for (const [input, instance] of written) {
      assert.ok(pixelBytes(instance.path).equals(pixelBytes(input)), path.basename(input));
      const syntax = text(input, 'x00020010');
      assert.equal(text(instance.path, 'x00020010'), syntax === '1.2.840.10008.1.2.1.99' ? '1.2.840.10008.1.2.1' : syntax, path.basename(input));
    }
  });

  it('makes dciodvfy report no error its input did not have already', async () => {
    for (const [input, instance] of written) {
      let original = input;
      // dciodvfy reads no deflated file: its input is compared inflated (DCMTK dcmconv).
      if (text(input, 'x00020010') === '1.2.840.10008.1.2.1.99') {
        original = path.join(work, 'inflated.dcm');
        execFileSync('dcmconv', ['+te', input, original]);
      }
      const before = new Set(await dciodvfyErrors(original));
      const added = (await dciodvfyErrors(instance.path)).filter((line) => !before.has(line));
      assert.deepEqual(added, [], path.basename(input));
    }
  });

  it('says what was done: Patient Identity Removed, the method and its code, dates removed', () => {
    const [, instance] = [...written][0] as [string, DeidentifiedInstance];
    const dump = execFileSync('dcmdump', ['+P', '0012,0062', '+P', '0012,0063', '+P', '0008,0100', '+P', '0028,0303', instance.path], { encoding: 'latin1' });
    assert.match(dump, /\(0012,0062\) CS \[YES\]/);
    assert.match(dump, /\(0012,0063\) LO \[Basic Application Confidentiality Profile\]/);
    assert.match(dump, /\(0008,0100\) SH \[113100\]/);
    assert.match(dump, /\(0028,0303\) CS \[REMOVED\]/);
    assert.equal(instance.PatientID, instance.PatientName);
    assert.match(instance.SOPInstanceUID, /^2\.25\.\d+$/);
  });
});

// Pseudonyms that stay consistent: the same key gives the same UIDs and patient on every run and for
// series de-identified apart; another key others; references between instances still resolve; and the
// profile's options do what they say.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deidentify, type DeidentifyOptions } from '../lib';
import { writeSampleInstances, type SampleInstance } from '../testbed/generate';
import { shiftDates } from '../lib/ops/deidentify/dates';
import { readWhole } from './support/deidentify-proof';

const KEY = 'the study key';

function text(file: string, tag: string): string {
  return readWhole(file).string(tag) ?? '';
}

/** Every file under a folder, by its path relative to it, with its bytes (.info files without their Location, the folder's own path). */
function tree(dir: string): Map<string, Buffer> {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  return new Map(files.map((e) => {
    const file = path.join(e.parentPath, e.name);
    const bytes = e.name.endsWith('.info') ? Buffer.from(readFileSync(file, 'utf8').replace(/^Location = .*$/m, '')) : readFileSync(file);
    return [path.relative(dir, file), bytes];
  }));
}

/** A DICOM file made by DCMTK's dump2dcm from a dump (one element per line, as dcmdump prints them). */
function fromDump(file: string, lines: string[]): string {
  writeFileSync(`${file}.txt`, `${lines.join('\n')}\n`);
  execFileSync('dump2dcm', ['+te', `${file}.txt`, file]);
  return file;
}

describe('deidentify(): consistent pseudonyms', function () {
  this.timeout(120000);
  let work: string;
  let samples: SampleInstance[];
  const inputs = () => path.join(work, 'in');
  const run = (outDir: string, input: string | string[] = inputs(), options: Partial<DeidentifyOptions> = {}) => deidentify(input, { key: KEY, outDir: path.join(work, outDir), ...options });
  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'pypx-deid-uids-'));
    samples = await writeSampleInstances(inputs(), { studiesPerPatient: 2, seriesPerStudy: 2, instancesPerSeries: 2, patients: undefined });
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('writes the same files, byte for byte, on two runs with one key', async () => {
    const first = await run('first');
    assert.equal((await run('second')).deidentified, samples.length);
    assert.equal(first.deidentified, samples.length);
    assert.equal(first.status, 'success');
    const a = tree(path.join(work, 'first'));
    const b = tree(path.join(work, 'second'));
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name) as Buffer), name);
  });

  it('gives another key other UIDs and other patients, and never an original UID', async () => {
    const mine = await run('mine');
    const theirs = await deidentify(inputs(), { key: 'another key', outDir: path.join(work, 'theirs') });
    const originals = new Set(samples.flatMap((s) => [s.studyInstanceUID, s.seriesInstanceUID, s.sopInstanceUID, s.patientID]));
    const values = (result: typeof mine) => new Set(result.data.instances.flatMap((i) => [i.StudyInstanceUID, i.SeriesInstanceUID, i.SOPInstanceUID, i.PatientID]));
    const ours = values(mine);
    for (const value of values(theirs)) assert.ok(!ours.has(value), value);
    for (const value of ours) assert.ok(!originals.has(value), value);
    assert.equal(new Set(mine.data.instances.map((i) => i.PatientID)).size, new Set(samples.map((s) => s.patientID)).size);
  });

  it('files two series of one study, de-identified apart, into one study', async () => {
    const [study] = samples;
    const series = [...new Set(samples.filter((s) => s.studyInstanceUID === study?.studyInstanceUID).map((s) => s.seriesInstanceUID))];
    assert.equal(series.length, 2);
    const results = [];
    for (const uid of series) {
      const files = samples.filter((s) => s.seriesInstanceUID === uid).map((s) => path.join(inputs(), `${s.sopInstanceUID}.dcm`));
      results.push(await run('split', files));
    }
    const instances = results.flatMap((r) => r.data.instances);
    assert.equal(new Set(instances.map((i) => i.StudyInstanceUID)).size, 1);
    assert.equal(new Set(instances.map((i) => i.SeriesInstanceUID)).size, 2);
    assert.equal(new Set(instances.map((i) => path.dirname(path.dirname(i.path)))).size, 1, 'one study folder');
    for (const instance of instances) assert.equal(text(instance.path, 'x00020003'), instance.SOPInstanceUID);
  });

  it('keeps references inside a study resolving: referenced images, series and frame of reference', async () => {
    const dir = path.join(work, 'refs');
    execFileSync('mkdir', ['-p', dir]);
    const common = ['(0008,0060) CS [CT]', '(0010,0010) PN [Doe^Jane]', '(0010,0020) LO [REF001]', '(0020,000d) UI [1.2.826.0.1.3680043.2.1143.7]', '(0020,0052) UI [1.2.826.0.1.3680043.2.1143.9]'];
    const a = fromDump(path.join(dir, 'a.dcm'), [...common, '(0008,0016) UI =CTImageStorage', '(0008,0018) UI [1.2.826.0.1.3680043.2.1143.7.1.1]', '(0020,000e) UI [1.2.826.0.1.3680043.2.1143.7.1]']);
    const b = fromDump(path.join(dir, 'b.dcm'), [...common, '(0008,0016) UI =CTImageStorage', '(0008,0018) UI [1.2.826.0.1.3680043.2.1143.7.2.1]', '(0020,000e) UI [1.2.826.0.1.3680043.2.1143.7.2]',
      '(0008,1115) SQ (Sequence with undefined length)', '(fffe,e000) na (Item with undefined length)', '(0020,000e) UI [1.2.826.0.1.3680043.2.1143.7.1]',
      '(0008,1140) SQ (Sequence with undefined length)', '(fffe,e000) na (Item with undefined length)', '(0008,1150) UI =CTImageStorage', '(0008,1155) UI [1.2.826.0.1.3680043.2.1143.7.1.1]',
      '(fffe,e00d) na (ItemDelimitationItem)', '(fffe,e0dd) na (SequenceDelimitationItem)', '(fffe,e00d) na (ItemDelimitationItem)', '(fffe,e0dd) na (SequenceDelimitationItem)']);
    const [outA, outB] = (await run('refs-out', [a, b])).data.instances;
    assert.ok(outA && outB);
    const dump = execFileSync('dcmdump', ['+p', '+P', '0008,1155', '+P', '0020,000e', '+P', '0008,1150', '+P', '0020,0052', outB.path], { encoding: 'latin1' });
    assert.ok(dump.includes(`(0008,1155) UI [${outA.SOPInstanceUID}]`), dump);
    assert.ok(dump.includes(`(0020,000e) UI [${outA.SeriesInstanceUID}]`), dump);
    assert.ok(dump.includes('(0008,1150) UI =CTImageStorage'), 'SOP Class UIDs are never changed');
    assert.equal(text(outA.path, 'x00200052'), text(outB.path, 'x00200052'));
    assert.notEqual(text(outA.path, 'x00200052'), '1.2.826.0.1.3680043.2.1143.9');
  });

  it('with modified dates, moves every date of a patient back by the same days, and says so', async () => {
    const first = samples[0] as SampleInstance;
    const days = (date: string) => Date.UTC(Number(date.slice(0, 4)), Number(date.slice(4, 6)) - 1, Number(date.slice(6))) / 86400000;
    const shifts = new Set<number>();
    let file = '';
    for (const sample of samples.filter((s) => s.patientID === first.patientID)) {
      const result = await run('dates', path.join(inputs(), `${sample.sopInstanceUID}.dcm`), { retainLongitudinalModifiedDates: true });
      const instance = result.data.instances[0];
      assert.ok(instance);
      file = instance.path;
      shifts.add(days(sample.studyDate) - days(instance.StudyDate));
    }
    assert.equal(new Set(samples.filter((s) => s.patientID === first.patientID).map((s) => s.studyDate)).size, 2, 'two studies on two dates');
    assert.equal(shifts.size, 1);
    assert.ok([...shifts][0] as number > 0);
    assert.equal(text(file, 'x00280303'), 'MODIFIED');
    assert.match(execFileSync('dcmdump', ['+P', '0008,0100', file], { encoding: 'latin1' }), /113107/);
  });

  it('with Clean Descriptors, keeps a description unless it names the patient or their ID', async () => {
    const dir = path.join(work, 'described');
    await writeSampleInstances(dir, { patients: [{ id: 'PX0001', name: 'Smith^John', charset: '' }], seriesPerStudy: 2, instancesPerSeries: 1,
      tags: [{ tag: 0x0008103e, vr: 'LO', value: 'Follow-up for Smith' }] });
    const cleaned = await run('described-out', dir, { cleanDescriptors: true });
    assert.ok(cleaned.data.instances.every((i) => i.StudyDescription === 'CT Chest' && i.SeriesDescription === ''));
    const basic = await run('basic-out', dir);
    assert.ok(basic.data.instances.every((i) => i.StudyDescription === ''));
  });

  it('moves dates across month, leap day and year, keeps a date-time\'s time and offset, and gives up on what is no date', () => {
    assert.equal(shiftDates('20200301', 'DA', 1), '20200229');
    assert.equal(shiftDates('20200101\\20200102', 'DA', 2), '20191230\\20191231');
    assert.equal(shiftDates('20200301120000.5-0500', 'DT', 1), '20200229120000.5-0500');
    assert.equal(shiftDates('202003', 'DT', 1), '202002');
    assert.equal(shiftDates('2020-03-01', 'DA', 1), undefined);
    assert.equal(shiftDates('unknown', 'DT', 1), undefined);
  });
});

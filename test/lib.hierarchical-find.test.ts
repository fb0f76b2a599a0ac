// px-find at every level against a strictly hierarchical PACS, DCMTK's dcmqrscp, checked against the files
// it was given: PATIENT is asked in the Patient Root model (Study Root has no such level), and a SERIES or
// IMAGE query matching on attributes of a level above it finds the studies or series first, since such a
// PACS ignores keys of the levels above the one queried and would answer every patient's series.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PypxRecord } from '../lib/core/result';
import { validatePacsSettings } from '../lib/core/settings';
import { find, runFind } from '../lib/ops/find';
import { writeSampleInstances, type SampleInstance } from '../testbed/generate';
import { type QrScp, startQrScp } from './support/qrscp';

describe('lib: px-find at every level against a strictly hierarchical PACS (dcmqrscp)', function () {
  this.timeout(60000);
  let dir: string;
  let sample: SampleInstance[];
  let qr: QrScp;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-hier-find-'));
    sample = await writeSampleInstances(path.join(dir, 'files'), {
      patients: [{ id: 'HF1', name: 'Hier^One', charset: '' }, { id: 'HF2', name: 'Hier^Two', charset: '' }],
      studiesPerPatient: 2, seriesPerStudy: 2, instancesPerSeries: 2, seed: 'lib-hierarchical-find',
    });
    qr = await startQrScp(sample.map((s) => path.join(dir, 'files', `${s.sopInstanceUID}.dcm`)));
  });
  after(async () => {
    await qr?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const settings = () => validatePacsSettings({ aet: 'PYPXTEST', aec: qr.aet, host: '127.0.0.1', port: qr.port, timeout: 10 });
  const held = (pick: (s: SampleInstance) => string, where: (s: SampleInstance) => boolean = () => true) => [...new Set(sample.filter(where).map(pick))].sort();
  const found = async (level: string, query: Record<string, string>, keyword: string): Promise<{ values: string[]; command: string }> => {
    const outcome = await runFind(settings(), query, { level });
    assert.equal(outcome.error, undefined, outcome.error?.message);
    const records = outcome.result.data as PypxRecord[];
    const values = records.map((r) => String(r[keyword]?.value ?? ''));
    assert.equal(new Set(values).size, values.length, `each ${keyword} once: ${values.join(', ')}`);
    return { values: values.sort(), command: outcome.result.command };
  };

  it('PATIENT level (Patient Root): every patient it holds, and one by PatientID', async () => {
    const all = await found('PATIENT', {}, 'PatientID');
    assert.deepEqual(all.values, ['HF1', 'HF2']);
    assert.match(all.command, /findscu (?:-v|-lc \S+) -P /);
    assert.deepEqual((await found('PATIENT', { PatientID: 'HF2' }, 'PatientID')).values, ['HF2']);
  });

  it('STUDY level: every study, and a patient\'s by PatientID', async () => {
    assert.deepEqual((await found('STUDY', {}, 'StudyInstanceUID')).values, held((s) => s.studyInstanceUID));
    assert.deepEqual((await found('STUDY', { PatientID: 'HF1' }, 'StudyInstanceUID')).values, held((s) => s.studyInstanceUID, (s) => s.patientID === 'HF1'));
  });

  it('SERIES level: every series, a study\'s, and a patient\'s by PatientID (its studies found first), with pypx\'s keys', async () => {
    assert.deepEqual((await found('SERIES', {}, 'SeriesInstanceUID')).values, held((s) => s.seriesInstanceUID));
    const study = sample[0]!.studyInstanceUID;
    assert.deepEqual((await found('SERIES', { StudyInstanceUID: study }, 'SeriesInstanceUID')).values, held((s) => s.seriesInstanceUID, (s) => s.studyInstanceUID === study));
    const byPatient = await found('SERIES', { PatientID: 'HF2' }, 'SeriesInstanceUID');
    assert.deepEqual(byPatient.values, held((s) => s.seriesInstanceUID, (s) => s.patientID === 'HF2'));
    const [studies, series] = byPatient.command.split('\n');
    assert.match(studies ?? '', /-k QueryRetrieveLevel=STUDY -k StudyInstanceUID -k PatientID=HF2 /);
    assert.match(series ?? '', /-k QueryRetrieveLevel=SERIES -k 'StudyInstanceUID=[\d.]+\\[\d.]+' /);
    // pypx's module call, a name and a date range at SERIES level, the default.
    const date = sample.find((s) => s.patientID === 'HF1')!.studyDate;
    const output = await find({ aet: 'PYPXTEST', aec: qr.aet, serverIP: '127.0.0.1', serverPort: qr.port, PatientName: 'Hier^One', StudyDate: `${date}-${date}` });
    assert.equal(output.status, 'success', String(output.data));
    assert.deepEqual((output.data as PypxRecord[]).map((r) => String(r.SeriesInstanceUID?.value)).sort(), held((s) => s.seriesInstanceUID, (s) => s.patientID === 'HF1' && s.studyDate === date));
  });

  it('IMAGE level: a series\' instances, a study\'s, and a patient\'s by PatientName', async () => {
    const { studyInstanceUID, seriesInstanceUID } = sample[0]!;
    assert.deepEqual((await found('IMAGE', { StudyInstanceUID: studyInstanceUID, SeriesInstanceUID: seriesInstanceUID }, 'SOPInstanceUID')).values, held((s) => s.sopInstanceUID, (s) => s.seriesInstanceUID === seriesInstanceUID));
    assert.deepEqual((await found('IMAGE', { StudyInstanceUID: studyInstanceUID }, 'SOPInstanceUID')).values, held((s) => s.sopInstanceUID, (s) => s.studyInstanceUID === studyInstanceUID));
    assert.deepEqual((await found('IMAGE', { PatientName: 'Hier^Two' }, 'SOPInstanceUID')).values, held((s) => s.sopInstanceUID, (s) => s.patientID === 'HF2'));
  });

  it('IMAGE level on series keys: the series found first, then their instances; with a patient\'s key too, the studies before', async () => {
    const mr = await found('IMAGE', { Modality: 'MR' }, 'SOPInstanceUID');
    assert.ok(held((s) => s.sopInstanceUID, (s) => s.modality === 'MR').length > 0);
    assert.deepEqual(mr.values, held((s) => s.sopInstanceUID, (s) => s.modality === 'MR'));
    assert.match(mr.command, /^\S*findscu .*-k QueryRetrieveLevel=SERIES .*-k Modality=MR .*\n\S*findscu .*-k QueryRetrieveLevel=IMAGE /);
    const both = await found('IMAGE', { PatientID: 'HF1', Modality: 'CT' }, 'SOPInstanceUID');
    assert.deepEqual(both.values, held((s) => s.sopInstanceUID, (s) => s.modality === 'CT' && s.patientID === 'HF1'));
    assert.deepEqual(both.command.split('\n').map((line) => /QueryRetrieveLevel=(\w+)/.exec(line)?.[1]), ['STUDY', 'SERIES', 'IMAGE']);
  });

  it('a SERIES query for a patient the PACS does not hold answers success with no records, after one C-FIND', async () => {
    const none = await runFind(settings(), { PatientID: 'NOBODY' }, { level: 'SERIES' });
    assert.deepEqual([none.result.status, none.result.data, none.result.command.split('\n').length], ['success', [], 1]);
  });
});

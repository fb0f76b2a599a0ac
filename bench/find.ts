// px-find in a running Node-RED against findscu alone, on the same 10,000-series answer from one
// Orthanc, side by side in one run. Two queries: 8 plain keys, and pypx 0.8's full key set (for
// which Orthanc computes counts per match, so the PACS dominates).
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { runDcmtk } from '../lib/dcmtk';
import { readFindResponses } from '../lib/find';
import { buildFindQuery, DEFAULT_RETURN_KEYS } from '../lib/query';
import type { PypxResult, PypxRecord } from '../lib/result';
import { buildAssociationArgs, buildTimeoutArgs, validatePacsSettings } from '../lib/settings';
import { generateSampleInstances, SAMPLE_PATIENTS, type SamplePatient } from '../testbed/generate';
import { type RunningOrthanc, startOrthanc } from '../testbed/orthanc';
import { helper, nextMessage, nodeModules, onTab } from '../test/support/flow';
import { type Figure, median, timed } from './figures';

const SERIES = 10000;
const PATIENTS = 1000; // x 2 studies x 5 series x 1 instance
// Kept between runs: loading 10,000 instances takes minutes.
const STORAGE = path.join(os.tmpdir(), 'pypx-bench-find-orthanc');
const PLAIN_KEYS = ['PatientID', 'PatientName', 'StudyInstanceUID', 'SeriesInstanceUID', 'StudyDate', 'Modality', 'SeriesDescription', 'SeriesNumber'];
const AET = 'NODERED';

function benchPatients(): SamplePatient[] {
  return Array.from({ length: PATIENTS }, (_, k) => {
    const model = SAMPLE_PATIENTS[k % SAMPLE_PATIENTS.length] as SamplePatient;
    return { ...model, id: `BX${String(k).padStart(5, '0')}` };
  });
}

export async function orthancWithSeries(): Promise<RunningOrthanc> {
  const start = async () => {
    await mkdir(STORAGE, { recursive: true });
    return startOrthanc({ dir: STORAGE, defaultEncoding: 'Utf8', modalities: { nodered: [AET, '127.0.0.1', 11112] } });
  };
  let orthanc = await start();
  const { CountSeries } = await orthanc.get<{ CountSeries: number }>('/statistics');
  if (CountSeries === SERIES) return orthanc;
  await orthanc.stop();
  await rm(STORAGE, { recursive: true, force: true });
  orthanc = await start();
  process.stderr.write(`loading ${SERIES} series into Orthanc (${STORAGE}, kept for later runs)...\n`);
  const started = Date.now();
  const bytes = function* () {
    for (const instance of generateSampleInstances({ patients: benchPatients(), studiesPerPatient: 2, seriesPerStudy: 5, instancesPerSeries: 1, seed: 'bench-find' })) yield instance.bytes;
  };
  await orthanc.upload(bytes(), 8);
  process.stderr.write(`loaded in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  return orthanc;
}

interface Side {
  findscuMs: number[];
  pxFindMs: number[];
  ratios: number[];
  peakRssMb: number[];
}

export default async function benchFind(): Promise<Figure[]> {
  const orthanc = await orthancWithSeries();
  try {
    // Generous per-step timeout: with pypx's keys, Orthanc computes every match before its first answer.
    const settings = validatePacsSettings({ aet: AET, aec: orthanc.aet, host: orthanc.host, port: orthanc.dicomPort, timeout: 600 });
    await helper.load(nodeModules('px-pacs', 'px-find'), onTab([
      { id: 'pacs', type: 'px-pacs', aet: AET, aec: orthanc.aet, host: orthanc.host, port: orthanc.dicomPort, aetl: '', timeout: 600 },
      { id: 'plain', type: 'px-find', pacs: 'pacs', level: 'SERIES', query: '{}', returnTags: PLAIN_KEYS.join(','), split: false, limit: 0, wires: [['out']] },
      { id: 'pypx', type: 'px-find', pacs: 'pacs', level: 'SERIES', query: '{}', returnTags: '', split: false, limit: 0, wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]));

    const findscuAlone = async (returnTags: string[]): Promise<{ ms: number; dir: string }> => {
      const request = buildFindQuery('SERIES', {}, returnTags);
      const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-findscu-'));
      const keys = request.keys.flatMap((k) => ['-k', k.value ? `${k.keyword}=${k.value}` : k.keyword]);
      const args = ['-S', '-X', '-od', dir, ...keys, ...buildTimeoutArgs(settings), ...buildAssociationArgs(settings)];
      const ms = await timed(async () => {
        const run = await runDcmtk('findscu', args, settings);
        if (run.exitCode !== 0) throw new Error(`findscu failed: ${run.output}`);
      });
      const answers = (await readdir(dir)).length;
      if (answers !== SERIES) throw new Error(`findscu alone wrote ${answers} answers, not ${SERIES}`);
      return { ms, dir };
    };
    const pxFind = async (nodeId: string): Promise<{ ms: number; peakRssMb: number }> => {
      const before = process.memoryUsage.rss();
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
      const received = nextMessage<NodeMessage & { payload: PypxResult<PypxRecord[]> }>('out', 30 * 60000);
      const ms = await timed(async () => {
        helper.getNode(nodeId)?.receive({ payload: Date.now() } as NodeMessage);
        const msg = await received;
        if (msg.payload.data.length !== SERIES) throw new Error(`px-find returned ${msg.payload.data.length} records, not ${SERIES}`);
      });
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage.rss());
      return { ms, peakRssMb: (peak - before) / 1e6 };
    };

    const compare = async (label: string, nodeId: string, returnTags: string[], repetitions: number): Promise<Side> => {
      const side: Side = { findscuMs: [], pxFindMs: [], ratios: [], peakRssMb: [] };
      for (let i = 0; i < repetitions; i++) {
        const alone = await findscuAlone(returnTags);
        await rm(alone.dir, { recursive: true, force: true });
        if (global.gc) global.gc();
        const px = await pxFind(nodeId);
        side.findscuMs.push(alone.ms);
        side.pxFindMs.push(px.ms);
        side.ratios.push(px.ms / alone.ms);
        side.peakRssMb.push(px.peakRssMb);
        process.stderr.write(`  ${label} ${i + 1}/${repetitions}: findscu ${alone.ms.toFixed(0)} ms, px-find ${px.ms.toFixed(0)} ms, ratio ${(px.ms / alone.ms).toFixed(2)}\n`);
      }
      return side;
    };

    // Warm up the PACS's caches and the node once; not counted.
    await rm((await findscuAlone(PLAIN_KEYS)).dir, { recursive: true, force: true });
    await pxFind('plain');
    const plain = await compare('8 keys', 'plain', PLAIN_KEYS, 5);

    // Parsing alone: the same 10,000 response files, read into records.
    const kept = await findscuAlone(PLAIN_KEYS);
    const keys = buildFindQuery('SERIES', {}, PLAIN_KEYS).keys;
    const parseMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      parseMs.push(await timed(() => readFindResponses(kept.dir, keys, 0, settings)));
    }
    await rm(kept.dir, { recursive: true, force: true });

    const pypx = await compare(`pypx keys (${DEFAULT_RETURN_KEYS.SERIES.length})`, 'pypx', [...DEFAULT_RETURN_KEYS.SERIES], 3);

    const figures = (prefix: string, side: Side): Figure[] => [
      { name: `find ${prefix}: px-find / findscu alone`, value: median(side.ratios), unit: 'ratio', target: 1.3, better: 'lower' },
      { name: `find ${prefix}: findscu alone`, value: median(side.findscuMs), unit: 'ms' },
      { name: `find ${prefix}: px-find in Node-RED`, value: median(side.pxFindMs), unit: 'ms' },
      { name: `find ${prefix}: px-find peak RSS growth`, value: Math.max(...side.peakRssMb), unit: 'MB' },
    ];
    return [
      ...figures(`${SERIES} series, 8 keys`, plain),
      ...figures(`${SERIES} series, pypx 0.8 keys`, pypx),
      { name: 'find: parsing responses into records', value: SERIES / (median(parseMs) / 1000), unit: 'records/s' },
    ];
  } finally {
    await helper.unload();
    await orthanc.stop();
  }
}

// The px-find command and px-find in a running Node-RED against findscu alone (answers dropped, no
// answer files: the least a user could run), on the same 10,000-series answer from one Orthanc, side by
// side in one run, each a whole process. Two queries: 8 plain keys, and pypx 0.8's full key set (for
// which Orthanc computes counts per match, so the PACS dominates).
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { locateDcmtkTool, runDcmtk } from '../lib/dcmtk/run';
import { buildFindQuery, DEFAULT_RETURN_KEYS } from '../lib/ops/find/query';
import type { PypxResult, PypxRecord } from '../lib/core/result';
import { type PacsSettings, validatePacsSettings } from '../lib/core/settings';
import { generateSampleInstances, SAMPLE_PATIENTS, type SamplePatient } from '../testbed/generate';
import { type OrthancOptions, type RunningOrthanc, startOrthanc } from '../testbed/orthanc';
import { helper, nextMessage, nodeModules, onTab } from '../test/support/flow';
import { type Figure, measureProcess, median, timed, timedWithCpu } from './figures';
import { pinned } from './pinning';
import { withoutTestSpies } from './runtime';
import { buildAssociationArgs, buildTimeoutArgs } from '../lib/dcmtk/args';
import { readFindResponses } from '../lib/ops/find/answers';

export const SERIES = 10000;
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

/** An Orthanc holding the 10,000 series (loaded once, kept between runs); `options` add to its config (the DICOMweb bench's plugin). */
export async function orthancWithSeries(options: OrthancOptions = {}): Promise<RunningOrthanc> {
  const start = async () => {
    await mkdir(STORAGE, { recursive: true });
    return startOrthanc({ dir: STORAGE, defaultEncoding: 'Utf8', modalities: { nodered: [AET, '127.0.0.1', 11112] }, ...options });
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

/** The cheapest run a user could do instead: findscu alone, answers received and dropped (-S, no -X), as a whole process. */
function findscuArgs(returnTags: readonly string[], settings: PacsSettings): string[] {
  const keys = buildFindQuery('SERIES', {}, returnTags).keys.flatMap((k) => ['-k', k.value ? `${k.keyword}=${k.value}` : k.keyword]);
  return ['-S', ...keys, ...buildTimeoutArgs(settings), ...buildAssociationArgs(settings)];
}

const PX_FIND = path.resolve(__dirname, '..', 'bin', 'px-find.js');
const RUNS = 5;

interface Side {
  findscuMs: number[];
  findscuCpuMs: number[];
  commandMs: number[];
  commandCpuMs: number[];
  nodeRedMs: number[];
  commandRatios: number[];
  commandCpuRatios: number[];
  nodeRedRatios: number[];
  nodeRedCpuMs: number[];
  peakRssMb: number[];
}

export default async function benchFind(): Promise<Figure[]> {
  const orthanc = await orthancWithSeries();
  try {
    // Generous per-step timeout: with pypx's keys, Orthanc computes every match before its first answer.
    const settings = validatePacsSettings({ aet: AET, aec: orthanc.aet, host: orthanc.host, port: orthanc.dicomPort, timeout: 600 });
    const findscu = await locateDcmtkTool('findscu');
    await helper.load(nodeModules('px-pacs', 'px-find'), onTab([
      { id: 'pacs', type: 'px-pacs', aet: AET, aec: orthanc.aet, host: orthanc.host, port: orthanc.dicomPort, aetl: '', timeout: 600 },
      { id: 'plain', type: 'px-find', pacs: 'pacs', level: 'SERIES', query: '{}', returnTags: PLAIN_KEYS.join(','), split: false, limit: 0, wires: [['out']] },
      { id: 'pypx', type: 'px-find', pacs: 'pacs', level: 'SERIES', query: '{}', returnTags: '', split: false, limit: 0, wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]));
    withoutTestSpies();

    const pxFindInNodeRed = async (nodeId: string): Promise<{ ms: number; cpuMs: number; peakRssMb: number }> => {
      const before = process.memoryUsage.rss();
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
      const received = nextMessage<NodeMessage & { payload: PypxResult<PypxRecord[]> }>('out', 30 * 60000);
      const { ms, cpuMs } = await timedWithCpu(async () => {
        helper.getNode(nodeId)?.receive({ payload: Date.now() } as NodeMessage);
        const msg = await received;
        if (msg.payload.data.length !== SERIES) throw new Error(`px-find returned ${msg.payload.data.length} records, not ${SERIES}: ${JSON.stringify(msg.payload.data).slice(0, 300)}`);
      });
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage.rss());
      return { ms, cpuMs, peakRssMb: (peak - before) / 1e6 };
    };
    const connection = ['--aet', AET, '--aec', orthanc.aet, '--serverIP', orthanc.host, '--serverPort', String(orthanc.dicomPort), '--timeout', '600'];

    /** Each run: findscu alone, the px-find command, px-find in Node-RED, one after the other. */
    const compare = async (label: string, nodeId: string, returnTags: readonly string[], repetitions: number): Promise<Side> => {
      const side: Side = { findscuMs: [], findscuCpuMs: [], commandMs: [], commandCpuMs: [], nodeRedMs: [], commandRatios: [], commandCpuRatios: [], nodeRedRatios: [], nodeRedCpuMs: [], peakRssMb: [] };
      const tagsFlag = nodeId === 'plain' ? ['--returnTags', returnTags.join(',')] : [];
      for (let i = 0; i < repetitions; i++) {
        const findscuAlone = await measureProcess(findscu, findscuArgs(returnTags, settings));
        const pxFind = await measureProcess(process.execPath, [PX_FIND, ...connection, ...tagsFlag]);
        const [alone, command] = [findscuAlone.wallMs, pxFind.wallMs];
        side.findscuCpuMs.push(findscuAlone.cpuMs);
        side.commandCpuMs.push(pxFind.cpuMs);
        if (global.gc) global.gc();
        const inNodeRed = await pxFindInNodeRed(nodeId);
        side.findscuMs.push(alone);
        side.commandMs.push(command);
        side.nodeRedMs.push(inNodeRed.ms);
        side.commandRatios.push(command / alone);
        side.commandCpuRatios.push(pxFind.cpuMs / findscuAlone.cpuMs);
        side.nodeRedRatios.push(inNodeRed.ms / alone);
        side.nodeRedCpuMs.push(inNodeRed.cpuMs);
        side.peakRssMb.push(inNodeRed.peakRssMb);
        process.stderr.write(
          `  ${label} ${i + 1}/${repetitions}: findscu alone ${alone.toFixed(0)} ms, px-find command ${command.toFixed(0)} ms (${(command / alone).toFixed(2)}), in Node-RED ${inNodeRed.ms.toFixed(0)} ms (${(inNodeRed.ms / alone).toFixed(2)})\n`,
        );
      }
      return side;
    };

    // Warm up the PACS's caches and the node once; not counted.
    await measureProcess(findscu, findscuArgs(PLAIN_KEYS, settings));
    await pxFindInNodeRed('plain');
    const plain = await compare('8 keys', 'plain', PLAIN_KEYS, RUNS);

    // Parsing alone: the same 10,000 response files, read into records.
    const kept = await mkdtemp(path.join(os.tmpdir(), 'bench-findscu-'));
    await runDcmtk('findscu', ['-X', '-od', kept, ...findscuArgs(PLAIN_KEYS, settings)], settings);
    const keys = buildFindQuery('SERIES', {}, PLAIN_KEYS).keys;
    const parseMs: number[] = [];
    for (let i = 0; i < 5; i++) parseMs.push(await timed(() => readFindResponses(kept, keys, 0, settings)));
    await rm(kept, { recursive: true, force: true });

    // pypx 0.8's keys, where Orthanc dominates, once, unpinned.
    const pypx = pinned() ? undefined : await compare(`pypx keys (${DEFAULT_RETURN_KEYS.SERIES.length})`, 'pypx', DEFAULT_RETURN_KEYS.SERIES, 3);

    const figures = (prefix: string, side: Side): Figure[] => [
      { name: `find ${prefix}: px-find command / findscu alone`, value: median(side.commandRatios), unit: 'ratio', target: 1.3, better: 'lower' },
      { name: `find ${prefix}: CPU of the px-find command (with its findscu) / findscu alone's`, value: median(side.commandCpuRatios), unit: 'ratio', target: 1.5, better: 'lower' },
      { name: `find ${prefix}: px-find in Node-RED / findscu alone`, value: median(side.nodeRedRatios), unit: 'ratio', target: 1.1, better: 'lower' },
      { name: `find ${prefix}: CPU time of Node-RED's process per record`, value: (median(side.nodeRedCpuMs) * 1000) / SERIES, unit: 'µs' },
      { name: `find ${prefix}: findscu alone (-S, no answer files)`, value: median(side.findscuMs), unit: 'ms' },
      { name: `find ${prefix}: px-find command`, value: median(side.commandMs), unit: 'ms' },
      { name: `find ${prefix}: CPU of findscu alone`, value: median(side.findscuCpuMs), unit: 'ms' },
      { name: `find ${prefix}: CPU of the px-find command (with its findscu)`, value: median(side.commandCpuMs), unit: 'ms' },
      { name: `find ${prefix}: px-find in Node-RED`, value: median(side.nodeRedMs), unit: 'ms' },
      { name: `find ${prefix}: px-find peak RSS growth`, value: Math.max(...side.peakRssMb), unit: 'MB' },
    ];
    return [
      ...figures(`${SERIES} series, 8 keys`, plain),
      ...(pypx ? figures(`${SERIES} series, pypx 0.8 keys`, pypx) : []),
      { name: 'find: parsing responses into records', value: SERIES / (median(parseMs) / 1000), unit: 'records/s' },
    ];
  } finally {
    await helper.unload();
    await orthanc.stop();
  }
}

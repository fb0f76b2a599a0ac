// The px-find command against pypx 0.8's own `px-find`, with pypx's key set, on the 10,000-series
// answer `npm run bench` uses, side by side with findscu alone: whole processes, wall and CPU time,
// median of 5. Not part of `npm run bench`: pypx 0.8 is not on npm, and PyPI may be out of reach.
//
//   node dist/bench/pypx08.js <pypx 0.8 source folder> [<folder holding a stand-in `dicom` module>]
//
// The source folder is pypx's repository at tag 0.8 (`git archive 0.8`), with find.py decoding
// findscu's output as Latin-1 instead of ASCII (as released it fails on any non-ASCII name). pypx's
// __init__ imports its listener, which imports pydicom's old `dicom` module; find never uses it, and a
// stand-in (an empty dicom.py) only makes pypx start faster than it would with pydicom installed.
import path from 'node:path';
import { locateDcmtkTool } from '../lib/dcmtk/run';
import { buildFindQuery, DEFAULT_RETURN_KEYS } from '../lib/ops/find/query';
import { validatePacsSettings } from '../lib/core/settings';
import { measureProcess, median, type ProcessTime } from './figures';
import { orthancWithSeries } from './find';
import { buildAssociationArgs } from '../lib/dcmtk/args';

const RUNS = 5;

async function main(): Promise<void> {
  const [source, stub] = process.argv.slice(2);
  if (!source) throw new Error('usage: node dist/bench/pypx08.js <pypx 0.8 source folder> [<folder with a stand-in dicom.py>]');
  const orthanc = await orthancWithSeries();
  try {
    const settings = validatePacsSettings({ aet: 'NODERED', aec: orthanc.aet, host: orthanc.host, port: orthanc.dicomPort, timeout: 600 });
    const findscu = await locateDcmtkTool('findscu');
    const keys = buildFindQuery('SERIES', {}, DEFAULT_RETURN_KEYS.SERIES).keys.flatMap((k) => ['-k', k.value ? `${k.keyword}=${k.value}` : k.keyword]);
    const connection = ['--aet', settings.aet, '--aec', settings.aec, '--serverIP', settings.host, '--serverPort', String(settings.port)];
    const runs = {
      'findscu alone (-S, no answer files)': () => measureProcess(findscu, ['-S', ...keys, ...buildAssociationArgs(settings)]),
      'pypx 0.8 px-find': () =>
        measureProcess('python3', [path.join(source, 'bin', 'px-find'), ...connection, '--executable', findscu], { PYTHONPATH: [source, stub].filter(Boolean).join(':') }),
      'px-find command': () => measureProcess(process.execPath, [path.resolve(__dirname, '..', 'bin', 'px-find.js'), ...connection, '--timeout', '600']),
    };
    const results: Record<string, ProcessTime[]> = Object.fromEntries(Object.keys(runs).map((name) => [name, []]));
    for (const run of Object.values(runs)) await run(); // warm-up, not counted
    for (let i = 0; i < RUNS; i++) {
      for (const [name, run] of Object.entries(runs)) {
        const measured = await run();
        results[name]!.push(measured);
        process.stderr.write(`  ${i + 1}/${RUNS} ${name}: ${measured.wallMs.toFixed(0)} ms, CPU ${measured.cpuMs.toFixed(0)} ms\n`);
      }
    }
    const alone = median(results['findscu alone (-S, no answer files)']!.map((m) => m.wallMs));
    console.log(`10,000 series, pypx 0.8's ${DEFAULT_RETURN_KEYS.SERIES.length} keys, median of ${RUNS}:`);
    for (const [name, measured] of Object.entries(results)) {
      const wall = median(measured.map((m) => m.wallMs));
      console.log(`  ${name.padEnd(38)} ${wall.toFixed(0).padStart(6)} ms (${(wall / alone).toFixed(2)}x findscu alone)  CPU ${median(measured.map((m) => m.cpuMs)).toFixed(0).padStart(5)} ms`);
    }
  } finally {
    await orthanc.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

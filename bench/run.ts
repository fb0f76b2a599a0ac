// npm run bench: every benchmark side by side with DCMTK alone, in one run; prints a table and
// writes bench/results.json. Pass names (find, move, listen) to run only some.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Figure } from './figures';

type Benchmark = () => Promise<Figure[]>;
const BENCHMARKS: Record<string, () => Promise<Benchmark>> = {
  // require, not import(): this package compiles to CommonJS, whose import() would wrap module.exports.
  find: async () => (require('./find') as typeof import('./find')).default,
  listen: async () => (require('./listen') as typeof import('./listen')).default,
  move: async () => (require('./move') as typeof import('./move')).default,
};

function verdict(figure: Figure): string {
  if (figure.target === undefined) return '';
  const ok = figure.better === 'higher' ? figure.value >= figure.target : figure.value <= figure.target;
  return `${ok ? 'meets' : 'MISSES'} target ${figure.better === 'higher' ? '>=' : '<='} ${figure.target}`;
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = wanted.length ? wanted : Object.keys(BENCHMARKS);
  const figures: Figure[] = [];
  for (const name of names) {
    const load = BENCHMARKS[name];
    if (!load) throw new Error(`no benchmark named ${name} (have: ${Object.keys(BENCHMARKS).join(', ')})`);
    process.stderr.write(`running ${name}...\n`);
    figures.push(...(await (await load())()));
  }
  const rows = figures.map((f) => [f.name, f.value.toFixed(f.unit === 'ratio' ? 2 : 1), f.unit, verdict(f)]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r[i] as string).length), 4));
  for (const row of [['figure', 'value', 'unit', ''], ...rows]) {
    console.log(row.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ').trimEnd());
  }
  const out = path.resolve(__dirname, '..', '..', 'bench', 'results.json');
  await writeFile(out, `${JSON.stringify(figures, null, 2)}\n`);
  console.log(`written to ${out}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});

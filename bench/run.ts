// npm run bench: every benchmark side by side with DCMTK alone, in one run; prints a table and
// writes bench/results.json. Pass names (find, move, listen, send, get, wado, qido, deidentify) to run only some. Each benchmark runs in
// a process of its own, so that one's memory figures do not carry another's heap.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Figure } from './figures';

type Benchmark = () => Promise<Figure[]>;
const BENCHMARKS: Record<string, () => Promise<Benchmark>> = {
  // require, not import(): this package compiles to CommonJS, whose import() would wrap module.exports.
  find: async () => (require('./find') as typeof import('./find')).default,
  listen: async () => (require('./listen') as typeof import('./listen')).default,
  move: async () => (require('./move') as typeof import('./move')).default,
  send: async () => (require('./send') as typeof import('./send')).default,
  get: async () => (require('./get') as typeof import('./get')).default,
  wado: async () => (require('./dicomweb') as typeof import('./dicomweb')).benchWado,
  qido: async () => (require('./dicomweb') as typeof import('./dicomweb')).benchQido,
  deidentify: async () => (require('./deidentify') as typeof import('./deidentify')).default,
};

function verdict(figure: Figure): string {
  if (figure.target === undefined) return '';
  const ok = figure.better === 'higher' ? figure.value >= figure.target : figure.value <= figure.target;
  return `${ok ? 'meets' : 'MISSES'} target ${figure.better === 'higher' ? '>=' : '<='} ${figure.target}`;
}

const CHILD_FLAG = '--one';
const FIGURES_MARK = 'figures: ';

/** Runs one benchmark in a fresh Node process; its progress goes to stderr, its figures come back as JSON. */
function runAlone(name: string): Promise<Figure[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [__filename, CHILD_FLAG, name], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      if (err) return reject(new Error(`benchmark ${name} failed: ${err.message}`));
      const line = stdout.split('\n').reverse().find((l) => l.startsWith(FIGURES_MARK));
      if (!line) return reject(new Error(`benchmark ${name} reported no figures`));
      resolve(JSON.parse(line.slice(FIGURES_MARK.length)) as Figure[]);
    });
    child.stderr?.pipe(process.stderr);
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === CHILD_FLAG) {
    const load = BENCHMARKS[args[1] ?? ''];
    if (!load) throw new Error(`no benchmark named ${args[1]}`);
    process.stdout.write(`\n${FIGURES_MARK}${JSON.stringify(await (await load())())}\n`);
    process.exit(0);
  }
  const names = args.length ? args : Object.keys(BENCHMARKS);
  const unknown = names.filter((name) => !BENCHMARKS[name]);
  if (unknown.length) throw new Error(`no benchmark named ${unknown.join(', ')} (have: ${Object.keys(BENCHMARKS).join(', ')})`);
  const figures: Figure[] = [];
  for (const name of names) {
    process.stderr.write(`running ${name}...\n`);
    figures.push(...(await runAlone(name)));
  }
  const rows = figures.map((f) => [f.name, f.value.toFixed(f.unit === 'ratio' ? 2 : 1), f.unit, verdict(f)]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r[i] as string).length), 4));
  for (const row of [['figure', 'value', 'unit', ''], ...rows]) {
    console.log(row.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ').trimEnd());
  }
  const out = path.resolve(__dirname, '..', '..', 'bench', 'results.json');
  // A run of some benchmarks replaces their figures and keeps the others' from earlier runs.
  const earlier = await readFile(out, 'utf8').then((text) => JSON.parse(text) as Figure[], () => []);
  const fresh = new Map(figures.map((f) => [f.name, f]));
  const merged = earlier.map((f) => fresh.get(f.name) ?? f).concat(figures.filter((f) => !earlier.some((e) => e.name === f.name)));
  await writeFile(out, `${JSON.stringify(merged, null, 2)}\n`);
  console.log(`written to ${out}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});

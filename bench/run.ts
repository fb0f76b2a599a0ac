// npm run bench: every benchmark side by side with DCMTK alone, in one run; prints a table and
// writes bench/results.json. Pass names (find, move, listen, send, get, wado, qido, deidentify; listen-gap, not run by
// default) to run only some. Each benchmark runs in
// a process of its own, so that one's memory figures do not carry another's heap. With --pinned, each
// runs a second time with Node-RED on a core of its own (bench/pinning.ts), printed beside the first.
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Figure } from './figures';
import { cannotPin, pinnedCommand } from './pinning';

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
  'listen-gap': async () => (require('./listen-gap') as typeof import('./listen-gap')).default,
};
/** Run when no name is given: all but the experiments. */
const DEFAULT_SET = ['find', 'listen', 'move', 'send', 'get', 'wado', 'qido', 'deidentify'];

function verdict(figure: Figure | undefined, target: number | undefined): string {
  if (figure === undefined || target === undefined) return '';
  const ok = figure.better === 'higher' ? figure.value >= target : figure.value <= target;
  return `${ok ? 'meets' : 'MISSES'} ${figure.better === 'higher' ? '>=' : '<='} ${target}`;
}

const PINNED_SUFFIX = ' (pinned)';

const CHILD_FLAG = '--one';
const FIGURES_MARK = 'figures: ';

/** Runs one benchmark in a fresh Node process, pinned when `pinFolder` is given (the pinning scripts go there); its progress goes to stderr, its figures come back as JSON. */
function runAlone(name: string, pinFolder?: string): Promise<Figure[]> {
  const command = pinFolder ? pinnedCommand(pinFolder, process.execPath, [__filename, CHILD_FLAG, name]) : { file: process.execPath, args: [__filename, CHILD_FLAG, name], env: process.env };
  return new Promise((resolve, reject) => {
    const child = execFile(command.file, command.args, { maxBuffer: 16 * 1024 * 1024, env: command.env }, (err, stdout) => {
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
  const pin = args.includes('--pinned');
  const names = args.filter((a) => a !== '--pinned');
  if (!names.length) names.push(...DEFAULT_SET);
  const unknown = names.filter((name) => !BENCHMARKS[name]);
  if (unknown.length) throw new Error(`no benchmark named ${unknown.join(', ')} (have: ${Object.keys(BENCHMARKS).join(', ')})`);
  if (pin) {
    const why = cannotPin();
    if (why) {
      console.error(`cannot pin: ${why}`);
      process.exit(2);
    }
  }
  const pinFolder = path.join(os.tmpdir(), `pypx-bench-pinning-${process.pid}`);
  const figures: Figure[] = [];
  const pinnedFigures: Figure[] = [];
  try {
    for (const name of names) {
      process.stderr.write(`running ${name}...\n`);
      figures.push(...(await runAlone(name)));
      if (!pin) continue;
      process.stderr.write(`running ${name}, pinned...\n`);
      pinnedFigures.push(...(await runAlone(name, pinFolder)));
    }
  } finally {
    await rm(pinFolder, { recursive: true, force: true });
  }
  printTable(figures, pin ? pinnedFigures : undefined);
  figures.push(...pinnedFigures.map((f) => ({ ...f, name: f.name + PINNED_SUFFIX, ...(f.pinnedTarget === undefined ? {} : { target: f.pinnedTarget }) })));
  const out = path.resolve(__dirname, '..', '..', 'bench', 'results.json');
  // A run of some benchmarks replaces their figures and keeps the others' from earlier runs.
  const earlier = await readFile(out, 'utf8').then((text) => JSON.parse(text) as Figure[], () => []);
  const fresh = new Map(figures.map((f) => [f.name, f]));
  const merged = earlier.map((f) => fresh.get(f.name) ?? f).concat(figures.filter((f) => !earlier.some((e) => e.name === f.name)));
  await writeFile(out, `${JSON.stringify(merged, null, 2)}\n`);
  console.log(`written to ${out}`);
}

const shown = (f: Figure | undefined) => (f === undefined ? '' : f.value.toFixed(f.unit === 'ratio' ? 2 : 1));

/** One row per figure; with pinned figures, the pinned value and its verdict beside the unpinned one. */
function printTable(figures: Figure[], pinned: Figure[] | undefined): void {
  const names = [...new Set([...figures, ...(pinned ?? [])].map((f) => f.name))];
  const rows = names.map((name) => {
    const free = figures.find((f) => f.name === name);
    const held = pinned?.find((f) => f.name === name);
    const unit = (free ?? held)?.unit ?? '';
    const unpinnedCells = [shown(free), unit, verdict(free, free?.target)];
    return [name, ...unpinnedCells, ...(pinned ? [shown(held), verdict(held, held?.pinnedTarget ?? held?.target)] : [])];
  });
  const header = ['figure', 'value', 'unit', '', ...(pinned ? ['pinned', ''] : [])];
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => (r[i] ?? '').length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ').trimEnd());
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});

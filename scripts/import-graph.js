// node scripts/import-graph.js [--json]: the import graph of lib/, read from the sources (type-only
// imports included, since they tie files together as much for a reader). Prints every import circle
// (strongly connected group of files), every import that runs from a lower layer back up, every
// re-export-only file and every file over the size limit. Exit code 1 when any is found.
//
// Layers, lowest first; a file may import its own layer or any below it:
//   core < dicom < dcmtk, dicomweb < filing < ops < index.ts
// Inside ops/, one operation may use another's request types (get uses move's), never in a circle.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', 'lib');
const MAX_LINES = 250;
const LAYERS = { core: 0, dicom: 1, dcmtk: 2, dicomweb: 2, filing: 3, ops: 4 };

function sourceFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function resolveImport(from, spec) {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  return undefined;
}

/** Relative specifiers of `import ... from`, `export ... from` and `import('...')`, with the line each is on. */
function importsOf(file) {
  const text = fs.readFileSync(file, 'utf8');
  const found = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)'(\.[^']*)'/gm;
  for (let match; (match = pattern.exec(text)); ) {
    const target = resolveImport(file, match[1]);
    if (target) found.push(target);
  }
  return [...new Set(found)];
}

function layerOf(file) {
  const rel = path.relative(root, file);
  const top = rel.split(path.sep)[0];
  if (rel === 'index.ts') return 5;
  return top in LAYERS ? LAYERS[top] : undefined;
}

/** Tarjan's strongly connected components: each group of two or more files is one import circle. */
function circles(graph) {
  let index = 0;
  const stack = [];
  const meta = new Map();
  const groups = [];
  const visit = (node) => {
    meta.set(node, { index, low: index, onStack: true });
    index++;
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!meta.has(next)) {
        visit(next);
        meta.get(node).low = Math.min(meta.get(node).low, meta.get(next).low);
      } else if (meta.get(next).onStack) {
        meta.get(node).low = Math.min(meta.get(node).low, meta.get(next).index);
      }
    }
    if (meta.get(node).low === meta.get(node).index) {
      const group = [];
      let member;
      do {
        member = stack.pop();
        meta.get(member).onStack = false;
        group.push(member);
      } while (member !== node);
      if (group.length > 1 || (graph.get(node) ?? []).includes(node)) groups.push(group);
    }
  };
  for (const node of graph.keys()) if (!meta.has(node)) visit(node);
  return groups;
}

function isReexportOnly(file) {
  const code = fs
    .readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split('\n')
    .map((line) => line.replace(/\/\/.*$/, '').trim())
    .filter(Boolean)
    .join(' ');
  return file !== path.join(root, 'index.ts') && /^(export\s+(type\s+)?(\*|\{[^}]*\})\s+from\s+'[^']+';\s*)+$/.test(code);
}

const files = sourceFiles(root);
const graph = new Map(files.map((file) => [file, importsOf(file)]));
const rel = (file) => path.relative(root, file);
const report = {
  files: files.length,
  circles: circles(graph).map((group) => group.map(rel).sort()),
  backArrows: [],
  unlayered: files.filter((file) => layerOf(file) === undefined).map(rel),
  reexportShims: files.filter(isReexportOnly).map(rel),
  overLong: files
    .map((file) => ({ file: rel(file), lines: fs.readFileSync(file, 'utf8').split('\n').length - 1 }))
    .filter(({ lines }) => lines > MAX_LINES),
};
for (const [file, targets] of graph) {
  for (const target of targets) {
    const [from, to] = [layerOf(file), layerOf(target)];
    if (from !== undefined && to !== undefined && to > from) report.backArrows.push(`${rel(file)} -> ${rel(target)}`);
  }
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(report, null, 2));
} else {
  console.log(`${report.files} files in lib/`);
  console.log(`import circles: ${report.circles.length}`);
  for (const group of report.circles) console.log(`  ${group.join(' <-> ')}`);
  console.log(`imports from a lower layer back up: ${report.backArrows.length}`);
  for (const arrow of report.backArrows) console.log(`  ${arrow}`);
  console.log(`files in no layer: ${report.unlayered.length}${report.unlayered.length ? ` (${report.unlayered.join(', ')})` : ''}`);
  console.log(`re-export shims: ${report.reexportShims.length}${report.reexportShims.length ? ` (${report.reexportShims.join(', ')})` : ''}`);
  console.log(`files over ${MAX_LINES} lines: ${report.overLong.length}`);
  for (const { file, lines } of report.overLong) console.log(`  ${file} (${lines})`);
}
const clean = !report.circles.length && !report.backArrows.length && !report.unlayered.length && !report.reexportShims.length && !report.overLong.length;
process.exitCode = clean ? 0 : 1;

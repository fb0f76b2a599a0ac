// The layout a newcomer relies on: lib/ in layers that only look down, no import circle, no re-export
// shim, no file too long to read, no Node-RED in the core, and nodes/ and bin/ on lib/index.ts alone.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');

interface Graph {
  files: number;
  circles: string[][];
  backArrows: string[];
  unlayered: string[];
  reexportShims: string[];
  overLong: Array<{ file: string; lines: number }>;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The code of a file without its comments, line by line (a comment may say why the core is used by Node-RED). */
function codeLines(file: string): Array<{ line: number; text: string }> {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, (comment) => comment.replace(/[^\n]/g, ' '));
  return text.split('\n').map((line, index) => ({ line: index + 1, text: line.replace(/^\s*\/\/.*$/, '').replace(/\s\/\/ .*$/, '') }));
}

describe('the layout of the code', () => {
  const graph = JSON.parse(execFileSync(process.execPath, [path.join(root, 'scripts', 'import-graph.js'), '--json'], { encoding: 'utf8' })) as Graph;

  it('has lib/ in layers that only import downward, with no import circle', () => {
    assert.ok(graph.files > 20, `the graph read ${graph.files} files of lib/`);
    assert.deepEqual(graph.circles, [], 'import circles');
    assert.deepEqual(graph.backArrows, [], 'imports from a lower layer back up');
    assert.deepEqual(graph.unlayered, [], 'files outside core, dicom, dcmtk, dicomweb, filing and ops');
  });

  it('has no re-export shim and no file in lib/ over 250 lines', () => {
    assert.deepEqual(graph.reexportShims, []);
    assert.deepEqual(graph.overLong, []);
  });

  it('keeps Node-RED out of lib/: no message or error there speaks of Node-RED, msg, Catch or the flow', () => {
    const found = sources(path.join(root, 'lib')).flatMap((file) =>
      codeLines(file)
        .filter(({ text }) => /Node-RED|\bmsg\.|\bCatch\b|\bthe flow\b|from 'node-red'/.test(text))
        .map(({ line, text }) => `${path.relative(root, file)}:${line}: ${text.trim()}`),
    );
    assert.deepEqual(found, []);
  });

  it('has nodes/ and bin/ use the core through lib/index.ts only', () => {
    const deep = ['nodes', 'bin'].flatMap((dir) =>
      sources(path.join(root, dir)).flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/from '(\.\.\/lib\/[^']+)'/g)].map((match) => `${path.relative(root, file)}: ${match[1]}`),
      ),
    );
    assert.deepEqual(deep, []);
  });
});

// npm run build: compile TypeScript into a clean dist/, then put each node's .html, the icons and
// the locales beside the compiled node files, where the Node-RED runtime looks for them.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'dist', 'nodes');
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
try {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
} catch {
  process.exit(1); // tsc has printed the errors
}

// tsc writes files without the run bit; the commands are run as programs (npx px-echo, package.json's bin).
const bin = path.join(root, 'dist', 'bin');
for (const file of fs.readdirSync(bin)) if (file.endsWith('.js')) fs.chmodSync(path.join(bin, file), 0o755);

// The DICOM dictionary's table as JSON, read faster than the package's script (lib/dicom/dictionary.ts).
const dictionary = require(path.join(root, 'dist', 'lib', 'dicom', 'dictionary.js'));
fs.writeFileSync(path.join(root, 'dist', 'lib', 'dicom', dictionary.TABLE_FILE), JSON.stringify(dictionary.tableFromPackage()));

fs.mkdirSync(out, { recursive: true });
for (const file of fs.readdirSync(path.join(root, 'nodes'))) {
  if (file.endsWith('.html')) fs.copyFileSync(path.join(root, 'nodes', file), path.join(out, file));
}
for (const dir of ['icons', 'locales']) {
  const from = path.join(root, dir);
  if (fs.existsSync(from)) fs.cpSync(from, path.join(out, dir), { recursive: true });
}

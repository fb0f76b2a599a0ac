// A real Node-RED runtime in its own user folder, started as a child process: for the demo, the
// benchmarks and the packaged-install and browser tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { dyingWithParent } from './processes';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Every example flow, each on one tab of its own named after its file (a tab an example brings is not added).
 * The examples share their config nodes (one demo PACS, the same id in every file): each is added once, and
 * two files that give one id different settings are an error, as the editor would keep only the first.
 */
export function exampleFlows(): Array<Record<string, unknown>> {
  const dir = path.join(REPO_ROOT, 'examples');
  const flows: Array<Record<string, unknown>> = [];
  const configs = new Map<string, { file: string; text: string }>();
  readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .forEach((file, index) => {
      const tab = `pypx-example-tab-${index + 1}`;
      flows.push({ id: tab, type: 'tab', label: file.replace(/\.json$/, ''), disabled: false, info: '' });
      const nodes = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Array<Record<string, unknown>>;
      for (const node of nodes) {
        if (node.type === 'tab') continue;
        if ('x' in node) {
          flows.push({ ...node, z: tab });
          continue;
        }
        const id = String(node.id);
        const text = JSON.stringify(Object.fromEntries(Object.entries(node).sort(([a], [b]) => a.localeCompare(b))));
        const seen = configs.get(id);
        if (seen && seen.text !== text) throw new Error(`examples "${seen.file}" and "${file}" give config node ${id} different settings`);
        if (seen) continue;
        configs.set(id, { file, text });
        flows.push(node);
      }
    });
  return flows;
}

export interface NodeRedOptions {
  userDir: string;
  port: number;
  flows: Array<Record<string, unknown>>;
  /** Credentials by node id, written to flows_cred.json unencrypted (credentialSecret false), as a site's own would be. */
  credentials?: Record<string, Record<string, string>>;
  /** Link this checkout into the user folder (the demo); otherwise the caller installs what it wants. */
  linkThisPackage?: boolean;
  env?: Record<string, string>;
  /** Node modules that function nodes may read with global.get(name) (settings' functionGlobalContext). */
  functionGlobalModules?: string[];
  /** Where the runtime's log goes; 'inherit' shows it on this terminal. */
  log?: 'inherit' | 'ignore' | number;
}

export interface RunningNodeRed {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startNodeRed(options: NodeRedOptions): Promise<RunningNodeRed> {
  const { userDir, port } = options;
  await mkdir(path.join(userDir, 'node_modules'), { recursive: true });
  if (options.linkThisPackage) {
    await writeFile(
      path.join(userDir, 'package.json'),
      JSON.stringify({ name: 'pypx-demo', private: true, dependencies: { 'node-red-contrib-pypx': `file:${REPO_ROOT}` } }, null, 2),
    );
    await symlink(REPO_ROOT, path.join(userDir, 'node_modules', 'node-red-contrib-pypx'), 'dir').catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
  await writeFile(path.join(userDir, 'flows.json'), JSON.stringify(options.flows, null, 2));
  if (options.credentials) await writeFile(path.join(userDir, 'flows_cred.json'), JSON.stringify(options.credentials, null, 2), { mode: 0o600 });
  await writeFile(
    path.join(userDir, 'settings.js'),
    `module.exports = ${JSON.stringify({
      uiHost: '127.0.0.1',
      uiPort: port,
      flowFile: 'flows.json',
      credentialSecret: false,
      editorTheme: { tours: false },
      telemetry: { enabled: false },
      logging: { console: { level: 'info' } },
    }, null, 2)};\n${(options.functionGlobalModules ?? []).map((name) => `module.exports.functionGlobalContext = { ...module.exports.functionGlobalContext, ${JSON.stringify(name)}: require(${JSON.stringify(name)}) };\n`).join('')}`,
  );
  // It dies with the process that started it (a test run, the demo), even when that one is killed.
  const [file, args] = await dyingWithParent(process.execPath, [require.resolve('node-red/red.js'), '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')]);
  const child = spawn(file, args, {
    cwd: userDir,
    stdio: ['ignore', options.log ?? 'ignore', options.log ?? 'ignore'],
    env: { ...process.env, TCP_NODELAY: '1', ...options.env },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Node-RED exited at start with code ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/flows`, { headers: { 'Node-RED-API-Version': 'v2' } });
      if (response.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Node-RED did not answer on ${url} within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

// `npm run bench -- --pinned`: each benchmark run a second time with Node-RED on a core of its own.
// The benchmark's Node.js process (which is Node-RED's) runs under `taskset -c 1`; every DCMTK tool and
// Orthanc, on both sides of each pair, on core 0. The tools px-* starts are started by the product code,
// which must not change for a benchmark: they are pinned by what the benchmark puts first on PATH, where
// px-* looks for them (lib/dcmtk/run.ts): for each tool a script that moves itself to core 0 and then
// execs the real tool under the name it was called by (same process id and command line, so that
// px-listen's supervision and px-get's look at /proc/<pid>/fd see the tool itself). Children inherit
// their parent's cores: storescp's forked children, and the DCMTK processes inside Orthanc.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const NODE_RED_CORE = 1;
export const TOOLS_CORE = 0;
const PINNED_ENV = 'PYPX_BENCH_PINNED';
const PINNED_TOOLS = ['storescp', 'storescu', 'getscu', 'findscu', 'movescu', 'echoscu', 'dcmsend', 'Orthanc'];

/** True in a benchmark's process run by `--pinned`. */
export function pinned(): boolean {
  return process.env[PINNED_ENV] === '1';
}

/** Why this machine cannot pin, or undefined when it can. */
export function cannotPin(): string | undefined {
  const cores = os.availableParallelism();
  if (cores < 2) return `this machine has ${cores} core available: --pinned needs two (Node-RED on one, DCMTK and Orthanc on the other)`;
  try {
    execFileSync('taskset', ['-c', String(NODE_RED_CORE), 'true']);
    execFileSync('taskset', ['-c', String(TOOLS_CORE), 'true']);
  } catch (err) {
    return `cannot pin with taskset (util-linux) to cores ${TOOLS_CORE} and ${NODE_RED_CORE}: ${(err as Error).message}`;
  }
  return undefined;
}

function realTool(tool: string): string | undefined {
  try {
    return execFileSync('bash', ['-c', `type -P ${tool}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The program and arguments that run a benchmark's Node.js process pinned, and its environment: the
 * folder of pinning scripts first on PATH. The scripts go in `folder`.
 */
export function pinnedCommand(folder: string, file: string, args: string[]): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  mkdirSync(folder, { recursive: true });
  for (const tool of PINNED_TOOLS) {
    const real = realTool(tool);
    if (!real) continue;
    const script = path.join(folder, tool);
    writeFileSync(script, `#!/bin/bash\ntaskset -p -c ${TOOLS_CORE} $$ >/dev/null || exit 126\nexec -a "$0" ${real} "$@"\n`);
    chmodSync(script, 0o755);
  }
  return {
    file: 'taskset',
    args: ['-c', String(NODE_RED_CORE), file, ...args],
    env: { ...process.env, PATH: `${folder}${path.delimiter}${process.env.PATH ?? ''}`, [PINNED_ENV]: '1' },
  };
}

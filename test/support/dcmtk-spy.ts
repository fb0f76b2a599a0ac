// A DCMTK folder (a PACS config's dcmtkDir) whose tools run the real ones and note how each run ended:
// for tests that must know an attempt is over (a send refused by a PACS that is down) before they go on.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const TOOLS = ['echoscu', 'findscu', 'movescu', 'getscu', 'storescu', 'dcmsend'];

export interface DcmtkSpy {
  /** The folder to give as dcmtkDir. */
  dir: string;
  /** The runs that have ended, in order: the tool and its exit code. */
  ended(): Array<{ tool: string; code: number }>;
  remove(): Promise<void>;
}

export async function dcmtkSpy(): Promise<DcmtkSpy> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-dcmtk-spy-'));
  const log = path.join(dir, 'ended.log');
  for (const tool of TOOLS) {
    const real = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    const wrapper = path.join(dir, tool);
    writeFileSync(wrapper, `#!/bin/sh\n'${real}' "$@"\ncode=$?\necho "${tool} $code" >> '${log}'\nexit $code\n`);
    chmodSync(wrapper, 0o755);
  }
  return {
    dir,
    ended: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((line) => {
          const [tool, code] = line.split(' ');
          return { tool: tool as string, code: Number(code) };
        })
        : [],
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

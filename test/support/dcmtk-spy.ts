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
  /** The runs that have ended, in order: the tool and its exit code (none for a run killed by a signal). */
  ended(): Array<{ tool: string; code: number }>;
  /** The tools started so far, in order. */
  started(): string[];
  remove(): Promise<void>;
}

/**
 * `execs`: each wrapper notes the start and execs the tool, which then gets the signals that stop it (a
 * run stopped by px-send itself); no end is noted then.
 */
export async function dcmtkSpy(options: { execs?: boolean } = {}): Promise<DcmtkSpy> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-dcmtk-spy-'));
  const log = path.join(dir, 'ended.log');
  const starts = path.join(dir, 'started.log');
  for (const tool of TOOLS) {
    const real = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    const wrapper = path.join(dir, tool);
    writeFileSync(wrapper, options.execs
      ? `#!/bin/sh\necho ${tool} >> '${starts}'\nexec '${real}' "$@"\n`
      : `#!/bin/sh\necho ${tool} >> '${starts}'\n'${real}' "$@"\ncode=$?\necho "${tool} $code" >> '${log}'\nexit $code\n`);
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
    started: () => (existsSync(starts) ? readFileSync(starts, 'utf8').split('\n').filter(Boolean) : []),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

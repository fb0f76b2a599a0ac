// A tool must not outlive this process, even when it is killed: it runs under setpriv --pdeathsig
// (util-linux, on every Debian), so that the kernel signals it when its parent dies.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';

export class SetprivNotFoundError extends Error {
  constructor(readonly lookedIn: string) {
    super(`setpriv not found (looked in PATH: ${lookedIn || 'empty'}): install util-linux (apt-get install util-linux); without it a DCMTK tool would outlive Node-RED when Node-RED is killed`);
    this.name = 'SetprivNotFoundError';
  }
}

let found: Promise<string> | undefined;

async function searchPath(): Promise<string> {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
    const file = path.join(dir, 'setpriv');
    if (await access(file, constants.X_OK).then(() => true, () => false)) return file;
  }
  throw new SetprivNotFoundError(dirs.join(path.delimiter));
}

function locateSetpriv(): Promise<string> {
  // Not found is looked up again next time: it may be installed meanwhile.
  found ??= searchPath().catch((err: unknown) => {
    found = undefined;
    throw err;
  });
  return found;
}

/**
 * ['/usr/bin/setpriv', '--pdeathsig', signal, '--']: what a tool runs under so that it gets `signal`
 * when this process dies. KILL for a client tool; TERM for storescp's `timeout`, which passes it on
 * to its whole process group. Rejects with SetprivNotFoundError where setpriv is not installed.
 */
export async function dieWithThisProcess(signal: 'KILL' | 'TERM' = 'KILL'): Promise<readonly string[]> {
  return [await locateSetpriv(), '--pdeathsig', signal, '--'];
}

// A client tool (dcmsend, getscu) must not outlive this process, even when it is killed: run it under
// setpriv --pdeathsig (util-linux, on every Debian), so that the kernel ends it with its parent.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';

let found: Promise<readonly string[]> | undefined;

/** ['setpriv', '--pdeathsig', 'KILL', '--'] where setpriv is installed, else nothing (the tool then runs as it is). */
export function dieWithThisProcess(): Promise<readonly string[]> {
  found ??= (async () => {
    for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
      const file = path.join(dir, 'setpriv');
      if (await access(file, constants.X_OK).then(() => true, () => false)) return [file, '--pdeathsig', 'KILL', '--'];
    }
    return [];
  })();
  return found;
}

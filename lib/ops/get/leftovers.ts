// A retrieve's working folders under <dataDir>/incoming (getscu's `.get-*`, WADO-RS's `.wado-*`) hold
// patient data and go when the retrieve ends. Each is named after the process and the machine that made
// it, so that those a crash left are removed at the next px-get into that data folder: only those of
// this machine whose process is gone (a data folder shared with another machine or container keeps theirs).
import os from 'node:os';
import path from 'node:path';
import { removeLeftBehind } from '../../dcmtk/processes';

const host = () => os.hostname().replace(/[^A-Za-z0-9.-]/g, '_') || 'localhost';
/** `.get-<pid>-<host>-XXXXXX` (mkdtemp's six characters), and getscu's `.log.cfg` beside it. */
const LEFT_BEHIND = /^\.(?:get|wado)-(\d+)-(.+)-[A-Za-z0-9]{6}(?:\.log\.cfg)?$/;
/** Data folders swept by this process, forgotten past this many. */
const SWEPT_KEPT = 1000;

/** mkdtemp's prefix for a retrieve's working folder under `incoming`. */
export function workingFolderPrefix(incoming: string, kind: 'get' | 'wado'): string {
  return path.join(incoming, `.${kind}-${process.pid}-${host()}-`);
}

/** The process that made a working folder of this machine; undefined for anything else. */
function ownerOf(name: string): number | undefined {
  const found = LEFT_BEHIND.exec(name);
  return found && found[2] === host() ? Number(found[1]) : undefined;
}

const swept = new Map<string, Promise<string[]>>();
/** Removes, once per data folder and process, the working folders of retrieves whose process died. Never throws. */
export function sweepLeftoverRetrieves(dataDir: string): Promise<string[]> {
  const incoming = path.join(path.resolve(dataDir), 'incoming');
  let done = swept.get(incoming);
  if (!done) {
    if (swept.size >= SWEPT_KEPT) swept.clear();
    done = removeLeftBehind(incoming, ownerOf);
    swept.set(incoming, done);
  }
  return done;
}

// Where findscu writes its answers: a private folder (mode 0700) per query, on memory-backed /dev/shm
// when there is one (10,000 answer files cost ~1.5 s of disk time on /tmp, ~0.1 s there). Each
// folder is removed when its query ends; those of a process that crashed are removed at the next start.
import { statSync } from 'node:fs';
import { mkdtemp, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { removeLeftBehind } from '../../dcmtk/processes';

const PREFIX = 'pypx-find-';
const OURS = /^pypx-find-(\d+)-/;

/** /dev/shm when it is a writable folder of this machine, else the system temp folder. */
export function answerRoot(): string {
  try {
    const shm = statSync('/dev/shm');
    if (shm.isDirectory() && (shm.mode & 0o1777) === 0o1777) return '/dev/shm';
  } catch {
    /* no /dev/shm */
  }
  return os.tmpdir();
}

/**
 * A new folder only this user can read (mkdtemp creates it 0700), named after this process: on
 * /dev/shm, else (none, or full) in the system temp folder.
 */
export async function makeAnswerFolder(root = answerRoot()): Promise<string> {
  const make = (where: string) => mkdtemp(path.join(where, `${PREFIX}${process.pid}-`));
  try {
    return await make(root);
  } catch (err) {
    if (root === os.tmpdir()) throw err;
    return make(os.tmpdir());
  }
}

/** Removes the answer folders this user's processes left when they died mid-query. Never throws. */
export function sweepStaleAnswerFolders(root = answerRoot()): Promise<string[]> {
  const uid = process.getuid?.();
  const ownerOf = (name: string) => (OURS.test(name) ? Number(OURS.exec(name)?.[1]) : undefined);
  return removeLeftBehind(root, ownerOf, async (folder) => uid !== undefined && (await stat(folder)).uid !== uid);
}

let swept: Promise<unknown> | undefined;
/** The sweep of both places answers may go, once per process: at the first query, or when a caller starts it at load. */
export function sweepOnce(): Promise<unknown> {
  swept ??= Promise.all([...new Set([answerRoot(), os.tmpdir()])].map((root) => sweepStaleAnswerFolders(root)));
  return swept;
}

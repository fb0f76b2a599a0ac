// A folder that cannot be written, in the words a PACS administrator knows (disk full, quota,
// permissions, read-only), and a probe write that tells whether it can be written again.
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { failureBeforeRun, type PacsError } from '../core/errors';

const WORDS: Record<string, string> = {
  ENOSPC: 'disk full',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'no permission to write',
  EPERM: 'no permission to write',
  EROFS: 'read-only file system',
  ENOENT: 'folder missing',
  ENOTDIR: 'not a folder',
};

/** Failures that are the folder's (full, quota, permissions, read-only), not the file's. */
const FOLDER_FAILURES = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS']);

/**
 * What a probe writes: a write this large that succeeds means room for the next instance of most
 * modalities, so that a disk with a few kilobytes left is not taken for one that can be written again.
 */
export const PROBE_BYTES = 1 << 20;

function codeOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Whether the failure is the folder's (disk full, quota, permissions, read-only): every later write there fails too. */
export function isFolderWriteFailure(err: unknown): boolean {
  return FOLDER_FAILURES.has(codeOf(err) ?? '');
}

/** "disk full", "read-only file system", ...; the error's own message when it is none of these. */
export function writeFailureWords(err: unknown): string {
  return WORDS[codeOf(err) ?? ''] ?? (err instanceof Error ? err.message : String(err));
}

/** "disk full (ENOSPC: no space left on device, write)": the words, then the system's. */
export function describeWriteFailure(err: unknown): string {
  const words = writeFailureWords(err);
  const own = err instanceof Error ? err.message : String(err);
  return words === own ? own : `${words} (${own})`;
}

/** "disk full (ENOSPC)": a system failure without the path the system's message quotes (a path may name the patient). */
export function failureWithoutPath(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (!codeOf(err)) return message;
  // Node's own wording: "EISDIR: illegal operation on a directory, read '/data/...'": the part before the call.
  return message.replace(/, \w+ '.*$/s, '');
}

/**
 * The failure of a write into `folder`, for an answer: its short reason names the cause and the folder
 * ("disk full: /data/incoming"), its message says what could not be done (`what`), then why.
 */
export function folderWriteError(folder: string, err: unknown, what: string, command = ''): PacsError {
  const known = WORDS[codeOf(err) ?? ''];
  return failureBeforeRun(known ? 'storage' : 'failed', `${known ?? 'cannot write'}: ${folder}`, `${what}: ${describeWriteFailure(err)}`, command);
}

/** Writes PROBE_BYTES into a file of its own in the folder and removes it: the failure, or undefined when the folder took it. */
export function probeWrite(folder: string): NodeJS.ErrnoException | undefined {
  const probe = path.join(folder, `.px-write-probe-${process.pid}`);
  let fd: number | undefined;
  try {
    fd = openSync(probe, 'w', 0o600);
    const chunk = Buffer.alloc(64 * 1024);
    for (let written = 0; written < PROBE_BYTES;) written += writeSync(fd, chunk);
    return undefined;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  } finally {
    if (fd !== undefined) closeSync(fd);
    try {
      rmSync(probe, { force: true });
    } catch {
      /* never made: the folder refused it */
    }
  }
}

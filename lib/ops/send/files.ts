// What an input asks px-send to send: a path, a folder, an array of them or a px-listen payload, as the
// absolute paths of the DICOM files it names, each with the meta information read while looking (the
// DIMSE send plans its associations from it). The same list goes to C-STORE and to STOW-RS.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describeType } from '../../core/describe';
import { failureBeforeRun } from '../../core/errors';
import { type FileMeta, readFileMeta } from '../../dicom/file-meta';
import type { SendFailure, SendList } from './types';

const MAX_PROBLEMS_SHOWN = 5;

/** The paths in an input: a path, a folder, an array of them, or a px-listen payload (`data.path` / `data.files`). */
function collectPaths(item: unknown, where: string, problems: string[], out: string[], depth: number): void {
  if (typeof item === 'string') {
    if (!item.trim()) problems.push(`${where}: is an empty path`);
    else if (item.includes('\0')) problems.push(`${where}: contains a NUL character`);
    else out.push(item);
  } else if (Array.isArray(item) && depth < 3) {
    item.forEach((each, i) => collectPaths(each, `${where}[${i}]`, problems, out, depth + 1));
  } else if (item !== null && typeof item === 'object' && !Array.isArray(item) && depth < 3) {
    const record = item as Record<string, unknown>;
    const data = record.data !== null && typeof record.data === 'object' && !Array.isArray(record.data) ? (record.data as Record<string, unknown>) : undefined;
    if (record.status === 'error') problems.push(`${where}: is a failed result (status "error"), with nothing to send`);
    else if (data && Array.isArray(data.files)) collectPaths(data.files, `${where}.data.files`, problems, out, depth + 1);
    else if (data && typeof data.path === 'string') collectPaths(data.path, `${where}.data.path`, problems, out, depth + 1);
    else if (typeof record.path === 'string') collectPaths(record.path, `${where}.path`, problems, out, depth + 1);
    else problems.push(`${where}: is an object without data.files, data.path or path: give a file, a folder, an array of them, or a px-listen message payload`);
  } else {
    problems.push(`${where}: must be a file or folder path, an array of them, or a px-listen message payload; not ${describeType(item)}`);
  }
}

const FILES_PER_TURN = 256;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Every DICOM Part 10 file under a folder ("DICM" after the preamble), in name order, with its meta
 * information; hidden entries and other files (.info) are skipped.
 */
async function dicomFilesUnder(dir: string, out: string[], missing: SendFailure[], meta: Map<string, FileMeta>, read: { count: number }): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = `${dir}${dir.endsWith('/') ? '' : '/'}${entry.name}`;
    if (entry.isDirectory()) await dicomFilesUnder(full, out, missing, meta, read);
    // A link is followed to a file, never to a folder (no loops); a file that cannot be read fails alone.
    else if (entry.isFile() || entry.isSymbolicLink()) {
      const found = readFileMeta(full);
      if (found.kind === 'dicom' || found.kind === 'no-meta') {
        out.push(full);
        meta.set(full, found);
      } else if (found.kind === 'unreadable') {
        missing.push({ file: full, reason: unreadableReason(found) });
      }
    }
    if (++read.count % FILES_PER_TURN === 0) await nextTurn();
  }
}

function unreadableReason(found: Extract<FileMeta, { kind: 'unreadable' }>): string {
  return found.code === 'ENOENT' ? 'no such file or folder' : `cannot read it: ${found.message}`;
}

/**
 * The files an input asks to send, as absolute paths (so that none can be read by dcmsend as an
 * option). A bad item anywhere fails the whole input before anything is sent; a path that does not
 * exist fails alone.
 */
export async function collectSendFiles(payload: unknown, name = 'payload'): Promise<SendList> {
  const problems: string[] = [];
  const given: string[] = [];
  collectPaths(payload, name, problems, given, 0);
  if (problems.length) {
    const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).join('; ');
    const more = problems.length > MAX_PROBLEMS_SHOWN ? `; and ${problems.length - MAX_PROBLEMS_SHOWN} more` : '';
    throw failureBeforeRun('bad-input', problems.length === 1 ? 'bad send input' : `${problems.length} bad items`, `nothing was sent: ${shown}${more}`);
  }
  const files: string[] = [];
  const missing: SendFailure[] = [];
  const meta = new Map<string, FileMeta>();
  const read = { count: 0 };
  for (const each of given) {
    const full = path.resolve(each);
    const found = readFileMeta(full);
    if (found.kind === 'unreadable') missing.push({ file: full, reason: unreadableReason(found) });
    else if (found.kind === 'folder') await dicomFilesUnder(full, files, missing, meta, read);
    else {
      files.push(full);
      meta.set(full, found);
    }
    if (++read.count % FILES_PER_TURN === 0) await nextTurn();
  }
  // A path given twice, or a folder given twice, is one file: sent once, or failed once.
  const failedOnce = [...new Map(missing.map((m) => [m.file, m])).values()];
  return { files: [...new Set(files)], missing: failedOnce, meta };
}

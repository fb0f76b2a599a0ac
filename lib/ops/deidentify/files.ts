// The files an input names: files as given, folders walked recursively in name order. Hidden entries
// and pypx's own .info files are left out; every other file is tried (one that is not DICOM fails alone).
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { failureWithoutPath } from '../../filing/write-failure';

export type Found = { file: string } | { file: string; problem: string };

async function walk(dir: string, out: Found[], skip: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    out.push({ file: dir, problem: `cannot read the folder: ${failureWithoutPath(err)}` });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name.endsWith('.info')) continue;
    const full = path.join(dir, entry.name);
    // A folder reached by a link is not followed (no loops); a link to a file is.
    if (entry.isDirectory()) {
      if (path.resolve(full) !== skip) await walk(full, out, skip);
    }
    else if (entry.isFile() || entry.isSymbolicLink()) out.push({ file: full });
  }
}

/**
 * Every file under the inputs, in order, with those that cannot be reached named with the reason. The
 * folder `skip` (the output folder, when it lies inside an input) is not walked: copies are not copied again.
 */
export async function filesUnder(inputs: string[], skip: string): Promise<Found[]> {
  const out: Found[] = [];
  for (const input of inputs) {
    try {
      if ((await stat(input)).isDirectory()) await walk(input, out, skip);
      else out.push({ file: input });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      out.push({ file: input, problem: code === 'ENOENT' ? 'no such file or folder' : `cannot read it: ${failureWithoutPath(err)}` });
    }
  }
  return out;
}

// A DCMTK folder (a PACS config's dcmtkDir) whose findscu reports that the PACS refused the C-FIND, beside
// the real movescu and getscu: a PACS that will not look UIDs up.
import { chmod, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export async function refusingFindscu(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-tools-'));
  await writeFile(path.join(dir, 'findscu'), '#!/bin/sh\necho "I: Received Final Find Response (Failed: UnableToProcess)"\n');
  await chmod(path.join(dir, 'findscu'), 0o755);
  for (const tool of ['movescu', 'getscu']) await symlink(`/usr/bin/${tool}`, path.join(dir, tool));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

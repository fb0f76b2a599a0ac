// Whether the listener can write its folders. The first write that fails for the folder's sake (disk
// full, quota, permissions, read-only, a missing data folder) starts an episode, said once however many
// instances are refused or wait meanwhile; a probe write in every folder, tried at each sweep while the
// episode lasts, ends it. A probe rather than the next instance filed: a sender whose instance was
// refused may try again only much later, and one instance that fits on an almost full disk proves little.
import { PacsError } from '../../core/errors';
import { probeWrite } from '../../filing/write-failure';

export interface StorageProblem {
  /** The folder that could not be written. */
  folder: string;
  /** "disk full", "read-only file system", ... */
  words: string;
  /** Said once for the episode. */
  error: PacsError;
  /** When the episode started (ms since the epoch). */
  since: number;
}

export interface StorageHooks {
  failing(problem: StorageProblem): void;
  recovered(problem: StorageProblem): void;
}

export class StorageWatch {
  private problem?: StorageProblem;

  constructor(private readonly folders: string[], private readonly hooks: StorageHooks) {}

  /** The episode under way, if any. */
  get failing(): StorageProblem | undefined {
    return this.problem;
  }

  /** A write in `folder` failed for the folder's sake: the first of an episode is said, the others not. */
  failed(folder: string, words: string, message: string, command: string): void {
    if (this.problem) return;
    this.problem = { folder, words, since: Date.now(), error: new PacsError('storage', `${words}: ${folder}`, message, { status: 'error', command, data: message }) };
    this.hooks.failing(this.problem);
  }

  /** During an episode: ends it once every folder takes a probe write. */
  probe(): void {
    const problem = this.problem;
    if (!problem || [...new Set(this.folders)].some((folder) => probeWrite(folder))) return;
    this.problem = undefined;
    this.hooks.recovered(problem);
  }
}

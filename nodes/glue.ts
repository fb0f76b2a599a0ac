// What every px node does the same way around the pypx core: find its PACS, run operations it can
// stop on close, and where it files when no data folder is set. Knows Node-RED; knows nothing of DICOM.
import os from 'node:os';
import path from 'node:path';
import type { Node, NodeAPI, NodeMessageInFlow } from 'node-red';
import { failureBeforeRun, toPacsError, type AssociationQueue, type PacsSettings } from '../lib';
import type { Say } from './i18n';
import { unsetEnvVariableProblem } from './pacs-policy';
import type { StatusLight } from './status';

export interface PacsConfigNode extends Node {
  /** The config's settings with msg.pacs laid over them; throws SettingsError when the result is invalid. */
  resolveSettings(overrides?: unknown): PacsSettings;
  /** Associations to this PACS wait here for a turn: at most the config's concurrency at once. */
  queue: AssociationQueue;
}

export type SendFn = (msg: NodeMessageInFlow | Array<NodeMessageInFlow | NodeMessageInFlow[] | null>) => void;
export type DoneFn = (err?: Error) => void;

/**
 * The node's PACS config. The status starts cleared: the editor keeps showing the status of the node
 * this one replaces (a red "refused" from before the config was fixed) until it is told otherwise.
 */
export function findPacsConfig(RED: NodeAPI, id: string | undefined, light: StatusLight, say: Say): PacsConfigNode | undefined {
  light.clear();
  const pacs = id ? (RED.nodes.getNode(id) as PacsConfigNode | null) : null;
  if (!pacs) light.failed(say('status.noPacs'));
  else light.noticeOf = () => pacs.queue.notice;
  return pacs ?? undefined;
}

/** Settings for one message: the node's PACS with msg.pacs over it. Bad settings become a PacsError. */
export function settingsForMessage(pacs: PacsConfigNode | undefined, msg: NodeMessageInFlow): PacsSettings {
  try {
    if (!pacs) throw failureBeforeRun('bad-input', 'no PACS set', 'no PACS configured: choose a px-pacs config in the node');
    return pacs.resolveSettings(msg.pacs);
  } catch (err) {
    throw toPacsError(err);
  }
}

/**
 * A folder of px-listen's or px-get's, whatever folder Node-RED was started in: a relative path is taken
 * from Node-RED's user folder (RED.settings.userDir; ~/.node-red when the runtime does not say); empty
 * stays undefined. A field left as an unset `${NAME}` is kept as written, for the node to report.
 */
export function inUserFolder(RED: NodeAPI, folder: string | undefined): string | undefined {
  const given = folder?.trim();
  if (!given || unsetEnvVariableProblem('folder', given)) return given || undefined;
  let userDir: unknown;
  try {
    userDir = (RED.settings as { userDir?: unknown }).userDir;
  } catch {
    userDir = undefined;
  }
  return path.resolve(typeof userDir === 'string' && userDir ? userDir : path.join(os.homedir(), '.node-red'), given);
}

/** px-listen's and px-get's data folder: empty is pypx-data in Node-RED's user folder. */
export function dataDirOrDefault(RED: NodeAPI, dataDir: string | undefined): string {
  return inUserFolder(RED, dataDir?.trim() || 'pypx-data') as string;
}

/** Child processes this node has running, so that close can stop them and wait until they are gone. */
export class RunningOperations {
  private readonly running = new Map<Promise<unknown>, AbortController>();

  get size(): number {
    return this.running.size;
  }

  run<T>(operation: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const promise = operation(controller.signal);
    this.running.set(promise, controller);
    const forget = () => this.running.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  async stopAll(): Promise<void> {
    for (const controller of this.running.values()) controller.abort();
    await Promise.allSettled([...this.running.keys()]);
  }
}

/** Registers close: stop what runs, then always call done. */
export function handleClose(node: Node, stop: () => Promise<void>): void {
  node.on('close', (_removed: boolean, done: () => void) => {
    stop()
      .catch((err: unknown) => node.warn(`while closing: ${String(err)}`))
      .finally(done);
  });
}

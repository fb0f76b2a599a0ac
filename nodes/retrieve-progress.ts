// px-move's node status: instances completed/total of the moves running now, and the PACS queue's length.
import type { Node } from 'node-red';
import type { AssociationQueue, MoveOutcome, MoveProgress } from '../lib';
import type { Say } from './i18n';

const REFRESH_MS = 200;

export class MoveStatus {
  private readonly moves = new Map<number, MoveProgress | undefined>();
  private nextId = 0;
  /** Instances moved since the node started, across every input. */
  private moved = 0;
  private timer?: NodeJS.Timeout;
  private readonly onQueueChange = () => this.schedule();

  constructor(private readonly node: Pick<Node, 'status'>, private readonly say: Say, private readonly queue?: AssociationQueue) {
    queue?.on('change', this.onQueueChange);
  }

  /** A move of this node begins (it may first wait in the queue). */
  begin(): { progress(p: MoveProgress): void; end(): void } {
    const id = this.nextId++;
    this.moves.set(id, undefined);
    this.schedule();
    return {
      progress: (p) => {
        this.moves.set(id, p);
        this.schedule();
      },
      end: () => {
        this.moves.delete(id);
        this.schedule();
      },
    };
  }

  /** The moves of one input ended: count them, and say how they went unless others are still running. */
  finished(outcomes: MoveOutcome[]): void {
    this.moved += outcomes.reduce((sum, o) => sum + o.completed, 0);
    if (this.moves.size) return;
    this.cancel();
    const failures = outcomes.filter((o) => o.error);
    if (!failures.length) this.node.status({ fill: 'green', shape: 'dot', text: this.say('status.moved', { count: this.moved }) });
    else if (outcomes.length === 1) this.node.status({ fill: 'red', shape: 'ring', text: failures[0].error?.reason ?? this.say('status.failed') });
    else this.node.status({ fill: 'red', shape: 'ring', text: this.say('status.someFailed', { failed: failures.length, count: outcomes.length }) });
  }

  show(status: { fill?: 'grey' | 'red'; shape?: 'ring'; text: string }): void {
    this.cancel();
    this.node.status(status);
  }

  close(): void {
    this.cancel();
    this.queue?.removeListener('change', this.onQueueChange);
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.render();
    }, REFRESH_MS);
  }

  private cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private render(): void {
    if (!this.moves.size) return;
    const known = [...this.moves.values()].filter((p): p is MoveProgress => p !== undefined);
    const queued = this.queue?.waiting ?? 0;
    const done = known.reduce((sum, p) => sum + p.completed + p.failed + p.warning, 0);
    const total = known.reduce((sum, p) => sum + p.total, 0);
    let text = known.length ? this.say('status.progress', { done, total }) : queued ? this.say('status.waiting') : this.say('status.moving');
    if (queued) text = this.say('status.queued', { text, count: queued });
    this.node.status({ fill: 'blue', shape: known.length ? 'dot' : 'ring', text });
  }
}

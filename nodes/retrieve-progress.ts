// px-move's and px-get's progress text: instances done/total of the retrieves running now, and how
// many wait in the PACS queue. Shown through the node's status rule, at most every REFRESH_MS.
import type { AssociationQueue, MoveProgress } from '../lib';
import type { Say } from './i18n';

const REFRESH_MS = 200;

export class RetrieveProgress {
  private readonly running = new Map<number, MoveProgress | undefined>();
  private nextId = 0;
  private timer?: NodeJS.Timeout;
  private readonly onQueueChange = () => this.schedule();

  constructor(private readonly say: Say, private readonly show: (text: string) => void, private readonly queue?: AssociationQueue) {
    queue?.on('change', this.onQueueChange);
  }

  /** A retrieve of this node begins (it may first wait in the queue). */
  begin(): { progress(p: MoveProgress): void; end(): void } {
    const id = this.nextId++;
    this.running.set(id, undefined);
    this.schedule();
    return {
      progress: (p) => {
        this.running.set(id, p);
        this.schedule();
      },
      end: () => {
        this.running.delete(id);
        if (!this.running.size) this.cancel();
      },
    };
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
    if (!this.running.size) return;
    const known = [...this.running.values()].filter((p): p is MoveProgress => p !== undefined);
    const queued = this.queue?.waiting ?? 0;
    const done = known.reduce((sum, p) => sum + p.completed + p.failed + p.warning, 0);
    const total = known.reduce((sum, p) => sum + p.total, 0);
    let text = known.length ? this.say(total ? 'status.progress' : 'status.progressSoFar', { done, total }) : this.say(queued ? 'status.waiting' : 'status.working');
    if (queued) text = this.say('status.queued', { text, count: queued });
    this.show(text);
  }
}

// The one status rule of every px node: a blue dot while work is in flight (with progress where it is
// known), a green dot with the running total since the flow was deployed, a red ring with a short
// reason on failure, kept until the next answer (or the next input, whose work then shows). Cleared on close.
import type { Node } from 'node-red';
import type { Say } from './i18n';

/** The node's status, said as verbs; texts come from the node's catalog (status.working, status.total). */
export class StatusLight {
  constructor(private readonly node: Pick<Node, 'status'>, private readonly say: Say) {}

  /** Blue dot: work in flight; `progress` (e.g. "12/40") where it is known, else the node's verb ("moving…"). */
  working(progress?: string): void {
    this.show('blue', progress ?? this.say('status.working'));
  }

  /** Green dot: how much this node has done since the flow was deployed, e.g. "40 moved". */
  succeeded(totalText: string): void {
    this.show('green', totalText);
  }

  /**
   * What the PACS's budget wants said (a budget shared through Redis fallen back to this process's):
   * while it says something, working and done show as a yellow ring with it in front.
   */
  noticeOf?: () => string | undefined;

  private show(fill: 'blue' | 'green', text: string): void {
    const notice = this.noticeOf?.();
    if (notice) this.node.status({ fill: 'yellow', shape: 'ring', text: `${notice} · ${text}` });
    else this.node.status({ fill, shape: 'dot', text });
  }

  /** Red ring: the short reason of a failure, e.g. "refused". */
  failed(reason: string): void {
    this.node.status({ fill: 'red', shape: 'ring', text: reason });
  }

  clear(): void {
    this.node.status({});
  }
}

/** When a node with an input shows what: the rule above, over inputs that may overlap. */
export class AnswerStatus {
  private inFlight = 0;
  private total = 0;
  private failure?: string;
  private lastProgress?: string;

  constructor(readonly light: StatusLight, private readonly say: Say) {}

  /** An input's work starts. */
  begin(): void {
    this.inFlight++;
    this.failure = undefined;
    this.lastProgress = undefined;
    this.light.working();
  }

  /** Progress of the work in flight; a failure already shown stays until the next answer. */
  progress(text: string): void {
    this.lastProgress = text;
    if (this.inFlight && this.failure === undefined) this.light.working(text);
  }

  /** An input is answered: `count` adds to the running total (what was moved, found, sent...). */
  end(count: number, failureReason?: string): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.total += count;
    this.failure = failureReason;
    if (failureReason !== undefined) this.light.failed(failureReason);
    else if (this.inFlight) this.light.working(this.lastProgress);
    else this.light.succeeded(this.say('status.total', { count: this.total }));
  }
}

// pypx's listen as a module call: a started receiver that reports what arrives as the dicts px-listen
// sends, as events or as an async iterator, until close().
import { EventEmitter } from 'node:events';
import type { PacsError } from '../../core/errors';
import { Listener } from './listener';
import type { ListenerOptions } from './options';
import type { SeriesComplete } from '../../filing/series';
import type { InstancePayload } from '../../filing/file-instance';
import type { StorageProblem } from './storage-watch';

export interface ReceivedInstance {
  status: 'success';
  data: InstancePayload;
}
export interface CompletedSeries {
  status: 'success';
  data: SeriesComplete;
}
export type ListenEvent = { event: 'instance'; payload: ReceivedInstance } | { event: 'series'; payload: CompletedSeries };

/** pypx's listener settings: its command-line letters (-t, -l, -d) are accepted as keys too. */
export type ListenSettings = Partial<ListenerOptions> & { t?: string; l?: string; d?: string };

/**
 * Besides instances and series: every failure on 'error'; a folder that cannot be written on
 * 'storage-failing' (once per episode, after its 'error'), and on 'storage-recovered' once it can be again.
 */
export type PypxListenerEvents = {
  instance: [ReceivedInstance];
  series: [CompletedSeries];
  error: [PacsError];
  'storage-failing': [StorageProblem];
  'storage-recovered': [StorageProblem & { lastedMs: number }];
};

export interface PypxListener extends EventEmitter<PypxListenerEvents> {
  /** The listener's AE title, port and folders as resolved. */
  readonly options: Listener['options'];
  /** Instances filed since start. */
  readonly received: number;
  close(): Promise<void>;
  /** Every instance and completed series, in order, until close() (from when iteration starts if .on() was used first). */
  [Symbol.asyncIterator](): AsyncIterator<ListenEvent>;
}

class StartedListener extends EventEmitter<PypxListenerEvents> implements PypxListener {
  private readonly pending: ListenEvent[] = [];
  private readonly waiting: Array<(result: IteratorResult<ListenEvent>) => void> = [];
  private closed = false;
  /**
   * Events are kept for an iterator that may start later, unless the caller listens with .on()
   * without iterating: then nothing is kept (a receiver runs for months).
   */
  private keeping = true;
  private iterating = false;

  constructor(private readonly listener: Listener) {
    super();
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if ((event === 'instance' || event === 'series') && !this.iterating) {
        this.keeping = false;
        this.pending.length = 0;
      }
    });
    listener.on('instance', (data) => this.deliver({ event: 'instance', payload: { status: 'success', data } }));
    listener.on('series', (data) => this.deliver({ event: 'series', payload: { status: 'success', data } }));
    listener.on('error', (error) => {
      // Like any EventEmitter, an 'error' nobody listens to would throw; the listener carries on either way.
      if (this.listenerCount('error')) this.emit('error', error);
    });
    listener.on('storage-failing', (problem) => this.emit('storage-failing', problem));
    listener.on('storage-recovered', (problem) => this.emit('storage-recovered', problem));
  }

  get options(): Listener['options'] {
    return this.listener.options;
  }

  get received(): number {
    return this.listener.received;
  }

  private deliver(item: ListenEvent): void {
    if (item.event === 'instance') this.emit('instance', item.payload);
    else this.emit('series', item.payload);
    const next = this.waiting.shift();
    if (next) next({ value: item, done: false });
    else if (this.keeping) this.pending.push(item);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.listener.close();
    for (const next of this.waiting.splice(0)) next({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<ListenEvent> {
    this.iterating = true;
    this.keeping = true;
    return {
      next: () => {
        const item = this.pending.shift();
        if (item) return Promise.resolve({ value: item, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.waiting.push(resolve));
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }
}

/**
 * Starts a DICOM receiver (storescp) that files what arrives the way pypx did. Resolves once it
 * accepts associations; rejects with a PacsError for bad settings or a port in use.
 */
export async function listen(settings: ListenSettings): Promise<PypxListener> {
  const { t, l, d, ...rest } = settings;
  const listener = new Listener({
    ...rest,
    aet: rest.aet ?? '',
    port: rest.port as number,
    dataDir: rest.dataDir ?? d ?? '',
    tmpDir: rest.tmpDir ?? t,
    logDir: rest.logDir ?? l,
  } as ListenerOptions);
  const started = new StartedListener(listener);
  try {
    await listener.start();
  } catch (err) {
    await listener.close().catch(() => undefined);
    throw err;
  }
  return started;
}

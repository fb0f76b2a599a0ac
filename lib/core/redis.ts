// The Redis server several instances share state through (the association budget, the series view).
// ioredis is loaded with import() on first use only: without a Redis setting it is never loaded.
import type { Redis } from 'ioredis';
import { failureBeforeRun, type PacsError } from './errors';

/** Where the shared state is: a redis:// or rediss:// URL, the password apart (a credential). */
export interface RedisSettings {
  url: string;
  password?: string;
}

/** How long a command waits for Redis to (re)connect before Redis counts as unreachable. */
const READY_WAIT_MS = 2000;

/** Why a Redis URL is unusable, or undefined when it is fine. */
export function redisUrlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value.trim()) return 'Redis URL is empty';
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return `Redis URL ${JSON.stringify(value)} is not a URL (example: redis://redis.example.org:6379)`;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return `Redis URL must start with redis:// or rediss://, not ${url.protocol}//`;
  if (url.password) return 'the Redis URL holds a password: give it in the Redis password field instead, where it is kept as a credential';
  if (!url.hostname) return 'the Redis URL has no host';
  return undefined;
}

/** The URL as said in messages: never a password. */
export function shownRedisUrl(value: string): string {
  try {
    const url = new URL(value.trim());
    url.password = '';
    url.username = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '(unreadable Redis URL)';
  }
}

/** A Redis connection that says, in plain words, when Redis cannot be reached. */
export class RedisLink {
  private loading?: Promise<Redis>;
  private lastError = '';
  private closed = false;

  constructor(readonly settings: RedisSettings, private readonly name: string) {}

  get shown(): string {
    return shownRedisUrl(this.settings.url);
  }

  /** The client, connected; throws a PacsError naming Redis and its URL when Redis does not answer in time. */
  async ready(): Promise<Redis> {
    const client = await (this.loading ??= this.load());
    if (client.status === 'ready') return client;
    // Between two reconnection attempts after a failed one: Redis is away now, no need to wait to know it.
    if (client.status === 'reconnecting' && this.lastError) throw this.unreachable();
    if (client.status === 'wait' || client.status === 'end') client.connect().catch(() => undefined);
    const ready = await new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        client.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), READY_WAIT_MS);
      client.on('ready', onReady);
    });
    if (!ready) throw this.unreachable();
    return client;
  }

  /** The error for Redis not answering: its URL (no password) and what the connection last said. */
  unreachable(detail = this.lastError): PacsError {
    const why = detail ? ` (${detail})` : '';
    return failureBeforeRun('failed', 'Redis unreachable', `Redis at ${this.shown} is unreachable${why}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = await this.loading?.catch(() => undefined);
    client?.disconnect();
  }

  private async load(): Promise<Redis> {
    const { Redis: Client } = await import('ioredis');
    const client = new Client(this.settings.url.trim(), {
      password: this.settings.password || undefined,
      connectionName: this.name,
      lazyConnect: true,
      // A command while Redis is away fails at once instead of waiting in a queue: the caller decides.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: READY_WAIT_MS,
      retryStrategy: (times) => (this.closed ? null : Math.min(times * 200, 2000)),
    });
    client.on('error', (err: Error) => {
      this.lastError = err.message;
    });
    if (this.closed) client.disconnect();
    return client;
  }
}

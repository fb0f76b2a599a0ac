// Series tracked in Redis by every receiver that files to one shared data folder: which instances
// each series has (a set of SOPInstanceUIDs) and when the last one came (Redis's clock, one for all).
// When a receiver's quiet time for a series is over, it claims the completion in one Lua script:
// exactly one receiver wins and announces the series; the others drop it.
import path from 'node:path';
import { RedisLink, type RedisSettings } from '../core/redis';

/** What a receiver does when a series has been quiet for its timeout, as far as it saw. */
export type SeriesVerdict =
  | { verdict: 'announce'; count: number }
  /** Another receiver filed an instance since: look again in `ms`. */
  | { verdict: 'wait'; ms: number }
  /** Another receiver announced it already. */
  | { verdict: 'elsewhere' };

/** What the series tracker asks of a view shared with other receivers. */
export interface SharedSeriesView {
  /** An instance of the series (its folder) was filed here. */
  filed(seriesPath: string, sopInstanceUID: string): Promise<void>;
  /** The series has been quiet here for timeoutMs: who announces it? */
  claim(seriesPath: string, timeoutMs: number): Promise<SeriesVerdict>;
  /** Where the view is kept, for messages (no password). */
  readonly where: string;
  close(): Promise<void>;
}

/** A series nobody files to nor announces is forgotten after this long. */
const FORGET_AFTER_MS = 7 * 24 * 3600 * 1000;

const FILED = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[1], now, 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return now`;

// KEYS: last, instances, announced. A series Redis knows nothing of (Redis restarted empty) is announced
// here rather than never: each receiver that had some of it then announces it.
const CLAIM = `
local last = redis.call('GET', KEYS[1])
if not last then
  if redis.call('EXISTS', KEYS[3]) == 1 then return {-1, 0} end
  return {2, 0}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local quiet = now - tonumber(last)
if quiet < tonumber(ARGV[1]) then return {0, tonumber(ARGV[1]) - quiet} end
local count = redis.call('SCARD', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SET', KEYS[3], now, 'PX', ARGV[2])
return {1, count}`;

export class RedisSeriesView implements SharedSeriesView {
  private readonly link: RedisLink;

  /** `group`: the receivers' AE title; series are named by their folder under dataDir, wherever it is mounted. */
  constructor(settings: RedisSettings, private readonly dataDir: string, private readonly group: string) {
    this.link = new RedisLink(settings, `pypx-listen-${group}`);
  }

  get where(): string {
    return this.link.shown;
  }

  private keys(seriesPath: string): [string, string, string] {
    const base = `pypx:series:${this.group}:${path.relative(this.dataDir, seriesPath)}`;
    return [`${base}:last`, `${base}:instances`, `${base}:announced`];
  }

  async filed(seriesPath: string, sopInstanceUID: string): Promise<void> {
    const client = await this.link.ready();
    await client.eval(FILED, 2, ...this.keys(seriesPath).slice(0, 2), sopInstanceUID, FORGET_AFTER_MS);
  }

  async claim(seriesPath: string, timeoutMs: number): Promise<SeriesVerdict> {
    const client = await this.link.ready();
    const [won, value] = (await client.eval(CLAIM, 3, ...this.keys(seriesPath), Math.round(timeoutMs), FORGET_AFTER_MS)) as [number, number];
    if (won === 1 || won === 2) return { verdict: 'announce', count: value };
    if (won === 0) return { verdict: 'wait', ms: Math.max(1, value) };
    return { verdict: 'elsewhere' };
  }

  close(): Promise<void> {
    return this.link.close();
  }
}

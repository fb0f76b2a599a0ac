// px-listen's settings, checked once: every problem named in one error.
import os from 'node:os';
import path from 'node:path';
import { type RedisSettings, redisUrlProblem } from '../../core/redis';
import { DEFAULT_SERIES_TIMEOUT } from '../../filing/series';
import { failureBeforeRun } from '../../core/errors';
import { aeTitleProblem } from '../../core/settings';
import { checkTlsSettings } from '../../core/tls';

export interface ListenerOptions {
  /** The AE title this receiver answers as. */
  aet: string;
  port: number;
  /** Where filed data goes. */
  dataDir: string;
  /** Where storescp writes first; default <dataDir>/incoming. */
  tmpDir?: string;
  /** Where px-listen.log goes; none when empty. */
  logDir?: string;
  /** Seconds without a new instance after which a series counts as complete. */
  seriesTimeout?: number;
  dcmtkDir?: string;
  executable?: string;
  /** Waits before each restart of a storescp that died, in ms; the last one repeats. */
  restartDelaysMs?: number[];
  /**
   * The consumer says when the instances emitted so far have been handed on, by calling
   * Listener.confirmAnnounced() (by a caller that has delivered them). Until
   * then they count as not yet announced: close() takes them back to tmpDir, and after a crash they
   * are announced again with duplicate: true. Without it, an instance counts as announced once emitted.
   */
  confirmByCaller?: boolean;
  /** DICOM over TLS: storescp presents tlsCert/tlsKey (PEM, key without password). */
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  /** When set, only senders whose certificate this CA (PEM) signed are accepted. */
  tlsCa?: string;
  /**
   * Several receivers filing to one shared dataDir (behind a load balancer) track series in this Redis:
   * each series is announced complete once, by one of them. Each needs its own tmpDir.
   */
  redis?: RedisSettings;
}

type OptionalListenerKeys = 'dcmtkDir' | 'executable' | 'logDir' | 'confirmByCaller' | 'tls' | 'tlsCert' | 'tlsKey' | 'tlsCa' | 'redis';
export type ResolvedListenerOptions = Required<Omit<ListenerOptions, OptionalListenerKeys>> & Pick<ListenerOptions, OptionalListenerKeys>;

const DEFAULT_RESTART_DELAYS_MS = [1000, 2000, 5000, 10000, 30000];

/** Checks listener settings; every problem is named in one PacsError. */
export function resolveListenerOptions(input: ListenerOptions): ResolvedListenerOptions {
  const problems: string[] = [];
  if (process.platform !== 'linux') {
    problems.push(`px-listen runs on Linux only (it supervises storescp through /proc and process groups), not on ${process.platform}`);
  }
  const aeProblem = aeTitleProblem(input.aet);
  if (aeProblem) problems.push(`AE title ${aeProblem}`);
  const port = Number(input.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`port must be a whole number from 1 to 65535, not ${JSON.stringify(input.port)}`);
  if (typeof input.dataDir !== 'string' || !input.dataDir.trim()) problems.push('data folder (dataDir) is empty');
  const timeout = input.seriesTimeout === undefined || String(input.seriesTimeout).trim() === '' ? DEFAULT_SERIES_TIMEOUT : Number(input.seriesTimeout);
  if (!Number.isFinite(timeout) || timeout <= 0) problems.push(`series timeout must be a number of seconds above 0, not ${JSON.stringify(input.seriesTimeout)}`);
  const tls = checkTlsSettings({ tls: input.tls, tlsCert: input.tlsCert, tlsKey: input.tlsKey, tlsCa: input.tlsCa }, 'scp');
  problems.push(...tls.problems);
  const redisProblem = input.redis ? redisUrlProblem(input.redis.url) : undefined;
  if (redisProblem) problems.push(redisProblem);
  if (problems.length) {
    const message = `invalid px-listen settings: ${problems.join('; ')}`;
    throw failureBeforeRun('bad-input', 'bad settings', message);
  }
  const dataDir = path.resolve(input.dataDir);
  return {
    aet: input.aet.trim(),
    port,
    dataDir,
    tmpDir: input.tmpDir?.trim() ? path.resolve(input.tmpDir) : defaultTmpDir(dataDir, port, !!input.redis),
    logDir: input.logDir?.trim() ? path.resolve(input.logDir) : undefined,
    seriesTimeout: timeout,
    dcmtkDir: input.dcmtkDir?.trim() || undefined,
    executable: input.executable?.trim() || undefined,
    restartDelaysMs: input.restartDelaysMs?.length ? input.restartDelaysMs : DEFAULT_RESTART_DELAYS_MS,
    confirmByCaller: input.confirmByCaller === true,
    ...(tls.settings.tls ? tls.settings : {}),
    ...(input.redis ? { redis: { url: input.redis.url.trim(), password: input.redis.password || undefined } } : {}),
  };
}

/** <dataDir>/incoming; with a shared dataDir, a folder of this receiver's own in it: what another receiver writes is not its to file. */
function defaultTmpDir(dataDir: string, port: number, shared: boolean): string {
  return shared ? path.join(dataDir, 'incoming', `${os.hostname()}-${port}`) : path.join(dataDir, 'incoming');
}

// Keeps storescp running: ends what a crashed earlier run left, starts storescp with a log reader of
// its own, and when it dies on its own waits until what it left is dealt with, then starts it again
// after a growing delay. A restart that fails the same way again (a port still taken) is said once.
import { PacsError } from '../../core/errors';
import type { ResolvedListenerOptions } from './options';
import { type OnRefused, type OnWritten, StorescpLog } from './storescp-log';
import { endPreviousRun, StorescpRun } from './storescp-run';
import { describeIncomingTlsFailure } from '../../dcmtk/failures';

export interface SupervisorHooks {
  onWritten: OnWritten;
  refused: OnRefused;
  /** A run died on its own and its whole group has ended: file what it left before the next one starts. */
  afterDeath(): Promise<void>;
  log(text: string): void;
  fail(error: PacsError): void;
  listening(): void;
  restarting(info: { reason: string; delayMs: number; error: PacsError }): void;
}

/** Restart counting starts again after a run that lasted this long. */
const STABLE_MS = 60000;

export class StorescpSupervisor {
  private run?: StorescpRun;
  private log?: StorescpLog;
  private stopping = false;
  private restarts = 0;
  private lastStart = 0;
  private lastFailure = '';
  private restartTimer?: NodeJS.Timeout;
  private starting: Promise<void> = Promise.resolve();

  constructor(private readonly options: ResolvedListenerOptions, private readonly hooks: SupervisorHooks) {}

  get command(): string {
    return this.run?.command ?? '';
  }

  /** Rejects with a PacsError when storescp cannot listen (the port in use named as such). */
  async start(): Promise<void> {
    const ended = await endPreviousRun(this.options.tmpDir);
    if (ended) this.hooks.log(`ended ${ended} storescp process(es) an earlier run of this listener left running`);
    this.starting = this.startRun();
    await this.starting;
  }

  /** Files whose writer went quiet (see StorescpLog.sweep). */
  sweep(): void {
    this.log?.sweep();
  }

  /** Ends storescp and every child it forked; returns the files they were writing. */
  async stop(): Promise<string[]> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    await this.starting.catch(() => undefined);
    await this.run?.stop();
    return this.log?.end(true) ?? [];
  }

  private async startRun(): Promise<void> {
    const log = new StorescpLog(this.options.tmpDir, this.hooks.onWritten, (text) => this.onLog(text), this.hooks.refused);
    const run = await StorescpRun.start(this.options, (line) => log.onLine(line));
    this.hooks.log(`started: ${run.command}`);
    this.run = run;
    this.log = log;
    if (this.stopping) return;
    this.lastStart = Date.now();
    this.lastFailure = '';
    void run.ended.then((how) => this.onDeath(run, log, how));
    this.hooks.listening();
  }

  /** storescp's words for the log; a sender refused over TLS is also an error the caller sees. */
  private onLog(text: string): void {
    this.hooks.log(text);
    const refused = describeIncomingTlsFailure(text, this.options);
    if (refused) this.hooks.fail(new PacsError('tls', 'TLS sender refused', refused, { status: 'error', command: this.command, data: text }));
  }

  private async onDeath(run: StorescpRun, log: StorescpLog, how: string): Promise<void> {
    if (this.stopping || run !== this.run) return;
    this.run = undefined;
    log.end();
    await this.hooks.afterDeath().catch((err: unknown) => {
      const message = `storescp exited (${how}) and what it left in ${this.options.tmpDir} could not be filed: ${err instanceof Error ? err.message : String(err)}; it is filed at the next start`;
      this.hooks.fail(new PacsError('failed', 'leftovers not filed', message, { status: 'error', command: run.command, data: message }));
    });
    if (Date.now() - this.lastStart > STABLE_MS) this.restarts = 0;
    this.scheduleRestart(new PacsError('receiver-died', 'storescp died', `storescp exited (${how})`, { status: 'error', command: run.command, data: how }));
  }

  private scheduleRestart(error: PacsError): void {
    if (this.stopping) return;
    const delays = this.options.restartDelaysMs;
    const delayMs = delays[Math.min(this.restarts++, delays.length - 1)] as number;
    if (error.message !== this.lastFailure) {
      this.lastFailure = error.message;
      this.hooks.fail(new PacsError(error.kind, error.reason, `${error.message}; starting it again in ${delayMs / 1000} s`, error.result));
    }
    this.hooks.restarting({ reason: error.message, delayMs, error });
    this.restartTimer = setTimeout(() => {
      this.starting = this.startRun().catch((err: unknown) => {
        this.scheduleRestart(err instanceof PacsError ? err : new PacsError('receiver-died', 'storescp failed', String(err), { status: 'error', command: '', data: String(err) }));
      });
    }, delayMs);
  }
}

// One run of storescp: started under setpriv and timeout (see storescp-command.ts), counted as
// listening once a process of its own group holds the listening socket (so another program on the
// port is never taken for it), ended with its whole process group. Its pidfile in tmpDir names the
// group and the command lines, so that a later start ends what a crashed run of this listener left.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type DcmtkProcess, locateDcmtkTool, spawnDcmtk } from '../../dcmtk/run';
import { failureBeforeRun, PacsError } from '../../core/errors';
import type { ResolvedListenerOptions } from './options';
import { endGroup, groupHoldsSocket, killMatching, listeningSockets, groupMembers, processAlive } from '../../dcmtk/processes';
import { buildStorescpArgs, GROUP_REAPER, LOG_CONFIG, LOG_CONFIG_TEXT } from './storescp-command';
import { dieWithThisProcess } from '../../dcmtk/processes';

const PIDFILE = '.px-listen-storescp.json';
const STOP_GRACE_MS = 2000;
const START_LIMIT_MS = 10000;

interface Pidfile {
  group: number;
  commands: string[][];
}

export function portInUseError(options: ResolvedListenerOptions): PacsError {
  const { port, aet } = options;
  return failureBeforeRun('port-in-use', `port ${port} in use`,
    `cannot listen as ${aet} on port ${port}: the port is already in use by another program (another listener, storescp or PACS); choose another port or stop that program`);
}

/** Ends the storescp a crashed earlier run of this listener left, found by its pidfile; never another program. */
export async function endPreviousRun(tmpDir: string): Promise<number> {
  const file = path.join(tmpDir, PIDFILE);
  let recorded: Pidfile;
  try {
    recorded = JSON.parse(readFileSync(file, 'utf8')) as Pidfile;
  } catch {
    return 0;
  }
  const ended = new Set<number>();
  if (Number.isInteger(recorded.group) && recorded.group > 1 && Array.isArray(recorded.commands)) {
    for (let i = 0; i < 50; i++) {
      const killed = killMatching(recorded.group, recorded.commands);
      for (const pid of killed) ended.add(pid);
      // Until each has ended: an exiting process loses its command line before it closes its files (the port).
      if (!killed.length && ![...ended].some(processAlive)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  rmSync(file, { force: true });
  return ended.size;
}

export class StorescpRun {
  /** Resolves once storescp and every process it forked have ended, with how it ended. */
  readonly ended: Promise<string>;

  private constructor(readonly command: string, readonly group: number, child: DcmtkProcess, exited: Promise<string>, private readonly tmpDir: string) {
    // storescp's children keep its output open: its exit is the 'exit' event, not the end of its output.
    this.ended = exited.then(async (how) => {
      await endGroup(group, STOP_GRACE_MS);
      await Promise.race([child, new Promise((r) => setTimeout(r, 1000))]);
      return how;
    });
  }

  /** Starts storescp; rejects with a PacsError when it does not listen (the port in use named as such). */
  static async start(options: ResolvedListenerOptions, onLine: (line: string) => void): Promise<StorescpRun> {
    const storescp = await locateDcmtkTool('storescp', options);
    const logConfig = path.join(options.tmpDir, LOG_CONFIG);
    writeFileSync(logConfig, LOG_CONFIG_TEXT);
    const args = buildStorescpArgs(options, logConfig);
    const said: string[] = [];
    const { command, process: child } = await spawnDcmtk('storescp', args, {
      executable: storescp,
      service: true,
      // storescp creates each file 0640 (patient data: owner and group only), whatever this process's umask.
      umask: 0o027,
      runUnder: [...(await dieWithThisProcess('TERM')), ...GROUP_REAPER],
      onLine: (line) => {
        if (said.length < 20) said.push(line);
        onLine(line);
      },
    });
    let exitedHow: string | undefined;
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => resolve((exitedHow = signal ?? `code ${code}`)));
      child.once('error', (err) => resolve((exitedHow = err.message)));
    });
    const group = child.pid;
    const listening = group !== undefined && (await waitUntilListening(options.port, group, () => exitedHow !== undefined));
    if (!listening) {
      if (group !== undefined) await endGroup(group, STOP_GRACE_MS);
      const result = await child;
      const output = said.join('\n').trim() || String(result.message ?? '');
      if (/Address already in use/i.test(output)) throw portInUseError(options);
      if (/ENOENT|not found/i.test(String(result.message)) && !said.length) {
        throw failureBeforeRun('bad-input', 'timeout missing', `cannot start storescp under ${GROUP_REAPER[0]} (coreutils): ${result.message}`, command);
      }
      throw new PacsError('receiver-died', 'storescp failed', `storescp did not start listening on port ${options.port}: ${output || 'it exited without a word'}`,
        { status: 'error', command, data: output });
    }
    writeFileSync(path.join(options.tmpDir, PIDFILE), JSON.stringify({ group, commands: [[...GROUP_REAPER, storescp, ...args], [storescp, ...args]] } satisfies Pidfile));
    return new StorescpRun(command, group as number, child, exited, options.tmpDir);
  }

  /** Ends storescp and every child it forked; resolves once all are gone. */
  async stop(): Promise<void> {
    await endGroup(this.group, STOP_GRACE_MS);
    await Promise.race([this.ended, new Promise((r) => setTimeout(r, 1000))]);
    if (!groupMembers(this.group).length) rmSync(path.join(this.tmpDir, PIDFILE), { force: true });
  }
}

async function waitUntilListening(port: number, group: number, exited: () => boolean): Promise<boolean> {
  for (const deadline = Date.now() + START_LIMIT_MS; Date.now() < deadline;) {
    if (exited()) return false;
    if (groupHoldsSocket(group, listeningSockets(port))) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

// The processes this package starts, and what Linux's /proc says about them: alive or not, in which
// process group, with which command line, holding which files and sockets (storescp supervision and the
// sweep of px-find's stale answer folders rely on it; px-listen runs on Linux only). A tool must not
// outlive this process, even when it is killed: it runs under setpriv --pdeathsig (util-linux, on every
// Debian), so that the kernel signals it when its parent dies.
import { constants, existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { access, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { KnownProblem } from '../core/errors';

/** State letter and process group of a process; undefined when it is gone. */
export function procStat(pid: number | string): { state: string; group: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', group: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

/** A process's argument vector, as it was started; undefined when it is gone. */
export function commandLine(pid: number | string): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie (a zombie holds no port and no file). */
export function processAlive(pid: number): boolean {
  const stat = procStat(pid);
  if (stat) return stat.state !== 'Z';
  if (existsSync('/proc/self')) return false;
  // No /proc (not Linux; px-find still runs there): whether the process exists at all.
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function allPids(): string[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name));
}

/** Live (non-zombie) members of a process group. */
export function groupMembers(group: number): number[] {
  return allPids().filter((pid) => {
    const stat = procStat(pid);
    return stat !== undefined && stat.group === group && stat.state !== 'Z';
  }).map(Number);
}

function signal(target: number, name: NodeJS.Signals): void {
  try {
    process.kill(target, name);
  } catch {
    /* already gone */
  }
}

/** TERM to every process of the group, KILL to what is left after graceMs; resolves once none runs. */
export async function endGroup(group: number, graceMs: number): Promise<void> {
  signal(-group, 'SIGTERM');
  const pause = () => new Promise((r) => setTimeout(r, 20));
  for (const deadline = Date.now() + graceMs; Date.now() < deadline && groupMembers(group).length;) await pause();
  if (groupMembers(group).length) signal(-group, 'SIGKILL');
  for (let i = 0; i < 100 && groupMembers(group).length; i++) await pause();
}

/** Kills the processes of a group whose command line is exactly one of `commands`; never another program. Their pids. */
export function killMatching(group: number, commands: string[][]): number[] {
  const killed: number[] = [];
  for (const pid of groupMembers(group)) {
    const argv = commandLine(pid);
    if (!argv || !commands.some((c) => c.length === argv.length && c.every((word, i) => word === argv[i]))) continue;
    signal(pid, 'SIGKILL');
    killed.push(pid);
  }
  return killed;
}

/** What a process holds open, as /proc/<pid>/fd names it (files by real path, sockets as "socket:[inode]"); undefined where that cannot be read. */
export function openFiles(pid: number | string): Set<string> | undefined {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  const open = new Set<string>();
  for (const fd of fds) {
    try {
      open.add(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      /* closed meanwhile */
    }
  }
  return open;
}

/** Whether a process has a file open; true where that cannot be known. */
export function holdsOpen(pid: number, file: string): boolean {
  const open = openFiles(pid);
  return open ? open.has(file) : !existsSync('/proc/self/fd');
}

/** Inodes of the TCP sockets listening on a port (IPv4 and IPv6), from /proc/net/tcp{,6}. */
export function listeningSockets(port: number): Set<string> {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n')) {
      const f = row.trim().split(/\s+/);
      if (f[1]?.endsWith(hexPort) && f[3] === '0A' && f[9]) inodes.add(f[9]);
    }
  }
  return inodes;
}

/** The first of these processes that holds one of these sockets (by inode), or undefined. */
export function socketHolder(pids: Iterable<number | string>, inodes: Set<string>): number | undefined {
  if (!inodes.size) return undefined;
  for (const pid of pids) {
    for (const link of openFiles(pid) ?? []) {
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode && inodes.has(inode)) return Number(pid);
    }
  }
  return undefined;
}

/** Whether a process of the group holds one of these sockets: the port is ours, not another program's. */
export function groupHoldsSocket(group: number, inodes: Set<string>): boolean {
  return socketHolder(groupMembers(group), inodes) !== undefined;
}

/**
 * Removes what processes left in `dir` when they died (a crash, a kill): `ownerOf` reads the process
 * from an entry's name (undefined: not one of ours); entries of this process, of a live one, or that
 * `keep` keeps stay. Never throws; answers what it removed.
 */
export async function removeLeftBehind(dir: string, ownerOf: (name: string) => number | undefined, keep?: (entry: string) => Promise<boolean>): Promise<string[]> {
  const removed: string[] = [];
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = ownerOf(name);
    if (pid === undefined || Number.isNaN(pid) || pid === process.pid || processAlive(pid)) continue;
    const entry = path.join(dir, name);
    try {
      if (keep && (await keep(entry))) continue;
      await rm(entry, { recursive: true, force: true });
      removed.push(entry);
    } catch {
      /* another process removed it first */
    }
  }
  return removed;
}

export class SetprivNotFoundError extends KnownProblem {
  constructor(readonly lookedIn: string) {
    super('dcmtk-missing', 'setpriv missing', `setpriv not found (looked in PATH: ${lookedIn || 'empty'}): install util-linux (apt-get install util-linux); without it a DCMTK tool would outlive the process that started it when that process is killed`);
    this.name = 'SetprivNotFoundError';
  }
}

let found: Promise<string> | undefined;

async function searchPath(): Promise<string> {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
    const file = path.join(dir, 'setpriv');
    if (await access(file, constants.X_OK).then(() => true, () => false)) return file;
  }
  throw new SetprivNotFoundError(dirs.join(path.delimiter));
}

function locateSetpriv(): Promise<string> {
  // Not found is looked up again next time: it may be installed meanwhile.
  found ??= searchPath().catch((err: unknown) => {
    found = undefined;
    throw err;
  });
  return found;
}

/**
 * ['/usr/bin/setpriv', '--pdeathsig', signal, '--']: what a tool runs under so that it gets `signal`
 * when this process dies. KILL for a client tool; TERM for storescp's `timeout`, which passes it on
 * to its whole process group. Rejects with SetprivNotFoundError where setpriv is not installed.
 */
export async function dieWithThisProcess(signal: 'KILL' | 'TERM' = 'KILL'): Promise<readonly string[]> {
  return [await locateSetpriv(), '--pdeathsig', signal, '--'];
}

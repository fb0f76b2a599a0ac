// What the demo needs to leave nothing running, however it ends: children that die with it, the
// processes a killed demo left behind, and who holds a port.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { listeningSockets, socketHolder } from '../lib/dcmtk/processes';
import { dieWithThisProcess } from '../lib/dcmtk/processes';

/**
 * The command line that runs `file` so that the kernel kills it when the process that started it
 * dies, even by SIGKILL (setpriv execs it: the child keeps its pid).
 */
export async function dyingWithParent(file: string, args: readonly string[]): Promise<[string, string[]]> {
  const [program, ...before] = [...(await dieWithThisProcess()), file];
  return [program as string, [...before, ...args]];
}

export interface ProcessInfo {
  pid: number;
  command: string;
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

function pids(): number[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
}

// What a demo runs: Node-RED (which names itself node-red), Orthanc, and the DCMTK tools the nodes start.
// A shell or a pager someone opened in the demo's folder is none of these, and is left alone.
const DEMO_PROGRAMS = new Set(['node', 'node-red', 'Orthanc', 'setpriv', 'storescp', 'storescu', 'findscu', 'movescu', 'echoscu', 'getscu', 'dcmsend']);

function programOf(pid: number, command: string): string {
  let name = '';
  try {
    name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    /* gone */
  }
  const first = (command.split(' ')[0] ?? '').split('/').pop() ?? '';
  return DEMO_PROGRAMS.has(first) ? first : name;
}

/** The demo's kind of processes (not this one) whose working folder or command line lies in `folder`. */
export function processesIn(folder: string): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const pid of pids()) {
    if (pid === process.pid) continue;
    const command = commandLine(pid);
    if (!DEMO_PROGRAMS.has(programOf(pid, command))) continue;
    let cwd = '';
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      /* gone, or not ours to read */
    }
    if (cwd === folder || cwd.startsWith(`${folder}/`) || command.includes(folder)) found.push({ pid, command });
  }
  return found;
}

/** The process listening on a TCP port of this machine, when /proc tells. */
export function portHolder(port: number): ProcessInfo | undefined {
  const pid = socketHolder(pids(), listeningSockets(port));
  return pid === undefined ? undefined : { pid, command: commandLine(pid) };
}

export function parentOf(pid: number): number | undefined {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * Calls `orphaned` once when this process's parent or grandparent dies: `npm run demo` runs the demo
 * under `sh -c`, so a SIGKILL to npm leaves sh alive and only changes sh's parent.
 */
export function onParentDeath(orphaned: () => void, everyMs = 500): () => void {
  const parent = process.ppid;
  const grandparent = parentOf(parent);
  const timer = setInterval(() => {
    if (process.ppid !== parent || parentOf(parent) !== grandparent) {
      clearInterval(timer);
      orphaned();
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

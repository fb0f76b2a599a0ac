import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const DCMTK_TOOLS = new Set(['echoscu', 'findscu', 'movescu', 'storescp', 'storescu', 'getscu', 'dcmsend']);

const exempt = new Set<number>();

/**
 * A runtime the test keeps for a whole describe block (a Node-RED child process): its DCMTK
 * processes are its own business until it stops, and are not counted against each test.
 */
export function exemptFromLeakCheck(pid: number | undefined): () => void {
  if (pid === undefined) return () => undefined;
  exempt.add(pid);
  return () => exempt.delete(pid);
}

/** DCMTK processes descended from this test process (Orthanc's own are not DCMTK tools). */
export function dcmtkDescendants(root = process.pid, honourExemptions = true): Array<{ pid: number; command: string }> {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,comm='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .map(([pid, ppid, command]) => ({ pid: Number(pid), ppid: Number(ppid), command: command ?? '' }));
  const found: Array<{ pid: number; command: string }> = [];
  const parents = [root];
  while (parents.length) {
    const parent = parents.pop();
    for (const row of rows) {
      if (row.ppid !== parent) continue;
      if (honourExemptions && exempt.has(row.pid)) continue;
      parents.push(row.pid);
      if (DCMTK_TOOLS.has(row.command)) found.push({ pid: row.pid, command: row.command });
    }
  }
  return found;
}

/**
 * Samples the whole process table (every /proc/<pid>/cmdline, joined by spaces) every few
 * milliseconds until stop(), which resolves with each distinct command line `keep` accepted.
 */
export function watchCommandLines(keep: (line: string) => boolean = () => true): { stop(): Promise<string[]> } {
  const seen = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
        try {
          const line = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
          if (keep(line)) seen.add(line);
        } catch {
          /* the process is gone */
        }
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return [...seen];
    },
  };
}

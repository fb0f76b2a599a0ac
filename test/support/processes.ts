import { execFileSync } from 'node:child_process';

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

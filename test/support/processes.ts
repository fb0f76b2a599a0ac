import { execFileSync } from 'node:child_process';

const DCMTK_TOOLS = new Set(['echoscu', 'findscu', 'movescu', 'storescp', 'storescu', 'getscu']);

/** DCMTK processes descended from this test process (Orthanc's own are not DCMTK tools). */
export function dcmtkDescendants(root = process.pid): Array<{ pid: number; command: string }> {
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
      parents.push(row.pid);
      if (DCMTK_TOOLS.has(row.command)) found.push({ pid: row.pid, command: row.command });
    }
  }
  return found;
}

import { readdirSync, readFileSync } from 'node:fs';

const DCMTK_TOOLS = new Set(['echoscu', 'findscu', 'movescu', 'storescp', 'storescu', 'getscu', 'dcmsend']);

/**
 * Every process this test run starts, and everything they start in turn, inherits this variable:
 * it finds them anywhere in the process table, also a detached storescp whose parent has died.
 */
const RUN_MARKER = 'PYPX_TEST_RUN';
process.env[RUN_MARKER] ??= `${process.pid}-${Date.now()}`;
const MARK = `${RUN_MARKER}=${process.env[RUN_MARKER]}`;

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

interface ProcessRow {
  pid: number;
  ppid: number;
  command: string;
  zombie: boolean;
}

function processTable(): ProcessRow[] {
  const rows: ProcessRow[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      rows.push({ pid: Number(name), ppid: Number(fields[1]), command, zombie: fields[0] === 'Z' });
    } catch {
      /* gone meanwhile */
    }
  }
  return rows;
}

function marked(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(MARK);
  } catch {
    return false;
  }
}

/**
 * Live DCMTK processes this test run started, found in the whole process table (zombies, which
 * hold no port and no file, do not count). With exemptions honoured, those below an exempted
 * runtime are left out while it runs.
 */
export function dcmtkProcessesOfThisRun(honourExemptions = true): Array<{ pid: number; command: string }> {
  const rows = processTable();
  const parent = new Map(rows.map((r) => [r.pid, r.ppid]));
  const underExempt = (pid: number) => {
    for (let p: number | undefined = pid, hops = 0; p && p > 1 && hops < 64; p = parent.get(p), hops++) if (exempt.has(p)) return true;
    return false;
  };
  return rows
    .filter((r) => !r.zombie && DCMTK_TOOLS.has(r.command) && marked(r.pid) && !(honourExemptions && underExempt(r.pid)))
    .map(({ pid, command }) => ({ pid, command }));
}

/** The name predates the whole-table scan: the same as dcmtkProcessesOfThisRun. */
export const dcmtkDescendants = (_root?: number, honourExemptions = true) => dcmtkProcessesOfThisRun(honourExemptions);

/** Live processes anywhere in the process table whose command line mentions `text` (a test's own folder). */
export function processesMentioning(text: string): Array<{ pid: number; command: string; args: string }> {
  return processTable().filter((r) => !r.zombie).flatMap((r) => {
    try {
      const args = readFileSync(`/proc/${r.pid}/cmdline`, 'utf8').split('\0').join(' ');
      return args.includes(text) && r.pid !== process.pid ? [{ pid: r.pid, command: r.command, args }] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Samples the whole process table (every /proc/<pid>/cmdline, joined by spaces) every few
 * milliseconds until stop(), which resolves with each distinct command line `keep` accepted.
 */
export function watchCommandLines(keep: (line: string) => boolean = () => true): { stop(): Promise<string[]> } {
  const seen = new Set<string>();
  let running = true;
  const look = () => {
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        const line = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
        if (keep(line)) seen.add(line);
      } catch {
        /* the process is gone */
      }
    }
  };
  const loop = (async () => {
    while (running) {
      look();
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  return {
    /** Takes a last look, after everything that happened before the call. */
    async stop() {
      running = false;
      await loop;
      look();
      return [...seen];
    },
  };
}

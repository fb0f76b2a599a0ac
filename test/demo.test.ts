// npm run demo as a user meets it: one tab per example, example 04 receiving a series and example 09
// de-identifying PX0003 into ARCHIVE when their injects are clicked, and nothing left running however
// the demo ends, even by SIGKILL to it or to npm.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isPortInUse } from '../lib/ops/listen/port';
import { DEMO } from '../testbed/demo';
import { REPO_ROOT } from '../testbed/node-red';
import { processesIn } from '../testbed/processes';
import { DEMO_JS, freeOffset, nothingLeftIn, startDemo } from './support/demo';
import { exemptFromLeakCheck } from './support/processes';
import { until } from './support/until';

async function filesUnder(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true })).filter((name) => name.endsWith('.dcm'));
  } catch {
    return [];
  }
}

describe('npm run demo', function () {
  this.timeout(240000);
  let dir = '';
  let offset = 0;
  let unexempt = () => undefined as unknown;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-demo-'));
    offset = await freeOffset();
  });
  after(async () => {
    for (const { pid } of processesIn(dir)) process.kill(pid, 'SIGKILL');
    unexempt();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows each example on one tab, example 04 receives a series and example 09 forwards PX0003 de-identified when clicked, and a SIGKILL to npm stops everything', async () => {
    // npm runs the demo as `sh -c "bash scripts/demo.sh"`, which execs it under setpriv: the outer
    // shell stands for npm, the inner one for npm's `sh -c`.
    const inner = `setpriv --pdeathsig TERM ${process.execPath} ${DEMO_JS}; true`;
    const demo = await startDemo('sh', ['-c', `sh -c '${inner}'; true`], dir, offset);
    unexempt = exemptFromLeakCheck(demo.child.pid);

    const response = await fetch(`${demo.url}/flows`, { headers: { 'Node-RED-API-Version': 'v2' } });
    const { flows } = (await response.json()) as { flows: Array<{ id: string; type: string; label?: string }> };
    const examples = (await readdir(path.join(REPO_ROOT, 'examples'))).filter((f) => f.endsWith('.json')).sort();
    assert.deepEqual(flows.filter((n) => n.type === 'tab').map((n) => n.label), examples.map((f) => f.replace(/\.json$/, '')), 'one tab per example, no other');

    // A second demo of the same checkout stops nothing of the first: it says so and ends.
    const second = spawn(process.execPath, [DEMO_JS], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYPX_DEMO_DIR: dir, PYPX_DEMO_PORT_OFFSET: String(offset) } });
    let said = '';
    second.stderr?.on('data', (chunk: Buffer) => (said += chunk.toString()));
    second.stdout?.on('data', (chunk: Buffer) => (said += chunk.toString()));
    assert.equal(await new Promise((resolve) => second.once('close', resolve)), 1);
    assert.match(said, /a demo of this checkout is running \(pid \d+\)/);
    assert.equal((await fetch(`${demo.url}/flows`)).status, 200, 'the first demo still runs');

    // Example 04's inject, clicked as the editor does.
    const clicked = await fetch(`${demo.url}/inject/e4send`, { method: 'POST' });
    assert.equal(clicked.status, 200);
    const received = path.join(dir, 'node-red', 'pypx-data', 'listener');
    await until('example 04 filed the 5 instances of the series it asked the PACS for', async () => (await filesUnder(received)).length >= 5,
      { timeoutMs: 30000, intervalMs: 100, describe: async () => ({ filed: await filesUnder(received), output: demo.output().slice(-2000) }) });
    assert.equal((await filesUnder(received)).length, 5, 'example 04 filed the series it asked the PACS for');

    // Example 09's inject: PX0003's two studies reach ARCHIVE de-identified, with the key the demo gave it (no manual step).
    assert.equal((await fetch(`${demo.url}/inject/09de1d0000000002`, { method: 'POST' })).status, 200);
    const archive = `http://127.0.0.1:${DEMO.archive.httpPort + offset}`;
    const held = async () => (await (await fetch(`${archive}/instances`)).json()) as string[];
    await until('example 09 sent the 20 instances of PX0003 to ARCHIVE', async () => (await held()).length >= 20,
      { timeoutMs: 60000, intervalMs: 250, describe: async () => ({ held: (await held()).length, output: demo.output().slice(-2000) }) });
    const patients = (await (await fetch(`${archive}/patients?expand`)).json()) as Array<{ MainDicomTags: { PatientID: string; PatientName: string } }>;
    assert.equal(patients.length, 1, 'one pseudonym for the one patient');
    assert.notEqual(patients[0]?.MainDicomTags.PatientID, 'PX0003');
    assert.ok(!patients[0]?.MainDicomTags.PatientName.includes('Иванов'), JSON.stringify(patients));
    assert.equal((await held()).length, 20);

    demo.child.kill('SIGKILL');
    await nothingLeftIn(dir);
    assert.match(demo.output(), /Stopping Node-RED and Orthanc/);
  });

  it('starts over what a killed demo left behind, and a SIGKILL to the demo itself stops everything', async () => {
    // A leftover holding one of the demo's ports, running in the demo's folder.
    const port = DEMO.listeners[0]!.port + offset;
    await mkdir(path.join(dir, 'node-red'), { recursive: true });
    const leftover = spawn(process.execPath, ['-e', `require('net').createServer().listen(${port}); setInterval(() => {}, 1000)`], { cwd: path.join(dir, 'node-red'), stdio: 'ignore', detached: true });
    await until(`the leftover holds port ${port}`, () => isPortInUse(port), { timeoutMs: 5000, intervalMs: 100 });

    const demo = await startDemo(process.execPath, [DEMO_JS], dir, offset);
    unexempt = exemptFromLeakCheck(demo.child.pid);
    assert.match(demo.output(), new RegExp(`Stopped what an earlier demo left running: ${leftover.pid} `));
    // Killed once its listeners run, so that their storescp are in the process table too.
    const listening = () => processesIn(dir).filter((p) => p.command.includes('storescp')).length;
    await until('the examples\' listeners run (all but the one a leftover may hold)', () => listening() >= DEMO.listeners.length - 1,
      { timeoutMs: 10000, describe: () => processesIn(dir).map((p) => p.command) });
    demo.child.kill('SIGKILL');
    await nothingLeftIn(dir);
  });
});

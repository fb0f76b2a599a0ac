// README's commands and module examples run as written against `npm run demo`: the demo PACS knows
// every AE title they use and sends each to the port its listener takes, none of them one the demo's own
// listeners hold; run against a demo (its ports moved out of the way), they print what README shows.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEMO } from '../testbed/demo';
import { REPO_ROOT } from '../testbed/node-red';
import { DEMO_JS, freeOffset, nothingLeftIn, type Running, startDemo } from './support/demo';
import { packagedUserDir } from './support/packaged';
import { exemptFromLeakCheck } from './support/processes';
import { until } from './support/until';

const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
/** The sh and js blocks of the section on pypx's commands and module. */
const section = README.slice(README.indexOf("## pypx's commands and module"), README.indexOf('\n## ', README.indexOf("## pypx's commands and module") + 5));
const blocks = [...section.matchAll(/```(sh|js)\n([\s\S]*?)```/g)].map((m) => m[2] as string);
const all = (pattern: RegExp) => blocks.flatMap((block) => [...block.matchAll(pattern)].map((m) => m[1] as string));

describe('README against the demo', () => {
  it('has the commands and module calls to check', () => {
    assert.ok(blocks.length >= 8, `${blocks.length} code blocks`);
    for (const command of ['px-echo', 'px-find', 'px-move', 'px-listen']) assert.match(section, new RegExp(`npx ${command} `));
  });

  it('uses only AE titles the demo PACS knows, and its address', () => {
    const titles = new Set([...all(/--aetl? (\S+)/g), ...all(/\baet(?:l|_listener)?: '([^']+)'/g)]);
    assert.ok(titles.size > 0);
    const known = new Set(DEMO.listeners.map((l) => l.aet));
    for (const title of titles) assert.ok(known.has(title), `README uses AE title ${title}, which the demo PACS does not know`);
    // The demo PACS, or for px-send the demo's second one.
    const pacs = new Set([`${DEMO.pacs.aet} ${DEMO.pacs.dicomPort}`, `${DEMO.archive.aet} ${DEMO.archive.dicomPort}`]);
    const called = [/--aec (\S+) --serverIP \S+ --serverPort (\d+)/g, /aec: '([^']+)', aet: '[^']+', server_ip: '[^']+', server_port: '(\d+)'/g]
      .flatMap((pattern) => blocks.flatMap((block) => [...block.matchAll(pattern)].map((m) => `${m[1]} ${m[2]}`)));
    assert.ok(called.length >= 6, called.join(', '));
    for (const pair of called) assert.ok(pacs.has(pair), `README calls ${pair}, which is not the demo's`);
  });

  it('listens where the demo PACS sends that AE title, on no port of the demo\'s own listeners', () => {
    const listeners = [
      ...blocks.flatMap((b) => [...b.matchAll(/px-listen --aet (\S+) --port (\d+)/g)]),
      ...blocks.flatMap((b) => [...b.matchAll(/listen\(\{ aet: '([^']+)', port: (\d+)/g)]),
    ].map((m) => ({ aet: m[1] as string, port: Number(m[2]) }));
    assert.equal(listeners.length, 2, 'the px-listen command and listen()');
    for (const { aet, port } of listeners) {
      const known = DEMO.listeners.find((l) => l.aet === aet);
      assert.equal(known?.port, port, `the demo PACS sends ${aet} to port ${known?.port}, README listens on ${port}`);
      assert.ok(!DEMO.listeners.some((l) => l.aet !== aet && l.port === port), `port ${port} is the demo's own`);
      assert.ok(![DEMO.nodeRedPort, DEMO.pacs.dicomPort, DEMO.pacs.httpPort].includes(port));
    }
  });
});

describe('README\'s commands and module calls, run against the demo', function () {
  this.timeout(240000);
  let dir = '';
  let offset = 0;
  let demo: Running | undefined;
  let listener: ChildProcess | undefined;
  let unexempt = () => undefined as unknown;
  /** README's text with the demo's ports moved as this test's demo has them. */
  const ports = [DEMO.pacs.dicomPort, DEMO.pacs.httpPort, DEMO.archive.dicomPort, DEMO.archive.httpPort, ...DEMO.listeners.map((l) => l.port)];
  const moved = (text: string) => text.replace(new RegExp(`\\b(${ports.join('|')})\\b`, 'g'), (port) => String(Number(port) + offset));
  /** The sh block that runs `command`, one line, as a user would type it (after npx, from an install). */
  const shell = (command: string) => {
    const block = blocks.find((b) => b.startsWith(`npx ${command} `));
    assert.ok(block, `README has no npx ${command} block`);
    return inDir(moved(block.replace(/\\\n\s*/g, '').trim()));
  };
  /** README's /tmp/pypx/ is this test's folder. */
  const inDir = (text: string) => text.replace(/\/tmp\/pypx\//g, `${dir}/`);
  /** The JSON block right after a command's sh block. */
  const answer = (command: string) => {
    const at = section.indexOf(`npx ${command} `);
    const json = /```json\n([\s\S]*?)```/.exec(section.slice(at))?.[1] ?? '';
    return JSON.parse(moved(json)) as { status: string; command: string; data: unknown };
  };
  const run = (line: string, cwd: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('sh', ['-c', line], { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, TCP_NODELAY: '1', TMPDIR: path.join(dir, 'tmp') } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      );
    });

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-readme-'));
    await mkdir(path.join(dir, 'tmp'));
    offset = await freeOffset();
    demo = await startDemo(process.execPath, [DEMO_JS], path.join(dir, 'demo'), offset);
    unexempt = exemptFromLeakCheck(demo.child.pid);
  });
  after(async () => {
    try {
      if (listener?.exitCode === null) process.kill(-(listener.pid as number), 'SIGKILL');
    } catch {
      /* ended meanwhile */
    }
    demo?.child.kill('SIGTERM');
    if (demo) await nothingLeftIn(path.join(dir, 'demo'));
    unexempt();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints what README shows for px-echo, px-find, px-move and px-listen', async () => {
    const userDir = await packagedUserDir();
    // What the commands may leave: px-listen's three folders, beside the demo's and the temporary one.
    const around = async () => ({ cwd: (await readdir(userDir)).sort(), tmp: await readdir(path.join(dir, 'tmp')), dir: (await readdir(dir)).sort() });
    const start = await around();
    const after = { ...start, cwd: [...new Set([...start.cwd, 'readme-example.mjs'])].sort(), dir: [...start.dir, 'data', 'incoming', 'log'].sort() };
    const echo = await run(shell('px-echo'), userDir);
    assert.equal(echo.code, 0, echo.stderr);
    assert.deepEqual(JSON.parse(echo.stdout), answer('px-echo'));

    const find = await run(shell('px-find'), userDir);
    assert.equal(find.code, 0, find.stderr);
    const found = JSON.parse(find.stdout) as { status: string; command: string; data: unknown };
    const shown = answer('px-find');
    // findscu's answer folder (-od, and its log configuration there) is named afresh by each run; the studies
    // found first come in the PACS's order.
    const folder = (command: string) => command.replace(/\S*pypx-find-[^\s/]+/g, '<answers>').replace(/'StudyInstanceUID=([^']*)'/g, (_match, list: string) => `'StudyInstanceUID=${list.split('\\').sort().join('\\')}'`);
    // A SERIES-level InstanceNumber is whichever instance Orthanc reads first, and the demo uploads in parallel.
    const steady = (data: unknown) => JSON.parse(JSON.stringify(data).replace(/"InstanceNumber":\{"tag":"0020,0013","value":"\d*"/g, '"InstanceNumber":{"tag":"0020,0013","value":"?"')) as unknown;
    assert.deepEqual({ ...found, command: folder(found.command), data: steady(found.data) }, { ...shown, command: folder(shown.command), data: steady(shown.data) });

    // The listener README starts, then the move README sends to it.
    // In a process group of its own, as in a terminal, where Ctrl-C reaches npx and px-listen alike.
    listener = spawn('sh', ['-c', `exec ${shell('px-listen')}`], { cwd: userDir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let received = '';
    let said = '';
    listener.stdout?.on('data', (chunk: Buffer) => (received += chunk.toString()));
    listener.stderr?.on('data', (chunk: Buffer) => (said += chunk.toString()));
    await until('px-listen says it is receiving as CHIPS', () => /receiving as CHIPS/.test(said), { timeoutMs: 10000, describe: () => said });
    const move = await run(shell('px-move'), userDir);
    assert.equal(move.code, 0, move.stderr);
    // The series is given alone: findscu's line comes first, its answer folder named afresh by each run.
    const answers = (text: string) => text.replace(/\/dev\/shm\/pypx-find-[^\s/]+/g, '<answers>');
    const movedNow = JSON.parse(move.stdout) as { command: string };
    const movedShown = answer('px-move');
    assert.deepEqual({ ...movedNow, command: answers(movedNow.command) }, { ...movedShown, command: answers(movedShown.command) });
    await until('px-listen printed 5 lines', () => received.trim().split('\n').length >= 5, { timeoutMs: 10000, describe: () => received });
    const first = JSON.parse(/```json\n(.*)\n/.exec(section.slice(section.indexOf('npx px-listen ')))?.[1] ?? '{}') as { data: Record<string, unknown> };
    const lines = received.trim().split('\n').map((line) => JSON.parse(line) as { status: string; data: Record<string, unknown> });
    const same = lines.find((l) => l.data.SOPInstanceUID === first.data.SOPInstanceUID);
    assert.deepEqual(same?.data, { ...first.data, path: String(first.data.path).replace('/tmp/pypx/', `${dir}/`) });

    // The module calls of the echo, find and move sections, in one script as README says to save them.
    const script = blocks.filter((b) => /^(import \* as pypx|const \{ executable|console\.log\(await pypx\.move)/.test(b)).map(moved).join('\n');
    await writeFile(path.join(userDir, 'readme-example.mjs'), script);
    const module = await run('node readme-example.mjs', userDir);
    assert.equal(module.code, 0, module.stderr);
    const expected = [...script.matchAll(/((?:^\/\/ .*\n)+)/gm)].map((m) => m[1]!.replace(/^\/\/ /gm, '').trim()).filter((text) => text !== 'the same result');
    assert.ok(expected.length >= 4);
    for (const text of expected) assert.ok(answers(module.stdout).includes(answers(text)), `README shows\n${text}\nbut the call printed\n${module.stdout}`);

    // Ctrl-C, as README says, stops the listener and its storescp.
    const stopped = new Promise((resolve) => listener?.once('close', resolve));
    process.kill(-(listener.pid as number), 'SIGINT');
    await stopped;
    const storescp = () => execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).split('\n').filter((line) => line.includes('storescp') && line.includes(`${dir}/incoming`));
    await until('Ctrl-C stopped the listener\'s storescp', () => storescp().length === 0, { timeoutMs: 5000, describe: storescp });

    // px-send of what px-listen filed, to the second PACS, and px-get of a study into the same folder. No command
    // leaves anything in the folder it is run from, nor in the temporary folder, nor beside the folders it is given.
    const send = await run(shell('px-send'), userDir);
    assert.equal(send.code, 1, send.stderr);
    const sent = JSON.parse(send.stdout) as { command: string };
    const sentShown = JSON.parse(inDir(JSON.stringify(answer('px-send')))) as { command: string };
    const profile = (command: string) => command.replace(/-lc \S+ -nh -xf \S+ /, '-lc <log.cfg> -nh -xf <profile.cfg> ');
    assert.deepEqual({ ...sent, command: profile(sent.command) }, { ...sentShown, command: profile(sentShown.command) });
    const archive = `http://127.0.0.1:${DEMO.archive.httpPort + offset}`;
    const held = (await (await fetch(`${archive}/statistics`)).json()) as { CountInstances: number };
    assert.equal(held.CountInstances, 5, 'ARCHIVE holds what px-send sent');

    const get = await run(shell('px-get'), userDir);
    assert.equal(get.code, 0, get.stderr);
    const got = JSON.parse(get.stdout) as { command: string };
    const gotShown = JSON.parse(inDir(JSON.stringify(answer('px-get')))) as { command: string };
    const working = (command: string) => command.replace(/\.get-[^ /]+?(?=\.log\.cfg | )/g, '.get-<run>');
    assert.deepEqual({ ...got, command: working(got.command) }, { ...gotShown, command: working(gotShown.command) });
    const filed = execFileSync('find', [path.join(dir, 'data'), '-name', '*.dcm', '-path', '*PX0001-Smith.John*'], { encoding: 'utf8' }).trim().split('\n');
    assert.equal(filed.length, (gotShown as unknown as { completed: number }).completed);
    assert.deepEqual(await around(), after, 'the commands left nothing outside the folders they were given (the module script is the test\'s)');
    assert.deepEqual((await readdir(path.join(dir, 'data'))).sort(), ['PX0001-Smith.John', 'PX0003-Иванов.Иван', 'incoming']);
    assert.deepEqual(await readdir(path.join(dir, 'data', 'incoming')), [], 'px-get\'s working folder is gone');
  });

  it('runs README\'s DICOMweb command, which answers what README says', async () => {
    const text = README.slice(README.indexOf('## DICOMweb'), README.indexOf('\n## ', README.indexOf('## DICOMweb') + 5)).replace(/\n/g, ' ');
    const [, command, status, count] = /`(npx px-find --url [^`]+)`\s+\((\w+), the (\d+) studies/.exec(text) ?? [];
    assert.ok(command, 'README\'s DICOMweb section shows a px-find command and its answer');
    const found = await run(moved(command), await packagedUserDir());
    const result = JSON.parse(found.stdout) as { status: string; data: unknown[] };
    assert.deepEqual([found.code, result.status, result.data.length], [0, status, Number(count)], found.stderr);
  });
});

// README's commands and module examples are meant to run as written against `npm run demo`: the demo
// PACS must know every AE title they use, send each to the port its listener takes, and none of those
// ports may be one the demo's own listeners hold.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEMO } from '../testbed/demo';
import { REPO_ROOT } from '../testbed/node-red';

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
    for (const port of [...all(/--serverPort (\d+)/g), ...all(/server_port: '(\d+)'/g)]) assert.equal(Number(port), DEMO.pacs.dicomPort);
    for (const aec of [...all(/--aec (\S+)/g), ...all(/aec: '([^']+)'/g)]) assert.equal(aec, DEMO.pacs.aet);
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

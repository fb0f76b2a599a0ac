import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { exampleFlows, type RunningNodeRed, startNodeRed } from '../testbed/node-red';
import { freePort, type RunningOrthanc, startOrthanc } from '../testbed/orthanc';
import { DebugSidebar, packagedUserDir } from './support/packaged';
import { dcmtkDescendants, exemptFromLeakCheck } from './support/processes';

describe('the package installed from npm pack into a clean Node-RED user folder', function () {
  this.timeout(180000);
  let orthanc: RunningOrthanc;
  let nodeRed: RunningNodeRed;
  let sidebar: DebugSidebar;
  let unexempt = () => undefined as unknown;

  before(async () => {
    const userDir = await packagedUserDir();
    orthanc = await startOrthanc();
    // The example flow as shipped, pointed at this test's Orthanc the way a site would: by editing the config.
    const flows = exampleFlows().map((node) =>
      node.type === 'px-pacs' ? { ...node, aec: orthanc.aet, host: orthanc.host, port: String(orthanc.dicomPort) } : node,
    );
    nodeRed = await startNodeRed({ userDir, port: await freePort(), flows });
    unexempt = exemptFromLeakCheck(nodeRed.process.pid);
    sidebar = await DebugSidebar.open(nodeRed.url);
  });
  after(async () => {
    sidebar?.close();
    await nodeRed?.stop();
    unexempt();
    await orthanc?.stop();
    assert.deepEqual(dcmtkDescendants(), [], 'stopping Node-RED left DCMTK processes behind');
  });

  it('ships only what runs: compiled nodes with their html and icons, examples, no sources or tests', async () => {
    const userDir = await packagedUserDir();
    const installed = path.join(userDir, 'node_modules', 'node-red-contrib-pypx');
    const pkg = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
    for (const [type, file] of Object.entries(pkg['node-red'].nodes)) {
      readFileSync(path.join(installed, file));
      readFileSync(path.join(installed, file.replace(/\.js$/, '.html')));
      assert.ok(type.startsWith('px-'));
    }
    assert.throws(() => readFileSync(path.join(installed, 'dist', 'test', 'package.test.js')), /ENOENT/);
    assert.throws(() => readFileSync(path.join(installed, 'lib', 'index.ts')), /ENOENT/);
    readFileSync(path.join(installed, 'examples', '01 - Echo a PACS.json'));
  });

  it('registers its nodes in the palette under DICOM', async () => {
    const response = await fetch(`${nodeRed.url}/nodes`, { headers: { Accept: 'application/json' } });
    const sets = (await response.json()) as Array<{ module: string; types: string[]; enabled: boolean; err?: string }>;
    const ours = sets.filter((s) => s.module === 'node-red-contrib-pypx');
    assert.ok(ours.some((s) => s.types.includes('px-echo') && s.enabled && !s.err), JSON.stringify(ours));
    assert.ok(ours.some((s) => s.types.includes('px-pacs')));
    const html = await (await fetch(`${nodeRed.url}/nodes`, { headers: { Accept: 'text/html' } })).text();
    assert.match(html, /RED\.nodes\.registerType\('px-echo', \{\s*category: 'DICOM'/);
  });

  it('shows pypx\'s echo result in the debug sidebar when the example\'s inject is clicked', async () => {
    const response = await fetch(`${nodeRed.url}/inject/a1c0e0f000000002`, { method: 'POST' });
    assert.equal(response.status, 200);
    const shown = await sidebar.next((m) => m.id === 'a1c0e0f000000005');
    const payload = JSON.parse(shown.msg) as { status: string; command: string; data: string };
    assert.equal(payload.status, 'success');
    assert.match(payload.command, new RegExp(`echoscu .*-aec ORTHANC -aet NODERED 127\\.0\\.0\\.1 ${orthanc.dicomPort}$`));
  });

  it('hands a failed echo to the example\'s Catch node, shown with the reason', async () => {
    // The shared demo config leaves "accept msg.pacs" unticked: the inject's msg.pacs is refused, naming the box.
    await fetch(`${nodeRed.url}/inject/a1c0e0f000000003`, { method: 'POST' });
    const shown = await sidebar.next((m) => m.id === 'a1c0e0f000000007');
    const msg = JSON.parse(shown.msg) as { payload: { status: string; data: string }; error: { message: string } };
    assert.equal(msg.payload.status, 'error');
    assert.match(msg.error.message, /msg\.pacs is not accepted by this PACS config: tick "accept msg\.pacs"/);
  });
});

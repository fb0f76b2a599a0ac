// The package in the Node-RED editor, in a real browser: palette, import of the pipeline example
// through the editor's own dialog, deploy, the edit and config dialogs, help. Screenshots go to test-artifacts/.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { generateSampleInstances } from '../testbed/generate';
import { exampleFlows, REPO_ROOT, type RunningNodeRed, startNodeRed } from '../testbed/node-red';
import { freePort } from '../testbed/orthanc';
import { DebugSidebar, packagedUserDir } from './support/packaged';
import { useOrthanc } from './support/pacs';
import { exemptFromLeakCheck } from './support/processes';
import { until } from './support/until';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const NODE_TYPES = ['px-echo', 'px-find', 'px-move', 'px-listen', 'px-send', 'px-get', 'px-deidentify'];
/** locales/en-US/<type>.json's paletteLabel: the palette shows these, quick-add "<label> (<type>)". */
const PALETTE_LABELS: Record<string, string> = { 'px-echo': 'echo', 'px-find': 'find', 'px-move': 'move', 'px-listen': 'listen', 'px-send': 'send', 'px-get': 'get', 'px-deidentify': 'deidentify' };
/** The demo PACS config every example shares (the same id and settings in each file). */
const DEMO_PACS = 'a1c0e0f0000000c1';

/** Every node and config node the editor marks invalid (a red triangle; deploy warns about them), with its tab. */
type Invalid = Array<{ type: string; id: string; tab?: string; errors?: unknown }>;

/** The little of the editor's RED object these tests call. */
interface EditorRED {
  nodes: {
    eachNode(visit: (node: { type: string } & Record<string, unknown>) => void): void;
    dirty(value: boolean): void;
    getType(type: string): { defaults: { port: { validate: (this: object, value: string, opt?: object) => boolean | string } } };
  };
}

describe('the package in the Node-RED editor (chromium)', function () {
  this.timeout(120000);
  const pacs = useOrthanc({ modalities: { seed: ['SEEDED', '127.0.0.1', 104] } });
  let nodeRed: RunningNodeRed;
  let browser: Browser;
  let page: Page;
  let listenPort: number;
  let unexempt = () => undefined as unknown;
  // The picture is taken once the edit tray has finished sliding in: no animation runs, CSS or jQuery's.
  const shot = async (name: string) => {
    await page.waitForFunction(() => {
      const $ = (window as unknown as { $?: (selector: string) => { length: number } }).$;
      const running = document.getAnimations().filter((a) => a.playState === 'running' && a.effect?.getTiming().iterations !== Infinity);
      return !running.length && !($ && $(':animated').length);
    });
    await page.screenshot({ path: path.join(ARTIFACTS, `editor-${name}.png`) });
  };
  /** Double-clicks a node on the canvas until its edit dialog shows `field` (a double click can be taken for the end of an earlier click). */
  async function openEditor(label: string, field: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await canvasNode(label).dblclick();
      try {
        await page.locator(field).waitFor({ timeout: 3000 });
        return;
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
  }
  /** A node on the canvas by its whole label. */
  const canvasNode = (label: string) =>
    page.locator('g.red-ui-flow-node-group').filter({ has: page.locator('text', { hasText: new RegExp(`^${label}$`) }) });

  /** How many flow nodes the editor holds. */
  const nodeCount = () => page.evaluate(() => {
    let count = 0;
    (window as unknown as { RED: EditorRED }).RED.nodes.eachNode(() => count++);
    return count;
  });
  /**
   * Imports a shipped example into a new flow through Import > Examples, as a user does, answers Node-RED's
   * "already exist in your workspace" as told when `conflict` is given, and drops the nodes on the canvas.
   */
  async function importExample(name: string, conflict?: 'import copy' | 'view nodes'): Promise<void> {
    const before = await nodeCount();
    await page.click('#red-ui-header-button-sidemenu');
    await page.click('#menu-item-import');
    await page.click('#red-ui-clipboard-dialog-import-tabs a[href="#red-ui-clipboard-dialog-import-tab-examples"]');
    const examples = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
    const entry = examples.locator('.red-ui-treeList-label', { hasText: name });
    // The package's folder is listed once the library has answered; it stays open from one import to the next.
    await examples.locator('.red-ui-treeList-label', { hasText: 'node-red-contrib-pypx' }).waitFor();
    if (!(await entry.isVisible())) await examples.locator('.red-ui-treeList-label', { hasText: 'node-red-contrib-pypx' }).click();
    // Import is enabled once the chosen example has loaded; a click while the folder still unfolds can miss it.
    const ok = page.locator('#red-ui-clipboard-dialog-ok');
    for (let attempt = 1; ; attempt++) {
      await entry.click();
      try {
        await page.locator('#red-ui-clipboard-dialog-ok:enabled').waitFor({ timeout: 3000 });
        break;
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
    await shot('import-examples');
    await page.click('#red-ui-clipboard-dialog-import-opt-new');
    await ok.click();
    if (conflict) {
      const notice = page.locator('.red-ui-notification', { hasText: 'already exist in your workspace' }).last();
      await notice.waitFor();
      if (conflict === 'import copy') {
        await notice.locator('button', { hasText: 'Import copy' }).click();
      } else {
        await notice.locator('button', { hasText: 'View nodes' }).click();
        await page.click('#red-ui-clipboard-dialog-import-conflict');
      }
    }
    await page.waitForFunction((count) => {
      let now = 0;
      (window as unknown as { RED: EditorRED }).RED.nodes.eachNode(() => now++);
      return now > count;
    }, before);
    // Imported nodes follow the mouse: click to drop them, until the editor is back in its default state.
    const dragging = () => page.evaluate(() => {
      const red = (window as unknown as { RED: { view: { state(): number }; state: { DEFAULT: number } } }).RED;
      return red.view.state() !== red.state.DEFAULT;
    });
    for (let attempt = 0; attempt < 10 && (await dragging()); attempt++) {
      await page.mouse.move(300, 300);
      await page.mouse.click(300, 300);
      await until('the import dropped onto the canvas', async () => !(await dragging()), { timeoutMs: 1000 }).catch(() => undefined);
    }
    assert.equal(await dragging(), false, `${name} never dropped onto the canvas`);
  }

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    listenPort = await freePort();
    nodeRed = await startNodeRed({ userDir: await packagedUserDir(), port: await freePort(), flows: [] });
    unexempt = exemptFromLeakCheck(nodeRed.process.pid);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
    page.setDefaultTimeout(15000);
    await page.goto(nodeRed.url);
    await page.waitForSelector('#red-ui-palette-container-DICOM');
  });
  after(async () => {
    await browser?.close();
    await nodeRed?.stop();
    unexempt();
  });

  it('shows px-echo, px-find, px-move and px-listen in the palette under DICOM, with their labels and icons', async () => {
    for (const type of NODE_TYPES) {
      const entry = page.locator(`#red-ui-palette-container-DICOM .red-ui-palette-node[data-palette-type="${type}"]`);
      await entry.waitFor();
      assert.equal((await entry.locator('.red-ui-palette-label').textContent())?.trim(), PALETTE_LABELS[type], 'the operation, from the catalog');
      const icon = await entry.locator('.red-ui-palette-icon').getAttribute('style');
      assert.match(icon ?? '', new RegExp(`${type}\\.svg`), `${type} has its own icon`);
    }
    assert.match(await page.locator('#red-ui-palette-header-DICOM').innerText(), /DICOM/i);
    const category = page.locator('#red-ui-palette-DICOM');
    await category.scrollIntoViewIfNeeded();
    await category.screenshot({ path: path.join(ARTIFACTS, 'editor-palette-dicom.png') });
  });

  it('imports "05 - Retrieval pipeline" from Import > Examples and deploys it', async () => {
    await importExample('05 - Retrieval pipeline');
    await canvasNode('studies of the patient').waitFor();
    // The example's listener port may be taken on a shared machine: a free one, so that it must listen.
    await page.evaluate((port) => {
      const { RED } = window as unknown as { RED: EditorRED };
      RED.nodes.eachNode((n) => {
        if (n.type === 'px-listen') Object.assign(n, { port, changed: true, dirty: true });
      });
      RED.nodes.dirty(true);
    }, listenPort);
    // The runtime is the judge of a deploy; the button is clicked again if a first click landed while
    // the editor was still settling the drop (seen once in a dozen runs).
    const deployed = async () => {
      const response = await fetch(`${nodeRed.url}/flows`, { headers: { 'Node-RED-API-Version': 'v2' } });
      return ((await response.json()) as { flows: Array<{ type: string }> }).flows.some((n) => n.type === 'px-listen');
    };
    for (let attempt = 0; attempt < 3 && !(await deployed()); attempt++) {
      await page.click('#red-ui-header-button-deploy');
      await until('the runtime runs the deployed pipeline', deployed, { timeoutMs: 5000, intervalMs: 200 }).catch(() => undefined);
    }
    if (!(await deployed())) await shot('deploy-failed');
    assert.ok(await deployed(), 'the Deploy button did not deploy the imported pipeline');
    await page.locator('#red-ui-workspace-chart').click({ position: { x: 30, y: 30 } }); // clears the imported selection
    await page.locator('g.red-ui-flow-node-group text', { hasText: /^0 received$/ }).first().waitFor(); // px-listen's status, from its catalog
    await shot('pipeline-deployed');

    const response = await fetch(`${nodeRed.url}/flows`, { headers: { 'Node-RED-API-Version': 'v2' } });
    const { flows } = (await response.json()) as { flows: Array<{ type: string; name?: string; destination?: string }> };
    for (const type of ['px-find', 'px-move', 'px-listen', 'px-pacs', 'file']) assert.ok(flows.some((n) => n.type === type), `the runtime runs a ${type}`);
    assert.equal(flows.find((n) => n.type === 'px-move')?.destination, 'PIPELINE', 'the px-move names its px-listen; the shared demo config has no Move to AE');
    assert.equal(flows.filter((n) => n.type === 'px-find').length, 2);
  });

  it('opens px-find\'s edit dialog and the px-pacs config dialog from it, with labelled fields', async () => {
    await openEditor('studies of the patient', '#node-input-level');
    assert.equal(await page.inputValue('#node-input-level'), 'STUDY');
    assert.equal(await page.inputValue('#node-input-name'), 'studies of the patient');
    assert.equal((await page.locator('label[for="node-input-level"]').innerText()).trim(), 'Level');
    assert.equal((await page.locator('label[for="node-input-split"]').innerText()).trim(), 'Send one message per match');
    assert.ok(await page.isChecked('#node-input-split'));
    assert.match(await page.locator('#node-input-pacs option:checked').innerText(), /demo Orthanc/);
    await shot('px-find-dialog');

    await page.click('#node-input-btn-pacs-edit');
    await page.locator('#node-config-input-host').waitFor();
    assert.equal(await page.inputValue('#node-config-input-host'), '127.0.0.1');
    assert.equal(await page.inputValue('#node-config-input-port'), '4242');
    assert.equal(await page.inputValue('#node-config-input-aec'), 'ORTHANC');
    assert.equal(await page.inputValue('#node-config-input-aetl'), '');
    assert.equal(await page.inputValue('#node-config-input-name'), 'demo Orthanc');
    assert.equal((await page.locator('label[for="node-config-input-aec"]').innerText()).trim(), 'Called AE');
    assert.match(await page.getAttribute('#node-config-input-host', 'placeholder') ?? '', /\$\{PACS_HOST\}/);
    // An environment variable as the whole host or port is valid in the editor too.
    await page.fill('#node-config-input-port', '${PACS_PORT}');
    await page.locator('#node-config-input-port').blur();
    assert.equal(await page.locator('#node-config-input-port.input-error').count(), 0, '${PACS_PORT} is accepted');
    await page.fill('#node-config-input-port', 'x');
    await page.locator('#node-config-input-port').blur();
    await page.locator('#node-config-input-port.input-error').waitFor();
    await shot('px-pacs-dialog');
    // The example predates "accept msg.pacs" and TLS: the config is still valid, both read as off.
    const pacsValid = await page.evaluate(() => {
      const red = (window as unknown as { RED: { nodes: { eachConfig(cb: (n: { type: string; valid?: boolean; allowMsgPacs?: unknown }) => void): void } } }).RED;
      const found: Array<{ valid?: boolean; allowMsgPacs?: unknown }> = [];
      red.nodes.eachConfig((n) => { if (n.type === 'px-pacs') found.push({ valid: n.valid, allowMsgPacs: n.allowMsgPacs }); });
      return found;
    });
    assert.ok(pacsValid.length > 0 && pacsValid.every((n) => n.valid !== false), `px-pacs configs without the new fields must stay valid: ${JSON.stringify(pacsValid)}`);
    assert.equal((await page.locator('label[for="node-config-input-allowMsgPacs"]').innerText()).trim(), 'accept msg.pacs');
    assert.equal(await page.isChecked('#node-config-input-allowMsgPacs'), false);
    assert.equal(await page.isChecked('#node-config-input-tls'), false);
    assert.equal(await page.isVisible('#node-config-input-tlsCa'), false, 'TLS files are hidden while TLS is off');
    await page.check('#node-config-input-tls');
    await page.locator('#node-config-input-tlsCa').waitFor({ state: 'visible' });
    assert.equal(await page.getAttribute('#node-config-input-tlsKeyPassword', 'type'), 'password');
    await shot('px-pacs-dialog-tls');
    // A config from before DICOMweb opens as DIMSE; DICOMweb shows its own fields and hides the DIMSE ones.
    assert.equal(await page.inputValue('#node-config-input-protocol'), 'dimse');
    assert.ok(await page.isHidden('#node-config-input-url'));
    await page.selectOption('#node-config-input-protocol', 'dicomweb');
    await page.locator('#node-config-input-url').waitFor();
    for (const field of ['user', 'password', 'token']) assert.ok(await page.isVisible(`#node-config-input-${field}`), `${field} shown`);
    for (const field of ['host', 'port', 'aec', 'aet', 'aetl', 'dcmtkDir', 'tls', 'tlsCert', 'tlsKey', 'tlsKeyPassword']) assert.ok(await page.isHidden(`#node-config-input-${field}`), `${field} hidden`);
    assert.ok(await page.isVisible('#node-config-input-tlsCa'), 'the CA serves an https URL too');
    assert.equal((await page.locator('label[for="node-config-input-url"]').innerText()).trim(), 'URL');
    await page.fill('#node-config-input-url', 'https://pacs.example.org/dicom-web');
    await page.fill('#node-config-input-user', 'me');
    await shot('px-pacs-dicomweb-dialog');
    await page.click('#node-config-dialog-cancel');
    await page.click('#node-dialog-cancel');
    await page.locator('#node-input-level').waitFor({ state: 'detached' });

    await openEditor(`PIPELINE:${listenPort}`, '#node-input-dataDir');
    assert.equal(await page.inputValue('#node-input-dataDir'), 'pypx-data/pipeline');
    assert.equal((await page.locator('label[for="node-input-dataDir"]').innerText()).trim(), 'Data folder');
    assert.match(await page.getAttribute('#node-input-tmpDir', 'placeholder') ?? '', /incoming/);
    await shot('px-listen-dialog');
    await page.click('#node-dialog-cancel');
    await page.locator('#node-input-dataDir').waitFor({ state: 'detached' });
  });

  it('marks a misspelt keyword in px-find\'s query or return tags with the runtime\'s own suggestion', async () => {
    // The runtime's answer, as the dialog gets it.
    const check = await fetch(`${nodeRed.url}/px-find/check`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ level: 'STUDY', query: '{"PatientNme": "PX0003"}', returnTags: 'PatientID, StudyDat' }),
    });
    assert.deepEqual(await check.json(), {
      query: 'invalid C-FIND query: "PatientNme" is not a DICOM keyword (did you mean PatientName?)',
      returnTags: 'invalid C-FIND query: "StudyDat" is not a DICOM keyword (did you mean StudyDate?)',
    });

    await openEditor('studies of the patient', '#node-input-level');
    const query = page.locator('#node-input-query + .red-ui-typedInput-container');
    const problem = page.locator('#px-find-query-problem');
    assert.equal(await problem.isVisible(), false, 'the example\'s own query is fine');
    // Typed, as a user does: the editor validates on each key.
    const type = async (field: Locator, text: string) => {
      await field.fill(text);
      await field.press('End');
    };
    await type(query.locator('input.red-ui-typedInput-input'), '{"PatientNme": "PX0003"}');
    await problem.filter({ hasText: 'did you mean PatientName?' }).waitFor();
    assert.equal((await problem.innerText()).trim(), 'invalid C-FIND query: "PatientNme" is not a DICOM keyword (did you mean PatientName?)');
    await page.locator('#node-input-query + .red-ui-typedInput-container.input-error').waitFor();
    await shot('px-find-misspelt-keyword');
    // Corrected, the mark and the message go.
    await type(query.locator('input.red-ui-typedInput-input'), '{"PatientName": "PX0003"}');
    await problem.waitFor({ state: 'hidden' });
    await page.locator('#node-input-query + .red-ui-typedInput-container:not(.input-error)').waitFor();
    // The return tags are checked the same way, and marked under their own field.
    await type(page.locator('#node-input-returnTags'), 'PatientID, StudyDat');
    await page.locator('#px-find-returnTags-problem', { hasText: 'did you mean StudyDate?' }).waitFor();
    await page.locator('#node-input-returnTags.input-error').waitFor();
    await page.click('#node-dialog-cancel');
    await page.locator('#node-input-level').waitFor({ state: 'detached' });
    // Cancelled: the node on the canvas keeps its valid query.
    const valid = await page.evaluate(() => {
      let found: boolean | undefined;
      (window as unknown as { RED: EditorRED }).RED.nodes.eachNode((n) => {
        if (n.name === 'studies of the patient') found = n.valid as boolean | undefined;
      });
      return found;
    });
    assert.notEqual(valid, false);
  });

  it('flags a px-listen whose port another px-listen in the workspace uses', async () => {
    const verdicts = await page.evaluate((port) => {
      const { RED } = window as unknown as { RED: EditorRED };
      const validate = RED.nodes.getType('px-listen').defaults.port.validate;
      const newcomer = { id: 'newcomer', type: 'px-listen' };
      return [validate.call(newcomer, String(port), {}), validate.call(newcomer, String(port)), validate.call(newcomer, String(port + 1), {})];
    }, listenPort);
    assert.deepEqual(verdicts, [`port ${listenPort} is already used by px-listen PIPELINE: one port, one listener`, false, true]);
  });

  it('shows px-move\'s help in the help sidebar, in Node-RED\'s layout', async () => {
    await page.evaluate(() => (window as unknown as { RED: { sidebar: { show(id: string): void } } }).RED.sidebar.show('info'));
    await page.locator('#red-ui-workspace-chart').click({ position: { x: 30, y: 30 } }); // clears the imported selection
    await canvasNode('move each series').click();
    // The info tab's book button opens the selected node's help in the help tab.
    await page.locator('button.red-ui-button-small:has(i.fa-book):visible').first().click();
    // The help of the selected node, the way the help tab shows it.
    const help = page.locator('.red-ui-help', { hasText: 'Asks a PACS to send' }).last();
    await help.locator('h3', { hasText: 'Inputs' }).waitFor();
    const text = await help.innerText();
    assert.match(text, /Asks a PACS to send studies, series or single instances to an AE title \(DICOM C-MOVE\)/);
    for (const heading of ['Inputs', 'Outputs', 'Details', 'References']) assert.match(text, new RegExp(`\\b${heading}\\b`));
    assert.ok(await help.locator('dl.message-properties .property-type').count() >= 3, 'message properties have types');
    await shot('px-move-help');
  });

  it('shows every node\'s help with the same sections, each property by its JSON name', async () => {
    const helps = await page.evaluate((types) => {
      const red = (window as unknown as { RED: { nodes: { getNodeHelp(t: string): string; getType(t: string): { defaults: object; credentials?: object; inputs?: number } } } }).RED;
      return types.map((type) => {
        const help = document.createElement('div');
        help.innerHTML = red.nodes.getNodeHelp(type);
        const def = red.nodes.getType(type);
        const headings = (tag: string) => Array.from(help.querySelectorAll(tag)).map((h) => h.textContent?.trim());
        // The <dl> after the Properties heading: each <dt> starts with the property's name in the flow's JSON.
        const heading = Array.from(help.querySelectorAll('h3, h4')).find((h) => h.textContent?.trim() === 'Properties');
        let list = heading?.nextElementSibling;
        while (list && list.tagName !== 'DL') list = list.nextElementSibling;
        const names = Array.from(list?.querySelectorAll(':scope > dt') ?? []).flatMap((dt) => (dt.firstChild?.textContent ?? '').trim().split(/,\s*/));
        return {
          type,
          first: help.querySelector('p')?.textContent?.replace(/\s+/g, ' ').trim() ?? '',
          firstIsFirst: help.firstElementChild?.tagName === 'P',
          h3: headings('h3'),
          h4: headings('h4'),
          inputs: def.inputs ?? 0,
          names,
          properties: [...Object.keys(def.defaults), ...Object.keys(def.credentials ?? {})],
          typed: list?.querySelectorAll('dt .property-type').length ?? 0,
        };
      });
    }, [...NODE_TYPES, 'px-pacs']);
    for (const help of helps) {
      assert.ok(help.firstIsFirst, `${help.type}: the help opens with its tooltip paragraph`);
      assert.match(help.first, /^[A-Z][a-z]+s /, `${help.type}: the tooltip starts with a verb: ${help.first}`);
      assert.equal(help.first.split(/\.(\s|$)/).filter((part) => part.trim()).length, 1, `${help.type}: the tooltip is one sentence: ${help.first}`);
      assert.deepEqual([...help.names].sort(), [...help.properties].sort(), `${help.type}: Properties lists each property by its JSON name`);
      assert.equal(help.typed, help.names.length - (help.type === 'px-pacs' ? 1 : 0), `${help.type}: each property has a type`);
      if (help.type === 'px-pacs') {
        assert.deepEqual(help.h3, [], 'a config node\'s help has no Inputs or Outputs, only <h4> topics');
        assert.equal(help.h4[0], 'Properties');
        assert.ok(help.h4.includes('References'));
      } else {
        assert.deepEqual(help.h3, [...(help.inputs ? ['Inputs'] : []), 'Outputs', 'Properties', 'Details', 'References'], `${help.type}: sections`);
        assert.ok(help.h4.includes('Status'), `${help.type}: the status rule is told`);
        assert.ok(help.h4.includes('Flows made with earlier versions'), `${help.type}: what changed is told`);
      }
    }
    // As the help tab shows it, for one node: the title is the palette label, the sections fold.
    await page.evaluate(() => (window as unknown as { RED: { sidebar: { help: { show(type: string): void } } } }).RED.sidebar.help.show('px-find'));
    const shown = page.locator('.red-ui-help', { hasText: 'Asks a PACS what it holds' }).last();
    await shown.locator('h3', { hasText: 'Properties' }).waitFor();
    assert.doesNotMatch(await shown.innerText(), /Level level/);
    await shot('px-find-help');
  });

  it('lists each node once in quick-add, as "<label> (<type>)"', async () => {
    await page.locator('#red-ui-workspace-chart').click({ position: { x: 600, y: 500 }, modifiers: ['Control'] });
    await page.locator('#red-ui-type-search-input').pressSequentially('px-');
    // What the list shows once filtered by what was typed.
    const labels = page.locator('#red-ui-type-search .red-ui-search-result-node-label:visible');
    await page.locator('#red-ui-type-search .red-ui-search-result-node-label:visible', { hasText: 'inject' }).first().waitFor({ state: 'detached' });
    await labels.filter({ hasText: '(px-echo)' }).waitFor();
    const shown = await labels.allInnerTexts();
    assert.equal(shown.length, NODE_TYPES.length, `only the package's nodes match "px-": ${JSON.stringify(shown)}`);
    await shot('quick-add');
    await page.keyboard.press('Escape');
    for (const type of NODE_TYPES) {
      const entries = shown.filter((text) => text.includes(`(${type})`));
      assert.deepEqual(entries, [`${PALETTE_LABELS[type]} (${type})`], `${type} once, its label once: ${JSON.stringify(shown)}`);
    }
  });

  it('lists the demo PACS once in the PACS dropdown after every example is imported', async () => {
    // 05 is imported already; the others through Import > Examples, as a user would. Each brings the
    // shared demo PACS config, whose id exists by then: Node-RED says so, and "Import copy" keeps the
    // existing config (one example goes through "View nodes...", where the config is left unticked).
    const others = readdirSync(path.join(REPO_ROOT, 'examples')).filter((f) => f.endsWith('.json') && !f.startsWith('05'));
    for (const file of others) {
      // 08 (DICOMweb) has configs of its own only: nothing of it exists yet.
      const shares = readFileSync(path.join(REPO_ROOT, 'examples', file), 'utf8').includes(`"id": "${DEMO_PACS}"`);
      await importExample(file.replace(/\.json$/, ''), shares ? (file.startsWith('02') ? 'view nodes' : 'import copy') : undefined);
    }
    const configs = await page.evaluate(() => {
      const found: Array<{ id: string; name?: string }> = [];
      (window as unknown as { RED: { nodes: { eachConfig(f: (n: { id: string; type: string; name?: string }) => void): void } } }).RED.nodes.eachConfig((n) => {
        if (n.type === 'px-pacs') found.push({ id: n.id, name: n.name });
      });
      return found;
    });
    assert.deepEqual(configs.filter((c) => c.name === 'demo Orthanc').map((c) => c.id), [DEMO_PACS], JSON.stringify(configs));
    const users = await page.evaluate(() => {
      const pacs: string[] = [];
      (window as unknown as { RED: EditorRED }).RED.nodes.eachNode((n) => {
        if (typeof n.pacs === 'string') pacs.push(n.pacs);
      });
      return pacs;
    });
    const shipped = readdirSync(path.join(REPO_ROOT, 'examples')).filter((f) => f.endsWith('.json'))
      .flatMap((f) => JSON.parse(readFileSync(path.join(REPO_ROOT, 'examples', f), 'utf8')) as Array<{ pacs?: string }>)
      .filter((n) => n.pacs !== undefined);
    assert.equal(users.length, shipped.length, 'every px node of every example');
    assert.ok(users.every((id) => configs.some((c) => c.id === id)), 'every node points at a config that exists');

    // What the user sees: the PACS dropdown of the last imported example's px-find.
    await openEditor('px-find study', '#node-input-pacs');
    const options = (await page.locator('#node-input-pacs option').allInnerTexts()).map((t) => t.trim());
    await shot('pacs-dropdown');
    await page.click('#node-dialog-cancel');
    await page.locator('#node-input-pacs').waitFor({ state: 'detached' });
    assert.equal(options.filter((o) => o === 'demo Orthanc').length, 1, JSON.stringify(options));
    const listed = options.filter((o) => o !== 'None');
    assert.equal(new Set(listed).size, listed.length, `no config twice: ${JSON.stringify(options)}`);
    // Not deployed: the next test replaces the flows, and a reload must not ask about unsaved changes.
    await page.evaluate(() => (window as unknown as { RED: EditorRED }).RED.nodes.dirty(false));
  });

  /** Deploys flows through the admin API and opens them in the editor, as after a restart. */
  async function openFlows(flows: Array<Record<string, unknown>>): Promise<Invalid> {
    const response = await fetch(`${nodeRed.url}/flows`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(flows),
    });
    assert.equal(response.status, 204, await response.text());
    await page.reload();
    await page.waitForSelector('#red-ui-palette-container-DICOM');
    await page.waitForFunction(() => (window as unknown as { RED: { nodes: { eachNode(f: () => void): void } } }).RED.nodes.eachNode !== undefined);
    return page.evaluate(() => {
      interface EditorNode { type: string; id: string; z?: string; valid?: boolean; validationErrors?: unknown }
      const red = (window as unknown as { RED: { nodes: { eachNode(f: (n: EditorNode) => void): void; eachConfig(f: (n: EditorNode) => void): void; workspace(id: string): { label: string } | undefined } } }).RED;
      const invalid: Array<{ type: string; id: string; tab?: string; errors?: unknown }> = [];
      const check = (n: EditorNode) => {
        if (n.valid === false) invalid.push({ type: n.type, id: n.id, tab: n.z ? red.nodes.workspace(n.z)?.label : undefined, errors: n.validationErrors });
      };
      red.nodes.eachNode(check);
      red.nodes.eachConfig(check);
      return invalid;
    });
  }

  it('opens every shipped example with no invalid node (no red triangle, no deploy warning)', async () => {
    // Each example on its own tab, as the demo shows them; the listeners on free ports.
    const flows = await Promise.all(exampleFlows().map(async (n) => (n.type === 'px-listen' ? { ...n, port: await freePort() } : n)));
    const invalid = await openFlows(flows);
    assert.deepEqual(invalid, [], `invalid in the editor: ${JSON.stringify(invalid)}`);
    const tabs = await page.evaluate(() => {
      const labels: string[] = [];
      (window as unknown as { RED: { nodes: { eachWorkspace(f: (w: { label: string }) => void): void } } }).RED.nodes.eachWorkspace((w) => labels.push(w.label));
      return labels;
    });
    assert.deepEqual(tabs, flows.filter((n) => n.type === 'tab').map((n) => n.label));
    await shot('examples-valid');
  });

  it('loads a px-pacs saved with only the first release\'s fields as valid, and it runs', async () => {
    await pacs().upload([...generateSampleInstances({ seed: 'editor-seed', seriesPerStudy: 1, instancesPerSeries: 1 })].slice(0, 3).map((i) => i.bytes));
    // name, aet, aec, host, port, aetl, timeout: no concurrency, no dcmtkDir, as flows saved before they existed.
    const seed = { id: 'seedpacs', type: 'px-pacs', name: 'saved long ago', aet: 'SEEDED', aec: pacs().aet, host: '127.0.0.1', port: String(pacs().dicomPort), aetl: '', timeout: '30' };
    const invalid = await openFlows([
      { id: 'seedtab', type: 'tab', label: 'seed' },
      seed,
      { id: 'seedinject', type: 'inject', z: 'seedtab', props: [{ p: 'payload' }], payload: '', payloadType: 'date', repeat: '', crontab: '', once: false, x: 100, y: 60, wires: [['seedecho', 'seedfind']] },
      { id: 'seedecho', type: 'px-echo', z: 'seedtab', pacs: 'seedpacs', x: 300, y: 40, wires: [['seeddebug']] },
      { id: 'seedfind', type: 'px-find', z: 'seedtab', pacs: 'seedpacs', level: 'SERIES', query: '{}', returnTags: '', split: false, limit: 0, x: 300, y: 100, wires: [['seeddebug']] },
      { id: 'seeddebug', type: 'debug', z: 'seedtab', active: true, tosidebar: true, complete: 'payload', targetType: 'msg', x: 500, y: 60, wires: [] },
    ]);
    assert.deepEqual(invalid, [], `invalid in the editor: ${JSON.stringify(invalid)}`);
    const sidebar = await DebugSidebar.open(nodeRed.url);
    try {
      assert.equal((await fetch(`${nodeRed.url}/inject/seedinject`, { method: 'POST' })).status, 200);
      const results = [await sidebar.next((m) => m.id === 'seeddebug'), await sidebar.next((m) => m.id === 'seeddebug')].map((m) => JSON.parse(m.msg) as { status: string; command: string; data: unknown });
      assert.deepEqual(results.map((r) => r.status), ['success', 'success'], JSON.stringify(results));
      const found = results.find((r) => /findscu/.test(r.command));
      assert.equal((found?.data as unknown[]).length, 3, 'px-find answered with the three series');
    } finally {
      sidebar.close();
    }
  });
});

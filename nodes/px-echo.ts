import type { Node, NodeAPI, NodeDef } from 'node-red';
import { runEcho } from '../lib';
import { findPacsConfig, handleClose, handleInput, reportFailure, RunningOperations, settingsForMessage } from './glue';
import { catalog } from './i18n';

interface PxEchoDef extends NodeDef {
  pacs: string;
}

export = function register(RED: NodeAPI): void {
  function PxEchoNode(this: Node, def: PxEchoDef) {
    RED.nodes.createNode(this, def);
    const say = catalog(RED, 'px-echo');
    const pacs = findPacsConfig(RED, this, def.pacs, say);
    const operations = new RunningOperations();
    let echoes = 0;

    handleInput(this, say, async (msg, send, done) => {
      const settings = settingsForMessage(pacs, msg);
      this.status({ fill: 'blue', shape: 'dot', text: say('status.echoing') });
      const outcome = await operations.run((signal) => runEcho(settings, { signal }));
      echoes++;
      if (outcome.error) return reportFailure(this, msg, done, outcome.error);
      this.status({ fill: 'green', shape: 'dot', text: say(echoes === 1 ? 'status.ok' : 'status.okOfMany', { ms: outcome.elapsedMs, count: echoes }) });
      msg.payload = outcome.result;
      send(msg);
      done();
    });
    handleClose(this, () => operations.stopAll());
  }
  RED.nodes.registerType('px-echo', PxEchoNode);
};

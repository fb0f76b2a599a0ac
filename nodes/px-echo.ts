import type { Node, NodeAPI, NodeDef } from 'node-red';
import { runEcho } from '../lib/echo';
import { findPacsConfig, handleClose, handleInput, reportFailure, RunningOperations, settingsForMessage } from './glue';

interface PxEchoDef extends NodeDef {
  pacs: string;
}

export = function register(RED: NodeAPI): void {
  function PxEchoNode(this: Node, def: PxEchoDef) {
    RED.nodes.createNode(this, def);
    const pacs = findPacsConfig(RED, this, def.pacs);
    const operations = new RunningOperations();

    handleInput(this, async (msg, send, done) => {
      const settings = settingsForMessage(pacs, msg);
      this.status({ fill: 'blue', shape: 'dot', text: 'echoing…' });
      const outcome = await operations.run((signal) => runEcho(settings, { signal }));
      if (outcome.error) return reportFailure(this, msg, done, outcome.error);
      this.status({ fill: 'green', shape: 'dot', text: `ok ${outcome.elapsedMs} ms` });
      msg.payload = outcome.result;
      send(msg);
      done();
    });
    handleClose(this, () => operations.stopAll());
  }
  RED.nodes.registerType('px-echo', PxEchoNode);
};

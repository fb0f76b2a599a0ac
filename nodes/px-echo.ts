import type { Node, NodeAPI, NodeDef } from 'node-red';
import { runEcho } from '../lib';
import { answerInputs } from './contract';
import { findPacsConfig, settingsForMessage } from './glue';
import { catalog } from './i18n';
import { AnswerStatus, StatusLight } from './status';

interface PxEchoDef extends NodeDef {
  pacs: string;
}

export = function register(RED: NodeAPI): void {
  function PxEchoNode(this: Node, def: PxEchoDef) {
    RED.nodes.createNode(this, def);
    const say = catalog(RED, 'px-echo');
    const status = new AnswerStatus(new StatusLight(this, say), say);
    const pacs = findPacsConfig(RED, def.pacs, status.light, say);

    answerInputs(RED, this, { say, status }, async ({ msg, answer, run }) => {
      const settings = settingsForMessage(pacs, msg);
      const outcome = await run((signal) => runEcho(settings, { signal, queue: pacs?.queue.shared ? pacs.queue : undefined }));
      msg.payload = outcome.result;
      answer(msg);
      return { count: outcome.error ? 0 : 1, failure: outcome.error };
    });
  }
  RED.nodes.registerType('px-echo', PxEchoNode);
};

import type { Node, NodeAPI, NodeDef } from 'node-red';
import { anyToPacsError, collectSendFiles, runSend, type PacsSettings, type SendList } from '../lib';
import { findPacsConfig, handleClose, handleInput, RunningOperations, settingsForMessage } from './glue';
import { catalog } from './i18n';

interface PxSendDef extends NodeDef {
  pacs: string;
  retries: string | number;
}

const STATUS_EVERY_MS = 250;

export = function register(RED: NodeAPI): void {
  function PxSendNode(this: Node, def: PxSendDef) {
    RED.nodes.createNode(this, def);
    const say = catalog(RED, 'px-send');
    const pacs = findPacsConfig(RED, this, def.pacs, say);
    const retries = Math.max(0, Math.floor(Number(def.retries) || 0));
    const operations = new RunningOperations();
    let closing = false;

    handleInput(this, say, async (msg, send, done) => {
      let settings: PacsSettings;
      let list: SendList;
      try {
        settings = settingsForMessage(pacs, msg);
        list = await collectSendFiles(msg.payload);
      } catch (caught) {
        // Exactly one output per input, even when nothing could be sent; the error also goes to Catch nodes.
        const err = anyToPacsError(caught, 'cannot read files', 'nothing was sent: cannot read the files to send');
        this.status({ fill: 'red', shape: 'ring', text: err.reason });
        msg.payload = { ...err.result, data: [], sent: 0, failed: 0, warning: 0 };
        send(msg);
        return done(err);
      }
      let timer: NodeJS.Timeout | undefined;
      let shown = { done: 0, total: list.files.length + list.missing.length };
      const show = () => this.status({ fill: 'blue', shape: 'dot', text: say('status.progress', { sent: shown.done, total: shown.total }) });
      show();
      const outcome = await operations.run((signal) =>
        runSend(settings, list, {
          signal,
          queue: pacs?.queue,
          retries,
          onProgress: (sent, total) => {
            shown = { done: sent, total };
            timer ??= setTimeout(() => {
              timer = undefined;
              if (!closing) show();
            }, STATUS_EVERY_MS);
          },
        }),
      );
      clearTimeout(timer);
      if (closing) return done();
      const { payload, error } = outcome;
      msg.payload = payload;
      const stored = payload.sent + payload.warning;
      if (error) {
        this.status({ fill: 'red', shape: 'ring', text: say('status.someFailed', { sent: stored, total: outcome.total, reason: error.reason }) });
        send(msg);
        return done(error);
      }
      this.status({ fill: 'green', shape: 'dot', text: outcome.total ? say('status.sent', { sent: stored, total: outcome.total }) : say('status.nothingToSend') });
      send(msg);
      done();
    });

    handleClose(this, async () => {
      closing = true;
      if (operations.size) this.warn(say('warn.stopping', { count: operations.size }));
      await operations.stopAll();
    });
  }
  RED.nodes.registerType('px-send', PxSendNode);
};

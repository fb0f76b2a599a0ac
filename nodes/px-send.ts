import type { Node, NodeAPI, NodeDef } from 'node-red';
import { anyToPacsError, collectSendFiles, runSend } from '../lib';
import { answerInputs } from './contract';
import { findPacsConfig, settingsForMessage } from './glue';
import { catalog } from './i18n';
import { AnswerStatus, StatusLight } from './status';

interface PxSendDef extends NodeDef {
  pacs: string;
  retries: string | number;
}

/** Progress is shown at most this often: one status per file costs the editor more than the send. */
const STATUS_EVERY_MS = 250;

export = function register(RED: NodeAPI): void {
  function PxSendNode(this: Node, def: PxSendDef) {
    RED.nodes.createNode(this, def);
    const say = catalog(RED, 'px-send');
    const status = new AnswerStatus(new StatusLight(this, say), say);
    const pacs = findPacsConfig(RED, def.pacs, status.light, say);
    const retries = Math.max(0, Math.floor(Number(def.retries) || 0));

    answerInputs(RED, this, {
      say,
      status,
      failurePayload: (error) => ({ ...error.result, data: [], sent: 0, failed: 0, warning: 0 }),
      stopWarning: (count) => say('warn.stopping', { count }),
    }, async ({ msg, answer, run }) => {
      const settings = settingsForMessage(pacs, msg);
      const list = await collectSendFiles(msg.payload).catch((err: unknown) => {
        throw anyToPacsError(err, 'cannot read files', 'nothing was sent: cannot read the files to send');
      });
      let shown = { sent: 0, total: list.files.length + list.missing.length };
      const show = () => status.progress(say('status.progress', shown));
      show();
      let timer: NodeJS.Timeout | undefined;
      const onProgress = (sent: number, total: number) => {
        shown = { sent, total };
        timer ??= setTimeout(() => {
          timer = undefined;
          show();
        }, STATUS_EVERY_MS);
      };
      const outcome = await run((signal) => runSend(settings, list, { signal, queue: pacs?.queue, retries, onProgress })).finally(() => clearTimeout(timer));
      const { payload, error } = outcome;
      msg.payload = payload;
      answer(msg);
      const stored = payload.sent + payload.warning;
      return { count: stored, failure: error, reason: error && say('status.someFailed', { sent: stored, total: outcome.total, reason: error.reason }) };
    });
  }
  RED.nodes.registerType('px-send', PxSendNode);
};

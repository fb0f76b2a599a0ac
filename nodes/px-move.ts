import type { Node, NodeAPI, NodeDef } from 'node-red';
import { dicomwebMoveProblem, moveDestination, movePayload, refuseTlsFor, runMove, type MovePayload } from '../lib';
import { answerInputs } from './contract';
import { findPacsConfig, settingsForMessage } from './glue';
import { catalog } from './i18n';
import { RetrieveProgress } from './retrieve-progress';
import { answerEachRetrieve } from './retrieves';
import { AnswerStatus, StatusLight } from './status';

interface PxMoveDef extends NodeDef {
  pacs: string;
  destination: string;
}

/** The answer to an input that names nothing to move: success, every count 0. */
const NOTHING_MOVED: MovePayload = { status: 'success', command: '', data: '', completed: 0, failed: 0, warning: 0 };

export = function register(RED: NodeAPI): void {
  function PxMoveNode(this: Node, def: PxMoveDef) {
    RED.nodes.createNode(this, def);
    const say = catalog(RED, 'px-move');
    const status = new AnswerStatus(new StatusLight(this, say), say);
    const pacs = findPacsConfig(RED, def.pacs, status.light, say);
    const progress = new RetrieveProgress(say, (text) => status.progress(text), pacs?.queue);

    answerInputs(RED, this, {
      say,
      status,
      failurePayload: (error) => ({ ...error.result, completed: 0, failed: 0, warning: 0 }),
      stopWarning: (count) => say('warn.stopping', { count }),
      onClose: () => progress.close(),
    }, async (input) => {
      const settings = settingsForMessage(pacs, input.msg);
      const noMove = dicomwebMoveProblem(settings);
      if (noMove) throw noMove;
      refuseTlsFor('movescu', settings);
      const destination = moveDestination(settings, def.destination);
      return answerEachRetrieve(RED, input, say, {
        run: async (request, signal) => {
          const tracker = progress.begin();
          try {
            return await runMove(settings, request, { destination, signal, queue: pacs?.queue, onProgress: tracker.progress });
          } finally {
            tracker.end();
          }
        },
        fill: (answer, outcome) => {
          answer.payload = outcome ? movePayload(outcome) : { ...NOTHING_MOVED };
          answer.move = outcome ? { ...outcome.request, destination: outcome.destination } : null;
        },
      });
    });
  }
  RED.nodes.registerType('px-move', PxMoveNode);
};

import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { dicomwebMoveProblem, isMoveCollection, moveDestination, movePayload, parseMoveRequests, refuseTlsFor, runMove, type MoveOutcome, type MovePayload } from '../lib';
import { findPacsConfig, handleClose, handleInput, RunningOperations, settingsForMessage } from './glue';
import { catalog } from './i18n';
import { MoveStatus } from './move-status';
import { partOf, type Sequence } from './sequence';

interface PxMoveDef extends NodeDef {
  pacs: string;
  destination: string;
}

/** The answer to an input that names nothing to move: success, every count 0. */
function nothingMoved(msg: NodeMessageInFlow, sequence?: Sequence): NodeMessageInFlow {
  msg.payload = { status: 'success', command: '', data: '', completed: 0, failed: 0, warning: 0 } satisfies MovePayload;
  msg.move = null;
  if (sequence) msg.parts = partOf(msg, sequence, 0);
  return msg;
}

export = function register(RED: NodeAPI): void {
  function PxMoveNode(this: Node, def: PxMoveDef) {
    RED.nodes.createNode(this, def);
    const say = catalog(RED, 'px-move');
    const pacs = findPacsConfig(RED, this, def.pacs, say);
    const operations = new RunningOperations();
    const status = new MoveStatus(this, say, pacs?.queue);
    let closing = false;

    /** One output per move; moves from a list carry msg.parts, so a join node always completes. */
    const outputFor = (msg: NodeMessageInFlow, outcome: MoveOutcome, index: number, sequence?: Sequence) => {
      const out = sequence ? (RED.util.cloneMessage({ ...msg, payload: undefined }) as NodeMessageInFlow) : msg;
      out.payload = movePayload(outcome);
      out.move = { ...outcome.request, destination: outcome.destination };
      if (sequence) out.parts = partOf(msg, sequence, index);
      return out;
    };

    handleInput(this, say, async (msg, send, done) => {
      const settings = settingsForMessage(pacs, msg);
      const noMove = dicomwebMoveProblem(settings);
      if (noMove) throw noMove;
      refuseTlsFor('movescu', settings);
      const destination = moveDestination(settings, def.destination);
      const requests = parseMoveRequests(msg.payload);
      const sequence = isMoveCollection(msg.payload) ? { id: RED.util.generateId(), count: Math.max(1, requests.length) } : undefined;
      if (!requests.length) {
        // An empty list or a find with no match: one answer, a sequence of one, so a join or an http response still completes.
        status.finished([]);
        send(nothingMoved(msg, sequence));
        return done();
      }
      const outcomes = await Promise.all(
        requests.map((request, index) =>
          operations.run(async (signal) => {
            const tracker = status.begin();
            const outcome = await runMove(settings, request, { destination, signal, queue: pacs?.queue, onProgress: tracker.progress });
            tracker.end();
            if (closing) return outcome;
            const out = outputFor(msg, outcome, index, sequence);
            if (outcome.error) this.error(outcome.error, out);
            send(out);
            return outcome;
          }),
        ),
      );
      // Each failed move already went to Catch nodes with its own msg; done(err) would report it twice.
      if (!closing) status.finished(outcomes);
      done();
    });

    handleClose(this, async () => {
      closing = true;
      status.close();
      if (operations.size) this.warn(operations.size === 1 ? say('warn.stoppingOne') : say('warn.stopping', { count: operations.size }));
      await operations.stopAll();
    });
  }
  RED.nodes.registerType('px-move', PxMoveNode);
};

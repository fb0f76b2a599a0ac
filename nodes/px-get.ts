import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { failureBeforeRun, getPayload, isMoveCollection, parseMoveRequests, refuseGetOverTls, runGet, seriesTimeoutSeconds, type FilingDirs, type GetOutcome } from '../lib';
import { findPacsConfig, handleClose, handleInput, RunningOperations, settingsForMessage } from './glue';
import { catalog } from './i18n';
import { MoveStatus } from './move-status';
import { partOf, type Sequence } from './sequence';
import { unsetEnvVariableProblem } from './pacs-policy';

interface PxGetDef extends NodeDef {
  pacs: string;
  dataDir: string;
  /** Missing in flows from before it existed: the default then. */
  seriesTimeout?: string | number;
}

export = function register(RED: NodeAPI): void {
  function PxGetNode(this: Node, def: PxGetDef) {
    RED.nodes.createNode(this, def);
    const say = catalog(RED, 'px-get');
    const pacs = findPacsConfig(RED, this, def.pacs, say);
    const operations = new RunningOperations();
    const status = new MoveStatus(this, say, pacs?.queue);
    const filing: Pick<FilingDirs, 'knownDirs' | 'knownInfo'> = { knownDirs: new Set(), knownInfo: new Set() };
    const seriesTimeout = def.seriesTimeout;
    let closing = false;

    /** Output 2: one msg per retrieve, as px-move's, with msg.parts when the input was a list. */
    const outputFor = (msg: NodeMessageInFlow, outcome: GetOutcome, index: number, sequence?: Sequence) => {
      const out = sequence ? (RED.util.cloneMessage({ ...msg, payload: undefined }) as NodeMessageInFlow) : msg;
      out.payload = getPayload(outcome);
      out.get = { ...outcome.request, failures: outcome.failures };
      out.series = outcome.series;
      if (sequence) out.parts = partOf(msg, sequence, index);
      return out;
    };

    handleInput(this, say, async (msg, send, done) => {
      const settings = settingsForMessage(pacs, msg);
      refuseGetOverTls(settings);
      const dataDir = def.dataDir?.trim();
      if (!dataDir) throw failureBeforeRun('bad-input', 'no data folder', 'px-get needs a data folder: set it in the node');
      const unset = unsetEnvVariableProblem('dataDir', dataDir);
      if (unset) throw failureBeforeRun('bad-input', 'data folder unset', `px-get: ${unset}`);
      seriesTimeoutSeconds(seriesTimeout);
      const requests = parseMoveRequests(msg.payload);
      const sequence = isMoveCollection(msg.payload) ? { id: RED.util.generateId(), count: Math.max(1, requests.length) } : undefined;
      if (!requests.length) {
        // An empty list or a find with no match: one answer, a sequence of one, so that a join still completes.
        status.show({ fill: 'grey', shape: 'ring', text: say('status.nothingToGet') });
        msg.payload = { status: 'success', command: '', data: '', completed: 0, failed: 0, warning: 0 };
        msg.series = [];
        if (sequence) msg.parts = partOf(msg, sequence, 0);
        send([null, msg]);
        return done();
      }
      const outcomes = await Promise.all(
        requests.map((request, index) =>
          operations.run(async (signal) => {
            const tracker = status.begin();
            const outcome = await runGet(settings, request, {
              dataDir,
              seriesTimeout,
              filing,
              signal,
              queue: pacs?.queue,
              onProgress: tracker.progress,
              onInstance: (data) => {
                if (!closing) send([{ payload: { status: 'success', data } } as NodeMessageInFlow, null]);
              },
            });
            tracker.end();
            if (closing) return outcome;
            const out = outputFor(msg, outcome, index, sequence);
            if (outcome.error) this.error(outcome.error, out);
            send([null, out]);
            return outcome;
          }),
        ),
      );
      if (!closing) status.finished(outcomes.map((o) => ({ ...o, destination: '' })));
      done();
    });

    handleClose(this, async () => {
      closing = true;
      status.close();
      if (operations.size) this.warn(say('warn.stopping', { count: operations.size }));
      await operations.stopAll();
    });
  }
  RED.nodes.registerType('px-get', PxGetNode);
};

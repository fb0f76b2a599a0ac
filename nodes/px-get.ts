import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { failureBeforeRun, getPayload, refuseGetOverTls, runGet, seriesTimeoutSeconds, sweepLeftoverRetrieves, type FilingDirs } from '../lib';
import { answerInputs } from './contract';
import { dataDirOrDefault, findPacsConfig, settingsForMessage } from './glue';
import { catalog } from './i18n';
import { unsetEnvVariableProblem } from './pacs-policy';
import { RetrieveProgress } from './retrieve-progress';
import { answerEachRetrieve } from './retrieves';
import { AnswerStatus, StatusLight } from './status';

interface PxGetDef extends NodeDef {
  pacs: string;
  /** Empty: pypx-data in Node-RED's user folder. */
  dataDir: string;
  /** Missing in flows from before it existed: the default then. */
  seriesTimeout?: string | number;
}

/** Output 1 carries each instance filed, output 2 the answer to each retrieve. */
const INSTANCES = 0;
const RESULTS = 1;

export = function register(RED: NodeAPI): void {
  function PxGetNode(this: Node, def: PxGetDef) {
    RED.nodes.createNode(this, def);
    const say = catalog(RED, 'px-get');
    const status = new AnswerStatus(new StatusLight(this, say), say);
    const pacs = findPacsConfig(RED, def.pacs, status.light, say);
    const progress = new RetrieveProgress(say, (text) => status.progress(text), pacs?.queue);
    const filing: Pick<FilingDirs, 'knownDirs' | 'knownInfo'> = { knownDirs: new Set(), knownInfo: new Set() };
    const dataDir = dataDirOrDefault(RED, def.dataDir);
    const seriesTimeout = def.seriesTimeout;
    // What a crashed Node-RED's retrieves left in <dataDir>/incoming (patient data) goes at start, not at the first retrieve.
    if (!unsetEnvVariableProblem('dataDir', dataDir)) void sweepLeftoverRetrieves(dataDir);

    answerInputs(RED, this, {
      say,
      status,
      outputs: 2,
      resultsPort: RESULTS,
      failurePayload: (error) => ({ ...error.result, completed: 0, failed: 0, warning: 0 }),
      stopWarning: (count) => say('warn.stopping', { count }),
      onClose: () => progress.close(),
    }, async (input) => {
      const settings = settingsForMessage(pacs, input.msg);
      refuseGetOverTls(settings);
      const unset = unsetEnvVariableProblem('dataDir', dataDir);
      if (unset) throw failureBeforeRun('bad-input', 'data folder unset', `px-get: ${unset}`);
      seriesTimeoutSeconds(seriesTimeout);
      // Each instance as it is filed: a copy of the input, so its topic, req/res and the rest travel too.
      const onInstance = (data: unknown) => input.emit(INSTANCES, Object.assign(input.copy(), { payload: { status: 'success', data } }) as NodeMessageInFlow);
      return answerEachRetrieve(RED, input, say, {
        run: async (request, signal) => {
          const tracker = progress.begin();
          try {
            return await runGet(settings, request, { dataDir, seriesTimeout, filing, signal, queue: pacs?.queue, onProgress: tracker.progress, onInstance });
          } finally {
            tracker.end();
          }
        },
        fill: (answer, outcome) => {
          answer.payload = outcome ? getPayload(outcome) : { status: 'success', command: '', data: '', completed: 0, failed: 0, warning: 0 };
          answer.get = outcome ? { ...outcome.request, failures: outcome.failures } : null;
          answer.series = outcome ? outcome.series : [];
        },
      });
    });
  }
  RED.nodes.registerType('px-get', PxGetNode);
};

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { failureBeforeRun, Listener, PacsError, toPacsError } from '../lib';
import { dataDirOrDefault, handleClose, inUserFolder } from './glue';
import { catalog } from './i18n';
import { unsetEnvVariableProblem } from './pacs-policy';
import { StatusLight } from './status';

const STATUS_EVERY_MS = 250;

interface PxListenDef extends NodeDef {
  aet: string;
  port: string | number;
  /** Empty: pypx-data in Node-RED's user folder. */
  dataDir: string;
  tmpDir: string;
  logDir: string;
  seriesTimeout: string | number;
  dcmtkDir?: string;
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  /** Redis URL: several px-listen filing to one shared dataDir announce each series once; empty: this one alone. */
  redis?: string;
}

export = function register(RED: NodeAPI): void {
  function PxListenNode(this: Node & { credentials?: { redisPassword?: string } }, def: PxListenDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const say = catalog(RED, 'px-listen');
    const light = new StatusLight(node, say);
    // While a folder cannot be written, the status says so whatever else happens (instances filed, restarts).
    let cannotWrite: string | undefined;
    const showReceived = () => (cannotWrite ? light.failed(cannotWrite) : light.succeeded(say('status.total', { count: listener?.received ?? 0 })));
    // No input to answer: a failure of the receiver goes to Catch nodes with pypx's error result.
    const report = (error: PacsError) => {
      light.failed(error.reason);
      node.error(error, { payload: error.result } as NodeMessage);
    };

    light.clear();
    const dataDir = dataDirOrDefault(RED, def.dataDir);
    let listener: Listener | undefined;
    try {
      const unset = (['aet', 'port', 'dataDir', 'tmpDir', 'logDir', 'dcmtkDir', 'tlsCert', 'tlsKey', 'tlsCa', 'redis'] as const).map((field) => unsetEnvVariableProblem(field, field === 'dataDir' ? dataDir : def[field])).filter(Boolean);
      if (unset.length) throw failureBeforeRun('bad-input', 'bad settings', `invalid listener settings: ${unset.join('; ')}`);
      // Node-RED delivers what a node sends on a later turn of the event loop: the listener counts an
      // instance as announced (its journal confirmed) only then; a close() that comes first takes it back.
      listener = new Listener({ aet: def.aet, port: Number(def.port), dataDir, tmpDir: inUserFolder(RED, def.tmpDir), logDir: inUserFolder(RED, def.logDir), seriesTimeout: def.seriesTimeout === '' ? undefined : Number(def.seriesTimeout), dcmtkDir: def.dcmtkDir, confirmByCaller: true,
        tls: def.tls === true, tlsCert: def.tlsCert, tlsKey: def.tlsKey, tlsCa: def.tlsCa,
        ...(def.redis?.trim() ? { redis: { url: def.redis, password: node.credentials?.redisPassword } } : {}) });
    } catch (err) {
      report(toPacsError(err));
    }
    if (!listener) return handleClose(node, async () => light.clear());
    const started = listener;
    // The count is shown at most every STATUS_EVERY_MS: one status per instance costs the editor more than the filing.
    let statusTimer: NodeJS.Timeout | undefined;
    started.on('instance', (data) => {
      node.send([{ payload: { status: 'success', data } } as NodeMessage, null]);
      // Node-RED delivers a message on a later turn (setImmediate, in order): this one's turn comes
      // after its delivery, and only then does the listener count it as announced.
      const upTo = started.lastAnnounced;
      setImmediate(() => started.confirmAnnounced(upTo));
      statusTimer ??= setTimeout(() => {
        statusTimer = undefined;
        showReceived();
      }, STATUS_EVERY_MS);
    });
    started.on('series', (data) => node.send([null, { payload: { status: 'success', data } } as NodeMessage]));
    started.on('error', report);
    // One error per episode came on 'error' (to Catch nodes) just before this.
    started.on('storage-failing', ({ words, folder }) => {
      cannotWrite = say('status.cannotWrite', { words, folder });
      light.failed(cannotWrite);
    });
    started.on('storage-recovered', ({ words, folder, lastedMs }) => {
      cannotWrite = undefined;
      node.log(say('log.canWriteAgain', { words, folder, seconds: Math.round(lastedMs / 1000) }));
      showReceived();
    });
    started.on('restarting', ({ delayMs, error }) => light.failed(error.kind === 'port-in-use' ? error.reason : say('status.restarting', { seconds: delayMs / 1000 })));
    started.on('listening', showReceived);
    light.working();
    // What an earlier run left (instances to announce again) is announced once every node of the
    // flow exists to receive it: the listener starts when Node-RED says the flows have started.
    let starting: Promise<void> = Promise.resolve();
    const start = () => {
      starting = started.start().catch((err: unknown) => {
        try {
          report(toPacsError(err));
        } catch (bug) {
          light.failed(say('status.internalError'));
          node.error(bug instanceof Error ? bug : String(bug));
        }
      });
    };
    RED.events.once('flows:started', start);
    handleClose(node, async () => {
      RED.events.removeListener('flows:started', start);
      clearTimeout(statusTimer);
      await starting;
      await started.close();
      light.clear();
    });
  }
  RED.nodes.registerType('px-listen', PxListenNode as unknown as (this: Node, def: NodeDef) => void, { credentials: { redisPassword: { type: 'password' } } });
};

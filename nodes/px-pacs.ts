import type { Node, NodeAPI, NodeDef } from 'node-red';
import { AssociationQueue, type BudgetChange, concurrencyProblem, type PacsSettings, redisUrlProblem, SettingsError, SharedBudgetQueue, toConcurrency } from '../lib';
import { handleClose, type PacsConfigNode } from './glue';
import { mergePacsOverrides, unsetEnvVariableProblem } from './pacs-policy';

interface PxPacsDef extends NodeDef {
  aet: string;
  aec: string;
  host: string;
  port: string | number;
  aetl: string;
  timeout: string | number;
  dcmtkDir?: string;
  concurrency?: string | number;
  /** Whether msg.pacs may choose where to connect; absent in flows older than it: off. */
  allowMsgPacs?: boolean;
  /** DICOM over TLS (DIMSE); tlsCa is also the private CA for a DICOMweb https URL. */
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** 'dimse' (absent in configs from before DICOMweb) or 'dicomweb'. */
  protocol?: string;
  url?: string;
  /** Redis URL: the budget is shared with every process using this PACS through it; empty: this process alone. */
  redis?: string;
  /** With redis: when Redis cannot be reached, use this process's budget (true) or fail (absent, false). */
  redisFallback?: boolean;
}

interface PxPacsCredentials {
  user?: string;
  password?: string;
  token?: string;
  tlsKeyPassword?: string;
  redisPassword?: string;
}

/** The DICOMweb fields, only when the config says DICOMweb: a DIMSE config ignores them. */
function webSettings(def: PxPacsDef, credentials: PxPacsCredentials = {}): Record<string, unknown> {
  if (def.protocol !== 'dicomweb') return {};
  return { protocol: def.protocol, url: def.url, user: credentials.user, password: credentials.password, token: credentials.token, tlsCa: def.tlsCa };
}

export = function register(RED: NodeAPI): void {
  function PxPacsNode(this: PacsConfigNode & { credentials?: PxPacsCredentials }, def: PxPacsDef) {
    RED.nodes.createNode(this, def);
    const base = {
      aet: def.aet, aec: def.aec, host: def.host, port: def.port, aetl: def.aetl, timeout: def.timeout, dcmtkDir: def.dcmtkDir,
      tls: def.tls === true, tlsCa: def.tlsCa, tlsCert: def.tlsCert, tlsKey: def.tlsKey, tlsKeyPassword: this.credentials?.tlsKeyPassword,
      ...webSettings(def, this.credentials),
    };
    const allowMsgPacs = def.allowMsgPacs === true;
    const redis = def.redis?.trim() ?? '';
    const configProblems = [concurrencyProblem(def.concurrency), redis ? unsetEnvVariableProblem('redis', redis) ?? redisUrlProblem(redis) : undefined]
      .filter((problem): problem is string => problem !== undefined);
    let settings: PacsSettings | undefined;
    try {
      settings = mergePacsOverrides(base, undefined);
      if (configProblems.length) throw new SettingsError(configProblems);
    } catch (err) {
      // Nodes using this config report the same problem on each message; say it once here too.
      this.error(err instanceof Error ? err.message : String(err));
    }
    this.resolveSettings = (overrides?: unknown) => {
      if (configProblems.length) throw new SettingsError(configProblems);
      return mergePacsOverrides(base, overrides, allowMsgPacs);
    };
    // Shared by every node using this PACS; closing the config (stop, redeploy) ends all it runs.
    const concurrency = toConcurrency(def.concurrency);
    if (redis && settings && !configProblems.length) {
      const shared = new SharedBudgetQueue(concurrency, settings, { redis: { url: redis, password: this.credentials?.redisPassword }, fallback: def.redisFallback === true });
      shared.on('budget', (change: BudgetChange) => (change.shared ? this.log(change.message) : this.warn(change.message)));
      this.queue = shared;
    } else {
      this.queue = new AssociationQueue(concurrency);
    }
    handleClose(this, () => this.queue.close());
  }
  RED.nodes.registerType('px-pacs', PxPacsNode as unknown as (this: Node, def: NodeDef) => void, {
    credentials: { user: { type: 'text' }, password: { type: 'password' }, token: { type: 'password' }, tlsKeyPassword: { type: 'password' }, redisPassword: { type: 'password' } },
  });
};

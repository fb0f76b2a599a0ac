import type { Node, NodeAPI, NodeDef } from 'node-red';
import { AssociationQueue, concurrencyProblem, toConcurrency } from '../lib/queue';
import { mergePacsOverrides, SettingsError, validatePacsSettings } from '../lib/settings';
import { handleClose, type PacsConfigNode } from './glue';

interface PxPacsDef extends NodeDef {
  aet: string;
  aec: string;
  host: string;
  port: string | number;
  aetl: string;
  timeout: string | number;
  dcmtkDir?: string;
  concurrency?: string | number;
}

export = function register(RED: NodeAPI): void {
  function PxPacsNode(this: PacsConfigNode, def: PxPacsDef) {
    RED.nodes.createNode(this, def);
    const base = { aet: def.aet, aec: def.aec, host: def.host, port: def.port, aetl: def.aetl, timeout: def.timeout, dcmtkDir: def.dcmtkDir };
    const badConcurrency = concurrencyProblem(def.concurrency);
    try {
      validatePacsSettings(base);
      if (badConcurrency) throw new SettingsError([badConcurrency]);
    } catch (err) {
      // Nodes using this config report the same problem on each message; say it once here too.
      this.error(err instanceof Error ? err.message : String(err));
    }
    this.resolveSettings = (overrides?: unknown) => {
      if (badConcurrency) throw new SettingsError([badConcurrency]);
      return mergePacsOverrides(base, overrides);
    };
    // Shared by every node using this PACS; closing the config (stop, redeploy) ends all it runs.
    this.queue = new AssociationQueue(toConcurrency(def.concurrency));
    handleClose(this, () => this.queue.close());
  }
  RED.nodes.registerType('px-pacs', PxPacsNode as unknown as (this: Node, def: NodeDef) => void);
};

import type { Node, NodeAPI, NodeDef } from 'node-red';
import { mergePacsOverrides, validatePacsSettings } from '../lib/settings';
import type { PacsConfigNode } from './glue';

interface PxPacsDef extends NodeDef {
  aet: string;
  aec: string;
  host: string;
  port: string | number;
  aetl: string;
  timeout: string | number;
  dcmtkDir?: string;
}

export = function register(RED: NodeAPI): void {
  function PxPacsNode(this: PacsConfigNode, def: PxPacsDef) {
    RED.nodes.createNode(this, def);
    const base = { aet: def.aet, aec: def.aec, host: def.host, port: def.port, aetl: def.aetl, timeout: def.timeout, dcmtkDir: def.dcmtkDir };
    try {
      validatePacsSettings(base);
    } catch (err) {
      // Nodes using this config report the same problem on each message; say it once here too.
      this.error(err instanceof Error ? err.message : String(err));
    }
    this.resolveSettings = (overrides?: unknown) => mergePacsOverrides(base, overrides);
  }
  RED.nodes.registerType('px-pacs', PxPacsNode as unknown as (this: Node, def: NodeDef) => void);
};

// Texts the runtime shows (node status), read from the node file's message catalog
// locales/<language>/<node file>.json, so that they can be translated like Node-RED's own.
import type { NodeAPI } from 'node-red';

/** `say('status.echoing')` in px-echo reads "px-echo.status.echoing"; `__name__` in a text is filled from vars. */
export type Say = (key: string, vars?: Record<string, string | number>) => string;

export function catalog(RED: NodeAPI, type: string): Say {
  const translate = RED._ as (key: string, vars?: Record<string, string | number>) => string;
  return (key, vars) => translate(`${type}.${key}`, vars);
}

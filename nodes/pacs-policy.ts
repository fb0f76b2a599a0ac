import { canonicalSettingKeys, describeType, KEY_ALIASES, PACS_SETTING_KEYS, SettingsError, validatePacsSettings, type PacsSettings } from '../lib';
// Node-RED's policy for PACS settings: what msg.pacs may change, and fields left as `${NAME}` by an
// environment variable that is not set. The commands and the module take settings as given.

/**
 * What a message may set (msg.pacs): where to connect over DIMSE and as whom, never what runs, which
 * certificates are trusted, nor a DICOMweb service and its credentials.
 */
export const MESSAGE_SETTING_KEYS: ReadonlySet<string> = new Set(['aet', 'aec', 'host', 'port', 'aetl', 'timeout', ...Object.keys(KEY_ALIASES)]);

/**
 * A field that still reads `${NAME}` after deploy: Node-RED replaces a whole-field `${NAME}` by the
 * environment variable's value and leaves it as written when the variable is not set.
 */
export function unsetEnvVariableProblem(field: string, value: unknown): string | undefined {
  const name = typeof value === 'string' ? /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(value.trim())?.[1] : undefined;
  return name ? `${field} is \${${name}}, but the environment variable ${name} is not set where Node-RED runs` : undefined;
}

/**
 * Lays per-message overrides (msg.pacs) over a base, when the config allows it (its "accept
 * msg.pacs" box, allowMsgPacs). Anything but a plain object, a key that is not a PACS setting, or
 * one a message may not set (the program to run, TLS) is refused: a typo such as `ip` must not
 * silently reach the default PACS, and a message carries data, never a program.
 */
export function mergePacsOverrides(base: Record<string, unknown>, overrides: unknown, allowMsgPacs = false): PacsSettings {
  const unset = Object.entries(base).map(([key, value]) => unsetEnvVariableProblem(key, value)).filter((p): p is string => !!p);
  if (unset.length) throw new SettingsError(unset);
  if (overrides === undefined || overrides === null) return validatePacsSettings(base);
  if (!allowMsgPacs) {
    throw new SettingsError(['msg.pacs is not accepted by this PACS config: tick "accept msg.pacs" (allowMsgPacs) in the px-pacs config to let messages choose where to connect (aet, aec, host, port, aetl, timeout), or remove msg.pacs from the message']);
  }
  if (typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new SettingsError([`msg.pacs must be an object of PACS settings, not ${describeType(overrides)}`]);
  }
  const keys = Object.keys(overrides);
  const forbidden = keys.filter((key) => PACS_SETTING_KEYS.has(key) && !MESSAGE_SETTING_KEYS.has(key));
  if (forbidden.length) {
    throw new SettingsError([
      `msg.pacs cannot set ${forbidden.join(', ')}: a message chooses where to connect (aet, aec, host, port, aetl, timeout), never the program that runs, the TLS settings or a DICOMweb service and its credentials; set those in the px-pacs config`,
    ]);
  }
  const unknown = keys.filter((key) => !MESSAGE_SETTING_KEYS.has(key));
  if (unknown.length) {
    throw new SettingsError([
      `msg.pacs has unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: aet, aec, host, port, aetl, timeout)`,
    ]);
  }
  return validatePacsSettings({ ...canonicalSettingKeys(base), ...canonicalSettingKeys(overrides as Record<string, unknown>) });
}

import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { deidentify, failureBeforeRun, type DeidentifyFailure, type DeidentifyResult } from '../lib';
import { answerInputs } from './contract';
import { type PreparedInput, prepareInput } from './deidentify-input';
import { inUserFolder } from './glue';
import { catalog, type Say } from './i18n';
import { unsetEnvVariableProblem } from './pacs-policy';
import { AnswerStatus, StatusLight } from './status';

/** The profile's options, each a checkbox; off when absent. */
const OPTIONS = ['retainLongitudinalModifiedDates', 'retainPatientCharacteristics', 'retainDeviceIdentity', 'retainInstitutionIdentity', 'cleanDescriptors', 'allowBurnedIn'] as const;

type PxDeidentifyDef = NodeDef & { outDir: string } & Partial<Record<(typeof OPTIONS)[number], boolean>>;

/** Output 1 carries each instance written, output 2 the answer to each input. */
const INSTANCES = 0;
const RESULTS = 1;
const STATUS_EVERY_MS = 250;
const REASONS_IN_SUMMARY = 3;

/** Why the key cannot be used, or undefined when it can. */
function keyProblem(key: string | undefined, say: Say): string | undefined {
  if (!key?.trim()) return say('errors.noKey');
  const unset = unsetEnvVariableProblem('the key', key);
  return unset && say('errors.keyUnset', { problem: unset });
}

/** A failure as messages carry it: without the file, whose path may name the patient, even where the reason quotes it. */
function withoutPath({ input, outcome, reason }: DeidentifyFailure): { outcome: string; reason: string } {
  return { outcome, reason: input ? reason.split(input).join('the file') : reason };
}

/** The one error Catch nodes get for an input some of whose files were not written: counts and reasons, never a path. */
function summaryOf(result: DeidentifyResult, say: Say): Error | undefined {
  if (result.status === 'success') return undefined;
  const { failures } = result.data;
  const reasons = [...new Set(failures.map(withoutPath).map((f) => `${f.outcome}: ${f.reason}`))];
  const shown = reasons.slice(0, REASONS_IN_SUMMARY).join('; ') + (reasons.length > REASONS_IN_SUMMARY ? `; ${say('errors.andMore', { count: reasons.length - REASONS_IN_SUMMARY })}` : '');
  const total = result.deidentified + failures.length;
  return failureBeforeRun('failed', say('status.someFailed', { failed: failures.length, total }), say('errors.someFailed', { failed: failures.length, total, refused: result.refused, reasons: shown }));
}

export = function register(RED: NodeAPI): void {
  function PxDeidentifyNode(this: Node<{ key?: string }>, def: PxDeidentifyDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const say = catalog(RED, 'px-deidentify');
    const status = new AnswerStatus(new StatusLight(node, say), say);
    const outDir = inUserFolder(RED, def.outDir?.trim() || 'pypx-deidentified') as string;
    const options = Object.fromEntries(OPTIONS.map((option) => [option, def[option] === true]));
    const key = node.credentials?.key;
    const noKey = keyProblem(key, say);
    status.light.clear();
    if (noKey) status.light.failed(say('status.noKey'));
    const prepared = new WeakMap<NodeMessageInFlow, PreparedInput>();

    answerInputs(RED, node, {
      say,
      status,
      outputs: 2,
      resultsPort: RESULTS,
      failurePayload: (error) => ({ ...error.result, deidentified: 0, failed: 0, refused: 0 }),
      stopWarning: (count) => say('warn.stopping', { count }),
      prepareInput: (msg) => prepared.set(msg, prepareInput(msg, say('errors.notQuoted'))),
    }, async (input) => {
      const { msg } = input;
      if (noKey) throw failureBeforeRun('bad-input', say('status.noKey'), noKey);
      const asked = prepared.get(msg);
      if (!asked || 'problem' in asked) throw asked?.problem ?? new Error('an input was not prepared');
      const { paths } = asked;
      const unset = unsetEnvVariableProblem('outDir', outDir);
      if (unset) throw failureBeforeRun('bad-input', say('status.badOutDir'), say('errors.badOutDir', { problem: unset }));
      let written = 0;
      let timer: NodeJS.Timeout | undefined;
      const result = await input.run((signal) => deidentify(paths, {
        key: key as string, outDir, ...options, signal,
        onInstance: (data) => {
          written++;
          input.emit(INSTANCES, Object.assign(input.copy(), { payload: { status: 'success', data } }) as NodeMessageInFlow);
          timer ??= setTimeout(() => {
            timer = undefined;
            status.progress(say('status.progress', { count: written }));
          }, STATUS_EVERY_MS);
        },
        // The file as given may name the patient: it goes to the runtime's log only, never into a message.
        onFailure: (failure) => {
          node.log(say('log.notWritten', { outcome: failure.outcome, file: failure.input, reason: failure.reason }));
        },
      })).finally(() => clearTimeout(timer));
      const { instances, failures } = result.data;
      msg.payload = { ...result, data: { instances, failures: failures.map(withoutPath) } };
      input.answer(msg);
      return { count: result.deidentified, failure: summaryOf(result, say) };
    });
  }
  RED.nodes.registerType<Node<{ key?: string }>, PxDeidentifyDef, unknown, { key?: string }>('px-deidentify', PxDeidentifyNode, { credentials: { key: { type: 'password' } } });
};

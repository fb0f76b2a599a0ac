// C-ECHO's DICOMweb counterpart: an authenticated QIDO-RS query for one study.
import { failureBeforeRun } from '../../core/errors';
import type { DicomwebPacs } from '../../core/settings';
import { dicomwebRequest } from '../../dicomweb/http';

/** px-echo over DICOMweb: an authenticated QIDO-RS query that asks for one study. */
export async function qidoEcho(settings: DicomwebPacs, signal?: AbortSignal): Promise<{ command: string; elapsedMs: number }> {
  const started = Date.now();
  const answer = await dicomwebRequest(settings, { path: '/studies?limit=1&includefield=StudyInstanceUID', headers: { accept: 'application/dicom+json' }, what: 'a QIDO-RS query (echo)', signal });
  const text = answer.status === 204 ? '[]' : await answer.text();
  try {
    if (!Array.isArray(JSON.parse(text || '[]'))) throw new Error('not a list');
  } catch {
    throw failureBeforeRun('malformed', 'not DICOMweb', `DICOMweb: ${settings.dicomweb.url} answered a QIDO-RS query with something else than DICOM JSON: is this the DICOMweb service root?`, answer.command);
  }
  return { command: answer.command, elapsedMs: Date.now() - started };
}

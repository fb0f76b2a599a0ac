// Filing one received instance into pypx's layout, or into quarantine when it cannot be filed.
import { chmodSync, existsSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { InstanceHeader } from './header';
import { buildFiledPath, FILE_MODE, type FiledPath, makeFolder, makeSubfolder, writeInfoFiles } from './layout';

export interface InstancePayload extends Omit<InstanceHeader, 'SeriesDate' | 'callingAET'> {
  path: string;
  callingAET: string;
  calledAET: string;
  duplicate: boolean;
}

/** Folders known to exist are remembered up to this many, then forgotten (memory stays flat over months). */
const KNOWN_FOLDERS_KEPT = 10000;

export interface FilingDirs {
  dataDir: string;
  /** AE title the sender called, when known; else the listener's own. */
  calledAET: string;
  /** .info files already written, shared across calls. */
  knownInfo: Set<string>;
  /** Folders already created, shared across calls (forgotten past KNOWN_FOLDERS_KEPT). */
  knownDirs: Set<string>;
}

export interface Filed {
  payload: InstancePayload;
  header: InstanceHeader;
  where: FiledPath;
}

/**
 * The file names filed into each series folder this process made itself (mkdir succeeded): a name not
 * among them is not there, so no existence check is needed before the rename (one among them is checked). Folders that existed
 * before are checked. Forgotten past FRESH_NAMES_KEPT names (they are then checked again).
 */
const namesInFreshFolders = new Map<string, Set<string>>();
let freshNames = 0;
const FRESH_NAMES_KEPT = 100000;

function forgetFreshFolder(dir: string): void {
  freshNames -= namesInFreshFolders.get(dir)?.size ?? 0;
  namesInFreshFolders.delete(dir);
}

/**
 * Whether a file of this name is already in the series folder, and notes that it is now. A name filed
 * before is looked for again: a flow may have deleted the file since, and the instance then is no duplicate.
 */
function alreadyFiled(where: FiledPath): boolean {
  const names = namesInFreshFolders.get(where.seriesDir);
  if (!names) return existsSync(where.file);
  if (names.has(where.file)) return existsSync(where.file);
  if (freshNames >= FRESH_NAMES_KEPT) {
    namesInFreshFolders.clear();
    freshNames = 0;
  } else {
    names.add(where.file);
    freshNames++;
  }
  return false;
}

/**
 * Moves a received file into pypx's layout and describes it. The same SOP Instance filed again
 * replaces the earlier copy (rename is atomic) and is flagged duplicate. Synchronous from the first
 * check to the rename, so that two copies of one instance can never both look new. `where`: its
 * buildFiledPath, when the caller has it already.
 */
export function fileReceivedInstance(file: string, header: InstanceHeader, dirs: FilingDirs, options: { modeSet?: boolean; where?: FiledPath } = {}): Filed {
  if (dirs.knownDirs.size > KNOWN_FOLDERS_KEPT) {
    dirs.knownDirs.clear();
    dirs.knownInfo.clear();
  }
  const where = options.where ?? buildFiledPath(dirs.dataDir, header);
  // A series folder made and described once is not looked at again (mkdir and .info only for new folders).
  const prepare = () => {
    if (dirs.knownDirs.has(where.seriesDir)) return;
    makeSubfolder(where.patientDir);
    makeSubfolder(where.studyDir);
    forgetFreshFolder(where.seriesDir);
    if (makeSubfolder(where.seriesDir)) {
      namesInFreshFolders.set(where.seriesDir, new Set());
    }
    writeInfoFiles(where, header, dirs.knownInfo);
    dirs.knownDirs.add(where.seriesDir);
  };
  prepare();
  // modeSet: the writer created it FILE_MODE already (px-listen runs storescp with umask 027).
  if (!options.modeSet) chmodSync(file, FILE_MODE);
  let duplicate = alreadyFiled(where);
  try {
    renameSync(file, where.file);
  } catch (err) {
    // The series folder was moved or deleted since it was made (downstream processing): make it again.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync(file)) throw err;
    for (const known of [where.patientDir, where.studyDir, where.seriesDir]) dirs.knownDirs.delete(known);
    for (const info of ['patient.info', 'study.info', 'series.info']) {
      for (const dir of [where.patientDir, where.studyDir, where.seriesDir]) dirs.knownInfo.delete(path.join(dir, info));
    }
    prepare();
    duplicate = alreadyFiled(where);
    renameSync(file, where.file);
  }
  return { where, header, payload: instancePayload(header, where.file, dirs.calledAET, duplicate) };
}

/** What px-listen announces for a filed instance. */
export function instancePayload(header: InstanceHeader, filed: string, calledAET: string, duplicate: boolean): InstancePayload {
  // Spelled out, in this order: built for every instance received.
  return {
    path: filed, callingAET: header.callingAET, calledAET, PatientID: header.PatientID, PatientName: header.PatientName,
    StudyInstanceUID: header.StudyInstanceUID, SeriesInstanceUID: header.SeriesInstanceUID, SOPInstanceUID: header.SOPInstanceUID,
    SOPClassUID: header.SOPClassUID, Modality: header.Modality, StudyDate: header.StudyDate, StudyDescription: header.StudyDescription,
    SeriesDescription: header.SeriesDescription, SeriesNumber: header.SeriesNumber, InstanceNumber: header.InstanceNumber, duplicate,
  };
}

/** Moves a file that cannot be filed to <dataDir>/quarantine, keeping its name. */
export function quarantine(file: string, dataDir: string): string {
  const folder = path.join(path.resolve(dataDir), 'quarantine');
  makeFolder(folder);
  const target = path.join(folder, path.basename(file));
  chmodSync(file, FILE_MODE);
  renameSync(file, target);
  return target;
}

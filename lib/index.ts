// The pypx core's one entry point, for the Node-RED nodes, the commands and pypx's module users. Each
// operation chooses DIMSE (DCMTK) or DICOMweb from the PACS settings; nothing here knows Node-RED.

// Settings, results and failures every operation shares.
export { validatePacsSettings, canonicalSettingKeys, splitSettingsAndQuery, KEY_ALIASES, PACS_SETTING_KEYS, SettingsError } from './core/settings';
export type { PacsSettings } from './core/settings';
export type { DicomwebSettings } from './core/dicomweb-settings';
export { checkTlsSettings } from './core/tls';
export type { TlsSettings, TlsRole } from './core/tls';
export { describeType, isPlainObject } from './core/describe';
export { PacsError, KnownProblem, failureBeforeRun, toPacsError, anyToPacsError } from './core/errors';
export type { FailureKind } from './core/errors';
export type { PypxResult, PypxRecord, PypxField } from './core/result';
export { AssociationQueue, concurrencyProblem, toConcurrency } from './core/queue';
export { type BudgetChange, budgetKey, LOCAL_BUDGET_NOTICE, SharedBudgetQueue } from './core/shared-budget';
export { type RedisSettings, redisUrlProblem, shownRedisUrl } from './core/redis';

// DICOM's dictionary.
export { lookupKeyword } from './dicom/dictionary';

// DCMTK, for those who call its tools themselves.
export { locateDcmtkTool, DcmtkNotFoundError } from './dcmtk/run';
export { describeDcmtkFailure } from './dcmtk/failures';
export { buildTlsArgs, refuseTlsFor, TlsUnsupportedError } from './dcmtk/tls';

// Filing received and retrieved instances the way pypx did.
export type { FilingDirs, InstancePayload } from './filing/file-instance';
export type { SeriesComplete } from './filing/series';

// C-ECHO
export { echo, runEcho } from './ops/echo';
export { buildEchoArgs } from './ops/echo/dimse';
export type { EchoOutcome, OperationOptions } from './ops/echo/types';

// C-FIND / QIDO-RS
export { find, runFind } from './ops/find';
export { buildFindArgs } from './ops/find/dimse';
export type { FindOptions, FindOutcome } from './ops/find/types';
export { buildFindQuery, QueryError, DEFAULT_RETURN_KEYS, QUERY_LEVELS } from './ops/find/query';
export type { QueryLevel, FindRequest } from './ops/find/query';
export { sweepOnce as sweepStaleFindAnswers } from './ops/find/answer-folder';
export { sweepLeftoverRetrieves } from './ops/get/leftovers';

// C-MOVE
export { move, runMove, movePayload, dicomwebMoveProblem } from './ops/move';
export { moveDestination, buildMoveArgs } from './ops/move/dimse';
export { parseMoveRequests, isMoveCollection } from './ops/move/request';
export type { MoveRequest, MoveLevel } from './ops/move/request';
export type { MoveProgress } from './ops/move/responses';
export type { MoveOutcome, MovePayload, MoveOptions } from './ops/move/types';

// C-GET / WADO-RS
export { get, runGet, getPayload } from './ops/get';
export { refuseGetOverTls } from './ops/get/dimse';
export { buildGetArgs } from './ops/get/getscu';
export { seriesTimeoutSeconds } from './ops/get/stall';
export type { GetOptions, GetOutcome, GetFailure } from './ops/get/types';
export { wadoRetrieve, wadoPath } from './ops/get/wado';
export type { WadoTarget, RetrieveOptions, RetrieveOutcome } from './ops/get/wado';

// C-STORE as a sender / STOW-RS
export { send, runSend } from './ops/send';
export { collectSendFiles } from './ops/send/files';
export { buildSendArgs } from './ops/send/dcmsend';
export type { SendPayload, SendFailure, SendOptions, SendOutcome, SendList } from './ops/send/types';
export { stowFiles, batchFiles, readStowAnswer } from './ops/send/stow';
export type { StowOptions, StowOutcome, StowFileResult } from './ops/send/stow';

// C-STORE as a receiver
export { listen } from './ops/listen';
export type { ListenSettings, PypxListener, PypxListenerEvents, ListenEvent, ReceivedInstance, CompletedSeries } from './ops/listen';
export { Listener } from './ops/listen/listener';
export type { ListenerOptions } from './ops/listen/options';
export type { StorageProblem } from './ops/listen/storage-watch';

// De-identification (PS3.15 Annex E) of files into pypx's layout
export { deidentify, PROFILE_EDITION, BURNED_IN_CLASSES } from './ops/deidentify';
export type { DeidentifyOptions, DeidentifyResult, DeidentifiedInstance, DeidentifyFailure, DeidentifyData } from './ops/deidentify/types';

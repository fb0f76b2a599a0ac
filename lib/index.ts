export { echo, runEcho, buildEchoArgs } from './echo';
export type { EchoOutcome, OperationOptions } from './echo';
export { PacsError, describeDcmtkFailure } from './errors';
export type { FailureKind } from './errors';
export { validatePacsSettings, mergePacsOverrides, SettingsError } from './settings';
export type { PacsSettings } from './settings';
export { locateDcmtkTool, DcmtkNotFoundError } from './dcmtk';
export type { PypxResult, PypxRecord, PypxField } from './result';

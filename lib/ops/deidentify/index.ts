// pypx's module call for de-identification: every file under the inputs, one at a time.
import type { DeidentifyOptions, DeidentifyResult } from './types';

export type { DeidentifyOptions, DeidentifyResult, DeidentifiedInstance, DeidentifyFailure, DeidentifyData } from './types';

/** De-identifies every DICOM file in `inputs` (files, or folders walked recursively) into options.outDir. */
export async function deidentify(inputs: string | string[], options: DeidentifyOptions): Promise<DeidentifyResult> {
  void inputs;
  void options;
  throw new Error('deidentify: not implemented yet');
}

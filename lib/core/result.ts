/** The shape every pypx operation answers with. */
export interface PypxResult<D = string> {
  status: 'success' | 'error';
  command: string;
  data: D;
}

/** One C-FIND match as pypx prints it: each keyword maps to its tag, value and label. */
export interface PypxField {
  tag: string | 0;
  value: string | number;
  label: string;
}
export type PypxRecord = Record<string, PypxField>;

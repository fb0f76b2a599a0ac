// Copies of a DICOM file in other transfer syntaxes, made by DCMTK's and GDCM's own converters.
import { execFileSync } from 'node:child_process';

export type Syntax = 'deflated' | 'jpeg-lossless' | 'jpeg-ls' | 'rle' | 'jpeg2000';

const CONVERTERS: Record<Syntax, [string, string[]]> = {
  deflated: ['dcmconv', ['+td']],
  'jpeg-lossless': ['dcmcjpeg', ['+e1']],
  'jpeg-ls': ['dcmcjpls', []],
  rle: ['dcmcrle', []],
  jpeg2000: ['gdcmconv', ['--j2k']],
};

/** Writes `from` re-encoded in `syntax` to `to`. */
export function transcode(from: string, to: string, syntax: Syntax): void {
  const [tool, options] = CONVERTERS[syntax];
  execFileSync(tool, [...options, from, to], { stdio: 'ignore' });
}

#!/usr/bin/env node
import { runEcho } from '../lib';
import { main, PACS_FLAGS, pacsSettingsFromFlags } from './cli';

/** What the command takes and does; exported so that test/commands.args.test.ts can check its flags without running it. */
export const command = {
  name: 'px-echo',
  summary: 'Checks that a PACS answers and accepts this AE title, with a DICOM C-ECHO (DCMTK echoscu).\nPrints pypx\'s result as JSON: {"status", "command", "data"}; exits 0 on success, 1 on failure, 2 on bad usage.',
  flags: PACS_FLAGS,
  run: ({ flags }) => runEcho(pacsSettingsFromFlags(flags)),
} satisfies Parameters<typeof main>[0];

if (require.main === module) void main(command);

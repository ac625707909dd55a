#!/usr/bin/env node
/** The `cced` executable. */
import { run, readStdin } from './cced.js';

process.exitCode = await run(process.argv.slice(2), process.env, {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  info: (s) => process.stderr.write(s),
  ...(process.stdin.isTTY ? {} : { stdin: readStdin }),
});

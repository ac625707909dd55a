#!/usr/bin/env node
/** The `cce` executable. */
import { run } from './cce.js';

process.exitCode = await run(process.argv.slice(2), process.env, (s) => process.stdout.write(s), (s) => process.stderr.write(s));

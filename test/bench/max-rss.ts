/**
 * Loaded with --import into a child process the bench measures (the console): prints the process's peak
 * RSS as its last line on stderr, where the parent reads it (node gives no child's rusage).
 */
import { writeSync } from 'node:fs';

process.on('exit', () => writeSync(2, `\nmax-rss-kib ${process.resourceUsage().maxRSS}\n`));

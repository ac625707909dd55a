/**
 * Loaded into a measured daemon (`--import=<this file>`, scale-profile.ts
 * with PROFILE_HEAP=1): what it allocates, collected objects included. The
 * first SIGWINCH (a signal the daemon leaves alone: close-with-grace takes
 * SIGUSR2) starts V8's sampling heap profiler; the second stops it and writes
 * to HEAP_SAMPLE_OUT the bytes sampled in between, in all, by file and by
 * function, as JSON. Sampled bytes estimate allocated bytes (each sample
 * stands for the interval's worth), so dividing by the requests served in
 * between gives bytes allocated a request.
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';

interface SampleNode {
  callFrame: { url: string; functionName: string; lineNumber: number };
  selfSize: number;
  children: SampleNode[];
}

const out = process.env.HEAP_SAMPLE_OUT;
const session = new Session();
let sampling = false;

/** Bytes by file and by function of the tree under `node`, into the maps; returns the total. */
function bytesBy(node: SampleNode, byFile: Map<string, number>, byFunction: Map<string, number>): number {
  const file = node.callFrame.url.replace(/^.*\/(node_modules\/[^/]+).*$/, '$1').replace(/^file:\/\/.*\/dist\//, '') || '(native)';
  byFile.set(file, (byFile.get(file) ?? 0) + node.selfSize);
  const fn = `${node.callFrame.functionName || '(anon)'} ${file}:${node.callFrame.lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + node.selfSize);
  return node.children.reduce((sum, c) => sum + bytesBy(c, byFile, byFunction), node.selfSize);
}

const heaviest = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k);

if (out !== undefined) {
  session.connect();
  process.on('SIGWINCH', () => {
    void (async () => {
      if (!sampling) {
        sampling = true;
        await session.post('HeapProfiler.enable');
        await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
        return;
      }
      const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: SampleNode } };
      const byFile = new Map<string, number>();
      const byFunction = new Map<string, number>();
      const total = bytesBy(profile.head, byFile, byFunction);
      writeFileSync(out, JSON.stringify({ total, byFile: heaviest(byFile, 20), byFunction: heaviest(byFunction, 40) }));
    })();
  });
}

/**
 * A harness killed mid-run (Ctrl-C, a CI timeout) must not leave its daemon
 * behind, spinning on whatever the fuzz last sent: every child registered here
 * gets SIGKILL when this process exits or is told to stop.
 */
const children = new Set<number>();
let installed = false;

function killAll(): void {
  for (const pid of children) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  children.clear();
}

export function reapOnExit(pid: number): () => void {
  children.add(pid);
  if (!installed) {
    installed = true;
    process.on('exit', killAll);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGALRM'] as const) {
      process.once(sig, () => {
        killAll();
        process.kill(process.pid, sig);
      });
    }
  }
  return () => children.delete(pid);
}

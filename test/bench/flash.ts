/**
 * Firmware files bench (issue 6): upload and download throughput of one file
 * (200 MiB by default) through a daemon in its own process, each as MiB/s and
 * as a ratio to `cp` of the same file on the same disk, measured in the same
 * run (the daemon's state dir and the cp copy share one temp folder).
 *
 *   benchFlash(ctx?: { sizeMiB?: number; print?: (line: string) => void }): Promise<FlashBenchResult>
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { ADMIN_PASSWORD, CceClient, http, type TestDaemon } from '../helpers/daemon.js';
import { spawnDaemon } from '../helpers/child-daemon.js';
import { pattern, sendMultipart } from '../helpers/multipart.js';

export interface FlashBenchContext {
  sizeMiB?: number;
  print?: (line: string) => void;
}

export interface FlashBenchResult {
  sizeMiB: number;
  cpMiBPerSec: number;
  uploadMiBPerSec: number;
  uploadRatioToCp: number;
  downloadMiBPerSec: number;
  downloadRatioToCp: number;
}

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** GET a file and discard it, returning the byte count. */
function download(url: string, bearer: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { headers: { authorization: `Bearer ${bearer}` } }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => { n += c.length; });
      res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`download: HTTP ${res.statusCode}`))));
    }).on('error', reject).end();
  });
}

export async function benchFlash(ctx: FlashBenchContext = {}): Promise<FlashBenchResult> {
  const sizeMiB = ctx.sizeMiB ?? 200;
  const size = sizeMiB * 1024 * 1024;
  const print = ctx.print ?? ((l: string) => console.log(l));
  const d = await spawnDaemon();
  const scratch = mkdtempSync(path.join(d.stateDir, 'bench-'));
  try {
    const cce = await new CceClient({ url: d.url } as TestDaemon).login();
    await cce.cmd({ cmd: 'CREATE', class: 'DeviceType', args: { name: 'bench' } });
    await cce.cmd({ cmd: 'CREATE', class: 'Distribution', args: { name: 'prod', device_type: 'bench' } });
    const bearer = (await http(`${d.url}/api/auth/login`, { username: 'admin', password: ADMIN_PASSWORD })).body.token as string;

    // The reference: cp of the same bytes on the same disk, synced like the daemon's flushed upload.
    const source = path.join(scratch, 'source.bin');
    await pipeline(Readable.from(pattern(size)()), createWriteStream(source));
    execFileSync('sync');
    let t0 = process.hrtime.bigint();
    execFileSync('cp', [source, path.join(scratch, 'copy.bin')]);
    execFileSync('sync', ['-f', path.join(scratch, 'copy.bin')]);
    const cpMiBPerSec = sizeMiB / seconds(t0);

    t0 = process.hrtime.bigint();
    const up = await sendMultipart(`${d.url}/api/flash/upload`, [
      { name: 'devicetype', value: 'bench' },
      { name: 'distribution', value: 'prod' },
      { name: 'file', filename: 'bench.bin', content: pattern(size), size },
    ], { headers: { authorization: `Bearer ${bearer}` } });
    const uploadMiBPerSec = sizeMiB / seconds(t0);
    if (up === 'cut' || up.status !== 200) throw new Error(`upload failed: ${up === 'cut' ? 'cut' : up.text}`);

    t0 = process.hrtime.bigint();
    const got = await download(`${d.url}/api/flash/bench/prod/bench.bin`, bearer);
    const downloadMiBPerSec = sizeMiB / seconds(t0);
    if (got !== size) throw new Error(`download: ${got} bytes, expected ${size}`);

    const result: FlashBenchResult = {
      sizeMiB,
      cpMiBPerSec,
      uploadMiBPerSec,
      uploadRatioToCp: uploadMiBPerSec / cpMiBPerSec,
      downloadMiBPerSec,
      downloadRatioToCp: downloadMiBPerSec / cpMiBPerSec,
    };
    const f = (n: number) => n.toFixed(1);
    print(`flash: ${sizeMiB} MiB file; cp ${f(cpMiBPerSec)} MiB/s`);
    print(`flash: upload ${f(uploadMiBPerSec)} MiB/s (${result.uploadRatioToCp.toFixed(2)}x cp), download ${f(downloadMiBPerSec)} MiB/s (${result.downloadRatioToCp.toFixed(2)}x cp)`);
    return result;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    await d.close();
  }
}

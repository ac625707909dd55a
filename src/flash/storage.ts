/**
 * Firmware files on disk: flash_storage_root/<device_type>/<distribution>/<file>.
 *
 * Safety: every segment passes names.ts's strict pattern before any path is
 * built, the folder's realpath must stay under the root's realpath (a symlinked
 * folder pointing elsewhere is refused), files are opened with O_NOFOLLOW, and
 * listings keep regular files only. Uploads go to a temp file in the target
 * folder (same filesystem, so the final rename is atomic), flushed to disk
 * before the rename; a failed or cut upload removes its temp file.
 *
 * sha256: computed while the upload streams and kept in a sidecar
 * `.<file>.sha256` (dotfiles are never listed and no client name can start
 * with a dot). The sidecar records the file's size, mtime and inode; a sidecar
 * that does not match the file any more (a file copied in by hand, two
 * concurrent uploads of the same name) is recomputed from the file, so the
 * sidecar is a cache and the file stays the truth.
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants, createReadStream, createWriteStream, mkdirSync, realpathSync, renameSync, statSync, type Stats } from 'node:fs';
import { mkdir, open, readdir, readFile, realpath, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isSegment } from './names.js';

export interface FileInfo {
  name: string;
  size: number;
  sha256: string;
}

/** A refusal with the HTTP status it maps to (the facade's error handler reads `statusCode`). */
export class FlashError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'FlashError';
  }
}

/** A complete upload, not yet visible: `commit` renames it into place, `discard` removes it. */
export interface StagedFile extends FileInfo {
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** An open regular file for a download: read it through `handle`, then close it. */
export interface OpenFile extends FileInfo {
  handle: FileHandle;
}

interface Sidecar {
  size: number;
  mtimeMs: number;
  ino: number;
  sha256: string;
}

const sidecarOf = (file: string) => path.join(path.dirname(file), `.${path.basename(file)}.sha256`);
const tempIn = (dir: string, tag: string) => path.join(dir, `.${tag}-${randomUUID()}.tmp`);
const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';
/** mkdir's EEXIST: fine for a folder (or a symlink to one, which the realpath check then judges), an error for anything else. */
const isExisting = (err: unknown) => (err as NodeJS.ErrnoException).code === 'EEXIST';

export class FlashStorage {
  readonly realRoot: string;

  /** `rootName` names the root in the 400 of a path escaping it (the config key the operator would look at). */
  constructor(
    readonly root: string,
    private readonly rootName = 'flash_storage_root',
  ) {
    mkdirSync(root, { recursive: true, mode: 0o750 });
    this.realRoot = realpathSync(root);
  }

  /** The folder of a type, or of a distribution of a type; 400 for a name outside the pattern. */
  folder(...segments: string[]): string {
    for (const s of segments) if (!isSegment(s)) throw new FlashError(400, `Invalid name: ${JSON.stringify(s).slice(0, 120)}`);
    return path.join(this.root, ...segments);
  }

  /**
   * The folders from the root down to `segments`, outermost first (names
   * checked). They are created one level at a time, each checked before the
   * next: a plain `mkdir -p` through a symlinked folder would create folders
   * outside the root before any check could refuse it.
   */
  private levels(segments: string[]): string[] {
    this.folder(...segments);
    return segments.map((_, i) => path.join(this.root, ...segments.slice(0, i + 1)));
  }

  /** mkdir -p of a catalog folder (the store hook: synchronous, inside the catalog write's transaction). */
  ensureFolderSync(...segments: string[]): void {
    mkdirSync(this.root, { recursive: true, mode: 0o750 });
    for (const level of this.levels(segments)) {
      try {
        mkdirSync(level, { mode: 0o750 });
      } catch (err) {
        if (!isExisting(err) || !statSync(level).isDirectory()) throw err;
      }
      this.checkInside(realpathSync(level));
    }
  }

  /** mkdir -p, level by level, each level's realpath checked; the folder's path. */
  async ensureFolder(...segments: string[]): Promise<string> {
    await mkdir(this.root, { recursive: true, mode: 0o750 });
    for (const level of this.levels(segments)) {
      await mkdir(level, { mode: 0o750 }).catch(async (err: unknown) => {
        if (!isExisting(err) || !(await stat(level)).isDirectory()) throw err;
      });
      this.checkInside(await realpath(level));
    }
    return this.folder(...segments);
  }

  /**
   * A renamed device type takes its folder (and firmware) along. Nothing to do
   * when there is no old folder; never overwrites an existing one. Synchronous:
   * it runs as the rename commits (one rename(2)), so the reply to the rename
   * finds the folder moved.
   */
  renameFolderSync(from: string, to: string): boolean {
    const [src, dst] = [this.folder(from), this.folder(to)];
    try {
      statSync(dst);
      return false;
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    try {
      renameSync(src, dst);
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  /** The existing folder of a distribution, or undefined when it is missing. */
  async existingFolder(type: string, dist: string): Promise<string | undefined> {
    const dir = this.folder(type, dist);
    let real: string;
    try {
      real = await realpath(dir);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    this.checkInside(real);
    return (await stat(real)).isDirectory() ? dir : undefined;
  }

  /** The regular files of a distribution with size and sha256, by name; undefined when the folder is missing. */
  async list(type: string, dist: string): Promise<FileInfo[] | undefined> {
    const dir = await this.existingFolder(type, dist);
    if (dir === undefined) return undefined;
    const entries = await readdir(dir, { withFileTypes: true });
    const names = entries.filter((e) => e.isFile() && isSegment(e.name)).map((e) => e.name).sort();
    // A file removed between readdir and open is simply not listed.
    const files = (await Promise.all(names.map((name) => this.openFile(dir, name)))).filter((f): f is OpenFile => f !== undefined);
    await Promise.all(files.map((f) => f.handle.close()));
    return files.map(({ name, size, sha256 }) => ({ name, size, sha256 }));
  }

  /** Opens one file for reading; undefined when it (or its folder) does not exist or is not a regular file. */
  async open(type: string, dist: string, name: string): Promise<OpenFile | undefined> {
    const dir = await this.existingFolder(type, dist);
    this.folder(name);
    return dir === undefined ? undefined : this.openFile(dir, name);
  }

  /** Deletes one file and its sidecar; what was deleted, or undefined when there was no such file. */
  async remove(type: string, dist: string, name: string): Promise<FileInfo | undefined> {
    const file = await this.open(type, dist, name);
    if (file === undefined) return undefined;
    await file.handle.close();
    const target = path.join(this.folder(type, dist), name);
    await rm(target, { force: true });
    await rm(sidecarOf(target), { force: true });
    return { name, size: file.size, sha256: file.sha256 };
  }

  /**
   * Streams `source` into a temp file of the distribution's folder (created if
   * missing), hashing as it goes. Nothing is visible until `commit`; any error
   * removes the temp file.
   */
  async stage(type: string, dist: string, name: string, source: Readable): Promise<StagedFile> {
    this.folder(name);
    const dir = await this.ensureFolder(type, dist);
    const tmp = tempIn(dir, 'upload');
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      // flush: fsync before close, so the rename never publishes a file whose data is not on disk.
      await pipeline(source, meter, createWriteStream(tmp, { flags: 'wx', mode: 0o640, flush: true }));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const sha256 = hash.digest('hex');
    const target = path.join(dir, name);
    const discard = () => rm(tmp, { force: true });
    return {
      name,
      size,
      sha256,
      discard,
      commit: async () => {
        const st = await stat(tmp);
        try {
          await rename(tmp, target);
        } catch (err) {
          await discard();
          throw err;
        }
        await this.writeSidecar(target, { size, mtimeMs: st.mtimeMs, ino: st.ino, sha256 });
      },
    };
  }

  private checkInside(real: string): void {
    if (real !== this.realRoot && !real.startsWith(this.realRoot + path.sep)) throw new FlashError(400, `Path escapes ${this.rootName}`);
  }

  private async openFile(dir: string, name: string): Promise<OpenFile | undefined> {
    const file = path.join(dir, name);
    let handle: FileHandle;
    try {
      // O_NONBLOCK: opening a FIFO someone put there must not hang the request (it is then refused as not a regular file).
      handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ELOOP: the name is a symlink, which the store never creates: treat it as absent.
      if (code === 'ENOENT' || code === 'ELOOP') return undefined;
      throw err;
    }
    let keep = false;
    try {
      const st = await handle.stat();
      if (!st.isFile()) return undefined;
      const sha256 = await this.digestOf(file, handle, st);
      keep = true;
      return { name, size: st.size, sha256, handle };
    } finally {
      if (!keep) await handle.close();
    }
  }

  /** The file's sha256 from its sidecar when the sidecar still describes it, else recomputed (and the sidecar rewritten). */
  private async digestOf(file: string, handle: FileHandle, st: Stats): Promise<string> {
    const cached = await readSidecar(sidecarOf(file));
    if (cached && cached.size === st.size && cached.mtimeMs === st.mtimeMs && cached.ino === st.ino) return cached.sha256;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream('', { fd: handle, start: 0, autoClose: false })) hash.update(chunk as Buffer);
    const sha256 = hash.digest('hex');
    // The sidecar is a cache: failing to write it (a read-only folder) costs a recomputation next time, nothing else.
    await this.writeSidecar(file, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, sha256 }).catch(() => undefined);
    return sha256;
  }

  private async writeSidecar(file: string, meta: Sidecar): Promise<void> {
    const tmp = tempIn(path.dirname(file), 'sidecar');
    await writeFile(tmp, JSON.stringify(meta), { mode: 0o640 });
    await rename(tmp, sidecarOf(file));
  }
}

async function readSidecar(file: string): Promise<Sidecar | undefined> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as Partial<Sidecar>;
    return typeof v.sha256 === 'string' && typeof v.size === 'number' ? (v as Sidecar) : undefined;
  } catch {
    return undefined;
  }
}

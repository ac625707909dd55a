/**
 * The player's media and playlists on disk (seeds/000, "Player / Digital
 * Signage"), on top of the firmware store's file handling (FlashStorage: safe
 * names, realpath checks, streamed atomic uploads, sha256 sidecars):
 *
 *   <root>/<DEVICE_KEY>/playlist.json          the device's playlist
 *   <root>/<DEVICE_KEY>/default/<file>         its copy of the imposed media
 *   <root>/<DEVICE_KEY>/uploads/<file>         media uploaded for it
 *   <root>/medias_library/imposed_medias/<file> the imposed media, put there by the operator
 *
 * Device keys are upper-case, so no device folder can be `medias_library`.
 * Every change of a device's playlist (creation, upload, clear) runs in that
 * device's queue, so two concurrent uploads never lose one another's item.
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline, Transform, type Readable } from 'node:stream';
import { z } from 'zod';
import { FlashStorage, type StagedFile } from '../flash/storage.js';
import { extensionOf, isSegment } from '../flash/names.js';

export const DEFAULT_DIR = 'default';
export const UPLOAD_DIR = 'uploads';
const LIBRARY = ['medias_library', 'imposed_medias'] as const;
const PLAYLIST_FILE = 'playlist.json';

const item = z.object({
  dir: z.string(),
  file: z.string(),
  title: z.string(),
  mode: z.string().nullable(),
  order: z.number(),
  size: z.number(),
  sha256: z.string(),
  hash: z.string(),
  url: z.string(),
});
const playlistSchema = z.object({ device_key: z.string(), updated_at: z.string(), items: z.array(item) });

export type PlaylistItem = z.output<typeof item>;
export type Playlist = z.output<typeof playlistSchema>;

/** A staged upload with the document's `hash` (sha1) beside the store's sha256. */
export interface StagedMedia extends StagedFile {
  hash: string;
}

/** What an upload sets on its playlist item; absent fields keep the item's previous values (or defaults). */
export interface ItemMeta {
  title?: string | undefined;
  mode?: string | undefined;
  order?: number | undefined;
}

/** No such file, or a symlink where a file should be (O_NOFOLLOW). */
const isMissing = (err: unknown) => ['ENOENT', 'ELOOP'].includes(String((err as NodeJS.ErrnoException).code));

/** `YYYY-MM-DD HH:MM:SS` UTC, the Meeting document's timestamps. */
const now = () => new Date().toISOString().slice(0, 19).replace('T', ' ');

export class PlayerMedia {
  readonly storage: FlashStorage;
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    root: string,
    private readonly allowed: Set<string>,
    private readonly clock: () => string = now,
  ) {
    this.storage = new FlashStorage(root, 'player_storage_root');
  }

  isAllowed(name: string): boolean {
    return this.allowed.has(extensionOf(name));
  }

  /** Streams `source` into a temp file of the device's `dir`, hashing sha1 on the way (sha256 is the store's). */
  async stage(key: string, dir: string, name: string, source: Readable): Promise<StagedMedia> {
    const sha1 = createHash('sha1');
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        sha1.update(chunk);
        done(null, chunk);
      },
    });
    // pipeline (not pipe) so a cut source destroys the tap, and the store's own pipeline fails and cleans up.
    const staged = await this.storage.stage(key, dir, name, pipeline(source, tap, () => undefined));
    return Object.assign(staged, { hash: sha1.digest('hex') });
  }

  /** The device's playlist; created from the imposed media (copied into `default/`) when it does not exist yet. */
  playlist(key: string): Promise<Playlist> {
    return this.queued(key, () => this.loadOrCreate(key));
  }

  /** Publishes an upload and puts it in the playlist (replacing the item of the same dir and file). */
  add(key: string, staged: StagedMedia, dir: string, meta: ItemMeta): Promise<PlaylistItem> {
    return this.queued(key, async () => {
      const list = await this.loadOrCreate(key);
      await staged.commit();
      const previous = list.items.find((i) => i.dir === dir && i.file === staged.name);
      const others = list.items.filter((i) => i !== previous);
      const next: PlaylistItem = {
        ...this.itemOf(key, dir, staged),
        title: meta.title ?? previous?.title ?? staged.name,
        mode: meta.mode ?? previous?.mode ?? null,
        order: meta.order ?? previous?.order ?? others.reduce((max, i) => Math.max(max, i.order + 1), 0),
      };
      await this.save(key, { ...list, items: [...others, next] });
      return next;
    });
  }

  /**
   * clear-cache: removes every media file (and its sidecar) of every folder of
   * the device except `default/`, and drops their items from the playlist;
   * `playlist.json` and `default/` stay. Temp files of uploads still streaming
   * are left alone: such an upload lands after the clear, as it should.
   */
  clear(key: string): Promise<{ files: number; bytes: number }> {
    return this.queued(key, async () => {
      const folder = await this.storage.ensureFolder(key);
      let files = 0;
      let bytes = 0;
      // withFileTypes does not follow symlinks: a symlinked "folder" is not a folder here.
      const dirs = (await readdir(folder, { withFileTypes: true })).filter((e) => e.isDirectory() && isSegment(e.name) && e.name !== DEFAULT_DIR);
      for (const { name: dir } of dirs) {
        for (const f of (await this.storage.list(key, dir)) ?? []) {
          await this.storage.remove(key, dir, f.name);
          files += 1;
          bytes += f.size;
        }
      }
      const list = await this.load(key);
      if (list !== undefined) await this.save(key, { ...list, items: list.items.filter((i) => i.dir === DEFAULT_DIR) });
      return { files, bytes };
    });
  }

  /** Runs `fn` after everything queued for the device before it; a failure does not block what follows. */
  private queued<T>(key: string, fn: () => Promise<T>): Promise<T> {
    // What is queued is always a tail that cannot reject.
    const run = (this.queues.get(key) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  private async loadOrCreate(key: string): Promise<Playlist> {
    const existing = await this.load(key);
    if (existing !== undefined) return existing;
    const items: PlaylistItem[] = [];
    const library = ((await this.storage.list(...LIBRARY)) ?? []).filter((f) => this.isAllowed(f.name));
    // The target folder is checked before any source is opened, so a refused folder leaves no handle open.
    if (library.length > 0) await this.storage.ensureFolder(key, DEFAULT_DIR);
    for (const f of library) {
      const src = await this.storage.open(...LIBRARY, f.name);
      if (src === undefined) continue; // removed since the listing
      const copy = await this.stage(key, DEFAULT_DIR, f.name, src.handle.createReadStream({ autoClose: true }));
      await copy.commit();
      items.push({ ...this.itemOf(key, DEFAULT_DIR, copy), title: f.name, mode: null, order: items.length });
    }
    const list: Playlist = { device_key: key, updated_at: this.clock(), items };
    await this.save(key, list);
    return list;
  }

  private itemOf(key: string, dir: string, f: StagedMedia) {
    return { dir, file: f.name, size: f.size, sha256: f.sha256, hash: f.hash, url: `/api/player/media/${key}/${dir}/${f.name}` };
  }

  /** The stored playlist, or undefined when there is none (a symlink in its place counts as none). */
  private async load(key: string): Promise<Playlist | undefined> {
    const file = path.join(await this.storage.ensureFolder(key), PLAYLIST_FILE);
    let text: string;
    try {
      const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      try {
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    // A hand-edited file that is not a playlist is an operator's error to fix: a 500 with the reason in the log.
    return playlistSchema.parse(JSON.parse(text));
  }

  /** Writes the playlist (items by order; ties keep their order) to a temp file, then renames it into place. */
  private async save(key: string, list: Playlist): Promise<void> {
    const folder = await this.storage.ensureFolder(key);
    const items = [...list.items].sort((a, b) => a.order - b.order);
    const tmp = path.join(folder, `.playlist-${randomUUID()}.tmp`);
    try {
      await writeFile(tmp, JSON.stringify({ ...list, updated_at: this.clock(), items }, null, 2), { mode: 0o640, flush: true });
      await rename(tmp, path.join(folder, PLAYLIST_FILE));
    } finally {
      await rm(tmp, { force: true });
    }
  }
}

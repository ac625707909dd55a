/**
 * The one rule for every path segment of the firmware store (device type,
 * distribution, file name): ASCII letters, digits, `.`, `_`, `-`, starting with
 * a letter or a digit, no `..`, at most 100 characters (the router's longest
 * path parameter). So a segment can never be `.`/`..`, hold a slash, a NUL or
 * a look-alike character, or name a dotfile (temp and sidecar files are
 * dotfiles, so no client name can collide with them).
 */
export const SEGMENT = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export const isSegment = (s: string): boolean => SEGMENT.test(s);

/** The extension of a file name, lower-case, without the dot ('' when none). */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}

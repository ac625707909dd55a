/**
 * Conditional and partial GETs of a firmware file (RFC 9110): one byte range
 * (a device on a bad link resumes with `Range: bytes=N-`), ETag matching for
 * If-None-Match and If-Range. Several ranges in one request are answered with
 * the whole file (200), as the RFC allows: devices never need multipart/byteranges.
 */

/** Inclusive byte positions. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The range to send: undefined for the whole file (no Range header, another
 * unit, several ranges, a malformed one: all ignored as the RFC says),
 * 'unsatisfiable' for a 416.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=[ \t]*(\d*)-(\d*)[ \t]*$/i.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    // A suffix: the last N bytes.
    const n = Number(m[2]);
    return n === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? Infinity : Number(m[2]);
  if (last < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(last, size - 1) };
}

/** Weak comparison (If-None-Match): `*`, or any listed tag equal to ours once `W/` is dropped. */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

/** If-Range: the range applies only when the validator is our (strong) ETag; a date or another tag means "send it all". */
export const rangeStillValid = (header: string | undefined, etag: string): boolean => header === undefined || header.trim() === etag;

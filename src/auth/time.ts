/** `2025-05-17T23:49:24-05:00`: local time with its UTC offset, as the reference prints token expiry. */
export function isoWithOffset(ms: number): string {
  const d = new Date(ms);
  const offsetMin = -d.getTimezoneOffset();
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const p = (n: number) => String(n).padStart(2, '0');
  const local = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  return `${local}${sign}${p(Math.floor(abs / 60))}:${p(abs % 60)}`;
}

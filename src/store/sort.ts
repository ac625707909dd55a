/** The sort types of FIND and FINDX: ascii, old_numeric, locale, ip, hostname. */
import { isIP } from 'node:net';

export const SORT_TYPES = ['ascii', 'old_numeric', 'locale', 'ip', 'hostname'] as const;
export type SortType = (typeof SORT_TYPES)[number];

const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: false });

/** An IP address as a fixed-width key so that string order is numeric order; non-IPs sort last. */
function ipKey(v: string): string {
  if (isIP(v) === 4) return '4' + v.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('');
  if (isIP(v) === 6) {
    const [head = '', tail = ''] = v.split('::');
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = v.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
    return '6' + groups.map((g) => g.padStart(4, '0')).join('');
  }
  return '9' + v;
}

/** Host names compare by labels from the right: mail.b.com < www.b.com < a.c.com. */
const hostKey = (v: string) => v.toLowerCase().split('.').reverse().join('\x00');

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function compareBy(type: SortType): (a: string, b: string) => number {
  switch (type) {
    case 'old_numeric':
      return (a, b) => {
        const x = parseFloat(a), y = parseFloat(b);
        if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) === Number.isNaN(y) ? byString(a, b) : Number.isNaN(x) ? 1 : -1;
        return x - y;
      };
    case 'locale':
      return (a, b) => collator.compare(a, b);
    case 'ip':
      return (a, b) => byString(ipKey(a), ipKey(b));
    case 'hostname':
      return (a, b) => byString(hostKey(a), hostKey(b));
    default:
      return byString;
  }
}

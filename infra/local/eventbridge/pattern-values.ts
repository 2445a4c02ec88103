/**
 * The EventBridge pattern matcher's value parts (./pattern.ts): the pattern error, matcher shapes, numbers (six
 * decimal places, ±5e9), IP addresses and CIDR ranges (event-ruler CIDR.java), wildcards (WildcardParser.java).
 */

/** Thrown by compilePattern()/matches() for a pattern EventBridge would reject. `reason` is EventBridge's text. */
export class InvalidEventPatternError extends Error {
  readonly reason: string;
  readonly path: string;
  constructor(reason: string, path: string) {
    super(`Event pattern is not valid. Reason: ${reason}${path ? ` at ${path}` : ''}`);
    this.name = 'InvalidEventPatternError';
    this.reason = reason;
    this.path = path;
  }
}

export type Prim = string | number | boolean | null;

export type Matcher =
  | { t: 'exact'; v: Prim; ip?: string }
  | { t: 'prefix'; v: string; ci: boolean }
  | { t: 'suffix'; v: string; ci: boolean }
  | { t: 'eic'; v: string }
  | { t: 'wildcard'; re: RegExp }
  | { t: 'numeric'; lo: number; loOpen: boolean; hi: number; hiOpen: boolean }
  | { t: 'cidr'; lo: string; hi: string }
  | { t: 'exists'; v: boolean }
  | { t: 'anything-but'; test: (v: Prim) => boolean };


export const NUMERIC_LIMIT = 5e9;

export function fail(reason: string, path: string): never {
  throw new InvalidEventPatternError(reason, path);
}

// ---------- numbers ----------

export function numKey(n: number, path: string): number {
  if (!Number.isFinite(n) || n < -NUMERIC_LIMIT || n > NUMERIC_LIMIT) fail('Value must be between -5.0E9 and 5.0E9, inclusive', path);
  return Math.round(n * 1e6);
}

export function eventNumKey(n: number): number | null {
  if (!Number.isFinite(n) || n < -NUMERIC_LIMIT || n > NUMERIC_LIMIT) return null;
  return Math.round(n * 1e6);
}

// ---------- IP addresses (event-ruler CIDR.java) ----------

export const IPV4_RE = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
export const IPV6_RE = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;

export function looksLikeIp(s: string): boolean {
  return IPV4_RE.test(s) || IPV6_RE.test(s);
}

export function parseIPv4(s: string): number[] | null {
  if (!IPV4_RE.test(s)) return null;
  const parts = s.split('.').map(Number);
  return parts.every((p) => p <= 255) ? parts : null;
}

export function parseIPv6(s: string): number[] | null {
  if (!IPV6_RE.test(s)) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  let all: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    all = head;
  }
  if (all.length !== 8) return null;
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** Hex string of the address bytes (8 hex digits for IPv4, 32 for IPv6), or null when not an IP literal. */
export function ipHex(s: string): string | null {
  const bytes = parseIPv4(s) ?? parseIPv6(s);
  return bytes ? bytes.map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase() : null;
}

export function compileCidr(text: string, path: string): Matcher {
  const slashed = text.split('/');
  if (slashed.length !== 2) fail("Malformed CIDR, one '/' required", path);
  if (!/^[+-]?\d+$/.test(slashed[1])) fail('Malformed CIDR, mask bits must be an integer', path);
  const maskBits = parseInt(slashed[1], 10);
  if (maskBits < 0) fail('Malformed CIDR, mask bits must not be negative', path);
  const ip = slashed[0];
  const bytes = looksLikeIp(ip) ? (parseIPv4(ip) ?? parseIPv6(ip)) : null;
  if (!bytes) fail(looksLikeIp(ip) ? `Invalid IP address: ${ip}` : `Nonstandard IP address: ${ip}`, path);
  if (bytes.length === 4 && maskBits > 31) fail('IPv4 mask bits must be < 32', path);
  if (bytes.length === 16 && maskBits > 127) fail('IPv6 mask bits must be < 128', path);
  // As event-ruler (CIDR.java) does: the range is the network the mask names, so host bits set in the pattern's
  // address (10.0.0.5/24) are cleared in the lower bound and set in the upper one.
  let hostBits = bytes.length * 8 - maskBits;
  const top = [...bytes];
  for (let i = top.length - 1; i >= 0 && hostBits > 0; i--, hostBits -= 8) {
    const low = hostBits >= 8 ? 0xff : (1 << hostBits) - 1;
    bytes[i] &= ~low & 0xff;
    top[i] |= low;
  }
  const hex = (b: number[]) => b.map((x) => x.toString(16).padStart(2, '0')).join('').toUpperCase();
  return { t: 'cidr', lo: hex(bytes), hi: hex(top) };
}

// ---------- wildcard (event-ruler WildcardParser.java) ----------

/** Compile an EventBridge wildcard value; positions in errors count UTF-8 bytes of the quoted value, as EventBridge does. */
export function compileWildcard(text: string, path: string): RegExp {
  const bytes = Buffer.from(`"${text}"`, 'utf8');
  let re = '';
  let literal: number[] = [];
  const flush = () => {
    if (literal.length) re += Buffer.from(literal).toString('utf8').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    literal = [];
  };
  // skip the surrounding quotes, but keep byte positions as EventBridge reports them
  for (let i = 1; i < bytes.length - 1; i++) {
    const b = bytes[i];
    if (b === 0x2a) {
      if (i + 1 < bytes.length - 1 && bytes[i + 1] === 0x2a) fail(`Consecutive wildcard characters at pos ${i}`, path);
      flush();
      re += '.*';
    } else if (b === 0x5c) {
      const next = bytes[i + 1];
      if (i + 1 < bytes.length - 1 && (next === 0x2a || next === 0x5c)) {
        literal.push(next);
        i++;
        continue;
      }
      fail(`Invalid escape character at pos ${i}`, path);
    } else {
      literal.push(b);
    }
  }
  flush();
  return new RegExp(`^${re}$`, 's');
}

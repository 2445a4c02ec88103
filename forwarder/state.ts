/**
 * What the forwarder remembers per object, and nothing more: uid, resourceVersion, the keyed content
 * fingerprint and short hashes of labels, allow-listed annotations and owner references, plus two flags.
 *
 * Held packed in one Latin-1 string (~52 bytes of payload for a UUID uid and a 6-digit resourceVersion), so a
 * map entry costs the key string + this string + the map slot. See docs/forwarder.md for the measurements.
 *
 * Layout: [flags 1][fingerprint 16][labels 6][annotations 6][owners 6][uid: 16 if UUID, else len 1 + bytes][rv …]
 */
import { createHash } from 'node:crypto';
import { FINGERPRINT_PREFIX } from '../functions/shared/fingerprint.ts';

export interface ObjState {
  uid: string;
  rv: string;
  /** `hmac-sha256:<32 hex>` */
  fp: string;
  /** 12-hex (48-bit) digests; equality is all that matters. */
  labelsHash: string;
  annotationsHash: string;
  ownersHash: string;
  immutable: boolean;
  /** Namespace phase Terminating (Namespaces only). */
  terminating: boolean;
}

const F_IMMUTABLE = 1;
const F_TERMINATING = 2;
const F_UUID = 4;
const HASH_BYTES = 6;
const FP_BYTES = 16;
const FIXED = 1 + FP_BYTES + 3 * HASH_BYTES;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** 48-bit digest (12 hex) of a canonical string: used for "did this part change", never sent anywhere. */
export function shortHash(s: string): string {
  return createHash('sha1').update(s).digest('hex').slice(0, HASH_BYTES * 2);
}

function sorted(m: Record<string, string> | null | undefined): [string, string][] {
  return Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function mapHash(m: Record<string, string> | null | undefined): string {
  return shortHash(JSON.stringify(sorted(m)));
}

export function encodeState(s: ObjState): string {
  const uuid = UUID_RE.test(s.uid);
  const uidBytes = uuid ? Buffer.from(s.uid.replace(/-/g, ''), 'hex') : Buffer.from(s.uid, 'latin1');
  if (!uuid && uidBytes.length > 255) throw new Error(`uid of ${uidBytes.length} bytes is too long to remember (max 255)`);
  const fp = s.fp.startsWith(FINGERPRINT_PREFIX) ? s.fp.slice(FINGERPRINT_PREFIX.length) : s.fp;
  if (!/^[0-9a-f]{32}$/.test(fp)) throw new Error(`fingerprint "${s.fp}" is not hmac-sha256:<32 hex>`);
  const rv = Buffer.from(s.rv, 'latin1');
  const buf = Buffer.allocUnsafe(FIXED + (uuid ? 16 : 1 + uidBytes.length) + rv.length);
  buf[0] = (s.immutable ? F_IMMUTABLE : 0) | (s.terminating ? F_TERMINATING : 0) | (uuid ? F_UUID : 0);
  buf.write(fp, 1, 'hex');
  buf.write(s.labelsHash, 1 + FP_BYTES, 'hex');
  buf.write(s.annotationsHash, 1 + FP_BYTES + HASH_BYTES, 'hex');
  buf.write(s.ownersHash, 1 + FP_BYTES + 2 * HASH_BYTES, 'hex');
  let o = FIXED;
  if (!uuid) buf[o++] = uidBytes.length;
  uidBytes.copy(buf, o);
  o += uidBytes.length;
  rv.copy(buf, o);
  return buf.toString('latin1');
}

export function decodeState(packed: string): ObjState {
  const buf = Buffer.from(packed, 'latin1');
  const flags = buf[0];
  let o = FIXED;
  let uid: string;
  if (flags & F_UUID) {
    const h = buf.toString('hex', o, o + 16);
    uid = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    o += 16;
  } else {
    const len = buf[o++];
    uid = buf.toString('latin1', o, o + len);
    o += len;
  }
  return {
    uid,
    rv: buf.toString('latin1', o),
    fp: FINGERPRINT_PREFIX + buf.toString('hex', 1, 1 + FP_BYTES),
    labelsHash: buf.toString('hex', 1 + FP_BYTES, 1 + FP_BYTES + HASH_BYTES),
    annotationsHash: buf.toString('hex', 1 + FP_BYTES + HASH_BYTES, 1 + FP_BYTES + 2 * HASH_BYTES),
    ownersHash: buf.toString('hex', 1 + FP_BYTES + 2 * HASH_BYTES, FIXED),
    immutable: (flags & F_IMMUTABLE) !== 0,
    terminating: (flags & F_TERMINATING) !== 0,
  };
}

/** Only the resourceVersion, without decoding the rest (the relist fast path). */
export function packedRv(packed: string): string {
  const flags = packed.charCodeAt(0);
  if (flags & F_UUID) return packed.slice(FIXED + 16);
  return packed.slice(FIXED + 1 + packed.charCodeAt(FIXED));
}

export function packedUid(packed: string): string {
  return decodeState(packed).uid;
}

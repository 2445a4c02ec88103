/**
 * What the forwarder remembers per object, and nothing more: uid, resourceVersion, the keyed content
 * fingerprint and short hashes of labels, allow-listed annotations and owner references, plus two flags.
 *
 * Held in a flat table over ArrayBuffers (see Store below): a fixed 69-byte record, the key's bytes and ~6 bytes
 * of index per object (≈104 B for a `team-N/app-N-credentials` key). See docs/forwarder.md for the measurements.
 *
 * Record: [flags 1][fingerprint 16][labels 6][annotations 6][owners 6][uid 16 (UUID)][rv 8 (number)]
 *         [key location 4][key length 2][key hash 4]
 */
import { createHash } from 'node:crypto';
import { FINGERPRINT_PREFIX } from '../core/fingerprint.ts';

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

// ---------------------------------------------------------------------------------------------------------------
// The per-kind store: one flat open-addressing table over ArrayBuffers instead of a Map of strings.
//
// Per object it holds a fixed 69-byte record (flags and relist mark, 128-bit fingerprint, three 48-bit hashes, the UUID uid as 16
// bytes, the resourceVersion as a number, where its key's bytes are, and the key's 32-bit hash), the
// key's UTF-8 bytes (needed to name relist deletions) and one Int32 slot of the index. Records and key bytes live
// in fixed-size chunks, so growing never leaves more than one chunk of slack. No per-object JS object or string
// exists. A uid that is not a UUID or a resourceVersion that is not a canonical decimal (both legal, both rare)
// goes to a small side map instead of the record.

const R_FLAGS = 0;
const R_FP = 1;
const R_HASHES = R_FP + FP_BYTES;
const R_UID = R_HASHES + 3 * HASH_BYTES;
const R_RV = R_UID + 16;
const R_KLOC = R_RV + 8;
const R_KLEN = R_KLOC + 4;
const R_KHASH = R_KLEN + 2;
const REC = R_KHASH + 4;
const F_NUM_RV = 8;
/** Seen by the current relist. */
const F_MARK = 16;
const RV_RE = /^(0|[1-9][0-9]{0,14})$/;
const HEX_RE = /^[0-9a-f]*$/;
/** Records per record chunk (2^CHUNK_BITS). */
const CHUNK_BITS = 10;
const CHUNK = 1 << CHUNK_BITS;
/** Bytes per key chunk; a key's location is chunk << 16 | offset. */
const KCHUNK = 0x4000;
/** The index (linear probing) is rebuilt when live + deleted slots pass MAX_LOAD, to MIN_LOAD live. */
const MAX_LOAD = 0.8;
const MIN_LOAD = 0.6;

function fnv1a(b: Uint8Array, len: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

export class Store {
  private count = 0;
  private readonly recs: Buffer[] = [];
  private readonly keyChunks: Buffer[] = [];
  /** Next free byte in the last key chunk. */
  private keyTail = KCHUNK;
  private keyGarbage = 0;
  /** id + 1 per slot; 0 empty, -1 deleted. */
  private table = new Int32Array(0);
  private tableUsed = 0;
  /** Records whose uid or resourceVersion does not fit the fixed layout. */
  private readonly odd = new Map<number, { uid: string; rv: string }>();
  private scratch = Buffer.alloc(1024);

  get size(): number {
    return this.count;
  }

  private chunk(id: number): Buffer {
    return this.recs[id >>> CHUNK_BITS];
  }

  private static off(id: number): number {
    return (id & (CHUNK - 1)) * REC;
  }

  private hashOf(id: number): number {
    return this.chunk(id).readUInt32LE(Store.off(id) + R_KHASH);
  }

  /** UTF-8 bytes of `key` into scratch; returns the length. */
  private encodeKey(key: string): number {
    if (key.length * 3 > this.scratch.length) this.scratch = Buffer.alloc(key.length * 3);
    const len = this.scratch.write(key, 0, 'utf8');
    if (len >= KCHUNK) throw new Error(`object key of ${len} bytes is too long to remember (max ${KCHUNK - 1})`);
    return len;
  }

  private keyBuf(id: number): { buf: Buffer; off: number; len: number } {
    const r = this.chunk(id);
    const o = Store.off(id);
    const loc = r.readUInt32LE(o + R_KLOC);
    return { buf: this.keyChunks[loc >>> 16], off: loc & 0xffff, len: r.readUInt16LE(o + R_KLEN) };
  }

  private sameKey(id: number, len: number): boolean {
    const r = this.chunk(id);
    const o = Store.off(id);
    if (r.readUInt16LE(o + R_KLEN) !== len) return false;
    const loc = r.readUInt32LE(o + R_KLOC);
    const k = this.keyChunks[loc >>> 16];
    const off = loc & 0xffff;
    const s = this.scratch;
    for (let i = 0; i < len; i++) if (k[off + i] !== s[i]) return false;
    return true;
  }

  /** Slot of the key encoded in scratch (`len` bytes, hash `h`), or -1. */
  private find(len: number, h: number): number {
    const t = this.table;
    if (t.length === 0) return -1;
    const n = t.length;
    for (let i = h % n; ; i = i + 1 === n ? 0 : i + 1) {
      const v = t[i];
      if (v === 0) return -1;
      if (v > 0 && this.hashOf(v - 1) === h && this.sameKey(v - 1, len)) return i;
    }
  }

  private idOf(key: string): number {
    const len = this.encodeKey(key);
    const slot = this.find(len, fnv1a(this.scratch, len));
    return slot < 0 ? -1 : this.table[slot] - 1;
  }

  has(key: string): boolean {
    return this.idOf(key) >= 0;
  }

  get(key: string): ObjState | undefined {
    const id = this.idOf(key);
    return id < 0 ? undefined : this.read(id);
  }

  /** Only the resourceVersion and uid (the relist fast path: no hex decoding of the rest). */
  identity(key: string): { uid: string; rv: string } | undefined {
    const id = this.idOf(key);
    if (id < 0) return undefined;
    const flags = this.chunk(id)[Store.off(id) + R_FLAGS];
    return { uid: this.uidOf(id, flags), rv: this.rvOf(id, flags) };
  }

  private uidOf(id: number, flags: number): string {
    if (!(flags & F_UUID)) return this.odd.get(id)!.uid;
    const o = Store.off(id) + R_UID;
    const h = this.chunk(id).toString('hex', o, o + 16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  private rvOf(id: number, flags: number): string {
    if (!(flags & F_NUM_RV)) return this.odd.get(id)!.rv;
    const r = this.chunk(id);
    const o = Store.off(id) + R_RV;
    return String(r.readUInt16LE(o + 6) * 2 ** 48 + r.readUIntLE(o, 6));
  }

  private read(id: number): ObjState {
    const o = Store.off(id);
    const r = this.chunk(id);
    const flags = r[o + R_FLAGS];
    return {
      uid: this.uidOf(id, flags),
      rv: this.rvOf(id, flags),
      fp: FINGERPRINT_PREFIX + r.toString('hex', o + R_FP, o + R_FP + FP_BYTES),
      labelsHash: r.toString('hex', o + R_HASHES, o + R_HASHES + HASH_BYTES),
      annotationsHash: r.toString('hex', o + R_HASHES + HASH_BYTES, o + R_HASHES + 2 * HASH_BYTES),
      ownersHash: r.toString('hex', o + R_HASHES + 2 * HASH_BYTES, o + R_HASHES + 3 * HASH_BYTES),
      immutable: (flags & F_IMMUTABLE) !== 0,
      terminating: (flags & F_TERMINATING) !== 0,
    };
  }

  /** The state part of record `id` (key location, hash and mark are left alone). */
  private write(id: number, s: ObjState): void {
    const fp = s.fp.startsWith(FINGERPRINT_PREFIX) ? s.fp.slice(FINGERPRINT_PREFIX.length) : s.fp;
    if (fp.length !== FP_BYTES * 2 || !HEX_RE.test(fp)) throw new Error(`fingerprint "${s.fp}" is not hmac-sha256:<32 hex>`);
    for (const h of [s.labelsHash, s.annotationsHash, s.ownersHash]) {
      if (h.length !== HASH_BYTES * 2 || !HEX_RE.test(h)) throw new Error(`hash "${h}" is not ${HASH_BYTES * 2} hex digits`);
    }
    const uuid = UUID_RE.test(s.uid);
    const numRv = RV_RE.test(s.rv) && Number(s.rv) <= Number.MAX_SAFE_INTEGER;
    const o = Store.off(id);
    const r = this.chunk(id);
    r[o + R_FLAGS] = (r[o + R_FLAGS] & F_MARK) | (s.immutable ? F_IMMUTABLE : 0) | (s.terminating ? F_TERMINATING : 0) | (uuid ? F_UUID : 0) | (numRv ? F_NUM_RV : 0);
    r.write(fp, o + R_FP, 'hex');
    r.write(s.labelsHash, o + R_HASHES, 'hex');
    r.write(s.annotationsHash, o + R_HASHES + HASH_BYTES, 'hex');
    r.write(s.ownersHash, o + R_HASHES + 2 * HASH_BYTES, 'hex');
    if (uuid) r.write(s.uid.replace(/-/g, ''), o + R_UID, 'hex');
    if (numRv) {
      const n = Number(s.rv);
      r.writeUIntLE(n % 2 ** 48, o + R_RV, 6);
      r.writeUInt16LE(Math.floor(n / 2 ** 48), o + R_RV + 6);
    }
    if (uuid && numRv) this.odd.delete(id);
    else this.odd.set(id, { uid: flat(s.uid), rv: flat(s.rv) });
  }

  set(key: string, s: ObjState): void {
    const len = this.encodeKey(key);
    const h = fnv1a(this.scratch, len);
    const slot = this.find(len, h);
    if (slot >= 0) {
      this.write(this.table[slot] - 1, s);
      return;
    }
    if (this.tableUsed + 1 > this.table.length * MAX_LOAD) this.rehash(Math.max(16, Math.ceil((this.count + 1) / MIN_LOAD)));
    const id = this.count;
    if (id >>> CHUNK_BITS === this.recs.length) this.recs.push(Buffer.alloc(CHUNK * REC));
    const loc = this.appendKey(this.scratch, 0, len);
    this.count++;
    const r = this.chunk(id);
    const o = Store.off(id);
    r.writeUInt32LE(loc, o + R_KLOC);
    r.writeUInt16LE(len, o + R_KLEN);
    r.writeUInt32LE(h, o + R_KHASH);
    r[o + R_FLAGS] = 0;
    this.write(id, s);
    const n = this.table.length;
    let i = h % n;
    while (this.table[i] > 0) i = i + 1 === n ? 0 : i + 1;
    if (this.table[i] === 0) this.tableUsed++;
    this.table[i] = id + 1;
  }

  /** Copy `len` bytes of `src` into key storage; returns their location. Compacts when half is garbage. */
  private appendKey(src: Buffer, from: number, len: number): number {
    if (this.keyTail + len > KCHUNK) {
      if (this.keyGarbage > 0 && this.keyGarbage * 2 >= this.keyChunks.length * KCHUNK) {
        this.compactKeys();
        if (this.keyTail + len <= KCHUNK) return this.appendKey(src, from, len);
      }
      this.keyChunks.push(Buffer.alloc(KCHUNK));
      this.keyTail = 0;
    }
    const c = this.keyChunks.length - 1;
    src.copy(this.keyChunks[c], this.keyTail, from, from + len);
    const loc = (c << 16) | this.keyTail;
    this.keyTail += len;
    return loc >>> 0;
  }

  /** Rewrite every live key into fresh chunks (deleted keys' bytes are dropped). */
  private compactKeys(): void {
    const old = this.keyChunks.splice(0);
    this.keyTail = KCHUNK;
    this.keyGarbage = 0;
    for (let id = 0; id < this.count; id++) {
      const r = this.chunk(id);
      const o = Store.off(id);
      const loc = r.readUInt32LE(o + R_KLOC);
      r.writeUInt32LE(this.appendKey(old[loc >>> 16], loc & 0xffff, r.readUInt16LE(o + R_KLEN)), o + R_KLOC);
    }
  }

  delete(key: string): boolean {
    const len = this.encodeKey(key);
    const slot = this.find(len, fnv1a(this.scratch, len));
    if (slot < 0) return false;
    this.removeAt(slot);
    return true;
  }

  /** Remove the record in table slot `slot`; the last record moves into its place (records stay dense). */
  private removeAt(slot: number): void {
    const id = this.table[slot] - 1;
    this.table[slot] = -1;
    this.keyGarbage += this.chunk(id).readUInt16LE(Store.off(id) + R_KLEN);
    this.odd.delete(id);
    const last = this.count - 1;
    if (id !== last) {
      // Re-point the last record's slot at `id`, then move its bytes.
      const n = this.table.length;
      let i = this.hashOf(last) % n;
      while (this.table[i] !== last + 1) i = i + 1 === n ? 0 : i + 1;
      this.table[i] = id + 1;
      this.chunk(last).copy(this.chunk(id), Store.off(id), Store.off(last), Store.off(last) + REC);
      const o = this.odd.get(last);
      if (o) {
        this.odd.delete(last);
        this.odd.set(id, o);
      }
    }
    this.count = last;
    // Keep at most one empty record chunk.
    while (this.recs.length > 1 && (this.recs.length - 2) * CHUNK >= this.count) this.recs.pop();
    if (this.count === 0) {
      this.keyChunks.length = 0;
      this.keyTail = KCHUNK;
      this.keyGarbage = 0;
    }
  }

  private rehash(size: number): void {
    const t = new Int32Array(size);
    for (let id = 0; id < this.count; id++) {
      let i = this.hashOf(id) % size;
      while (t[i] !== 0) i = i + 1 === size ? 0 : i + 1;
      t[i] = id + 1;
    }
    this.table = t;
    this.tableUsed = this.count;
  }

  private keyAt(id: number): string {
    const { buf, off, len } = this.keyBuf(id);
    return buf.toString('utf8', off, off + len);
  }

  *keys(): IterableIterator<string> {
    for (let id = 0; id < this.count; id++) yield this.keyAt(id);
  }

  /** Every key (a snapshot; safe to modify the store while using it). */
  keyList(): string[] {
    return [...this.keys()];
  }

  /** Mark `key` as seen by the current relist. */
  mark(key: string): void {
    const id = this.idOf(key);
    if (id >= 0) this.chunk(id)[Store.off(id) + R_FLAGS] |= F_MARK;
  }

  /** Forget every relist mark (a new relist starts). */
  clearMarks(): void {
    for (let id = 0; id < this.count; id++) this.chunk(id)[Store.off(id) + R_FLAGS] &= ~F_MARK;
  }

  /** Remove every record not marked since the last sweep, returning their keys and states; clears all marks. */
  sweep(): { key: string; state: ObjState }[] {
    const gone: { key: string; state: ObjState }[] = [];
    for (let id = this.count - 1; id >= 0; id--) {
      const r = this.chunk(id);
      const o = Store.off(id);
      if (r[o + R_FLAGS] & F_MARK) {
        r[o + R_FLAGS] &= ~F_MARK;
        continue;
      }
      const key = this.keyAt(id);
      gone.push({ key, state: this.read(id) });
      // The record moved into `id` (the last one) was already visited: records below `id` are untouched.
      this.delete(key);
    }
    return gone.reverse();
  }
}

/** A sequential copy of a string, holding no references to the strings it was built from. */
function flat(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

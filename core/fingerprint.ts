/**
 * Keyed content fingerprints. The forwarder puts them in events; the handlers record them on copies and pod
 * templates. HMAC-SHA256 with a per-cluster key (Secret ripple-system/ripple-fingerprint-key, data key `key`),
 * so a low-entropy secret value cannot be guessed from its fingerprint. Order-proof: keys are sorted.
 */
import { createHash, createHmac, createSecretKey, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { ANN_METADATA_FINGERPRINT, SENSITIVE_ANNOTATIONS } from './constants.ts';

export const FINGERPRINT_PREFIX = 'hmac-sha256:';

/** What counts as an object's content, per kind. Everything else (metadata churn) is not content. */
export interface ContentLike {
  kind?: string;
  type?: string;
  data?: Record<string, string> | null;
  binaryData?: Record<string, string> | null;
  immutable?: boolean | null;
  metadata?: { labels?: Record<string, string> | null } | null;
  status?: { phase?: string } | null;
}

function sortedPairs(m: Record<string, string> | null | undefined): [string, string][] {
  return Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Canonical content string: Secret/ConfigMap = type + data + binaryData; Namespace = labels + phase. */
export function canonicalContent(obj: ContentLike): string {
  if (obj.kind === 'Namespace') {
    return JSON.stringify({ labels: sortedPairs(obj.metadata?.labels), phase: obj.status?.phase ?? 'Active' });
  }
  return JSON.stringify({ type: obj.type ?? null, data: sortedPairs(obj.data), binaryData: sortedPairs(obj.binaryData) });
}

/** KeyObjects made from Buffer keys: Node re-imports a Buffer key on every createHmac (~8x slower). */
const keyObjects = new WeakMap<Buffer, KeyObject>();
let lastString: { key: string; obj: KeyObject } | null = null;

/** The key as a KeyObject, made once per Buffer (the handlers' cached key) or per consecutive string key. */
function keyObject(key: Buffer | string | KeyObject): KeyObject {
  if (typeof key === 'string') {
    if (lastString?.key !== key) lastString = { key, obj: createSecretKey(Buffer.from(key, 'utf8')) };
    return lastString.obj;
  }
  if (!Buffer.isBuffer(key)) return key;
  let k = keyObjects.get(key);
  if (!k) keyObjects.set(key, (k = createSecretKey(key)));
  return k;
}

/**
 * `hmac-sha256:<32 hex>` (128 bits of the MAC) of the object's content. A Buffer or string key is turned into a
 * KeyObject once (cached; a Buffer key must not be mutated after use); a KeyObject is used as given.
 */
export function fingerprint(key: Buffer | string | KeyObject, obj: ContentLike): string {
  const mac = createHmac('sha256', keyObject(key)).update(canonicalContent(obj)).digest('hex');
  return FINGERPRINT_PREFIX + mac.slice(0, 32);
}

export const METADATA_FINGERPRINT_PREFIX = 'sha256:';

const SENSITIVE = new Set<string>(SENSITIVE_ANNOTATIONS);

/**
 * `sha256:<32 hex>` (128 bits) of an object's labels and annotations: canonical JSON of the label pairs and the
 * annotation pairs, each sorted by key. Left out: the `ripple.dev/metadata-fingerprint` annotation itself (it
 * holds this value) and the sensitive annotations (SENSITIVE_ANNOTATIONS: kubectl's last-applied-configuration
 * can hold Secret data in clear). The clone handler records it on every copy it writes (over the copy's final
 * labels and annotations); the forwarder recomputes it from the object in hand to tell a removal-only edit of a
 * copy's labels or annotations from ripple's own write (forwarder/diff.ts `drifted`). Unkeyed, unlike
 * `fingerprint`: what it covers is metadata, never data, and the clone planner never propagates sensitive
 * annotations, so there is no low-entropy secret to guess from it.
 */
export function metadataFingerprint(labels: Record<string, string> | null | undefined, annotations: Record<string, string> | null | undefined): string {
  const ann = sortedPairs(annotations).filter(([k]) => k !== ANN_METADATA_FINGERPRINT && !SENSITIVE.has(k));
  const digest = createHash('sha256').update(JSON.stringify({ labels: sortedPairs(labels), annotations: ann })).digest('hex');
  return METADATA_FINGERPRINT_PREFIX + digest.slice(0, 32);
}

/** A new random key (32 bytes, base64) for a cluster's fingerprint Secret. */
export function newFingerprintKey(): string {
  return randomBytes(32).toString('base64');
}

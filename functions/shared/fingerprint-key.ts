/**
 * Reading the per-cluster fingerprint key (Secret ripple-system/ripple-fingerprint-key, data key `key`).
 * The HMAC key is the Secret value's bytes. Cached per cluster for `ttlMs` (default 5 min) so a batch costs at
 * most one read; a rotated key is picked up after the TTL.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { FINGERPRINT_KEY_SECRET, RIPPLE_NAMESPACE } from './constants.ts';
import { RetryableError } from './errors.ts';
import { isNotFound } from './kube/errors.ts';

export const FINGERPRINT_KEY_DATA = 'key';

export async function readFingerprintKey(core: Pick<CoreV1Api, 'readNamespacedSecret'>): Promise<Buffer> {
  let secret;
  try {
    secret = await core.readNamespacedSecret({ name: FINGERPRINT_KEY_SECRET, namespace: RIPPLE_NAMESPACE });
  } catch (err) {
    if (isNotFound(err)) {
      throw new RetryableError(`fingerprint key Secret ${RIPPLE_NAMESPACE}/${FINGERPRINT_KEY_SECRET}: not found (the forwarder creates it on start; retrying)`);
    }
    throw err;
  }
  const raw = secret.data?.[FINGERPRINT_KEY_DATA];
  if (!raw) throw new RetryableError(`fingerprint key Secret ${RIPPLE_NAMESPACE}/${FINGERPRINT_KEY_SECRET}: data key "${FINGERPRINT_KEY_DATA}" is missing or empty`);
  return Buffer.from(raw, 'base64');
}

/** A per-cluster cache over readFingerprintKey. */
export function fingerprintKeyCache(ttlMs = 5 * 60_000, now: () => number = Date.now): (cluster: string, core: Pick<CoreV1Api, 'readNamespacedSecret'>) => Promise<Buffer> {
  const cache = new Map<string, { at: number; key: Promise<Buffer> }>();
  return (cluster, core) => {
    const hit = cache.get(cluster);
    if (hit && now() - hit.at < ttlMs) return hit.key;
    const key = readFingerprintKey(core);
    cache.set(cluster, { at: now(), key });
    key.catch(() => cache.delete(cluster));
    return key;
  };
}

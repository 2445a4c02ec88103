/**
 * The per-cluster fingerprint key (Secret ripple-system/ripple-fingerprint-key, data key `key`). The HMAC key is
 * the Secret value's bytes.
 * - The handlers read it (`readFingerprintKey`), cached per cluster for `ttlMs` (default 5 min) so a batch costs
 *   at most one read; a rotated key is picked up after the TTL.
 * - The forwarder ensures it (`ensureFingerprintKey`): created with a fresh random value when absent; a
 *   concurrent creator wins and everyone re-reads its value.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { FINGERPRINT_KEY_SECRET, LABEL_MANAGED_BY, MANAGED_BY_VALUE, RIPPLE_NAMESPACE } from '../core/constants.ts';
import { ConflictError, PermanentError, RetryableError } from '../core/errors.ts';
import { newFingerprintKey } from '../core/fingerprint.ts';
import { isNotFound } from './errors.ts';
import type { RawApi } from './http.ts';

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

function keyFrom(secret: { data?: Record<string, string> } | undefined, namespace: string): Buffer {
  const b64 = secret?.data?.[FINGERPRINT_KEY_DATA];
  const key = typeof b64 === 'string' ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
  if (key.length < 16) {
    throw new PermanentError(`Secret ${namespace}/${FINGERPRINT_KEY_SECRET}: data.${FINGERPRINT_KEY_DATA} is missing or shorter than 16 bytes; delete the Secret to have a new key generated`);
  }
  return key;
}

/**
 * The key, created when absent (the forwarder, at start). Errors are the client's (./kube/errors.ts): a 403
 * names the verb and resource to grant.
 */
export async function ensureFingerprintKey(raw: RawApi, namespace: string, log: (level: 'info', msg: string, fields?: Record<string, unknown>) => void = () => {}): Promise<Buffer> {
  type Secret = { data?: Record<string, string> };
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
  try {
    return keyFrom(await raw.request<Secret>('GET', `${path}/${FINGERPRINT_KEY_SECRET}`), namespace);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    const created = await raw.request<Secret>('POST', path, {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: { name: FINGERPRINT_KEY_SECRET, namespace, labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE } },
        data: { [FINGERPRINT_KEY_DATA]: Buffer.from(newFingerprintKey()).toString('base64') },
      },
    });
    log('info', 'fingerprint key created', { secret: `${namespace}/${FINGERPRINT_KEY_SECRET}` });
    return keyFrom(created, namespace);
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
  }
  return keyFrom(await raw.request<Secret>('GET', `${path}/${FINGERPRINT_KEY_SECRET}`), namespace);
}

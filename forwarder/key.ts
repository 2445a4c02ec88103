/**
 * The per-cluster fingerprint key: Secret ripple-system/ripple-fingerprint-key, data key `key`. The HMAC key is
 * the Secret value's bytes (i.e. `Buffer.from(secret.data.key, 'base64')`); the handlers read it the same way.
 * Created with a fresh random value when absent; a concurrent creator wins and everyone re-reads its value.
 */
import { FIELD_MANAGER, FINGERPRINT_KEY_SECRET, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../functions/shared/constants.ts';
import { newFingerprintKey } from '../functions/shared/fingerprint.ts';
import { FINGERPRINT_KEY_DATA as FINGERPRINT_DATA_KEY } from '../functions/shared/fingerprint-key.ts';
import type { KubeHttp } from './kube.ts';
import type { Log } from './log.ts';
import { silentLog } from './log.ts';


function status(err: unknown): number | undefined {
  return (err as { statusCode?: number })?.statusCode;
}

function keyFrom(secret: any, namespace: string): Buffer {
  const b64 = secret?.data?.[FINGERPRINT_DATA_KEY];
  const key = typeof b64 === 'string' ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
  if (key.length < 16) {
    throw new Error(`Secret ${namespace}/${FINGERPRINT_KEY_SECRET}: data.${FINGERPRINT_DATA_KEY} is missing or shorter than 16 bytes; delete the Secret to have a new key generated`);
  }
  return key;
}

function explain(err: unknown, namespace: string, verb: string): Error {
  const code = status(err);
  if (code === 403) {
    return new Error(`cannot ${verb} Secret ${namespace}/${FINGERPRINT_KEY_SECRET} (forbidden): grant the forwarder's ServiceAccount get on it and create on secrets in ${namespace}`, { cause: err });
  }
  if (code === 404 && verb === 'create') return new Error(`cannot create Secret ${namespace}/${FINGERPRINT_KEY_SECRET}: namespace ${namespace} does not exist`, { cause: err });
  return err instanceof Error ? err : new Error(String(err));
}

export async function ensureFingerprintKey(http: KubeHttp, namespace: string, log: Log = silentLog): Promise<Buffer> {
  const path = `/api/v1/namespaces/${namespace}/secrets`;
  try {
    return keyFrom(await http.request('GET', `${path}/${FINGERPRINT_KEY_SECRET}`), namespace);
  } catch (err) {
    if (status(err) !== 404) throw explain(err, namespace, 'get');
  }
  try {
    const created = await http.request('POST', path, {
      query: { fieldManager: FIELD_MANAGER },
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: { name: FINGERPRINT_KEY_SECRET, namespace, labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE } },
        data: { [FINGERPRINT_DATA_KEY]: Buffer.from(newFingerprintKey()).toString('base64') },
      },
    });
    log('info', 'fingerprint key created', { secret: `${namespace}/${FINGERPRINT_KEY_SECRET}` });
    return keyFrom(created, namespace);
  } catch (err) {
    if (status(err) !== 409) throw explain(err, namespace, 'create');
  }
  return keyFrom(await http.request('GET', `${path}/${FINGERPRINT_KEY_SECRET}`), namespace);
}

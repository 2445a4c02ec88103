/** Event fixtures shared by the pattern tests. */
import type { ObjectChangeDetail } from '../../events/schema.ts';

/** An object-change detail's fields other than the object's identity: spread it, then set kind, name and what matters. */
export const DETAIL_BASE = {
  cluster: 'prod',
  apiVersion: 'v1',
  uid: 'u',
  resourceVersion: '1',
  labels: {},
  annotations: {},
  ownerReferences: [],
  fingerprint: `hmac-sha256:${'a'.repeat(64)}`,
  changes: [],
  observedAt: '2026-01-01T00:00:00Z',
} satisfies Omit<ObjectChangeDetail, 'kind' | 'name'>;

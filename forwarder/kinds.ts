/**
 * The kinds the forwarder watches, as a table: adding a kind is one entry. Server-side field selectors keep
 * Helm release Secrets and service-account tokens off the wire; `skipReason` repeats those checks on the
 * client (named checks, first reason wins) so a server that ignores a selector still cannot leak them into
 * events or memory.
 */
import { globMatch } from '../core/policy/select.ts';
import { RIPPLE_NAMESPACE, SNAPSHOT_PREFIX } from '../core/constants.ts';

export const KIND_NAMES = ['Namespace', 'Secret', 'ConfigMap'] as const;
export type KindName = (typeof KIND_NAMES)[number];

export interface KindSpec {
  kind: KindName;
  apiVersion: 'v1';
  /** Cluster-wide collection path (list and watch). */
  path: string;
  namespaced: boolean;
  /** Default server-side field selector. */
  fieldSelector?: string;
}

/** Secret types never forwarded by default: Helm release records and legacy service-account tokens. */
export const EXCLUDED_SECRET_TYPES = ['helm.sh/release.v1', 'kubernetes.io/service-account-token'] as const;

export const KINDS: Record<KindName, KindSpec> = {
  Namespace: { kind: 'Namespace', apiVersion: 'v1', path: '/api/v1/namespaces', namespaced: false },
  Secret: {
    kind: 'Secret',
    apiVersion: 'v1',
    path: '/api/v1/secrets',
    namespaced: true,
    fieldSelector: EXCLUDED_SECRET_TYPES.map((t) => `type!=${t}`).join(','),
  },
  ConfigMap: { kind: 'ConfigMap', apiVersion: 'v1', path: '/api/v1/configmaps', namespaced: true },
};

/** `namespace/name`, or `name` for cluster-scoped kinds: the key of the forwarder's per-kind state map. */
export function objectKey(obj: { metadata?: { namespace?: string; name?: string } }): string {
  const m = obj.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name}` : `${m.name}`;
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export interface SkipContext {
  /** Namespace names or globs (`kube-*`), matched with the policy's `globMatch`. */
  excludeNamespaces: readonly string[];
  excludedSecretTypes: readonly string[];
}

type Check = (spec: KindSpec, obj: any, ctx: SkipContext) => string | null;

const checks: Check[] = [
  function missingIdentity(_spec, obj) {
    return obj?.metadata?.name ? null : 'object without metadata.name';
  },
  function excludedNamespace(spec, obj, ctx) {
    const ns: string | undefined = spec.kind === 'Namespace' ? obj.metadata.name : obj.metadata.namespace;
    if (!ns) return null;
    // protect's last-known-good snapshots are what clone copies protected sources from: always forwarded
    if (spec.kind === 'Secret' && ns === RIPPLE_NAMESPACE && String(obj.metadata.name).startsWith(SNAPSHOT_PREFIX)) return null;
    return ctx.excludeNamespaces.some((g) => globMatch(g, ns)) ? `namespace ${ns} is excluded` : null;
  },
  function excludedSecretType(spec, obj, ctx) {
    if (spec.kind !== 'Secret') return null;
    return ctx.excludedSecretTypes.includes(obj.type) ? `secret type ${obj.type} is excluded` : null;
  },
];

/** Why the forwarder ignores this object, or null when it is forwarded. */
export function skipReason(spec: KindSpec, obj: any, ctx: SkipContext): string | null {
  for (const check of checks) {
    const why = check(spec, obj, ctx);
    if (why) return why;
  }
  return null;
}

/**
 * Discovery documents: /version, /api, /apis, /api/v1, /apis/<group>[/<version>], in both the legacy form
 * (APIVersions, APIGroupList, APIResourceList) and aggregated discovery (apidiscovery.k8s.io/v2
 * APIGroupDiscoveryList) when the client asks for it in Accept, as kubectl 1.32 does first.
 */
import { groups, groupVersion, RESOURCES, resourcesIn, type ResourceType } from './resources.ts';

const SCALE_KIND = { group: 'autoscaling', version: 'v1', kind: 'Scale' };

export const AGGREGATED_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-ripple',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** Whether the Accept header asks for aggregated discovery v2 (before any plain JSON preference). */
export function wantsAggregated(accept: string | undefined): boolean {
  if (!accept) return false;
  for (const part of accept.split(',')) {
    const p = part.replace(/\s+/g, '');
    if (p.startsWith('application/json') && p.includes('g=apidiscovery.k8s.io') && p.includes('v=v2') && !p.includes('v=v2beta1')) return true;
    if (p === 'application/json' || p === '*/*') return false;
  }
  return false;
}

export function apiVersions(serverAddress: string): any {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroup(group: string, versions: string[]): any {
  const gvs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions: gvs, preferredVersion: gvs[0] };
}

function buildApiGroupList(): any {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups().filter((g) => g.group !== '').map((g) => apiGroup(g.group, g.versions)),
  };
}


function subresourceVerbs(sub: string): string[] {
  return sub === 'finalize' ? ['update'] : ['get', 'patch', 'update'];
}

function buildApiResourceList(group: string, version: string): any {
  const list = resourcesIn(group, version);
  const resources: any[] = [];
  for (const r of list) {
    resources.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length ? { categories: r.categories } : {}),
    });
    for (const s of r.subresources) {
      resources.push(s === 'scale'
        ? { name: `${r.plural}/${s}`, singularName: '', namespaced: r.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: subresourceVerbs(s) }
        : { name: `${r.plural}/${s}`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: subresourceVerbs(s) });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion({ group, version }), resources };
}

function discoveryResource(r: ResourceType): any {
  return {
    resource: r.plural,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: r.verbs,
    ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length ? { categories: r.categories } : {}),
    ...(r.subresources.length
      ? { subresources: r.subresources.map((s) => ({ subresource: s, responseKind: s === 'scale' ? SCALE_KIND : { group: r.group, version: r.version, kind: r.kind }, verbs: subresourceVerbs(s) })) }
      : {}),
  };
}

function buildAggregated(core: boolean): any {
  const items = groups()
    .filter((g) => (core ? g.group === '' : g.group !== ''))
    .map((g) => ({
      metadata: { name: g.group, creationTimestamp: null },
      versions: g.versions.map((v) => ({
        version: v,
        resources: RESOURCES.filter((r) => r.group === g.group && r.version === v).map(discoveryResource),
        freshness: 'Current',
      })),
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}

// The served resources are fixed, so every discovery document is built once, not per request.
const GROUP_LIST = buildApiGroupList();
const GROUP_DOCS = new Map<string, any>(groups().filter((g) => g.group !== '').map((g) => [g.group, { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(g.group, g.versions) }]));
const RESOURCE_LISTS = new Map<string, any>(groups().flatMap((g) => g.versions.map((v) => [`${g.group}/${v}`, buildApiResourceList(g.group, v)] as const)));
const AGGREGATED_CORE = buildAggregated(true);
const AGGREGATED_GROUPS = buildAggregated(false);

export function apiGroupList(): any {
  return GROUP_LIST;
}

export function apiGroupDoc(group: string): any | null {
  return GROUP_DOCS.get(group) ?? null;
}

export function apiResourceList(group: string, version: string): any | null {
  return RESOURCE_LISTS.get(`${group}/${version}`) ?? null;
}

/** Aggregated discovery for /api (core = true) or /apis. */
export function aggregated(core: boolean): any {
  return core ? AGGREGATED_CORE : AGGREGATED_GROUPS;
}

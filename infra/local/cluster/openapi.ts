/**
 * OpenAPI v3 (`/openapi/v3` index and one document per group-version), generated from the resource table.
 * Depth: every path and operation the server serves (with `x-kubernetes-group-version-kind`,
 * `x-kubernetes-action` and the query parameters, `fieldValidation` included, so kubectl delegates
 * validation to the server), and per kind a shallow schema: ObjectMeta in full, the top-level fields of
 * Secret, ConfigMap, Namespace, RBAC and Lease objects, while `spec`/`status` of workloads and policies are
 * open objects (`x-kubernetes-preserve-unknown-fields`). Strategic-merge metadata for nested lists is not
 * published: kubectl then computes strategic merge patches from its compiled-in types, as it does for any
 * built-in kind. `/openapi/v2` is served in JSON (Swagger 2.0, same content), not in protobuf: kubectl 1.32
 * uses v3 first and falls back to its compiled-in types when v2 is not available as protobuf.
 */
import { createHash } from 'node:crypto';
import { groups, groupVersion, resourcesIn, type ResourceType } from './resources.ts';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const SCALE = 'io.k8s.api.autoscaling.v1.Scale';

function pkgFor(r: ResourceType): string {
  if (r.group === '') return 'io.k8s.api.core.v1';
  const short = r.group.replace(/\.k8s\.io$/, '').replace(/\.authorization$/, '').split('.')[0];
  const name = r.group === 'rbac.authorization.k8s.io' ? 'rbac' : short;
  return `io.k8s.api.${name}.${r.version}`;
}

export function schemaName(r: ResourceType): string {
  return `${pkgFor(r)}.${r.kind}`;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const str = { type: 'string' };
const strMap = { type: 'object', additionalProperties: { type: 'string', default: '' } };
const openObject = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

function metaSchemas(): Record<string, any> {
  return {
    [`${META}.ObjectMeta`]: {
      description: 'ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.',
      type: 'object',
      properties: {
        annotations: strMap,
        creationTimestamp: ref(`${META}.Time`),
        deletionGracePeriodSeconds: { type: 'integer', format: 'int64' },
        deletionTimestamp: ref(`${META}.Time`),
        finalizers: { type: 'array', items: { type: 'string', default: '' }, 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' },
        generateName: str,
        generation: { type: 'integer', format: 'int64' },
        labels: strMap,
        managedFields: { type: 'array', items: { allOf: [ref(`${META}.ManagedFieldsEntry`)], default: {} } },
        name: str,
        namespace: str,
        ownerReferences: {
          type: 'array', items: { allOf: [ref(`${META}.OwnerReference`)], default: {} },
          'x-kubernetes-list-map-keys': ['uid'], 'x-kubernetes-list-type': 'map', 'x-kubernetes-patch-merge-key': 'uid', 'x-kubernetes-patch-strategy': 'merge',
        },
        resourceVersion: str,
        selfLink: str,
        uid: str,
      },
    },
    [`${META}.Time`]: { description: 'Time is a wrapper around time.Time.', type: 'string', format: 'date-time' },
    [`${META}.ManagedFieldsEntry`]: {
      type: 'object',
      properties: { apiVersion: str, fieldsType: str, fieldsV1: { type: 'object' }, manager: str, operation: str, subresource: str, time: ref(`${META}.Time`) },
    },
    [`${META}.OwnerReference`]: {
      type: 'object',
      required: ['apiVersion', 'kind', 'name', 'uid'],
      properties: { apiVersion: { type: 'string', default: '' }, blockOwnerDeletion: { type: 'boolean' }, controller: { type: 'boolean' }, kind: { type: 'string', default: '' }, name: { type: 'string', default: '' }, uid: { type: 'string', default: '' } },
      'x-kubernetes-map-type': 'atomic',
    },
    [`${META}.ListMeta`]: { type: 'object', properties: { continue: str, remainingItemCount: { type: 'integer', format: 'int64' }, resourceVersion: str, selfLink: str } },
    [`${META}.Status`]: {
      type: 'object',
      properties: { apiVersion: str, code: { type: 'integer', format: 'int32' }, details: { type: 'object' }, kind: str, message: str, metadata: ref(`${META}.ListMeta`), reason: str, status: str },
      'x-kubernetes-group-version-kind': [{ group: '', kind: 'Status', version: 'v1' }],
    },
    [`${META}.Patch`]: { description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.', type: 'object' },
    [`${META}.DeleteOptions`]: {
      type: 'object',
      properties: { apiVersion: str, dryRun: { type: 'array', items: str }, gracePeriodSeconds: { type: 'integer', format: 'int64' }, kind: str, orphanDependents: { type: 'boolean' }, preconditions: { type: 'object', properties: { resourceVersion: str, uid: str } }, propagationPolicy: str },
    },
    [`${META}.WatchEvent`]: { type: 'object', required: ['type', 'object'], properties: { object: { type: 'object' }, type: { type: 'string', default: '' } } },
  };
}

/** Top-level fields per kind besides apiVersion, kind and metadata. */
function kindProperties(r: ResourceType): Record<string, any> {
  switch (r.kind) {
    case 'Secret':
      return { data: { type: 'object', additionalProperties: { type: 'string', format: 'byte' } }, immutable: { type: 'boolean' }, stringData: strMap, type: str };
    case 'ConfigMap':
      return { binaryData: { type: 'object', additionalProperties: { type: 'string', format: 'byte' } }, data: strMap, immutable: { type: 'boolean' } };
    case 'Namespace':
      return { spec: { type: 'object', properties: { finalizers: { type: 'array', items: str, 'x-kubernetes-list-type': 'atomic' } } }, status: { type: 'object', properties: { conditions: { type: 'array', items: { type: 'object' } }, phase: str } } };
    case 'ServiceAccount':
      return { automountServiceAccountToken: { type: 'boolean' }, imagePullSecrets: { type: 'array', items: { type: 'object', properties: { name: str } }, 'x-kubernetes-list-type': 'atomic' }, secrets: { type: 'array', items: { type: 'object' }, 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' } };
    case 'Role':
    case 'ClusterRole':
      return {
        rules: { type: 'array', items: { type: 'object', properties: { apiGroups: { type: 'array', items: str }, nonResourceURLs: { type: 'array', items: str }, resourceNames: { type: 'array', items: str }, resources: { type: 'array', items: str }, verbs: { type: 'array', items: str } } }, 'x-kubernetes-list-type': 'atomic' },
        ...(r.kind === 'ClusterRole' ? { aggregationRule: openObject } : {}),
      };
    case 'RoleBinding':
    case 'ClusterRoleBinding':
      return {
        roleRef: { type: 'object', required: ['apiGroup', 'kind', 'name'], properties: { apiGroup: str, kind: str, name: str }, 'x-kubernetes-map-type': 'atomic' },
        subjects: { type: 'array', items: { type: 'object', properties: { apiGroup: str, kind: str, name: str, namespace: str } }, 'x-kubernetes-list-type': 'atomic' },
      };
    case 'Event':
      return r.group === ''
        ? { action: str, count: { type: 'integer' }, eventTime: str, firstTimestamp: str, involvedObject: openObject, lastTimestamp: str, message: str, reason: str, related: openObject, reportingComponent: str, reportingInstance: str, series: openObject, source: openObject, type: str }
        : { action: str, deprecatedCount: { type: 'integer' }, deprecatedFirstTimestamp: str, deprecatedLastTimestamp: str, deprecatedSource: openObject, eventTime: str, note: str, reason: str, regarding: openObject, related: openObject, reportingController: str, reportingInstance: str, series: openObject, type: str };
    case 'ControllerRevision':
      return { data: openObject, revision: { type: 'integer', format: 'int64' } };
    default:
      return { spec: openObject, status: openObject };
  }
}

function gvkExt(r: ResourceType, kind = r.kind) {
  return { group: r.group, version: r.version, kind };
}

function kindSchemas(r: ResourceType): Record<string, any> {
  const base = {
    apiVersion: { description: 'APIVersion defines the versioned schema of this representation of an object.', type: 'string' },
    kind: { description: 'Kind is a string value representing the REST resource this object represents.', type: 'string' },
  };
  const out: Record<string, any> = {
    [schemaName(r)]: {
      description: `${r.kind} (${groupVersion(r)}) as served by the embedded cluster.`,
      type: 'object',
      properties: { ...base, metadata: { allOf: [ref(`${META}.ObjectMeta`)], default: {} }, ...kindProperties(r) },
      'x-kubernetes-group-version-kind': [gvkExt(r)],
    },
  };
  if (!r.virtual) {
    out[`${schemaName(r)}List`] = {
      type: 'object',
      required: ['items'],
      properties: { ...base, items: { type: 'array', items: { allOf: [ref(schemaName(r))], default: {} } }, metadata: { allOf: [ref(`${META}.ListMeta`)], default: {} } },
      'x-kubernetes-group-version-kind': [gvkExt(r, r.listKind)],
    };
  }
  return out;
}

const q = (name: string, description: string, type = 'string') => ({ name, in: 'query', description, schema: { type, uniqueItems: true } });
const P = {
  pretty: q('pretty', "If 'true', then the output is pretty printed."),
  dryRun: q('dryRun', 'When present, indicates that modifications should not be persisted. Valid value: All.'),
  fieldManager: q('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  fieldValidation: q('fieldValidation', 'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.'),
  force: q('force', 'Force is going to "force" Apply requests.', 'boolean'),
  labelSelector: q('labelSelector', 'A selector to restrict the list of returned objects by their labels.'),
  fieldSelector: q('fieldSelector', 'A selector to restrict the list of returned objects by their fields.'),
  limit: q('limit', 'limit is a maximum number of responses to return for a list call.', 'integer'),
  continue: q('continue', 'The continue option should be set when retrieving more results from the server.'),
  resourceVersion: q('resourceVersion', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
  resourceVersionMatch: q('resourceVersionMatch', 'resourceVersionMatch determines how resourceVersion is applied to list calls.'),
  timeoutSeconds: q('timeoutSeconds', 'Timeout for the list/watch call.', 'integer'),
  watch: q('watch', 'Watch for changes to the described resources.', 'boolean'),
  allowWatchBookmarks: q('allowWatchBookmarks', 'allowWatchBookmarks requests watch events with type "BOOKMARK".', 'boolean'),
  sendInitialEvents: q('sendInitialEvents', 'sendInitialEvents=true may be set together with watch=true.', 'boolean'),
  gracePeriodSeconds: q('gracePeriodSeconds', 'The duration in seconds before the object should be deleted.', 'integer'),
  propagationPolicy: q('propagationPolicy', "Whether and how garbage collection will be performed. Acceptable values are: 'Orphan', 'Background', 'Foreground'."),
  orphanDependents: q('orphanDependents', 'Deprecated: please use the PropagationPolicy.', 'boolean'),
};
const pathParam = (name: string, description: string) => ({ name, in: 'path', description, required: true, schema: { type: 'string', uniqueItems: true } });

function content(schema: any, types = ['application/json', 'application/yaml']): any {
  return Object.fromEntries(types.map((t) => [t, { schema }]));
}

function opId(verb: string, r: ResourceType, namespaced: boolean, suffix = ''): string {
  const g = r.group === '' ? 'Core' : r.group.split('.')[0].replace(/^./, (c) => c.toUpperCase());
  const v = r.version.replace(/^./, (c) => c.toUpperCase());
  return `${verb}${g}${v}${namespaced ? 'Namespaced' : ''}${r.kind}${suffix}`;
}

function op(r: ResourceType, action: string, operationId: string, parameters: any[], response: any, requestBody?: any, code = '200'): any {
  return {
    tags: [r.group === '' ? 'core_v1' : `${r.group.split('.')[0]}_${r.version}`],
    operationId,
    parameters,
    ...(requestBody ? { requestBody } : {}),
    responses: { [code]: { description: code === '201' ? 'Created' : 'OK', content: content(response) }, '401': { description: 'Unauthorized' } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvkExt(r),
  };
}

function resourcePaths(r: ResourceType): Record<string, any> {
  const prefix = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const obj = ref(schemaName(r));
  const list = ref(`${schemaName(r)}List`);
  const body = { content: content(obj, ['*/*']), required: true };
  const out: Record<string, any> = {};
  const nsParam = pathParam('namespace', 'object name and auth scope, such as for teams and projects');
  const nameParam = pathParam('name', `name of the ${r.kind}`);
  const base = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.plural}` : `${prefix}/${r.plural}`;
  const scopeParams = r.namespaced ? [nsParam] : [];
  if (r.virtual) {
    out[base] = { post: op(r, 'post', opId('create', r, r.namespaced), [P.dryRun, P.fieldManager, P.fieldValidation, P.pretty], obj, body, '201'), parameters: scopeParams };
    return out;
  }
  const listParams = [P.allowWatchBookmarks, P.continue, P.fieldSelector, P.labelSelector, P.limit, P.resourceVersion, P.resourceVersionMatch, P.sendInitialEvents, P.timeoutSeconds, P.watch];
  out[base] = {
    get: op(r, 'list', opId('list', r, r.namespaced), listParams, list),
    post: op(r, 'post', opId('create', r, r.namespaced), [P.dryRun, P.fieldManager, P.fieldValidation], obj, body, '201'),
    ...(r.verbs.includes('deletecollection')
      ? { delete: op(r, 'deletecollection', opId('deleteCollection', r, r.namespaced), [...listParams, P.dryRun, P.gracePeriodSeconds, P.propagationPolicy], ref(`${META}.Status`), { content: content(ref(`${META}.DeleteOptions`), ['*/*']) }) }
      : {}),
    parameters: [...scopeParams, P.pretty],
  };
  const patchBody = {
    // application/strategic-merge-patch+json is accepted too, but not listed: with the shallow schemas here,
    // kubectl would try to compute strategic merge patches from them (and warn); unlisted, it uses its
    // compiled-in types, which carry the full patch metadata.
    content: Object.fromEntries(['application/json-patch+json', 'application/merge-patch+json'].map((t) => [t, { schema: ref(`${META}.Patch`) }])),
    required: true,
  };
  out[`${base}/{name}`] = {
    get: op(r, 'get', opId('read', r, r.namespaced), [], obj),
    put: op(r, 'put', opId('replace', r, r.namespaced), [P.dryRun, P.fieldManager, P.fieldValidation], obj, body),
    patch: op(r, 'patch', opId('patch', r, r.namespaced), [P.dryRun, P.fieldManager, P.fieldValidation, P.force], obj, patchBody),
    delete: op(r, 'delete', opId('delete', r, r.namespaced), [P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy], ref(`${META}.Status`), { content: content(ref(`${META}.DeleteOptions`), ['*/*']) }),
    parameters: [nameParam, ...scopeParams, P.pretty],
  };
  for (const sub of r.subresources) {
    const suffix = sub.replace(/^./, (c) => c.toUpperCase());
    if (sub === 'scale') {
      const scale = ref(SCALE);
      const scaleOp = (action: string, verb: string, params: any[], requestBody?: any) => ({
        ...op(r, action, opId(verb, r, r.namespaced, suffix), params, scale, requestBody),
        'x-kubernetes-group-version-kind': { group: 'autoscaling', version: 'v1', kind: 'Scale' },
      });
      out[`${base}/{name}/scale`] = {
        get: scaleOp('get', 'read', []),
        put: scaleOp('put', 'replace', [P.dryRun, P.fieldManager, P.fieldValidation], { content: content(scale, ['*/*']), required: true }),
        patch: scaleOp('patch', 'patch', [P.dryRun, P.fieldManager, P.fieldValidation, P.force], patchBody),
        parameters: [nameParam, ...scopeParams, P.pretty],
      };
      continue;
    }
    out[`${base}/{name}/${sub}`] = sub === 'finalize'
      ? { put: op(r, 'put', opId('replace', r, r.namespaced, suffix), [P.dryRun, P.fieldManager, P.fieldValidation], obj, body), parameters: [nameParam, ...scopeParams, P.pretty] }
      : {
        get: op(r, 'get', opId('read', r, r.namespaced, suffix), [], obj),
        put: op(r, 'put', opId('replace', r, r.namespaced, suffix), [P.dryRun, P.fieldManager, P.fieldValidation], obj, body),
        patch: op(r, 'patch', opId('patch', r, r.namespaced, suffix), [P.dryRun, P.fieldManager, P.fieldValidation, P.force], obj, patchBody),
        parameters: [nameParam, ...scopeParams, P.pretty],
      };
  }
  if (r.namespaced) {
    out[`${prefix}/${r.plural}`] = { get: op(r, 'list', opId('list', r, false, 'ForAllNamespaces'), listParams, list), parameters: [P.pretty] };
  }
  return out;
}

const docs = new Map<string, any>();

/** The document for `api/v1` or `apis/<group>/<version>`, or null. */
export function openApiV3Doc(path: string): any | null {
  const cached = docs.get(path);
  if (cached) return cached;
  const segs = path.split('/');
  let group: string;
  let version: string;
  if (segs[0] === 'api' && segs.length === 2) [group, version] = ['', segs[1]];
  else if (segs[0] === 'apis' && segs.length === 3) [group, version] = [segs[1], segs[2]];
  else return null;
  const rs = resourcesIn(group, version);
  if (!rs.length) return null;
  const paths: Record<string, any> = {};
  const schemas: Record<string, any> = { ...metaSchemas() };
  for (const r of rs) {
    Object.assign(paths, resourcePaths(r));
    Object.assign(schemas, kindSchemas(r));
    if (r.subresources.includes('scale')) {
      schemas[SCALE] = {
        description: 'Scale represents a scaling request for a resource.',
        type: 'object',
        properties: {
          apiVersion: str, kind: str, metadata: { allOf: [ref(`${META}.ObjectMeta`)], default: {} },
          spec: { type: 'object', properties: { replicas: { type: 'integer', format: 'int32' } } },
          status: { type: 'object', required: ['replicas'], properties: { replicas: { type: 'integer', format: 'int32', default: 0 }, selector: str } },
        },
        'x-kubernetes-group-version-kind': [{ group: 'autoscaling', version: 'v1', kind: 'Scale' }],
      };
    }
  }
  const doc = {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas, securitySchemes: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } } },
    security: [{ BearerToken: [] }],
  };
  docs.set(path, doc);
  return doc;
}

let index: any;

/** `/openapi/v3`: `{ paths: { "api/v1": { serverRelativeURL } } }`. */
export function openApiV3Index(): any {
  if (index) return index;
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const g of groups()) {
    for (const v of g.versions) {
      const p = g.group === '' ? `api/${v}` : `apis/${g.group}/${v}`;
      const hash = createHash('sha512').update(JSON.stringify(openApiV3Doc(p))).digest('hex').slice(0, 128).toUpperCase();
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
    }
  }
  index = { paths };
  return index;
}

function v2Refs(v: any): any {
  if (Array.isArray(v)) return v.map(v2Refs);
  if (!v || typeof v !== 'object') return v;
  const out: Record<string, any> = {};
  for (const [k, x] of Object.entries(v)) out[k] = k === '$ref' && typeof x === 'string' ? x.replace('#/components/schemas/', '#/definitions/') : v2Refs(x);
  return out;
}

function v2Param(p: any): any {
  const { schema, ...rest } = p;
  return { ...rest, ...(schema ?? {}) };
}

function v2Operation(op: any): any {
  const { requestBody, responses, parameters, ...rest } = op;
  const params = (parameters ?? []).map(v2Param);
  let consumes: string[] | undefined;
  if (requestBody) {
    consumes = Object.keys(requestBody.content ?? {});
    const schema = Object.values(requestBody.content ?? {})[0] as any;
    params.push({ name: 'body', in: 'body', required: requestBody.required ?? false, schema: v2Refs(schema?.schema ?? {}) });
  }
  const res: Record<string, any> = {};
  for (const [code, r] of Object.entries(responses ?? {}) as [string, any][]) {
    const first = r.content ? (Object.values(r.content)[0] as any) : undefined;
    res[code] = { description: r.description, ...(first?.schema ? { schema: v2Refs(first.schema) } : {}) };
  }
  return {
    ...rest,
    ...(consumes ? { consumes } : { consumes: ['*/*'] }),
    produces: ['application/json', 'application/yaml'],
    schemes: ['https'],
    parameters: params,
    responses: res,
  };
}

let v2: any;

/** `/openapi/v2` in JSON (Swagger 2.0), the same content as the v3 documents. */
export function openApiV2(): any {
  if (v2) return v2;
  const paths: Record<string, any> = {};
  const definitions: Record<string, any> = {};
  for (const g of groups()) {
    for (const v of g.versions) {
      const doc = openApiV3Doc(g.group === '' ? `api/${v}` : `apis/${g.group}/${v}`);
      for (const [p, item] of Object.entries(doc.paths) as [string, any][]) {
        const out: Record<string, any> = {};
        for (const [method, op] of Object.entries(item)) {
          out[method] = method === 'parameters' ? (op as any[]).map(v2Param) : v2Operation(op);
        }
        paths[p] = out;
      }
      for (const [name, schema] of Object.entries(doc.components.schemas)) definitions[name] = v2Refs(schema);
    }
  }
  v2 = {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    definitions,
    securityDefinitions: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } },
    security: [{ BearerToken: [] }],
  };
  return v2;
}

/**
 * The three patch types kube-apiserver accepts, applied to a plain JSON object. Pure.
 * - JSON patch (RFC 6902) via fast-json-patch;
 * - JSON merge patch (RFC 7386);
 * - strategic merge patch for the built-in types served here: lists of objects merge by their merge key
 *   (containers by name, volumeMounts by mountPath, ports by containerPort, ...), `metadata.finalizers` merges
 *   as a set, every other list is replaced; directives `$patch` (replace|delete|merge), `$retainKeys`,
 *   `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>` are honoured.
 * Server-side apply (`application/apply-patch+yaml`, APPLY_PATCH_TYPE) is not a patch of this kind: apply.ts merges
 * the applied configuration with field ownership (managedFields), using the same list keys (fields.ts listType,
 * built on mergeKeyFor below).
 */
import fjp from 'fast-json-patch';

export const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'] as const;
export type PatchType = (typeof PATCH_TYPES)[number];
/** Server-side apply's content type (handled by apply.ts, not applyPatch). */
export const APPLY_PATCH_TYPE = 'application/apply-patch+yaml';

export class PatchError extends Error {
  readonly code: number;
  constructor(message: string, code = 422) {
    super(message);
    this.code = code;
  }
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

// ---------------------------------------------------------------- JSON patch

export function applyJsonPatch(doc: any, ops: unknown): any {
  if (!Array.isArray(ops)) throw new PatchError('json: cannot unmarshal object into Go value of type jsonpatch.Patch', 400);
  try {
    const res = fjp.applyPatch(clone(doc), ops as any, true, true, true);
    return res.newDocument;
  } catch (err: any) {
    // name the operation by op and path only: its value may be Secret data
    const op = err?.operation ? ` (operation ${JSON.stringify({ op: err.operation.op, path: err.operation.path })})` : '';
    const name: string = err?.name ?? '';
    if (name === 'TEST_OPERATION_FAILED') throw new PatchError(`the server rejected our request due to an error in our request: testing value ${err.operation?.path} failed${op}`);
    if (name === 'OPERATION_PATH_UNRESOLVABLE' || name === 'OPERATION_PATH_CANNOT_ADD') {
      throw new PatchError(`the server rejected our request due to an error in our request: replace operation does not apply: doc is missing path: "${err.operation?.path}"${op}`);
    }
    throw new PatchError(`the server rejected our request due to an error in our request: ${String(err?.message ?? err).split('\n')[0]}${op}`);
  }
}

// ---------------------------------------------------------------- JSON merge patch

export function applyMergePatch(target: any, patch: any): any {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, any> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (isObject(v)) out[k] = applyMergePatch(out[k], v);
    else out[k] = clone(v);
  }
  return out;
}

// ---------------------------------------------------------------- strategic merge patch

/** Merge keys of the list fields of the served built-in types (patchStrategy "merge"). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  ownerReferences: 'uid',
  conditions: 'type',
  secrets: 'name',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
};
/** Lists of scalars merged as sets (patchStrategy "merge" without a key). */
const MERGE_PRIMITIVE = new Set(['finalizers']);

/** The merge key of `field` at `path` (['spec','template','spec','containers']), or null for replace. */
export function mergeKeyFor(path: string[], field: string): string | null {
  const key = MERGE_KEYS[field];
  if (!key) return null;
  // `secrets` merges by name only on ServiceAccounts (top level); `conditions` only under status;
  // `ports` by containerPort only inside containers.
  if (field === 'secrets' && path.length !== 0) return null;
  if (field === 'conditions' && path[path.length - 1] !== 'status') return null;
  if (field === 'ports') {
    const parent = path[path.length - 1] ?? '';
    if (['containers', 'initContainers', 'ephemeralContainers'].includes(parent)) return 'containerPort';
    if (parent === 'spec' && path.length === 1) return 'port'; // Service
    return null;
  }
  return key;
}

function isPrimitiveMergeList(path: string[], field: string): boolean {
  return MERGE_PRIMITIVE.has(field) && path[path.length - 1] === 'metadata';
}

const SET_ORDER = '$setElementOrder/';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';

export function applyStrategicMergePatch(original: any, patch: any): any {
  if (!isObject(patch)) throw new PatchError('json: cannot unmarshal array into Go value of type map[string]interface {}', 400);
  return mergeMap(isObject(original) ? original : {}, patch, []);
}

function mergeMap(orig: Record<string, any>, patch: Record<string, any>, path: string[]): any {
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') {
    const out: Record<string, any> = {};
    for (const [k, v] of Object.entries(patch)) if (k !== '$patch') out[k] = stripDirectives(clone(v));
    return out;
  }
  if (directive !== undefined && directive !== 'merge') throw new PatchError(`Unknown patch type: ${String(directive)}`, 400);
  const out: Record<string, any> = { ...orig };
  const orders: [string, any[]][] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch') continue;
    if (k === '$retainKeys') continue;
    if (k.startsWith(SET_ORDER)) {
      if (Array.isArray(v)) orders.push([k.slice(SET_ORDER.length), v]);
      continue;
    }
    if (k.startsWith(DELETE_PRIMITIVE)) {
      const field = k.slice(DELETE_PRIMITIVE.length);
      if (Array.isArray(out[field]) && Array.isArray(v)) out[field] = out[field].filter((x: unknown) => !v.includes(x as never));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    if (isObject(v)) {
      const merged = mergeMap(isObject(out[k]) ? out[k] : {}, v, [...path, k]);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
      continue;
    }
    if (Array.isArray(v)) {
      out[k] = mergeList(Array.isArray(out[k]) ? out[k] : [], v, path, k);
      continue;
    }
    out[k] = v;
  }
  if (Array.isArray(patch.$retainKeys)) {
    for (const k of Object.keys(out)) if (!patch.$retainKeys.includes(k)) delete out[k];
  }
  for (const [field, order] of orders) {
    if (Array.isArray(out[field])) out[field] = applyOrder(out[field], order, mergeKeyFor(path, field));
  }
  return out;
}

function mergeList(orig: any[], patch: any[], path: string[], field: string): any[] {
  // [{"$patch": "replace"}, ...items] replaces the list
  if (patch.some((x) => isObject(x) && x.$patch === 'replace' && Object.keys(x).length === 1)) {
    return patch.filter((x) => !(isObject(x) && x.$patch === 'replace')).map((x) => stripDirectives(clone(x)));
  }
  if (isPrimitiveMergeList(path, field)) {
    const out = [...orig];
    for (const x of patch) if (!out.includes(x)) out.push(x);
    return out;
  }
  const key = mergeKeyFor(path, field);
  if (!key || !patch.every(isObject)) return patch.map((x) => stripDirectives(clone(x)));
  const out = orig.map((x) => x);
  for (const item of patch) {
    const kv = item[key];
    const idx = out.findIndex((x) => isObject(x) && x[key] === kv);
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) {
      const merged = mergeMap(out[idx], item, [...path, field]);
      if (merged === undefined) out.splice(idx, 1);
      else out[idx] = merged;
    } else {
      out.push(stripDirectives(clone(item)));
    }
  }
  return out;
}

function applyOrder(list: any[], order: any[], key: string | null): any[] {
  const id = (x: any): unknown => (key && isObject(x) ? x[key] : x);
  const orderIds = order.map((o) => (key && isObject(o) ? o[key] : o));
  const ranked = list.map((x, i) => ({ x, i, r: orderIds.findIndex((o) => o === id(x)) }));
  ranked.sort((a, b) => {
    if (a.r >= 0 && b.r >= 0) return a.r - b.r;
    if (a.r >= 0) return -1;
    if (b.r >= 0) return 1;
    return a.i - b.i;
  });
  return ranked.map((r) => r.x);
}

function stripDirectives(v: any): any {
  if (Array.isArray(v)) return v.filter((x) => !(isObject(x) && x.$patch === 'delete')).map(stripDirectives);
  if (!isObject(v)) return v;
  const out: Record<string, any> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith(SET_ORDER) || k.startsWith(DELETE_PRIMITIVE)) continue;
    if (x === null) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

/** Applies a patch of the given content type (without parameters) to `original`; returns the new object. */
export function applyPatch(contentType: PatchType, original: any, patch: any): any {
  switch (contentType) {
    case 'application/json-patch+json':
      return applyJsonPatch(original, patch);
    case 'application/merge-patch+json':
      if (!isObject(patch)) throw new PatchError('json: cannot unmarshal array into Go value of type map[string]interface {}', 400);
      return applyMergePatch(original, patch);
    case 'application/strategic-merge-patch+json':
      return applyStrategicMergePatch(original, patch);
  }
}

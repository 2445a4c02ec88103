/**
 * metadata.managedFields bookkeeping for non-apply writes (operation "Update"), in FieldsV1 form:
 * the writing manager takes ownership of the fields it set or changed; other managers lose those fields;
 * fields no longer present are dropped. Pure.
 */
import { mergeKeyFor } from './patch.ts';

export type FieldTree = Record<string, any>;

/** How a list field is merged and tracked: atomic (null), associative by key fields, or a set of scalars. */
export type ListType = { type: 'map'; keys: string[]; defaults: Record<string, unknown> } | { type: 'set' } | null;

/**
 * The list type of `field` inside the object at `path`, as the built-in types' OpenAPI declares it
 * (`x-kubernetes-list-type`/`-map-keys`, else the strategic merge key): container ports are keyed by
 * containerPort and protocol, Service ports by port and protocol (protocol defaults to TCP), metadata.finalizers
 * is a set; every other list without a merge key is atomic.
 */
export function listType(path: string[], field: string): ListType {
  if (field === 'finalizers' && path[path.length - 1] === 'metadata') return { type: 'set' };
  const key = mergeKeyFor(path, field);
  if (!key) return null;
  if (key === 'containerPort') return { type: 'map', keys: ['containerPort', 'protocol'], defaults: { protocol: 'TCP' } };
  if (field === 'ports' && key === 'port') return { type: 'map', keys: ['port', 'protocol'], defaults: { protocol: 'TCP' } };
  return { type: 'map', keys: [key], defaults: {} };
}

/** The FieldsV1 path element of a list item (`k:{"name":"a"}` or `v:"x"`), or null when it has no key. */
export function itemElement(lt: Exclude<ListType, null>, item: unknown): string | null {
  if (lt.type === 'set') return isObject(item) || Array.isArray(item) ? null : `v:${JSON.stringify(item)}`;
  if (!isObject(item)) return null;
  const id: Record<string, unknown> = {};
  for (const k of [...lt.keys].sort()) {
    const v = item[k] ?? lt.defaults[k];
    if (v === undefined || v === null || typeof v === 'object') return null;
    id[k] = v;
  }
  return `k:${JSON.stringify(id)}`;
}

const SKIP_META = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink', 'generateName']);

/** Which top-level fields of an object a managedFields walk considers. */
type TopFields = (key: string) => boolean;
const STATUS_ONLY: TopFields = (k) => k === 'status';
const SPEC_ONLY: TopFields = (k) => k !== 'apiVersion' && k !== 'kind' && k !== 'status';

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual((a as any)[k], (b as any)[k]));
}
export { deepEqual };

/**
 * The fields of `v` that are new or changed against `old` (all fields when old is undefined); null when none.
 * Removed fields do not count. `path` is the field path of `v` (mutated while recursing, restored after).
 */
function diffTree(v: unknown, old: unknown, path: string[], top?: TopFields): FieldTree | null {
  if (v === old) return null;
  if (isObject(v)) {
    const o = isObject(old) ? old : undefined;
    const out: FieldTree = {};
    let any = false;
    const inMetadata = path.length === 1 && path[0] === 'metadata';
    for (const k of Object.keys(v)) {
      if (inMetadata && SKIP_META.has(k)) continue;
      if (top && !top(k)) continue;
      path.push(k);
      const sub = diffTree(v[k], o?.[k], path);
      path.pop();
      if (sub) {
        out[`f:${k}`] = sub;
        any = true;
      }
    }
    if (o) return any ? out : null;
    // metadata holding only server-owned fields (name, namespace, ...) is nobody's
    if (inMetadata && !any) return null;
    if (path.length > 0 && !inMetadata) out['.'] = {};
    return out;
  }
  if (Array.isArray(v)) {
    if (deepEqual(v, old)) return null;
    if (path.length > 0) {
      const lt = listType(path.slice(0, -1), path[path.length - 1]);
      if (lt?.type === 'map' && v.every((x) => itemElement(lt, x) !== null)) {
        const out: FieldTree = {};
        const olds = Array.isArray(old) ? old : [];
        for (const item of v) {
          const el = itemElement(lt, item)!;
          const prev = olds.find((x) => itemElement(lt, x) === el);
          const sub = diffTree(item, prev, path);
          if (sub) out[el] = { ...sub, '.': {} };
        }
        if (!Array.isArray(old)) out['.'] = {};
        return out;
      }
    }
    return {};
  }
  return deepEqual(v, old) ? null : {};
}

function union(a: FieldTree, b: FieldTree): FieldTree {
  const out: FieldTree = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = out[k] ? union(out[k], v) : v;
  return out;
}

/** a minus the leaves of b. */
function subtract(a: FieldTree, b: FieldTree): FieldTree | null {
  const out: FieldTree = {};
  for (const [k, v] of Object.entries(a)) {
    if (!(k in b)) {
      out[k] = v;
      continue;
    }
    const bv = b[k];
    if (Object.keys(bv).length === 0 || Object.keys(v).length === 0) continue;
    const rest = subtract(v, bv);
    if (rest && Object.keys(rest).some((x) => x !== '.')) out[k] = rest;
  }
  return Object.keys(out).length ? out : null;
}

/**
 * The parts of tree t still present in object v. `prev` is the same place in the object t was recorded against
 * (every field of t was present there): where v is that very value (stored objects are never mutated, so an
 * unchanged part is often shared), all of t is still present and is kept as it is, without walking it.
 */
function restrict(t: FieldTree, v: unknown, prev?: unknown): FieldTree | null {
  if (prev !== undefined && v === prev) {
    const keys = Object.keys(t);
    return keys.length && !(keys.length === 1 && keys[0] === '.') ? t : null;
  }
  const out: FieldTree = {};
  for (const [k, sub] of Object.entries(t)) {
    if (k === '.') {
      out[k] = sub;
      continue;
    }
    if (k.startsWith('f:')) {
      const name = k.slice(2);
      if (!isObject(v) || !(name in v)) continue;
      const child = (v as any)[name];
      if (Object.keys(sub).length === 0) out[k] = sub;
      else {
        const r = restrict(sub, child, isObject(prev) ? prev[name] : undefined);
        if (r) out[k] = r;
      }
    } else if (k.startsWith('k:')) {
      if (!Array.isArray(v)) continue;
      let id: Record<string, unknown>;
      try {
        id = JSON.parse(k.slice(2));
      } catch {
        continue;
      }
      const item = v.find((x) => isObject(x) && Object.entries(id).every(([ik, iv]) => (x[ik] ?? (ik === 'protocol' ? 'TCP' : undefined)) === iv));
      if (!item) continue;
      const r = restrict(sub, item);
      if (r) out[k] = r;
    } else out[k] = sub;
  }
  const keys = Object.keys(out);
  return keys.length && !(keys.length === 1 && keys[0] === '.') ? out : null;
}

/** Whether `next` lacks any field (map key or keyed list item) that `prev` has. */
function hasRemovals(prev: unknown, next: unknown, path: string[], top?: TopFields): boolean {
  if (prev === next) return false;
  if (isObject(prev)) {
    if (!isObject(next)) return true;
    for (const k of Object.keys(prev)) {
      if (top && !top(k)) continue;
      if (!(k in next)) return true;
      path.push(k);
      const removed = hasRemovals(prev[k], next[k], path);
      path.pop();
      if (removed) return true;
    }
    return false;
  }
  if (Array.isArray(prev) && path.length > 0) {
    if (!Array.isArray(next)) return true;
    const lt = listType(path.slice(0, -1), path[path.length - 1]);
    if (lt?.type !== 'map') return false;
    for (const item of prev) {
      const el = itemElement(lt, item);
      if (el === null) continue;
      const match = next.find((x) => itemElement(lt, x) === el);
      if (!match || hasRemovals(item, match, path)) return true;
    }
  }
  return false;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Update' | 'Apply';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: FieldTree;
  subresource?: string;
}

/** The manager name from the request: `?fieldManager=` or the User-Agent up to the first "/". */
export function managerName(fieldManager: string | null | undefined, userAgent: string | undefined): string {
  if (fieldManager) return fieldManager;
  const ua = (userAgent ?? '').split('/')[0].trim();
  return ua || 'unknown';
}

/**
 * The new managedFields for `obj` written by `manager` over `old` (null on create). `subresource` is
 * "status" for status writes (only status fields are considered then). `recorded`: old's managedFields are
 * the ones stored with it (not set by the request), so parts of `obj` shared with `old` need no pruning.
 */
export function updateManagedFields(obj: any, old: any | null, manager: string, apiVersion: string, now: string, subresource?: string, opts: { recorded?: boolean } = {}): ManagedFieldsEntry[] {
  // the top-level fields that count: status alone for status writes, else all but apiVersion, kind and status
  // (a filter, not stripped copies: copying objects with rest syntax cost more than the walk)
  const top = subresource === 'status' ? STATUS_ONLY : SPEC_ONLY;
  const changed = diffTree(obj, old ?? undefined, [], top) ?? {};
  const previous: ManagedFieldsEntry[] = (old?.metadata?.managedFields ?? []) as ManagedFieldsEntry[];
  const out: ManagedFieldsEntry[] = [];
  let mine: ManagedFieldsEntry | null = null;
  const hasChanges = Object.keys(changed).length > 0;
  // dropping fields that no longer exist is only needed when something was removed
  const prune = !!old && hasRemovals(old, obj, [], top);
  // `recorded`: old's entries are the ones stored with it (so they name only fields old has), not a client's
  const keep = (t: FieldTree | null): FieldTree | null => (t && prune ? restrict(t, obj, opts.recorded ? old ?? undefined : undefined) : t);
  for (const e of previous) {
    if (e.manager === manager && e.operation === 'Update' && (e.subresource ?? '') === (subresource ?? '')) {
      mine = e;
      continue;
    }
    if (!e.fieldsV1) continue;
    const rest = hasChanges ? subtract(e.fieldsV1, changed) : e.fieldsV1;
    const kept = keep(rest);
    if (kept) out.push({ ...e, fieldsV1: kept });
  }
  if (hasChanges || mine) {
    const base = mine ? union(mine.fieldsV1 ?? {}, changed) : changed;
    const kept = keep(base);
    if (kept) {
      out.push({
        manager,
        operation: 'Update',
        apiVersion,
        time: hasChanges || !mine ? now : mine.time,
        fieldsType: 'FieldsV1',
        fieldsV1: kept,
        ...(subresource ? { subresource } : {}),
      });
    }
  }
  return out;
}

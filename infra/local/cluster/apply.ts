/**
 * Server-side apply (`PATCH` with `application/apply-patch+yaml`), after structured-merge-diff's Updater.Apply.
 * Pure: from the live object (or null), the applied configuration and the manager, computes the merged object
 * and its new metadata.managedFields, or reports conflicts.
 *
 * - The applied field set is every field present in the configuration (maps are not members themselves,
 *   keyed list items are; atomic lists are one leaf), without apiVersion, kind, status and the metadata fields
 *   the server owns (name, namespace, uid, resourceVersion, ...). An apply to the status subresource merges
 *   and owns .status alone (its entry has `subresource: status`); any other apply leaves .status alone.
 * - Merge: scalars and atomic lists take the applied value, maps merge recursively, associative lists
 *   (`x-kubernetes-list-type: map` / strategic merge keys, see fields.ts listType) merge item by item in
 *   structured-merge-diff's order, sets (metadata.finalizers) are unions; a null removes the field.
 * - Pruning: fields the manager applied last time but no longer applies are removed unless another manager
 *   (or the new configuration) owns them.
 * - Conflicts: a field owned by another manager whose value the apply changes is a conflict (409) unless
 *   `force`, which takes it from that manager (entries left owning nothing are dropped). An unchanged value
 *   is shared ownership.
 */
import YAML from 'yaml';
import { deepEqual, itemElement, listType, type FieldTree, type ManagedFieldsEntry } from './fields.ts';

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An apply request that cannot be carried out; `code` is the HTTP status (400 or 422). */
export class ApplyError extends Error {
  readonly code: number;
  constructor(message: string, code = 400) {
    super(message);
    this.code = code;
  }
}

/**
 * A configuration that does not fit the type's schema (unknown fields, duplicate list keys): kube-apiserver
 * answers 500 `failed to create typed patch object (<ns>/<name>; <gvk>): <errors>` (see typedPatchMessage).
 */
export class TypedPatchError extends ApplyError {
  readonly errors: string[];
  constructor(errors: string[]) {
    super(errors.length === 1 ? errors[0] : `errors:\n  ${errors.join('\n  ')}`, 500);
    this.errors = errors;
  }
}

/** The real server's text for a TypedPatchError: `failed to create typed patch object (default/x; /v1, Kind=ConfigMap): .dta: field not declared in schema`. */
export function typedPatchMessage(err: TypedPatchError, at: { namespace: string; name: string; group: string; version: string; kind: string }): string {
  return `failed to create typed patch object (${at.namespace}/${at.name}; ${at.group}/${at.version}, Kind=${at.kind}): ${err.message}`;
}

export interface Conflict {
  /** the other manager's entry */
  manager: string;
  operation: 'Update' | 'Apply';
  apiVersion: string;
  subresource?: string;
  /** the field, as structured-merge-diff prints paths: `.data.key`, `.spec.containers[name="app"].image` */
  path: string;
}

/** 409 Conflict for an apply that would change fields other managers own. */
export class ApplyConflictError extends Error {
  readonly conflicts: Conflict[];
  constructor(conflicts: Conflict[]) {
    super(conflictMessage(conflicts));
    this.conflicts = conflicts;
  }
}

/** How kube-apiserver names a manager in conflict messages. */
export function printManager(c: Pick<Conflict, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  let s = JSON.stringify(c.manager);
  if (c.subresource) s += ` with subresource ${JSON.stringify(c.subresource)}`;
  return c.operation === 'Update' ? `${s} using ${c.apiVersion}` : s;
}

/** `Apply failed with 1 conflict: conflict with "m" using v1: .data.key`, or the list form for several. */
export function conflictMessage(conflicts: Conflict[]): string {
  if (conflicts.length === 1) return `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0])}: ${conflicts[0].path}`;
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) {
    const m = printManager(c);
    byManager.set(m, [...(byManager.get(m) ?? []), c.path]);
  }
  const lines: string[] = [];
  for (const m of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${m}:`);
    for (const p of byManager.get(m)!) lines.push(`- ${p}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}

/** Parses an apply body (YAML, of which JSON is a subset) into an object. */
export function parseApplyBody(text: string): any {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new ApplyError(`error decoding YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isObject(doc)) throw new ApplyError('error decoding YAML: the apply configuration must be a YAML or JSON object (apiVersion, kind, metadata, ...)');
  return doc;
}

/**
 * Checks the applied configuration against the request, as the real server does: apiVersion and kind must be
 * those of the URL, metadata.managedFields must be absent, name and namespace must match the URL.
 */
export function checkApplyConfig(config: any, want: { apiVersion: string; kind: string; name: string; namespace: string }): void {
  if (config.apiVersion !== want.apiVersion) {
    throw new ApplyError(`Incorrect version specified in apply patch. Specified patch version: ${config.apiVersion ?? ''}, expected: ${want.apiVersion}`);
  }
  if (config.kind !== want.kind) {
    throw new ApplyError(`${config.kind ?? ''} in version "${want.apiVersion}" cannot be handled as a ${want.kind}: the kind in the apply patch (${config.kind ?? ''}) does not match the kind of the resource (${want.kind})`);
  }
  if (config.metadata !== undefined && !isObject(config.metadata)) throw new ApplyError('metadata must be an object');
  if (config.metadata?.managedFields != null) throw new ApplyError('metadata.managedFields must be nil');
  const name = config.metadata?.name ?? '';
  if (name !== want.name) throw new ApplyError(`the name of the object (${name}) does not match the name on the URL (${want.name})`);
  const ns = config.metadata?.namespace;
  if (ns && ns !== want.namespace) throw new ApplyError(`the namespace of the object (${ns}) does not match the namespace on the URL (${want.namespace})`);
}

/** Secret `stringData` merged into `data` (base64), as the server does for every write. Returns a copy. */
export function stringDataToData(config: any): any {
  if (config.kind !== 'Secret' || !isObject(config.stringData)) return config;
  const { stringData, ...rest } = config;
  const data = { ...(isObject(rest.data) ? rest.data : {}) };
  for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  return { ...rest, data };
}

// ---------------------------------------------------------------- field sets as sets of paths

const SEP = '\n';
/** metadata fields the server owns: never part of a manager's set (structured-merge-diff's stripped fields) */
const SERVER_META = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink', 'generateName']);

/**
 * The object without apiVersion, kind, status and server-owned metadata: the part field sets speak of
 * (for the status subresource: status alone).
 */
function trackedPart(obj: any, subresource?: 'status'): Record<string, any> {
  if (!isObject(obj)) return {};
  if (subresource === 'status') return obj.status === undefined ? {} : { status: obj.status };
  const { apiVersion: _a, kind: _k, status: _s, metadata, ...rest } = obj;
  const meta: Record<string, any> = {};
  for (const [k, v] of Object.entries(isObject(metadata) ? metadata : {})) if (!SERVER_META.has(k)) meta[k] = v;
  return Object.keys(meta).length ? { metadata: meta, ...rest } : rest;
}

/** The member paths of a FieldsV1 tree. */
export function flatten(tree: FieldTree | undefined, prefix = '', out = new Set<string>()): Set<string> {
  for (const [k, sub] of Object.entries(tree ?? {})) {
    if (k === '.') {
      if (prefix) out.add(prefix);
      continue;
    }
    const p = prefix ? `${prefix}${SEP}${k}` : k;
    if (!isObject(sub) || Object.keys(sub).length === 0) out.add(p);
    else flatten(sub, p, out);
  }
  return out;
}

/** The FieldsV1 tree of a set of member paths. */
export function toTree(paths: Iterable<string>): FieldTree {
  const root: FieldTree = {};
  const members = new Set(paths);
  for (const p of members) {
    let node = root;
    for (const el of p.split(SEP)) node = node[el] ??= {};
  }
  // a member that also has children carries "."
  const mark = (node: FieldTree, prefix: string): void => {
    for (const [k, sub] of Object.entries(node)) {
      const p = prefix ? `${prefix}${SEP}${k}` : k;
      if (Object.keys(sub).length) {
        if (members.has(p)) sub['.'] = {};
        mark(sub, p);
      }
    }
  };
  mark(root, '');
  return root;
}

/** The field set of an applied configuration (already reduced to its tracked part). */
export function appliedSet(config: any): Set<string> {
  const out = new Set<string>();
  const errors: string[] = [];
  const walk = (v: unknown, names: string[], prefix: string): void => {
    if (isObject(v)) {
      for (const [k, child] of Object.entries(v)) {
        const p = prefix ? `${prefix}${SEP}f:${k}` : `f:${k}`;
        if (child === null || (isObject(child) && Object.keys(child).length === 0)) out.add(p);
        else walk(child, [...names, k], p);
      }
      return;
    }
    if (Array.isArray(v) && names.length) {
      const lt = listType(names.slice(0, -1), names[names.length - 1]);
      const els = lt ? v.map((x) => itemElement(lt, x)) : [];
      if (lt && els.every((e) => e !== null)) {
        const seen = new Set<string>();
        v.forEach((item, i) => {
          const el = els[i]!;
          if (seen.has(el)) errors.push(`${pathString(prefix)}: duplicate entries for key ${pathString(el)}`);
          seen.add(el);
          const p = `${prefix}${SEP}${el}`;
          out.add(p);
          if (lt.type === 'map') walk(item, names, p);
        });
        return;
      }
    }
    out.add(prefix);
  };
  walk(config, [], '');
  if (errors.length) throw new TypedPatchError(errors);
  return out;
}

/** A path element or a whole path as structured-merge-diff prints it. */
export function pathString(path: string): string {
  return path.split(SEP).map((el) => {
    if (el.startsWith('f:')) return `.${el.slice(2)}`;
    if (el.startsWith('v:')) return `[=${el.slice(2)}]`;
    if (el.startsWith('k:')) {
      const id = JSON.parse(el.slice(2)) as Record<string, unknown>;
      return `[${Object.entries(id).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
    }
    return el;
  }).join('');
}

// ---------------------------------------------------------------- merge

/** structured-merge-diff's merge of an associative list: shared items in the applied order, others kept in place. */
function mergeItems(lhs: any[], rhs: any[], keyOf: (x: any) => string, mergeItem: (l: any, r: any) => any): any[] {
  const lk = lhs.map(keyOf);
  const rk = rhs.map(keyOf);
  const lmap = new Map<string, any>();
  lk.forEach((k, i) => { if (!lmap.has(k)) lmap.set(k, lhs[i]); });
  const rmap = new Map<string, any>(rk.map((k, i) => [k, rhs[i]]));
  const shared = rk.filter((k) => lmap.has(k));
  let next = shared.shift();
  const merged = new Set<string>();
  const out: any[] = [];
  let li = 0;
  let ri = 0;
  while (li < lk.length || ri < rk.length) {
    if (li < lk.length && ri < rk.length) {
      const pe = lk[li];
      if (pe === rk[ri]) {
        merged.add(pe);
        out.push(mergeItem(lmap.get(pe), rmap.get(pe)));
        li++;
        ri++;
        next = shared.shift();
        continue;
      }
      if (rmap.has(pe) && next !== undefined && next !== pe) {
        li++;
        continue;
      }
    }
    if (li < lk.length) {
      const pe = lk[li];
      if (!rmap.has(pe)) {
        out.push(lhs[li]);
        li++;
        continue;
      }
      if (merged.has(pe)) {
        li++;
        continue;
      }
    }
    if (ri < rk.length) {
      const pe = rk[ri];
      merged.add(pe);
      out.push(mergeItem(lmap.get(pe), rmap.get(pe)));
      ri++;
      if (next !== undefined && next === pe) next = shared.shift();
    } else li++; // unreachable for well-formed input; guarantees progress
  }
  return out;
}

function mergeValue(live: unknown, cfg: unknown, names: string[]): unknown {
  if (isObject(cfg)) return mergeObject(isObject(live) ? live : {}, cfg, names);
  if (Array.isArray(cfg) && names.length) {
    const lt = listType(names.slice(0, -1), names[names.length - 1]);
    if (lt && Array.isArray(live) && cfg.every((x) => itemElement(lt, x) !== null)) {
      const keyed = live.every((x) => itemElement(lt, x) !== null);
      if (keyed) {
        return mergeItems(live, cfg, (x) => itemElement(lt, x)!, (l, r) => {
          if (r === undefined) return l;
          if (lt.type === 'set' || l === undefined) return structuredClone(r);
          return mergeObject(l, r, names);
        });
      }
    }
  }
  return structuredClone(cfg);
}

function mergeObject(live: Record<string, any>, cfg: Record<string, any>, names: string[]): Record<string, any> {
  const out: Record<string, any> = { ...live };
  for (const [k, v] of Object.entries(cfg)) {
    if (v === null) delete out[k];
    else out[k] = mergeValue(live[k], v, [...names, k]);
  }
  return out;
}

/** The live object with the configuration applied over it (no pruning). */
export function mergeApplied(live: any, config: any): any {
  return mergeObject(isObject(live) ? live : {}, config, []);
}

// ---------------------------------------------------------------- removal and comparison

function elementMatches(el: string, item: unknown, lt: Exclude<ReturnType<typeof listType>, null>): boolean {
  return itemElement(lt, item) === el;
}

/** Removes the field at `path` (member path) from obj in place. */
function removePath(obj: any, path: string): void {
  const els = path.split(SEP);
  let node: any = obj;
  const names: string[] = [];
  for (let i = 0; i < els.length; i++) {
    const el = els[i];
    const last = i === els.length - 1;
    if (el.startsWith('f:')) {
      const k = el.slice(2);
      if (!isObject(node) || !(k in node)) return;
      if (last) {
        delete node[k];
        return;
      }
      names.push(k);
      node = node[k];
    } else {
      if (!Array.isArray(node) || !names.length) return;
      const lt = listType(names.slice(0, -1), names[names.length - 1]);
      if (!lt) return;
      const idx = node.findIndex((x: unknown) => elementMatches(el, x, lt));
      if (idx < 0) return;
      if (last) {
        node.splice(idx, 1);
        return;
      }
      node = node[idx];
    }
  }
}

/** All member paths below (and including) `prefix` for value v, as a comparison reports an added/removed subtree. */
function allPaths(v: unknown, names: string[], prefix: string, out: Set<string>): void {
  out.add(prefix);
  if (isObject(v)) {
    for (const [k, c] of Object.entries(v)) allPaths(c, [...names, k], `${prefix}${SEP}f:${k}`, out);
  } else if (Array.isArray(v) && names.length) {
    const lt = listType(names.slice(0, -1), names[names.length - 1]);
    if (!lt) return;
    for (const item of v) {
      const el = itemElement(lt, item);
      if (el === null) continue;
      if (lt.type === 'map') allPaths(item, names, `${prefix}${SEP}${el}`, out);
      else out.add(`${prefix}${SEP}${el}`);
    }
  }
}

/** Fields added or modified (`changed`) and removed going from `lhs` to `rhs` (both tracked parts). */
export function compare(lhs: unknown, rhs: unknown): { changed: Set<string>; removed: Set<string> } {
  const changed = new Set<string>();
  const removed = new Set<string>();
  const walk = (l: unknown, r: unknown, names: string[], prefix: string): void => {
    if (l === undefined && r === undefined) return;
    if (l === undefined) return allPaths(r, names, prefix, changed);
    if (r === undefined) return allPaths(l, names, prefix, removed);
    if (isObject(l) && isObject(r)) {
      for (const k of new Set([...Object.keys(l), ...Object.keys(r)])) {
        walk(l[k], r[k], [...names, k], prefix ? `${prefix}${SEP}f:${k}` : `f:${k}`);
      }
      return;
    }
    if (Array.isArray(l) && Array.isArray(r) && names.length) {
      const lt = listType(names.slice(0, -1), names[names.length - 1]);
      if (lt && [...l, ...r].every((x) => itemElement(lt, x) !== null)) {
        const lm = new Map(l.map((x) => [itemElement(lt, x)!, x]));
        const rm = new Map(r.map((x) => [itemElement(lt, x)!, x]));
        for (const el of new Set([...lm.keys(), ...rm.keys()])) {
          const p = `${prefix}${SEP}${el}`;
          if (lt.type === 'set') {
            if (!lm.has(el)) changed.add(p);
            else if (!rm.has(el)) removed.add(p);
          } else walk(lm.get(el), rm.get(el), names, p);
        }
        return;
      }
    }
    if (!deepEqual(l, r)) {
      // a changed type (map to scalar...) removes the old subtree and adds the new one
      if ((isObject(l) || Array.isArray(l)) !== (isObject(r) || Array.isArray(r)) || Array.isArray(l) !== Array.isArray(r)) {
        allPaths(l, names, prefix, removed);
        removed.delete(prefix);
        allPaths(r, names, prefix, changed);
      } else changed.add(prefix);
    }
  };
  walk(lhs, rhs, [], '');
  return { changed, removed };
}

// ---------------------------------------------------------------- apply

export interface ApplyRequest {
  manager: string;
  /** the resource's group/version, recorded in the manager's entry */
  apiVersion: string;
  now: string;
  force: boolean;
  /** `status`: apply to the status subresource (only .status is merged and owned; the entry says subresource: status) */
  subresource?: 'status';
}

const OP_ORDER = (e: ManagedFieldsEntry): string => `${e.operation}\u0000${e.time ?? ''}\u0000${e.manager}\u0000${e.apiVersion}\u0000${e.subresource ?? ''}`;

/** kube-apiserver's order of managedFields entries: Apply before Update, then by time, manager, apiVersion. */
export function sortManagedFields(entries: ManagedFieldsEntry[]): ManagedFieldsEntry[] {
  return [...entries].sort((a, b) => (OP_ORDER(a) < OP_ORDER(b) ? -1 : OP_ORDER(a) > OP_ORDER(b) ? 1 : 0));
}

/**
 * Applies `config` (already checked, stringData already folded into data) over `live` (null: the object is
 * created). Returns the merged object, with metadata.managedFields set, or throws ApplyConflictError.
 */
export function applyConfiguration(live: any | null, config: any, req: ApplyRequest): { obj: any; managedFields: ManagedFieldsEntry[] } {
  const previous: ManagedFieldsEntry[] = Array.isArray(live?.metadata?.managedFields) ? live.metadata.managedFields : [];
  const sub = req.subresource;
  const isMine = (e: ManagedFieldsEntry) => e.manager === req.manager && e.operation === 'Apply' && (e.subresource ?? '') === (sub ?? '');
  const last = previous.find(isMine);
  const others = previous.filter((e) => !isMine(e));
  const tracked = (o: any) => trackedPart(o, sub);
  const applied = appliedSet(tracked(config));
  // a status apply changes status only; any other apply leaves status alone (the status subresource owns it)
  const { status: _status, ...main } = config;
  const configWithoutMeta = sub === 'status'
    ? (config.status === undefined ? {} : { status: config.status })
    : { ...main, metadata: { ...(config.metadata ?? {}) } };
  delete configWithoutMeta.metadata?.managedFields;
  const base = live ? structuredClone(live) : {};
  const merged = mergeApplied(base, configWithoutMeta);
  // prune what this manager applied last time and nobody owns now
  if (last) {
    const owned = new Set(applied);
    for (const e of others) for (const p of flatten(e.fieldsV1)) owned.add(p);
    // an item or map somebody still owns a field of stays (structured-merge-diff adds owned items back)
    const held = new Set<string>();
    for (const p of owned) {
      const els = p.split(SEP);
      for (let i = 1; i < els.length; i++) held.add(els.slice(0, i).join(SEP));
    }
    const gone = new Set([...flatten(last.fieldsV1)].filter((p) => !owned.has(p) && !held.has(p)));
    // a removed item or map takes its fields with it (removing an item's key fields first would lose the item)
    const within = (p: string): boolean => {
      const els = p.split(SEP);
      for (let i = 1; i < els.length; i++) if (gone.has(els.slice(0, i).join(SEP))) return true;
      return false;
    };
    for (const p of [...gone].filter((x) => !within(x))) removePath(merged, p);
  }
  const { changed, removed } = compare(tracked(live ?? {}), tracked(merged));
  const conflicts: Conflict[] = [];
  const taken = new Map<ManagedFieldsEntry, Set<string>>();
  for (const e of others) {
    const hits = [...flatten(e.fieldsV1)].filter((p) => changed.has(p));
    if (!hits.length) continue;
    taken.set(e, new Set(hits));
    for (const p of hits.map(pathString).sort()) {
      conflicts.push({ manager: e.manager, operation: e.operation, apiVersion: e.apiVersion, ...(e.subresource ? { subresource: e.subresource } : {}), path: p });
    }
  }
  if (conflicts.length && !req.force) throw new ApplyConflictError(conflicts);
  const out: ManagedFieldsEntry[] = [];
  for (const e of others) {
    const lose = taken.get(e);
    if (!lose && !removed.size) {
      out.push(e);
      continue;
    }
    const set = [...flatten(e.fieldsV1)].filter((p) => !lose?.has(p) && !removed.has(p));
    if (set.length) out.push({ ...e, fieldsV1: toTree(set) });
  }
  if (applied.size) {
    const fieldsV1 = toTree(applied);
    // the time moves when the object or this manager's set changes (a no-op apply writes nothing)
    const same = last && !changed.size && !removed.size && deepEqual(last.fieldsV1, fieldsV1) && last.apiVersion === req.apiVersion;
    out.push({ manager: req.manager, operation: 'Apply', apiVersion: req.apiVersion, time: same ? last.time : req.now, fieldsType: 'FieldsV1', fieldsV1, ...(sub ? { subresource: sub } : {}) });
  }
  const managedFields = sortManagedFields(out);
  merged.metadata = { ...(merged.metadata ?? {}), managedFields };
  return { obj: merged, managedFields };
}

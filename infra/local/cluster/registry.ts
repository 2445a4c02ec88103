/**
 * The registry: create / update / delete of objects with the real server's bookkeeping (uid,
 * creationTimestamp, generation, managedFields, defaults, status subresource handling, optimistic
 * concurrency, finalizers, validation) on top of the store. Used by the HTTP handlers (which add
 * authentication, authorization and admission through the `admit` hook) and by the built-in controllers.
 */
import { randomUUID } from 'node:crypto';
import { deepEqual, updateManagedFields } from './fields.ts';
import { groupVersion, lookupResource, storageKey, type ResourceType } from './resources.ts';
import { alreadyExists, badRequest, conflict, forbidden, invalid, notFound, type FieldError } from './status.ts';
import type { Entry, Store } from './store.ts';
import { secretDecodeError, unknownFields, validateObject } from './validate.ts';

export interface WriteOptions {
  manager: string;
  /** fieldValidation: Strict refuses unknown fields (400), Warn reports them through `warn`; all drop them */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  warn?: (message: string) => void;
  /** keys the request body repeated within an object (validate.ts duplicateFields): reported like unknown fields */
  duplicates?: string[];
  /** the body is the caller's own fresh object (a parsed request): it may be modified in place, no copy */
  owned?: boolean;
  dryRun?: boolean;
  subresource?: string;
  /**
   * the body's metadata.managedFields are already computed (server-side apply): they are stored as they are
   * instead of recording an Update by `manager`
   */
  managedFieldsComputed?: boolean;
  /**
   * the embedded controllers only: the body's status is stored with the write (on create too), as if the
   * object and then its status had been written, in one write (one resourceVersion, one watch event)
   */
  withStatus?: boolean;
  /** admission hook, called with (new, old) after validation and before storing; throws to deny */
  admit?: (obj: any | null, old: any | null) => void;
}

export interface DeleteOptions {
  dryRun?: boolean;
  admit?: (obj: any | null, old: any | null) => void;
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  /**
   * Accepted and ignored as kube-apiserver ignores it for every kind without graceful deletion (all served kinds but
   * Pods); Pods are deleted at once, as kube-apiserver deletes a Pod no kubelet runs (see docs/embedded-cluster.md).
   */
  gracePeriodSeconds?: number;
}

/**
 * The finalizers the garbage collector (gc.ts) acts on, added by a delete with propagationPolicy Orphan or Foreground
 * (kube-apiserver's deletionFinalizersForGarbageCollection).
 */
export const GC_FINALIZERS = { Orphan: 'orphan', Foreground: 'foregroundDeletion' } as const;

export const NAMESPACE_RT = lookupResource('', 'v1', 'namespaces')!;

/** Namespaces the real server refuses to delete. */
export const UNDELETABLE_NAMESPACES = ['default', 'kube-system', 'kube-public'];

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return s;
}

let lastSecond = -1;
let lastText = '';

/** RFC 3339 with seconds, as metav1.Time serializes (formatted once per second). */
export function nowSeconds(): string {
  const sec = Math.floor(Date.now() / 1000);
  if (sec !== lastSecond) {
    lastSecond = sec;
    lastText = new Date(sec * 1000).toISOString().replace('.000Z', 'Z');
  }
  return lastText;
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Equality of two versions of an object ignoring resourceVersion and managedFields. */
export function sameContent(a: any, b: any): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (k === 'metadata') continue;
    if (!deepEqual(a[k], b[k])) return false;
  }
  const ma = a.metadata ?? {};
  const mb = b.metadata ?? {};
  const skip = (k: string) => k === 'resourceVersion' || k === 'managedFields';
  const kma = Object.keys(ma).filter((k) => !skip(k) && ma[k] !== undefined);
  const kmb = Object.keys(mb).filter((k) => !skip(k) && mb[k] !== undefined);
  if (kma.length !== kmb.length) return false;
  return kma.every((k) => deepEqual(ma[k], mb[k]));
}

function imagePullPolicy(image: string | undefined): string {
  if (!image) return 'IfNotPresent';
  const last = image.split('/').pop() ?? '';
  if (image.includes('@')) return 'IfNotPresent';
  if (!last.includes(':') || last.endsWith(':latest')) return 'Always';
  return 'IfNotPresent';
}

/** The pod template defaults the real API server applies (so templates read back as they do there). */
function defaultPodTemplate(t: any): void {
  if (!isObject(t)) return;
  t.metadata ??= {};
  if (!t.metadata.creationTimestamp) t.metadata.creationTimestamp = null;
  const spec = t.spec;
  if (!isObject(spec)) return;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  for (const list of ['initContainers', 'containers']) {
    for (const c of Array.isArray(spec[list]) ? spec[list] : []) {
      if (!isObject(c)) continue;
      c.resources ??= {};
      c.terminationMessagePath ??= '/dev/termination-log';
      c.terminationMessagePolicy ??= 'File';
      c.imagePullPolicy ??= imagePullPolicy(c.image);
      for (const p of Array.isArray(c.ports) ? c.ports : []) if (isObject(p)) p.protocol ??= 'TCP';
    }
  }
}

/** Defaults for workloads, as the real API server sets them on create and update. */
function defaultWorkload(kind: string, obj: any): void {
  const spec = obj.spec;
  if (!isObject(spec)) return;
  switch (kind) {
    case 'Deployment':
      spec.replicas ??= 1;
      spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      break;
    case 'StatefulSet':
      spec.replicas ??= 1;
      spec.podManagementPolicy ??= 'OrderedReady';
      spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
      spec.revisionHistoryLimit ??= 10;
      spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
      break;
    case 'DaemonSet':
      spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
      spec.revisionHistoryLimit ??= 10;
      break;
    case 'ReplicaSet':
      spec.replicas ??= 1;
      break;
  }
  defaultPodTemplate(spec.template);
}

function mergeStringData(obj: any): void {
  if (obj.kind !== 'Secret') return;
  if (isObject(obj.stringData)) {
    obj.data = { ...(isObject(obj.data) ? obj.data : {}) };
    for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  }
  delete obj.stringData;
  obj.type ??= 'Opaque';
}

function withoutTime(entries: unknown): unknown {
  return Array.isArray(entries) ? entries.map((e) => (isObject(e) ? { ...e, time: undefined } : e)) : entries;
}

/** Whether two managedFields lists record the same ownership (times aside). */
function sameManagedFields(a: unknown, b: unknown): boolean {
  return deepEqual(JSON.parse(JSON.stringify(withoutTime(a ?? []))), JSON.parse(JSON.stringify(withoutTime(b ?? []))));
}

/**
 * The managedFields a write sets itself, when they differ from the stored ones: `[{}]` resets them to none;
 * an absent or empty list, or one that is not a list of entries with a manager and fieldsV1, keeps the stored
 * ones (as kube-apiserver does, so clients that know nothing of managedFields cannot drop them).
 */
function givenManagedFields(given: unknown, stored: unknown): any[] | undefined {
  if (!Array.isArray(given) || given.length === 0) return undefined;
  if (given.length === 1 && isObject(given[0]) && Object.keys(given[0]).length === 0) return [];
  // The common case first: the stored entries sent back as they are (a patch or a controller's read-modify-write
  // carries them; stored entries are already normalized), without parsing every entry's time.
  if (given === stored || deepEqual(given, stored)) return undefined;
  if (!given.every((e) => isObject(e) && typeof e.manager === 'string' && isObject(e.fieldsV1))) return undefined;
  // clients re-encode what they read (client-node writes times with milliseconds): same instants, same entries
  const normalized = given.map((e) => {
    const t = typeof e.time === 'string' || e.time instanceof Date ? new Date(e.time) : undefined;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) if (v !== undefined && v !== null) out[k] = v;
    if (t && !Number.isNaN(t.getTime())) out.time = t.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return out;
  });
  return deepEqual(normalized, stored) ? undefined : normalized;
}

export class Registry {
  readonly store: Store;
  /** called after an object in a namespace is removed or marked for deletion (namespace lifecycle) */
  onDeleted: (rt: ResourceType, obj: any, opts: DeleteOptions) => void = () => {};
  /** called when a namespace starts terminating */
  onNamespaceTerminating: (name: string) => void = () => {};

  constructor(store: Store) {
    this.store = store;
  }

  private nextIp = 1;
  private nextNodePort = 30000 + Math.floor(Math.random() * 2000);

  /** Service defaults: type ClusterIP, a cluster IP from 10.96.0.0/12 (kept on update), port protocol and targetPort. */
  private defaultService(obj: any, old: any | null): void {
    obj.spec ??= {};
    const spec = obj.spec;
    spec.type ??= 'ClusterIP';
    spec.sessionAffinity ??= 'None';
    if (old?.spec?.clusterIP) {
      spec.clusterIP ??= old.spec.clusterIP;
      spec.clusterIPs ??= old.spec.clusterIPs;
    }
    if (!spec.clusterIP && spec.type !== 'ExternalName') {
      const n = this.nextIp++;
      spec.clusterIP = `10.96.${(n >> 8) & 0xff}.${n & 0xff}`;
    }
    if (spec.clusterIP && spec.clusterIP !== 'None') spec.clusterIPs ??= [spec.clusterIP];
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
    spec.internalTrafficPolicy ??= 'Cluster';
    const nodePorts = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
    if (nodePorts) spec.externalTrafficPolicy ??= 'Cluster';
    (Array.isArray(spec.ports) ? spec.ports : []).forEach((p: any) => {
      if (!isObject(p)) return;
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
      if (nodePorts && p.nodePort === undefined) {
        p.nodePort = old?.spec?.ports?.find((o: any) => o.port === p.port && o.protocol === p.protocol)?.nodePort ?? this.nextNodePort++;
        if (this.nextNodePort > 32767) this.nextNodePort = 30000;
      }
    });
    obj.status ??= { loadBalancer: {} };
  }

  get(rt: ResourceType, namespace: string, name: string): Entry | undefined {
    return this.store.get(storageKey(rt), rt.namespaced ? namespace : '', name);
  }

  /** Throws 404 when the namespace is missing, 403 when it is terminating (for creates). */
  checkNamespaceForCreate(rt: ResourceType, namespace: string, name: string): any {
    const ns = this.store.get('namespaces', '', namespace);
    if (!ns) throw notFound(NAMESPACE_RT, namespace);
    if (ns.obj.metadata.deletionTimestamp || ns.obj.status?.phase === 'Terminating') {
      throw forbidden(rt, name, `unable to create new content in namespace ${namespace} because it is being terminated`, [
        { reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' },
      ]);
    }
    return ns.obj;
  }

  private decode(rt: ResourceType, obj: any, namespace: string, opts?: WriteOptions): any {
    if (!isObject(obj)) throw badRequest(`${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: the request body must be a JSON object`);
    const gv = groupVersion(rt);
    if (obj.apiVersion !== undefined && obj.apiVersion !== gv) {
      throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${gv})`);
    }
    if (obj.kind !== undefined && obj.kind !== rt.kind) {
      throw badRequest(`${obj.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: the kind in the data (${obj.kind}) does not match the expected kind (${rt.kind})`);
    }
    if (obj.metadata !== undefined && !isObject(obj.metadata)) {
      throw badRequest(`${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: json: cannot unmarshal into Go struct field ${rt.kind}.metadata of type v1.ObjectMeta`);
    }
    if (rt.kind === 'Secret') {
      const err = secretDecodeError(obj);
      if (err) throw badRequest(err);
    }
    const unknown = unknownFields(rt, obj);
    const duplicates = opts?.duplicates ?? [];
    if (unknown.length || duplicates.length) {
      const texts = [...unknown.map((f) => `unknown field "${f}"`), ...duplicates.map((f) => `duplicate field "${f}"`)];
      if (opts?.fieldValidation === 'Strict') {
        throw badRequest(`${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: strict decoding error: ${texts.join(', ')}`);
      }
      if (opts?.fieldValidation !== 'Ignore') for (const t of texts) opts?.warn?.(t);
      obj = { ...obj, metadata: obj.metadata ? { ...obj.metadata } : undefined, ...(isObject(obj.spec) ? { spec: { ...obj.spec } } : {}) };
      for (const f of unknown) {
        if (f.startsWith('metadata.')) delete obj.metadata[f.slice('metadata.'.length)];
        else if (f.startsWith('spec.')) delete obj.spec[f.slice('spec.'.length)];
        else delete obj[f];
      }
      if (obj.metadata === undefined) delete obj.metadata;
    }
    const shaped = { apiVersion: gv, kind: rt.kind, ...obj, metadata: { ...(obj.metadata ?? {}) } };
    const out = opts?.owned ? shaped : JSON.parse(JSON.stringify(shaped));
    out.apiVersion = gv;
    out.kind = rt.kind;
    if (rt.namespaced) {
      if (out.metadata.namespace && out.metadata.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      out.metadata.namespace = namespace;
    } else {
      delete out.metadata.namespace;
    }
    return out;
  }

  create(rt: ResourceType, namespace: string, body: any, opts: WriteOptions): any {
    const obj = this.decode(rt, body, namespace, opts);
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
    const name: string = meta.name ?? '';
    if (!name) throw invalid(rt, '', [{ type: 'FieldValueRequired', field: 'metadata.name', detail: 'name or generateName is required' }]);
    const nameErrs = validateObject(rt, { metadata: { name } }, null).filter((e) => e.field === 'metadata.name');
    if (nameErrs.length) throw invalid(rt, name, nameErrs);
    if (rt.namespaced) this.checkNamespaceForCreate(rt, namespace, name);
    const key = storageKey(rt);
    if (this.store.has(key, rt.namespaced ? namespace : '', name)) throw alreadyExists(rt, name);
    const now = nowSeconds();
    const computed = opts.managedFieldsComputed && Array.isArray(meta.managedFields) ? meta.managedFields : undefined;
    for (const k of ['resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink', 'managedFields']) delete meta[k];
    meta.uid = randomUUID();
    meta.creationTimestamp = now;
    if (rt.generation) meta.generation = 1;
    else delete meta.generation;
    mergeStringData(obj);
    if (rt.kind === 'Namespace') {
      meta.labels = { ...(meta.labels ?? {}), 'kubernetes.io/metadata.name': name };
      obj.spec = { finalizers: ['kubernetes'] };
      obj.status = { phase: 'Active' };
    }
    if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(rt.kind)) {
      defaultWorkload(rt.kind, obj);
      obj.status = opts.withStatus && isObject(obj.status) ? obj.status : {};
    }
    if (rt.kind === 'Service') this.defaultService(obj, null);
    if (rt.kind === 'Pod') {
      // no scheduler or kubelet here: a Pod stays Pending, unscheduled
      defaultPodTemplate({ metadata: {}, spec: obj.spec });
      obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
    }
    if (rt.kind === 'PodTemplate') defaultPodTemplate(obj.template);
    if (rt.kind === 'PodDisruptionBudget') obj.status = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
    if (rt.kind === 'ValidatingAdmissionPolicy') {
      obj.spec = { failurePolicy: 'Fail', ...(obj.spec ?? {}) };
      obj.status = {};
    }
    const errors: FieldError[] = validateObject(rt, obj, null);
    if (errors.length) throw invalid(rt, name, errors);
    meta.managedFields = computed ?? updateManagedFields(obj, null, opts.manager, groupVersion(rt), now);
    if (meta.managedFields.length === 0) delete meta.managedFields;
    opts.admit?.(obj, null);
    if (opts.dryRun) return obj;
    return this.store.put(key, obj).obj;
  }

  /**
   * Replaces an object (PUT, and PATCH after the patch is applied). `body.metadata.resourceVersion`, when set,
   * must match the stored one (else 409 Conflict).
   */
  update(rt: ResourceType, namespace: string, name: string, body: any, opts: WriteOptions): any {
    const key = storageKey(rt);
    const ns = rt.namespaced ? namespace : '';
    const cur = this.store.get(key, ns, name);
    if (!cur) throw notFound(rt, name);
    const old = cur.obj;
    // a status write takes only .status from the body: no need to decode (copy) the rest
    const incoming = opts.subresource === 'status' && isObject(body) && isObject(body.metadata)
      ? { metadata: body.metadata, status: body.status === undefined || opts.owned ? body.status : JSON.parse(JSON.stringify(body.status)) }
      : this.decode(rt, body, namespace, opts);
    const meta = incoming.metadata;
    const given = opts.subresource ? undefined : givenManagedFields(meta.managedFields, old.metadata.managedFields);
    if (meta.name !== undefined && meta.name !== name) {
      throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
    }
    if (meta.resourceVersion && meta.resourceVersion !== old.metadata.resourceVersion) throw conflict(rt, name);
    if (meta.uid && meta.uid !== old.metadata.uid) {
      throw conflict(rt, name, `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    let obj: any;
    if (opts.subresource === 'status') {
      obj = { ...old, status: incoming.status, metadata: { ...old.metadata } };
    } else {
      obj = incoming;
      obj.metadata.name = name;
      obj.metadata.uid = old.metadata.uid;
      obj.metadata.creationTimestamp = old.metadata.creationTimestamp;
      if (old.metadata.deletionTimestamp) {
        obj.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
        obj.metadata.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
      } else {
        delete obj.metadata.deletionTimestamp;
        delete obj.metadata.deletionGracePeriodSeconds;
      }
      delete obj.metadata.selfLink;
      if (rt.subresources.includes('status') && !(opts.withStatus && isObject(incoming.status))) {
        if (old.status === undefined) delete obj.status;
        else obj.status = old.status;
      }
      mergeStringData(obj);
      if (rt.kind === 'Namespace') {
        obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
        obj.spec = opts.subresource === 'finalize' ? { ...(incoming.spec ?? {}) } : old.spec;
        obj.status = old.status;
      }
      if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(rt.kind)) defaultWorkload(rt.kind, obj);
      if (rt.kind === 'PodTemplate') defaultPodTemplate(obj.template);
      if (rt.kind === 'Service') this.defaultService(obj, old);
    }
    obj.metadata.resourceVersion = old.metadata.resourceVersion;
    if (rt.generation) {
      const gen = old.metadata.generation ?? 1;
      obj.metadata.generation = opts.subresource !== 'status' && !deepEqual(obj.spec, old.spec) ? gen + 1 : gen;
    } else {
      delete obj.metadata.generation;
    }
    const errors = validateObject(rt, obj, old);
    if (errors.length) throw invalid(rt, name, errors);
    if (opts.managedFieldsComputed) {
      const computed = Array.isArray(meta.managedFields) ? meta.managedFields : [];
      obj.metadata.managedFields = old.metadata.managedFields;
      if (sameContent(obj, old) && sameManagedFields(computed, old.metadata.managedFields)) return old;
      if (computed.length) obj.metadata.managedFields = computed;
      else delete obj.metadata.managedFields;
      return this.commit(rt, key, ns, name, obj, old, opts);
    }
    obj.metadata.managedFields = old.metadata.managedFields;
    if (sameContent(obj, old) && !given) return old;
    // managedFields the request set itself (kubectl's client-side to server-side apply migration) replace the
    // stored ones before this write is recorded, as kube-apiserver's field manager does
    const before = given ? { ...old, metadata: { ...old.metadata, managedFields: given } } : old;
    const mf = updateManagedFields(obj, before, opts.manager, groupVersion(rt), nowSeconds(), opts.subresource === 'status' ? 'status' : undefined, { recorded: !given });
    if (mf.length) obj.metadata.managedFields = mf;
    else delete obj.metadata.managedFields;
    return this.commit(rt, key, ns, name, obj, old, opts);
  }

  /** The end of an update: admission, then the store (or nothing for a dry run). */
  private commit(rt: ResourceType, key: string, ns: string, name: string, obj: any, old: any, opts: WriteOptions): any {
    opts.admit?.(obj, old);
    if (opts.dryRun) return obj;
    if (obj.metadata.deletionTimestamp && !(obj.metadata.finalizers?.length) && rt.kind !== 'Namespace') {
      const gone = this.store.remove(key, ns, name)!.obj;
      this.onDeleted(rt, gone, {});
      return gone;
    }
    return this.store.put(key, obj).obj;
  }

  /**
   * Deletes an object. Returns the object and whether it is gone (false when finalizers or namespace
   * termination keep it).
   */
  delete(rt: ResourceType, namespace: string, name: string, opts: DeleteOptions): { obj: any; gone: boolean } {
    const key = storageKey(rt);
    const ns = rt.namespaced ? namespace : '';
    const cur = this.store.get(key, ns, name);
    if (!cur) throw notFound(rt, name);
    const old = cur.obj;
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== old.metadata.uid) {
      throw conflict(rt, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(rt, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`);
    }
    if (rt.kind === 'Namespace' && UNDELETABLE_NAMESPACES.includes(name)) {
      throw forbidden(rt, name, 'this namespace may not be deleted');
    }
    opts.admit?.(null, old);
    if (opts.dryRun) return { obj: old, gone: false };
    if (rt.kind === 'Namespace') {
      if (old.metadata.deletionTimestamp) return { obj: old, gone: false };
      const obj = {
        ...old,
        metadata: { ...old.metadata, deletionTimestamp: nowSeconds() },
        status: { ...(old.status ?? {}), phase: 'Terminating' },
      };
      const stored = this.store.put(key, obj).obj;
      this.onNamespaceTerminating(name);
      return { obj: stored, gone: false };
    }
    // Orphan and Foreground are carried out by the garbage collector through a finalizer, as in kube-apiserver
    const gcFinalizer = opts.propagationPolicy === 'Orphan' || opts.propagationPolicy === 'Foreground' ? GC_FINALIZERS[opts.propagationPolicy] : undefined;
    if (old.metadata.finalizers?.length || gcFinalizer) {
      if (old.metadata.deletionTimestamp) return { obj: old, gone: false };
      const finalizers = [...(old.metadata.finalizers ?? [])];
      if (gcFinalizer && !finalizers.includes(gcFinalizer)) finalizers.push(gcFinalizer);
      const obj = { ...old, metadata: { ...old.metadata, deletionTimestamp: nowSeconds(), deletionGracePeriodSeconds: 0, finalizers } };
      return { obj: this.store.put(key, obj).obj, gone: false };
    }
    const gone = this.store.remove(key, ns, name)!.obj;
    this.onDeleted(rt, gone, opts);
    return { obj: gone, gone: true };
  }
}

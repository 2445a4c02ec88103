/**
 * The HTTP front of the embedded API server: request parsing (kube's RequestInfo), the per-request pipeline
 * (authenticate -> impersonate -> authorize -> handler with admission -> audit), resource handlers
 * (get, list, watch, create, update, patch, delete, deletecollection), discovery, OpenAPI and reviews.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import YAML from 'yaml';
import { admit } from './admission.ts';
import { auditEvent, authorizationAnnotations, type AuditLog } from './audit.ts';
import { ImpersonationError, impersonatedUser, impersonation, impersonationChecks, type Authenticator, type UserInfo } from './auth.ts';
import { eventFromCore, eventToCore } from './convert.ts';
import { AGGREGATED_V2, aggregated, apiGroupDoc, apiGroupList, apiResourceList, apiVersions, VERSION_INFO, wantsAggregated } from './discovery.ts';
import { managerName } from './fields.ts';
import { openApiV2, openApiV3Doc, openApiV3Index } from './openapi.ts';
import { decodeProtobuf, ProtobufError } from './protobuf.ts';
import { applyPatch, APPLY_PATCH_TYPE, PATCH_TYPES, PatchError, type PatchType } from './patch.ts';
import {
  ApplyConflictError, ApplyError, applyConfiguration, checkApplyConfig, parseApplyBody, printManager, stringDataToData, TypedPatchError, typedPatchMessage,
} from './apply.ts';
import { duplicateFields, unknownFields } from './validate.ts';
import {
  boolParam, deleteOptions, listOptions, parseResourceVersion, writeOptions,
  type DeleteOptions as RequestDeleteOptions, type ListOptions, type WriteOptions as RequestWriteOptions,
} from './options.ts';
import { authorize, escalationCheck, forbiddenStatus, reviewAccess, rulesReview, type RbacObjects, type RequestAttributes } from './rbac.ts';
import { NAMESPACE_RT, nowSeconds, type Registry } from './registry.ts';
import { groupVersion, lookupKind, lookupResource, storageKey, type ResourceType } from './resources.ts';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, pinnedName, SelectorError, type FieldRequirement, type LabelRequirement } from './selectors.ts';
import { ApiError, badRequest, forbidden, internal, methodNotSupported, notFound, pathNotFound, success, unsupportedMediaType } from './status.ts';
import type { Entry, Store } from './store.ts';
import type { WatchHub } from './watch.ts';
import type { RequestRateLimit } from './ratelimit.ts';
import { includeObjectParam, TABLE_CONTENT_TYPE, toTable } from './table.ts';
import { listAsMetadata, metadataOnly, negotiateOutput, objectAsMetadata, partialObject, type OutputTarget } from './metadata.ts';

export interface ServerDeps {
  store: Store;
  registry: Registry;
  watches: WatchHub;
  authenticator: Authenticator;
  audit: AuditLog;
  authorization: 'RBAC' | 'AlwaysAllow';
  serverAddress: () => string;
  /** Request-rate limit (429 + Retry-After over it); absent: unlimited. */
  rateLimit?: RequestRateLimit;
}

/** kube's RequestInfo. */
export interface RequestInfo {
  resourceRequest: boolean;
  path: string;
  verb: string;
  apiPrefix?: 'api' | 'apis';
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  parts: string[];
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const MAX_BODY = 3 * 1024 * 1024;

export function requestInfo(method: string, pathname: string, query: URLSearchParams): RequestInfo {
  const path = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  const info: RequestInfo = { resourceRequest: false, path, verb: method.toLowerCase(), apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '', parts: [] };
  const segs = path.split('/').filter(Boolean);
  if (segs[0] !== 'api' && segs[0] !== 'apis') return info;
  let rest: string[];
  if (segs[0] === 'api') {
    if (segs.length < 3) return info;
    info.apiPrefix = 'api';
    info.apiVersion = segs[1];
    rest = segs.slice(2);
  } else {
    if (segs.length < 4) return info;
    info.apiPrefix = 'apis';
    info.apiGroup = segs[1];
    info.apiVersion = segs[2];
    rest = segs.slice(3);
  }
  info.resourceRequest = true;
  let watchPrefix = false;
  if (rest[0] === 'watch') {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  if (rest[0] === 'namespaces' && rest.length > 1) {
    info.namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2])) rest = rest.slice(2);
  }
  info.parts = rest;
  info.resource = rest[0] ?? '';
  info.name = rest[1] ?? '';
  info.subresource = rest[2] ?? '';
  const watchParam = query.get('watch');
  const isWatch = watchPrefix || (watchParam !== null && boolParam(watchParam));
  switch (method) {
    case 'GET':
    case 'HEAD':
      info.verb = info.name ? (isWatch ? 'watch' : 'get') : isWatch ? 'watch' : 'list';
      break;
    case 'POST': info.verb = 'create'; break;
    case 'PUT': info.verb = 'update'; break;
    case 'PATCH': info.verb = 'patch'; break;
    case 'DELETE': info.verb = info.name ? 'delete' : 'deletecollection'; break;
    default: info.verb = method.toLowerCase();
  }
  return info;
}

const COMMA = Buffer.from(',');
const LIST_END = Buffer.from(']}');

/** Responses of requests with `?pretty=true`: their JSON is indented, as kube-apiserver indents it. */
const PRETTY = new WeakSet<ServerResponse>();

function sendJson(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
  // encoded once (Buffer.byteLength + a string write would encode it twice)
  let bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  if (PRETTY.has(res)) bytes = Buffer.from(`${JSON.stringify(JSON.parse(bytes.toString('utf8')), null, 2)}\n`, 'utf8');
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': bytes.length });
  res.end(bytes);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The request's labelSelector and fieldSelector; a malformed one is a 400 BadRequest saying what is wrong. */
function requestSelectors(rt: ResourceType, q: URLSearchParams): { labels: LabelRequirement[]; fields: FieldRequirement[] } {
  try {
    return { labels: parseLabelSelector(q.get('labelSelector')), fields: parseFieldSelector(q.get('fieldSelector'), storageKey(rt)) };
  } catch (err) {
    if (err instanceof SelectorError) throw badRequest(err.message);
    throw err;
  }
}

function baseType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

function parseBody(buf: Buffer, contentType: string | undefined, what: string): any {
  const ct = baseType(contentType);
  if (!buf.length) throw badRequest(`${what}: the request body is empty`);
  const text = buf.toString('utf8');
  if (ct === 'application/yaml' || ct === 'application/x-yaml' || ct === 'text/yaml') {
    try {
      return YAML.parse(text);
    } catch (err) {
      throw badRequest(`error converting YAML to JSON: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (ct === 'application/vnd.kubernetes.protobuf') {
    try {
      return decodeProtobuf(buf);
    } catch (err) {
      if (err instanceof ProtobufError) throw new ApiError(415, 'UnsupportedMediaType', err.message);
      throw err;
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
}

const EVENTS_CORE = lookupResource('', 'v1', 'events')!;
/** What the scale subresource answers (for the 406 texts of metadata-only answers). */
const SCALE = { group: 'autoscaling', kind: 'Scale' };

/** Keys a JSON body repeats (strict decoding reports them); protobuf and YAML bodies have none to report here. */
function jsonDuplicates(buf: Buffer, contentType: string | undefined): string[] {
  const ct = baseType(contentType);
  if (ct && ct !== 'application/json') return [];
  return duplicateFields(buf.toString('utf8'));
}

/** Whether a write to an RBAC object changes what it grants (anything but metadata), as the escalation check needs. */
function grantsChanged(obj: any, old: any | null): boolean {
  if (!old) return true;
  for (const k of new Set([...Object.keys(obj), ...Object.keys(old)])) {
    if (k === 'metadata' || k === 'apiVersion' || k === 'kind') continue;
    if (JSON.stringify(obj[k]) !== JSON.stringify(old[k])) return true;
  }
  return false;
}

export class ApiServer {
  private readonly d: ServerDeps;
  private readonly cache = new Map<string, any[]>();

  constructor(deps: ServerDeps) {
    this.d = deps;
    deps.store.subscribe((c) => {
      if (c.key.endsWith('.rbac.authorization.k8s.io') || c.key.endsWith('.admissionregistration.k8s.io')) {
        for (const k of [...this.cache.keys()]) if (k.startsWith(`${c.key}|`)) this.cache.delete(k);
      }
    });
  }

  /** Objects of a resource (cached until it changes): for RBAC and admission, which read them per request. */
  private objects(key: string, namespace: string): any[] {
    const k = `${key}|${namespace}`;
    let v = this.cache.get(k);
    if (!v) {
      v = this.d.store.list(key, namespace).map((e) => e.obj);
      this.cache.set(k, v);
    }
    return v;
  }

  /** The authorizer and param source ValidatingAdmissionPolicies may use (CEL `authorizer`, `params`). */
  private admitOptions(): import('./admission.ts').AdmitOptions {
    return {
      authorize: (a) => this.decide(a),
      params: {
        namespaced: (apiVersion, kind) => lookupKind(apiVersion, kind)?.namespaced,
        list: (apiVersion, kind, namespace) => {
          const r = lookupKind(apiVersion, kind);
          if (!r || r.virtual) return [];
          return this.d.store.list(storageKey(r), r.namespaced ? namespace : '').map((e) => e.obj);
        },
      },
    };
  }

  /** The configured authorizer's decision: everything under AlwaysAllow, else RBAC over the stored objects. */
  private decide(attrs: RequestAttributes): { allowed: boolean; reason: string } {
    return this.d.authorization === 'AlwaysAllow' ? { allowed: true, reason: '' } : authorize(attrs, this.rbac(attrs.namespace));
  }

  rbac(namespace: string | undefined): RbacObjects {
    return {
      clusterRoles: this.objects('clusterroles.rbac.authorization.k8s.io', ''),
      clusterRoleBindings: this.objects('clusterrolebindings.rbac.authorization.k8s.io', ''),
      roles: namespace ? this.objects('roles.rbac.authorization.k8s.io', namespace) : [],
      roleBindings: namespace ? this.objects('rolebindings.rbac.authorization.k8s.io', namespace) : [],
    };
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.serve(req, res).catch((err) => {
      console.error('cluster: unhandled error', err);
      if (!res.headersSent) sendJson(res, 500, internal(String(err)).toStatus());
      else res.end();
    });
  };

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const received = new Date();
    const auditID = randomUUID();
    res.setHeader('Audit-Id', auditID);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const info = requestInfo(method, url.pathname, url.searchParams);
    const pretty = url.searchParams.get('pretty');
    if (pretty !== null && boolParam(pretty)) PRETTY.add(res);
    const annotations: Record<string, string> = {};
    let user: UserInfo | null = null;
    let impersonated: UserInfo | undefined;
    let failure: { code: number; reason?: string; message?: string } | null = null;
    /** filled from the request object when the URL has no name (create), as the real audit does */
    const refExtra: { name?: string } = {};
    const rt = info.resourceRequest ? lookupResource(info.apiGroup, info.apiVersion, info.resource) : undefined;

    this.auditOnClose(req, res, info, { auditID, received, annotations, refExtra }, () => ({ user, impersonated, failure }));

    const fail = (e: ApiError | any): void => {
      const status = e instanceof ApiError ? e.toStatus() : e;
      failure = { code: status.code, reason: status.reason, message: status.message };
      if (!res.headersSent) sendJson(res, status.code, status);
      else res.end();
    };

    try {
      user = this.d.authenticator.authenticate(req.headers);
      if (!user && req.headers.authorization === undefined) {
        // no credentials at all: the anonymous user, as kube-apiserver with --anonymous-auth (its default);
        // RBAC lets it read /healthz, /livez, /readyz and /version only
        user = { username: 'system:anonymous', groups: ['system:unauthenticated'] };
      }
      if (!user) {
        fail(new ApiError(401, 'Unauthorized', 'Unauthorized'));
        return;
      }
      const effective = this.effectiveUser(req, user, annotations, fail);
      if (!effective) return;
      if (effective !== user) impersonated = effective;
      const throttled = this.d.rateLimit?.admit(effective, info.verb, url.pathname);
      if (throttled) {
        res.setHeader('Retry-After', String(throttled.details?.retryAfterSeconds ?? 1));
        fail(throttled);
        return;
      }
      const attrs = requestAttributes(effective, info, url, rt);
      const decision = this.decide(attrs);
      Object.assign(annotations, authorizationAnnotations(decision));
      if (!decision.allowed) {
        fail(forbiddenStatus(attrs, decision.reason));
        return;
      }
      if (!info.resourceRequest) {
        this.nonResource(req, res, info, url);
        return;
      }
      await this.resource(req, res, info, url, rt, effective, annotations, refExtra);
    } catch (err) {
      if (err instanceof ApiError) fail(err);
      else {
        console.error('cluster: request failed', method, req.url, err);
        fail(internal((err as Error).message ?? String(err)));
      }
    }
  }

  /** Records the request's audit event when the response closes; `seen` reads who asked and how it failed by then. */
  private auditOnClose(req: IncomingMessage, res: ServerResponse, info: RequestInfo,
    r: { auditID: string; received: Date; annotations: Record<string, string>; refExtra: { name?: string } },
    seen: () => { user: UserInfo | null; impersonated: UserInfo | undefined; failure: { code: number; reason?: string; message?: string } | null }): void {
    const { auditID, received, annotations, refExtra } = r;
    res.on('close', () => {
      const { user, impersonated, failure } = seen();
      const code = failure?.code ?? res.statusCode;
      const objectRef = info.resourceRequest
        ? {
          resource: info.resource,
          ...(info.namespace ? { namespace: info.namespace } : {}),
          ...(info.name || refExtra.name ? { name: info.name || refExtra.name } : {}),
          ...(info.apiGroup ? { apiGroup: info.apiGroup } : {}),
          apiVersion: info.apiVersion,
          ...(info.subresource ? { subresource: info.subresource } : {}),
        }
        : undefined;
      this.d.audit.record(auditEvent({
        auditID,
        requestURI: req.url ?? '/',
        verb: info.verb,
        user: user ?? { username: 'system:anonymous', groups: ['system:unauthenticated'] },
        ...(impersonated ? { impersonatedUser: impersonated } : {}),
        sourceIPs: [req.socket.remoteAddress ?? ''],
        userAgent: req.headers['user-agent'],
        ...(objectRef ? { objectRef } : {}),
        code,
        ...(failure ? { reason: failure.reason, message: failure.message } : {}),
        received,
        annotations,
      }));
    });
  }

  /**
   * The user a request acts as: the authenticated one, or the one it impersonates once every impersonation check
   * allows it; null when refused (the failure is sent).
   */
  private effectiveUser(req: IncomingMessage, user: UserInfo, annotations: Record<string, string>, fail: (e: ApiError | any) => void): UserInfo | null {
    let effective = user;
    let imp: ReturnType<typeof impersonation>;
    try {
      imp = impersonation(req.headersDistinct);
    } catch (err) {
      if (err instanceof ImpersonationError) {
        fail(badRequest(err.message));
        return null;
      }
      throw err;
    }
    if (imp) {
      for (const check of impersonationChecks(user, imp)) {
        const d = this.decide(check);
        if (!d.allowed) {
          Object.assign(annotations, authorizationAnnotations(d));
          fail(forbiddenStatus(check, d.reason));
          return null;
        }
      }
      effective = impersonatedUser(imp);
    }
    return effective;
  }

  private nonResource(req: IncomingMessage, res: ServerResponse, info: RequestInfo, url: URL): void {
    const p = info.path;
    const accept = req.headers.accept;
    if (req.method !== 'GET' && req.method !== 'HEAD') throw pathNotFound();
    if (p === '/version') return sendJson(res, 200, VERSION_INFO);
    if (p === '/healthz' || p === '/livez' || p === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    if (p === '/api') {
      if (wantsAggregated(accept)) return sendJson(res, 200, aggregated(true), AGGREGATED_V2);
      return sendJson(res, 200, apiVersions(this.d.serverAddress()));
    }
    if (p === '/apis') {
      if (wantsAggregated(accept)) return sendJson(res, 200, aggregated(false), AGGREGATED_V2);
      return sendJson(res, 200, apiGroupList());
    }
    const segs = p.split('/').filter(Boolean);
    if (segs[0] === 'api' && segs.length === 2) {
      const doc = apiResourceList('', segs[1]);
      if (doc) return sendJson(res, 200, doc);
    }
    if (segs[0] === 'apis' && segs.length === 2) {
      const doc = apiGroupDoc(segs[1]);
      if (doc) return sendJson(res, 200, doc);
    }
    if (segs[0] === 'apis' && segs.length === 3) {
      const doc = apiResourceList(segs[1], segs[2]);
      if (doc) return sendJson(res, 200, doc);
    }
    if (p === '/openapi/v3') return sendJson(res, 200, openApiV3Index());
    if (p === '/openapi/v2' || p === '/swagger.json') {
      // JSON only: a client asking for nothing but the protobuf form gets 406, as the real server
      // answers for a media type it cannot produce (kubectl then works from OpenAPI v3 / compiled-in types)
      if (accept && !/application\/json|\*\/\*/.test(accept)) {
        return sendJson(res, 406, new ApiError(406, 'NotAcceptable', `only the following media types are accepted: application/json`).toStatus());
      }
      return sendJson(res, 200, openApiV2());
    }
    if (segs[0] === 'openapi' && segs[1] === 'v3' && segs.length > 2) {
      const doc = openApiV3Doc(segs.slice(2).join('/'));
      if (doc) {
        res.setHeader('Cache-Control', url.searchParams.has('hash') ? 'public, immutable' : 'no-cache, private');
        return sendJson(res, 200, doc);
      }
    }
    throw pathNotFound();
  }

  private async resource(req: IncomingMessage, res: ServerResponse, info: RequestInfo, url: URL, rt: ResourceType | undefined, user: UserInfo, annotations: Record<string, string>, refExtra: { name?: string }): Promise<void> {
    if (!rt || info.parts.length > 3) throw pathNotFound();
    if (info.subresource && !rt.subresources.includes(info.subresource)) throw pathNotFound();
    if (rt.namespaced === false && info.namespace && rt.kind !== 'Namespace') throw pathNotFound();
    const q = url.searchParams;
    const verb = info.verb;
    if (!rt.verbs.includes(verb) && !(info.subresource && ['get', 'update', 'patch'].includes(verb))) throw methodNotSupported(rt, verb);
    if (rt.virtual) {
      if (verb !== 'create') throw methodNotSupported(rt, verb);
      // reviews have no table convertor: asked for a Table only, the answer is 406, as from kube-apiserver
      const output = negotiateOutput(req.headers.accept, { table: false });
      const body = parseBody(await readBody(req), req.headers['content-type'], rt.kind);
      const review = this.review(rt, body, user, info.namespace);
      return sendJson(res, 201, metadataOnly(output) ? objectAsMetadata(review, output, rt) : review);
    }
    // events.k8s.io Events live in core storage
    const isEventsV1 = rt.group === 'events.k8s.io';
    const srt = isEventsV1 ? EVENTS_CORE : rt;
    const encode = isEventsV1 ? eventFromCore : undefined;
    const out = (obj: any): any => (encode ? encode(obj) : obj);
    const namespace = rt.kind === 'Namespace' ? '' : info.namespace;
    const name = info.name;
    // namespaced objects are addressed only under /namespaces/<ns>/ (lists and watches may span all namespaces)
    if (rt.namespaced && !namespace && (verb === 'create' || verb === 'deletecollection')) {
      throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
    }
    if (rt.namespaced && !namespace && ['get', 'update', 'patch', 'delete'].includes(verb)) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    }
    // what the answer is sent as (Accept: a Table, metadata only), negotiated before anything runs
    const output = negotiateOutput(req.headers.accept, { table: true });
    // the request's options (options.ts), read and validated before anything runs, as kube-apiserver's handlers do
    const writeOpts = verb === 'create' || verb === 'update' || verb === 'patch'
      ? writeOptions(q, verb, verb === 'patch' && baseType(req.headers['content-type']) === APPLY_PATCH_TYPE && (!info.subresource || info.subresource === 'status'))
      : undefined;
    const deleteOpts = verb === 'delete' || verb === 'deletecollection' ? await this.deleteOptions(req, q) : undefined;
    const dryRun = writeOpts?.dryRun ?? deleteOpts?.dryRun ?? false;
    const manager = managerName(writeOpts?.fieldManager || null, req.headers['user-agent']);
    const warnings: string[] = [];
    const fieldValidation = writeOpts?.fieldValidation ?? 'Warn';
    const warn = (m: string) => warnings.push(m);
    const admitHook = (operation: 'CREATE' | 'UPDATE' | 'DELETE', subresource?: string) => (obj: any | null, old: any | null): void => {
      // RBAC escalation prevention (the real server's rbac storage), for writes that grant anything
      if (obj && rt.group === 'rbac.authorization.k8s.io' && this.d.authorization === 'RBAC' && grantsChanged(obj, old)) {
        const why = escalationCheck(user, rt.plural, obj, this.rbac(rt.namespaced ? namespace : undefined));
        if (why) throw forbidden(rt, obj.metadata?.name ?? name, why);
      }
      const policies = this.objects('validatingadmissionpolicies.admissionregistration.k8s.io', '');
      if (policies.length === 0) return;
      const bindings = this.objects('validatingadmissionpolicybindings.admissionregistration.k8s.io', '');
      const ns = rt.namespaced ? namespace : undefined;
      const r = admit({
        operation,
        userInfo: user,
        apiGroup: rt.group,
        apiVersion: rt.version,
        kind: rt.kind,
        resource: rt.plural,
        ...(subresource ? { subresource } : {}),
        ...(ns ? { namespace: ns } : {}),
        name: (obj ?? old)?.metadata?.name ?? name,
        object: obj ? out(obj) : null,
        oldObject: old ? out(old) : null,
        namespaceObject: ns ? this.d.store.get('namespaces', '', ns)?.obj ?? null : null,
        dryRun,
      }, policies, bindings, this.admitOptions());
      warnings.push(...r.warnings);
      Object.assign(annotations, r.auditAnnotations);
      if (!r.allowed) {
        const s = r.status ?? { code: 403, reason: 'Forbidden', message: 'denied by admission' };
        throw new ApiError(s.code, s.reason, s.message, (s as any).details);
      }
    };
    const flushWarnings = () => {
      for (const w of warnings) res.appendHeader('Warning', `299 - ${JSON.stringify(w.replace(/[^\x20-\x7e]/g, '?'))}`);
    };
    // warnings go out with successful responses only (kube-apiserver also sends them with failures)
    await this.dispatch(req, res, info, q, rt, srt, namespace, name, verb, { manager, dryRun, fieldValidation, warn, admitHook, flushWarnings, encode, refExtra, writeOpts, deleteOpts, output });
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, info: RequestInfo, q: URLSearchParams, rt: ResourceType, srt: ResourceType,
    namespace: string, name: string, verb: string, ctx: {
      manager: string; dryRun: boolean; fieldValidation: 'Strict' | 'Warn' | 'Ignore'; warn: (m: string) => void;
      admitHook: (operation: 'CREATE' | 'UPDATE' | 'DELETE', subresource?: string) => (obj: any | null, old: any | null) => void;
      flushWarnings: () => void; encode?: (o: any) => any; refExtra: { name?: string };
      writeOpts?: RequestWriteOptions; deleteOpts?: RequestDeleteOptions; output: OutputTarget;
    }): Promise<void> {
    const { manager, dryRun, fieldValidation, warn, admitHook, flushWarnings, encode, refExtra, deleteOpts, output } = ctx;
    const isEventsV1 = rt.group === 'events.k8s.io';
    const out = (obj: any): any => (encode ? encode(obj) : obj);
    const reg = this.d.registry;

    if (info.subresource === 'scale') {
      return this.scale(req, res, rt, namespace, name, verb, { manager, dryRun, fieldValidation: 'Ignore', owned: true, subresource: 'scale', admit: admitHook('UPDATE', 'scale') }, flushWarnings, output);
    }

    switch (verb) {
      case 'get': {
        // GetOptions.resourceVersion: any version not older than it is the current one
        this.notAhead(parseResourceVersion(q.get('resourceVersion') ?? ''));
        const e = reg.get(srt, namespace, name);
        if (!e) throw notFound(rt, name);
        if (output?.kind === 'Table') {
          return sendJson(res, 200, toTable(rt, [out(e.obj)], { resourceVersion: e.obj.metadata.resourceVersion }, includeObjectParam(q.get('includeObject'))), TABLE_CONTENT_TYPE);
        }
        if (metadataOnly(output)) return sendJson(res, 200, objectAsMetadata(out(e.obj), output, rt));
        return sendJson(res, 200, encode ? encode(e.obj) : e.json);
      }
      case 'list':
        return this.list(res, rt, srt, namespace, q, listOptions(q, 'list'), output, encode);
      case 'watch':
        return this.serveWatch(res, rt, srt, namespace, name, q, output, encode);
      case 'create': {
        if (name) throw methodNotSupported(rt, 'create');
        const buf = await readBody(req);
        let body = parseBody(buf, req.headers['content-type'], rt.kind);
        if (isEventsV1) body = eventToCore(body);
        if (typeof body?.metadata?.name === 'string') refExtra.name = body.metadata.name;
        const obj = reg.create(srt, namespace, body, { manager, dryRun, fieldValidation, warn, duplicates: jsonDuplicates(buf, req.headers['content-type']), owned: true, admit: admitHook('CREATE') });
        refExtra.name = obj.metadata.name;
        flushWarnings();
        return sendJson(res, 201, this.answer(rt, srt, obj, output, encode));
      }
      case 'update': {
        const buf = await readBody(req);
        let body = parseBody(buf, req.headers['content-type'], rt.kind);
        if (isEventsV1) body = eventToCore(body);
        const obj = reg.update(srt, namespace, name, body, { manager, dryRun, fieldValidation, warn, duplicates: jsonDuplicates(buf, req.headers['content-type']), owned: true, ...(info.subresource ? { subresource: info.subresource } : {}), admit: admitHook('UPDATE', info.subresource || undefined) });
        flushWarnings();
        return sendJson(res, 200, this.answer(rt, srt, obj, output, encode));
      }
      case 'patch': {
        const ct = baseType(req.headers['content-type']);
        if (ct === APPLY_PATCH_TYPE && (!info.subresource || info.subresource === 'status')) {
          return this.apply(req, res, rt, srt, namespace, name, info.subresource === 'status' ? 'status' : undefined, { manager, force: ctx.writeOpts?.force ?? false, dryRun, warn, admitHook, flushWarnings, encode, refExtra, output });
        }
        return this.patch(req, res, info, rt, srt, namespace, name, ct, { manager, dryRun, fieldValidation, warn, admitHook, flushWarnings, encode, output });
      }
      case 'delete': {
        const r = reg.delete(srt, namespace, name, { ...deleteOpts!, admit: admitHook('DELETE') });
        flushWarnings();
        // a deleted object's answer is a Status, which metadata-only answers pass through
        const answer = rt.kind === 'Namespace' || !r.gone ? out(r.obj) : success(rt, name, r.obj.metadata.uid);
        return sendJson(res, 200, metadataOnly(output) ? objectAsMetadata(answer, output, rt) : answer);
      }
      case 'deletecollection':
        return this.deleteCollection(res, rt, srt, namespace, q, admitHook, flushWarnings, deleteOpts!, output, encode);
    }
    throw methodNotSupported(rt, verb);
  }

  /**
   * A watch (name, when given, is a field selector on metadata.name), as JSON events, Table rows or
   * PartialObjectMetadata (bookmarks too, as kube-apiserver transforms every event's object but Status).
   */
  private serveWatch(res: ServerResponse, rt: ResourceType, srt: ResourceType, namespace: string, name: string, q: URLSearchParams, output: OutputTarget, encode?: (o: any) => any): void {
    const out = (obj: any): any => (encode ? encode(obj) : obj);
    const opts = listOptions(q, 'watch');
    const { labels, fields: requested } = requestSelectors(rt, q);
    const fields = name ? [...requested, { field: 'metadata.name', op: '=' as const, value: name }] : requested;
    this.notAhead(parseResourceVersion(opts.resourceVersion));
    const timeout = opts.timeoutSeconds;
    const asTable = output?.kind === 'Table';
    const include = asTable ? includeObjectParam(q.get('includeObject')) : 'Metadata';
    const tableEncode = asTable ? (o: any) => toTable(rt, [out(o)], { resourceVersion: o.metadata?.resourceVersion }, include) : undefined;
    // as=PartialObjectMetadataList cannot transform a watch event's object: kube-apiserver logs that and sends the
    // object itself, and so does this server
    const partial = output?.kind === 'PartialObjectMetadata' ? output : undefined;
    const partialEncode = partial ? (o: any) => partialObject(out(o), partial.version) : undefined;
    this.d.watches.serve(res, {
      key: storageKey(srt),
      ...(rt.namespaced && namespace ? { namespace } : !rt.namespaced ? { namespace: '' } : {}),
      // the kind of BOOKMARK objects
      kind: partial ? 'PartialObjectMetadata' : rt.kind,
      apiVersion: partial ? `meta.k8s.io/${partial.version}` : groupVersion(rt),
      labels,
      fields,
      resourceVersion: opts.resourceVersion,
      allowBookmarks: opts.allowWatchBookmarks,
      // true: a watch-list request (initial state, then the initial-events-end bookmark), which needs bookmarks
      ...(opts.sendInitialEvents === false ? { sendInitialEvents: false } : opts.sendInitialEvents && opts.allowWatchBookmarks ? { sendInitialEvents: true } : {}),
      // without timeoutSeconds kube-apiserver ends a watch after minRequestTimeout (1800 s) x random [1, 2)
      timeoutSeconds: timeout !== undefined && timeout > 0 ? timeout : Math.floor(1800 * (1 + Math.random())),
      ...(tableEncode ? { encode: tableEncode, contentType: TABLE_CONTENT_TYPE } : partialEncode ? { encode: partialEncode } : encode ? { encode } : {}),
    });
  }

  /** JSON, merge and strategic-merge patches (server-side apply is `apply`). */
  private async patch(req: IncomingMessage, res: ServerResponse, info: RequestInfo, rt: ResourceType, srt: ResourceType, namespace: string, name: string, ct: string, ctx: {
    manager: string; dryRun: boolean; fieldValidation: 'Strict' | 'Warn' | 'Ignore'; warn: (m: string) => void;
    admitHook: (operation: 'CREATE' | 'UPDATE' | 'DELETE', subresource?: string) => (obj: any | null, old: any | null) => void;
    flushWarnings: () => void; encode?: (o: any) => any; output: OutputTarget;
  }): Promise<void> {
    const { manager, dryRun, fieldValidation, warn, admitHook, flushWarnings, encode, output } = ctx;
    const isEventsV1 = rt.group === 'events.k8s.io';
    const reg = this.d.registry;
    if (!(PATCH_TYPES as readonly string[]).includes(ct)) throw unsupportedMediaType(info.subresource && info.subresource !== 'status' ? [...PATCH_TYPES] : [...PATCH_TYPES, APPLY_PATCH_TYPE]);
    const patch = parseBody(await readBody(req), 'application/json', rt.kind);
    const cur = reg.get(srt, namespace, name);
    if (!cur) throw notFound(rt, name);
    let patched: any;
    try {
      // the patch types build a new object and never change their input (patch.ts), so the stored object is
      // patched as it is: the result shares its unchanged parts, which the write then recognises at once
      patched = applyPatch(ct as PatchType, encode ? encode(cur.obj) : cur.obj, patch);
    } catch (err) {
      if (err instanceof PatchError) {
        if (err.code === 400) throw badRequest(err.message);
        throw new ApiError(422, 'Invalid', err.message, { name, ...(rt.group ? { group: rt.group } : {}), kind: rt.kind, causes: [{ reason: 'FieldValueInvalid', message: err.message }] } as any);
      }
      throw err;
    }
    if (isEventsV1) patched = eventToCore(patched);
    const obj = reg.update(srt, namespace, name, patched, { manager, dryRun, fieldValidation, warn, owned: true, ...(info.subresource ? { subresource: info.subresource } : {}), admit: admitHook('UPDATE', info.subresource || undefined) });
    flushWarnings();
    return sendJson(res, 200, this.answer(rt, srt, obj, output, encode));
  }

  private deleteCollection(res: ServerResponse, rt: ResourceType, srt: ResourceType, namespace: string, q: URLSearchParams,
    admitHook: (operation: 'CREATE' | 'UPDATE' | 'DELETE', subresource?: string) => (obj: any | null, old: any | null) => void,
    flushWarnings: () => void, deleteOpts: RequestDeleteOptions, output: OutputTarget, encode?: (o: any) => any): void {
    const out = (obj: any): any => (encode ? encode(obj) : obj);
    const reg = this.d.registry;
    // the objects a list with the same ListOptions returns (selectors, resourceVersion, limit/continue)
    const { entries } = this.listEntries(rt, srt, namespace, q, listOptions(q, 'deletecollection'));
    const items: any[] = [];
    for (const e of entries) {
      const n = e.obj.metadata.name;
      try {
        const r = reg.delete(srt, e.obj.metadata.namespace ?? '', n, { ...deleteOpts, admit: admitHook('DELETE') });
        items.push(out(r.obj));
      } catch (err) {
        if (err instanceof ApiError && err.code === 404) continue;
        throw err;
      }
    }
    flushWarnings();
    const metadata = { resourceVersion: String(this.d.store.resourceVersion) };
    if (metadataOnly(output)) return sendJson(res, 200, listAsMetadata(items, metadata, output, rt));
    return sendJson(res, 200, { kind: rt.listKind, apiVersion: groupVersion(rt), metadata, items });
  }

  /**
   * Server-side apply (PATCH application/apply-patch+yaml) of a whole object: creates it when absent (201),
   * else merges the configuration into it (200), through the same registry writes, admission and watch events
   * as other writes. On the status subresource only .status is applied, to an existing object (scale and
   * finalize answer 415 for apply).
   */
  private async apply(req: IncomingMessage, res: ServerResponse, rt: ResourceType, srt: ResourceType, namespace: string, name: string,
    subresource: 'status' | undefined, ctx: {
    manager: string; force: boolean; dryRun: boolean; warn: (m: string) => void;
    admitHook: (operation: 'CREATE' | 'UPDATE' | 'DELETE', subresource?: string) => (obj: any | null, old: any | null) => void;
    flushWarnings: () => void; encode?: (o: any) => any; refExtra: { name?: string }; output: OutputTarget;
  }): Promise<void> {
    // fieldManager (required for apply, checked by writeOptions) and force come from the request's PatchOptions
    const { manager, force, dryRun, warn, admitHook, flushWarnings, encode, refExtra, output } = ctx;
    const buf = await readBody(req);
    if (!buf.length) throw badRequest(`${rt.kind}: the request body is empty`);
    const out = (obj: any): any => (encode ? encode(obj) : obj);
    let config: any;
    try {
      config = parseApplyBody(buf.toString('utf8'));
      checkApplyConfig(config, { apiVersion: groupVersion(rt), kind: rt.kind, name, namespace: rt.namespaced ? namespace : '' });
    } catch (err) {
      if (err instanceof ApplyError) throw badRequest(err.message);
      throw err;
    }
    if (typeof config.metadata?.name === 'string') refExtra.name = config.metadata.name;
    config = stringDataToData(config);
    const at = { namespace: rt.namespaced ? namespace : '', name, group: rt.group, version: rt.version, kind: rt.kind };
    // unknown fields are refused whatever fieldValidation says: the configuration must fit the schema
    const unknown = unknownFields(rt, config);
    if (unknown.length) throw new ApiError(500, '', typedPatchMessage(new TypedPatchError(unknown.map((f) => `.${f}: field not declared in schema`)), at));
    const reg = this.d.registry;
    const cur = reg.get(srt, namespace, name);
    if (!cur && subresource) throw notFound(rt, name);
    let applied: any;
    try {
      applied = applyConfiguration(cur ? out(JSON.parse(cur.json)) : null, config, { manager, apiVersion: groupVersion(rt), now: nowSeconds(), force, ...(subresource ? { subresource } : {}) }).obj;
    } catch (err) {
      if (err instanceof ApplyConflictError) {
        throw new ApiError(409, 'Conflict', err.message, {
          causes: err.conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${printManager(c)}`, field: c.path })),
        });
      }
      if (err instanceof TypedPatchError) throw new ApiError(500, '', typedPatchMessage(err, at));
      if (err instanceof ApplyError) {
        if (err.code === 400) throw badRequest(err.message);
        throw new ApiError(422, 'Invalid', err.message, { name, ...(rt.group ? { group: rt.group } : {}), kind: rt.kind, causes: [{ reason: 'FieldValueInvalid', message: err.message }] } as any);
      }
      throw err;
    }
    if (encode) applied = eventToCore(applied);
    const opts = { manager, dryRun, fieldValidation: 'Ignore' as const, warn, owned: true, managedFieldsComputed: true };
    if (!cur) {
      const obj = reg.create(srt, namespace, applied, { ...opts, admit: admitHook('CREATE') });
      refExtra.name = obj.metadata.name;
      flushWarnings();
      return sendJson(res, 201, this.answer(rt, srt, obj, output, encode));
    }
    const obj = reg.update(srt, namespace, name, applied, { ...opts, ...(subresource ? { subresource } : {}), admit: admitHook('UPDATE', subresource) });
    flushWarnings();
    return sendJson(res, 200, this.answer(rt, srt, obj, output, encode));
  }

  /** autoscaling/v1 Scale of a workload: get, update (PUT) and patch of spec.replicas. */
  private async scale(req: IncomingMessage, res: ServerResponse, rt: ResourceType, namespace: string, name: string, verb: string,
    opts: import('./registry.ts').WriteOptions, flushWarnings: () => void, output: OutputTarget): Promise<void> {
    const reg = this.d.registry;
    const scaleAnswer = (o: any) => (metadataOnly(output) ? objectAsMetadata(toScale(o), output, SCALE) : toScale(o));
    const toScale = (o: any) => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
      spec: { replicas: o.spec?.replicas ?? 0 },
      status: { replicas: o.status?.replicas ?? 0, selector: Object.entries(o.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') },
    });
    const cur = reg.get(rt, namespace, name);
    if (!cur) throw notFound(rt, name);
    if (verb === 'get') return sendJson(res, 200, scaleAnswer(cur.obj));
    let desired: any;
    if (verb === 'update') desired = parseBody(await readBody(req), req.headers['content-type'], 'Scale');
    else if (verb === 'patch') {
      const ct = baseType(req.headers['content-type']);
      if (!(PATCH_TYPES as readonly string[]).includes(ct)) throw unsupportedMediaType([...PATCH_TYPES]);
      try {
        desired = applyPatch(ct as PatchType, toScale(cur.obj), parseBody(await readBody(req), 'application/json', 'Scale'));
      } catch (err) {
        if (err instanceof PatchError) throw err.code === 400 ? badRequest(err.message) : new ApiError(422, 'Invalid', err.message);
        throw err;
      }
    } else throw methodNotSupported(rt, verb);
    const replicas = desired?.spec?.replicas;
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new ApiError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`,
        { name, group: 'autoscaling', kind: 'Scale', causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`, field: 'spec.replicas' }] });
    }
    const rv = desired?.metadata?.resourceVersion;
    const next = JSON.parse(cur.json);
    next.spec.replicas = replicas;
    if (rv) next.metadata.resourceVersion = rv;
    const obj = reg.update(rt, namespace, name, next, { ...opts, subresource: undefined });
    flushWarnings();
    return sendJson(res, 200, scaleAnswer(obj));
  }

  /**
   * The response body for a written object: its metadata when only that was asked (of the object as answered,
   * after `encode`), else the stored JSON when `obj` is what is stored (the cached-JSON fast path).
   */
  private answer(rt: ResourceType, srt: ResourceType, obj: any, output: OutputTarget, encode?: (o: any) => any): any {
    if (metadataOnly(output)) return objectAsMetadata(encode ? encode(obj) : obj, output, rt);
    if (encode) return encode(obj);
    const e = this.d.registry.get(srt, obj.metadata?.namespace ?? '', obj.metadata?.name ?? '');
    return e && e.obj === obj ? e.json : obj;
  }

  /**
   * The request's DeleteOptions (options.ts): the body, when there is one (kubectl and client-go send them there, JSON
   * or protobuf), and the query string.
   */
  private async deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<RequestDeleteOptions> {
    const buf = await readBody(req);
    let body: any;
    if (buf.length && (baseType(req.headers['content-type']) === 'application/vnd.kubernetes.protobuf' || buf.toString('utf8').trim())) body = parseBody(buf, req.headers['content-type'], 'DeleteOptions');
    return deleteOptions(q, body);
  }

  /** Entries of a list request after selectors (namespace '' = all namespaces for namespaced types). */
  private select(rt: ResourceType, srt: ResourceType, namespace: string, q: URLSearchParams): Entry[] {
    const { labels, fields } = requestSelectors(rt, q);
    const key = storageKey(srt);
    // fast path: metadata.name pinned
    const pinned = pinnedName(fields);
    let entries: Entry[];
    if (pinned !== undefined && (namespace || !rt.namespaced)) {
      const e = this.d.store.get(key, rt.namespaced ? namespace : '', pinned);
      entries = e ? [e] : [];
    } else {
      entries = this.d.store.list(key, rt.namespaced ? namespace || undefined : '');
    }
    if (!labels.length && !fields.length) return entries;
    return entries.filter((e) => (!labels.length || matchLabels(labels, e.obj.metadata.labels)) && (!fields.length || matchFields(fields, e.obj)));
  }

  /**
   * A resourceVersion the store has not reached yet: kube-apiserver's watch cache waits a few seconds for it, then
   * answers 504 `Too large resource version`; here nothing else writes meanwhile, so the answer comes at once.
   */
  private notAhead(rv: number | '' | '0'): void {
    const current = this.d.store.resourceVersion;
    if (typeof rv === 'number' && rv > current) {
      throw new ApiError(504, 'Timeout', `Timeout: Too large resource version: ${rv}, current: ${current}`, {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1,
      });
    }
  }

  /**
   * The objects of a list as of `rv` (older than now): the current ones with the changes since `rv` undone, from
   * the retained history (410 Expired when `rv` is older than it).
   */
  private snapshot(key: string, namespace: string | undefined, rv: number, expired: () => ApiError): { obj: any; buffer?: Buffer }[] {
    const changes = this.d.store.changesSince(rv, key, namespace);
    if (changes === 'expired') throw expired();
    const current = this.d.store.list(key, namespace);
    if (changes.length === 0) return current;
    const byKey = new Map<string, { obj: any; buffer?: Buffer }>();
    const id = (ns: string, name: string) => `${ns}\u0000${name}`;
    for (const e of current) byKey.set(id(e.obj.metadata.namespace ?? '', e.obj.metadata.name), e);
    for (let i = changes.length - 1; i >= 0; i--) {
      const c = changes[i];
      if (c.type === 'ADDED') byKey.delete(id(c.namespace, c.name));
      else byKey.set(id(c.namespace, c.name), { obj: c.old });
    }
    return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  }

  /**
   * The objects a list returns for its ListOptions, as kube-apiserver serves them: resourceVersion "" / "0" (and
   * NotOlderThan) the current state; an exact resourceVersion (resourceVersionMatch=Exact, or a limit with no match,
   * the legacy rule) the state at that version; a continue token the state at its first page's version, resuming
   * after the last key (an expired one: 410 with a token that continues inconsistently, from the current state).
   */
  private listEntries(rt: ResourceType, srt: ResourceType, namespace: string, q: URLSearchParams, opts: ListOptions): {
    entries: { obj: any; buffer?: Buffer }[]; metadata: Record<string, unknown>;
  } {
    const store = this.d.store;
    const key = storageKey(srt);
    const current = store.resourceVersion;
    let listRv = current;
    let after: { ns: string; name: string } | undefined;
    let exact = false;
    if (opts.continue) {
      let token: { rv: number; ns: string; name: string };
      try {
        token = JSON.parse(Buffer.from(opts.continue, 'base64url').toString('utf8'));
        if (typeof token.rv !== 'number' || typeof token.ns !== 'string' || typeof token.name !== 'string') throw new Error('bad token');
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data');
      }
      after = { ns: token.ns, name: token.name };
      if (token.rv >= 0) {
        if (token.rv < store.compactedRevision) {
          const err = new ApiError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
          err.metadata = { continue: Buffer.from(JSON.stringify({ rv: -1, ns: token.ns, name: token.name })).toString('base64url') };
          throw err;
        }
        listRv = token.rv;
        exact = listRv < current;
      }
    } else {
      const rv = parseResourceVersion(opts.resourceVersion);
      this.notAhead(rv);
      if (typeof rv === 'number' && (opts.resourceVersionMatch === 'Exact' || (opts.resourceVersionMatch === '' && opts.limit > 0))) {
        listRv = rv;
        exact = rv < current;
      }
    }
    const { labels, fields } = requestSelectors(rt, q);
    if (!exact && !after && opts.limit > 0 && !labels.length && !fields.length) {
      // the first page of a whole collection (e.g. a limit=1 probe of all namespaces): not the whole list built
      const ns = rt.namespaced ? namespace || undefined : '';
      const total = store.count(key, ns);
      const page = store.first(key, ns, opts.limit);
      const metadata: Record<string, unknown> = { resourceVersion: String(listRv) };
      if (total > opts.limit) {
        const last = page[page.length - 1].obj.metadata;
        metadata.continue = Buffer.from(JSON.stringify({ rv: listRv, ns: last.namespace ?? '', name: last.name })).toString('base64url');
        metadata.remainingItemCount = total - opts.limit;
      }
      return { entries: page, metadata };
    }
    let entries: { obj: any; buffer?: Buffer }[];
    if (exact) {
      const ns = rt.namespaced ? namespace || undefined : '';
      entries = this.snapshot(key, ns, listRv, () => new ApiError(410, 'Expired', `The resourceVersion for the provided list is too old.`));
      const pinned = pinnedName(fields);
      if (pinned !== undefined) entries = entries.filter((e) => e.obj.metadata.name === pinned);
      if (labels.length || fields.length) entries = entries.filter((e) => (!labels.length || matchLabels(labels, e.obj.metadata.labels)) && (!fields.length || matchFields(fields, e.obj)));
    } else {
      entries = this.select(rt, srt, namespace, q);
    }
    if (after) {
      const { ns: afterNs, name: afterName } = after;
      const idx = entries.findIndex((e) => {
        const ns = e.obj.metadata.namespace ?? '';
        return ns > afterNs || (ns === afterNs && e.obj.metadata.name > afterName);
      });
      entries = idx < 0 ? [] : entries.slice(idx);
    }
    const metadata: Record<string, unknown> = { resourceVersion: String(listRv) };
    if (opts.limit > 0 && entries.length > opts.limit) {
      const last = entries[opts.limit - 1].obj.metadata;
      metadata.continue = Buffer.from(JSON.stringify({ rv: listRv, ns: last.namespace ?? '', name: last.name })).toString('base64url');
      metadata.remainingItemCount = entries.length - opts.limit;
      entries = entries.slice(0, opts.limit);
    }
    return { entries, metadata };
  }

  private list(res: ServerResponse, rt: ResourceType, srt: ResourceType, namespace: string, q: URLSearchParams, opts: ListOptions, output: OutputTarget, encode?: (o: any) => any): void {
    const { entries, metadata } = this.listEntries(rt, srt, namespace, q, opts);
    if (output?.kind === 'Table') {
      const table = toTable(rt, entries.map((e) => (encode ? encode(e.obj) : e.obj)), metadata, includeObjectParam(q.get('includeObject')));
      return sendJson(res, 200, table, TABLE_CONTENT_TYPE);
    }
    if (metadataOnly(output)) return sendJson(res, 200, listAsMetadata(entries.map((e) => (encode ? encode(e.obj) : e.obj)), metadata, output, rt));
    const head = `{"kind":"${rt.listKind}","apiVersion":"${groupVersion(rt)}","metadata":${JSON.stringify(metadata)},"items":[`;
    if (encode) return sendJson(res, 200, `${head}${entries.map((e) => JSON.stringify(encode(e.obj))).join(',')}]}`);
    // each item's UTF-8 bytes are cached with the stored version: a list is a concatenation, not a re-encoding
    const parts: Buffer[] = [Buffer.from(head, 'utf8')];
    entries.forEach((e, i) => {
      if (i) parts.push(COMMA);
      parts.push(e.buffer ?? Buffer.from(JSON.stringify(e.obj), 'utf8'));
    });
    parts.push(LIST_END);
    sendJson(res, 200, Buffer.concat(parts));
  }

  private review(rt: ResourceType, body: any, user: UserInfo, namespace: string): any {
    const spec = body?.spec ?? {};
    const base = { apiVersion: groupVersion(rt), kind: rt.kind, metadata: { ...(body?.metadata ?? {}), creationTimestamp: null } };
    switch (rt.kind) {
      case 'SelfSubjectReview':
        return { ...base, status: { userInfo: { username: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups, ...(user.extra ? { extra: user.extra } : {}) } } };
      case 'SelfSubjectAccessReview':
        return { ...base, spec, status: this.accessStatus(user, spec) };
      case 'SubjectAccessReview':
      case 'LocalSubjectAccessReview': {
        if (!spec.user && !(spec.groups?.length)) {
          throw new ApiError(422, 'Invalid', `${rt.kind}.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": at least one of user or group must be specified`);
        }
        if (rt.kind === 'LocalSubjectAccessReview') {
          if (spec.resourceAttributes && spec.resourceAttributes.namespace !== namespace) {
            throw new ApiError(422, 'Invalid', `${rt.kind}.authorization.k8s.io "" is invalid: spec.resourceAttributes.namespace: Invalid value: "${spec.resourceAttributes?.namespace ?? ''}": must match metadata.namespace`);
          }
        }
        const subject: UserInfo = { username: spec.user ?? '', ...(spec.uid ? { uid: spec.uid } : {}), groups: spec.groups ?? [], ...(spec.extra ? { extra: spec.extra } : {}) };
        return { ...base, ...(namespace ? { metadata: { ...base.metadata, namespace } } : {}), spec, status: this.accessStatus(subject, spec) };
      }
      case 'SelfSubjectRulesReview': {
        const ns = spec.namespace ?? '';
        return { ...base, spec, status: rulesReview(user, ns || undefined, this.rbac(ns || undefined)) };
      }
    }
    throw methodNotSupported(rt, 'create');
  }

  private accessStatus(user: UserInfo, spec: any): any {
    if (this.d.authorization === 'AlwaysAllow') return { allowed: true };
    try {
      return reviewAccess(user, spec, this.rbac(spec?.resourceAttributes?.namespace || undefined));
    } catch (err) {
      throw new ApiError(422, 'Invalid', `SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec: ${(err as Error).message}`);
    }
  }
}

export { NAMESPACE_RT };

/** What authorization decides on; a list or watch pinned to one name by its field selector is authorized for that name. */
function requestAttributes(effective: UserInfo, info: RequestInfo, url: URL, rt: ResourceType | undefined): RequestAttributes {
  const attrs: RequestAttributes = {
    user: effective,
    verb: info.verb,
    apiGroup: info.apiGroup,
    resource: info.resource,
    ...(info.subresource ? { subresource: info.subresource } : {}),
    ...(info.namespace ? { namespace: info.namespace } : {}),
    ...(info.name ? { name: info.name } : {}),
    path: info.path,
    resourceRequest: info.resourceRequest,
  };
  if (info.resourceRequest && !info.name && (info.verb === 'list' || info.verb === 'watch')) {
    try {
      const pinned = pinnedName(parseFieldSelector(url.searchParams.get('fieldSelector'), rt ? storageKey(rt) : info.resource));
      if (pinned) attrs.name = pinned;
    } catch {
      // reported by the handler
    }
  }
  return attrs;
}

/**
 * ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1) evaluation with a real CEL engine
 * (@marcbachmann/cel-js), as kube-apiserver's validating-admission-policy plugin does it.
 *
 * Pipeline use (server.ts), for create/update/patch(=UPDATE)/delete after authorization and before storing:
 *   const r = admit({ operation, userInfo: effectiveUser, apiGroup, apiVersion, kind, resource, subresource,
 *                     namespace, name, object, oldObject, namespaceObject, dryRun }, vaps, vapBindings);
 *   - on DELETE pass object = null and oldObject = the stored object; on CREATE oldObject = null;
 *     on UPDATE/PATCH object = the new object (after patching/defaulting), oldObject = the stored one.
 *   - namespaceObject: the Namespace the object lives in (null for cluster-scoped objects); namespaceSelector
 *     matches its labels.
 *   - if !r.allowed: answer r.status.code with a Status { kind: 'Status', apiVersion: 'v1', metadata: {},
 *     status: 'Failure', message: r.status.message, reason: r.status.reason, details: r.status.details, code }.
 *     r.status.message is the real server's full text, e.g.
 *     `secrets "blogsecret" is forbidden: ValidatingAdmissionPolicy 'protect' with binding 'protect-binding' denied request: MSG`
 *   - r.warnings (allowed or not): one response header each, exactly as the real server:
 *       res.appendHeader('Warning', `299 - ${JSON.stringify(w)}`)
 *     (kubectl then prints `Warning: <w>` on stderr; client-node exposes them too.)
 *     Header values must be Latin-1: replace anything else (e.g. w.replace(/[^\x20-\x7e]/g, '?')).
 *   - r.auditAnnotations: merge into the request's audit event annotations (Audit action, policy auditAnnotations).
 *
 * Supported: matchConstraints / binding matchResources (resourceRules with apiGroups, apiVersions, operations,
 * resources incl. `*`, `*\/*`, `x/*`, `*\/sub`, resourceNames, scope; excludeResourceRules; namespaceSelector;
 * objectSelector), matchConditions, variables (lazy, as `variables.<name>`), validations with message,
 * messageExpression, reason; auditAnnotations; failurePolicy Fail/Ignore; validationActions Deny/Warn/Audit.
 * CEL variables: object, oldObject, request (operation, userInfo {username, uid, groups, extra}, name,
 * namespace, kind, resource, subResource, requestKind, requestResource, dryRun, options), namespaceObject, variables.
 * `authorizer` (group/resource/subresource/namespace/name/check, path/check, serviceAccount,
 * requestResource; decisions allowed/reason/errored/error) when the caller passes `opts.authorize`; without it,
 * expressions using `authorizer` fail and follow failurePolicy.
 * Params: `spec.paramKind` + binding `paramRef` (name or selector, namespace defaulting as the real server,
 * parameterNotFoundAction Allow/Deny; the policy runs once per param object) when the caller passes
 * `opts.params`; without it a policy with paramKind and a binding with paramRef fails per failurePolicy (never
 * silently allowed). matchPolicy is treated as Equivalent (each group serves one version here). Policy
 * `status`/type checking is not computed.
 *   Pipeline: admit(req, vaps, bindings, { authorize: (a) => authorize(a, rbacObjectsFor(a.namespace)),
 *                                         params: { namespaced: (apiVersion, kind) => ..., list: (apiVersion, kind, ns) => [...] } })
 */
import { Environment } from '@marcbachmann/cel-js';
import type { UserInfo } from './auth.ts';
import { serviceAccountUser } from './auth.ts';
import type { RequestAttributes } from './rbac.ts';

export interface AdmissionRequest {
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  userInfo: UserInfo;
  apiGroup: string;
  apiVersion: string;
  kind: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name: string;
  object: any | null;
  oldObject: any | null;
  namespaceObject?: any | null;
  dryRun?: boolean;
}
export interface AdmissionResult {
  allowed: boolean;
  status?: { code: number; reason: string; message: string; details?: { name?: string; group?: string; kind?: string; causes?: { message: string }[] } };
  warnings: string[];
  auditAnnotations: Record<string, string>;
}

/** Same shape as the server's field errors (status.ts FieldError), so they can be passed to its 422 builder. */
export interface FieldError { type: 'FieldValueInvalid' | 'FieldValueRequired'; field: string; detail: string; value?: unknown }

export const VALIDATION_FAILURE_ANNOTATION = 'validation.policy.admission.k8s.io/validation_failure';

// ---------- the `authorizer` CEL library (k8s.io/apiserver/pkg/cel/library/authz.go) ----------

type AuthorizeFn = (attrs: RequestAttributes) => { allowed: boolean; reason: string };

class Authorizer {
  readonly requestResource: ResourceCheck;
  readonly user: UserInfo;
  readonly authorize: AuthorizeFn | undefined;
  constructor(user: UserInfo, authorize: AuthorizeFn | undefined, req: AdmissionRequest | null) {
    this.user = user;
    this.authorize = authorize;
    this.requestResource = new ResourceCheck(this, req?.apiGroup ?? '', req?.resource ?? '', req?.subresource ?? '', req?.namespace ?? '', req?.name ?? '');
  }
}
class PathCheck {
  readonly authorizer: Authorizer;
  readonly path: string;
  constructor(a: Authorizer, path: string) { this.authorizer = a; this.path = path; }
}
class GroupCheck {
  readonly authorizer: Authorizer;
  readonly group: string;
  constructor(a: Authorizer, group: string) { this.authorizer = a; this.group = group; }
}
class ResourceCheck {
  readonly authorizer: Authorizer;
  readonly group: string;
  readonly resource: string;
  readonly subresource: string;
  readonly namespace: string;
  readonly name: string;
  constructor(a: Authorizer, group: string, resource: string, subresource = '', namespace = '', name = '') {
    this.authorizer = a; this.group = group; this.resource = resource; this.subresource = subresource; this.namespace = namespace; this.name = name;
  }
  with(p: Partial<Pick<ResourceCheck, 'subresource' | 'namespace' | 'name'>>): ResourceCheck {
    return new ResourceCheck(this.authorizer, this.group, this.resource, p.subresource ?? this.subresource, p.namespace ?? this.namespace, p.name ?? this.name);
  }
}
class AuthzDecision {
  readonly isAllowed: boolean;
  readonly why: string;
  readonly err: string;
  constructor(allowed: boolean, why: string, err = '') { this.isAllowed = allowed; this.why = why; this.err = err; }
}

function decide(a: Authorizer, attrs: Omit<RequestAttributes, 'user'>): AuthzDecision {
  if (!a.authorize) throw new Error('the authorizer variable is not available in this admission context');
  try {
    const d = a.authorize({ ...attrs, user: a.user });
    return new AuthzDecision(d.allowed, d.reason);
  } catch (err) {
    return new AuthzDecision(false, '', (err as Error).message);
  }
}

const T = 'kubernetes.authorization.';
const env = new Environment({ homogeneousAggregateLiterals: false, enableOptionalTypes: true })
  .registerType(`${T}Authorizer`, Authorizer)
  .registerType(`${T}PathCheck`, PathCheck)
  .registerType(`${T}GroupCheck`, GroupCheck)
  .registerType(`${T}ResourceCheck`, ResourceCheck)
  .registerType(`${T}Decision`, AuthzDecision)
  .registerFunction(`${T}Authorizer.path(string): ${T}PathCheck`, (a: Authorizer, p: string) => new PathCheck(a, p))
  .registerFunction(`${T}Authorizer.group(string): ${T}GroupCheck`, (a: Authorizer, g: string) => new GroupCheck(a, g))
  .registerFunction(`${T}Authorizer.serviceAccount(string, string): ${T}Authorizer`,
    (a: Authorizer, ns: string, name: string) => new Authorizer(serviceAccountUser(ns, name), a.authorize, null))
  .registerFunction(`${T}GroupCheck.resource(string): ${T}ResourceCheck`, (g: GroupCheck, r: string) => new ResourceCheck(g.authorizer, g.group, r))
  .registerFunction(`${T}ResourceCheck.subresource(string): ${T}ResourceCheck`, (c: ResourceCheck, v: string) => c.with({ subresource: v }))
  .registerFunction(`${T}ResourceCheck.namespace(string): ${T}ResourceCheck`, (c: ResourceCheck, v: string) => c.with({ namespace: v }))
  .registerFunction(`${T}ResourceCheck.name(string): ${T}ResourceCheck`, (c: ResourceCheck, v: string) => c.with({ name: v }))
  .registerFunction(`${T}ResourceCheck.check(string): ${T}Decision`, (c: ResourceCheck, verb: string) => decide(c.authorizer, {
    verb, apiGroup: c.group, resource: c.resource, ...(c.subresource ? { subresource: c.subresource } : {}),
    ...(c.namespace ? { namespace: c.namespace } : {}), ...(c.name ? { name: c.name } : {}), path: '', resourceRequest: true,
  }))
  .registerFunction(`${T}PathCheck.check(string): ${T}Decision`, (p: PathCheck, verb: string) => decide(p.authorizer, {
    verb, apiGroup: '', resource: '', path: p.path, resourceRequest: false,
  }))
  .registerFunction(`${T}Decision.allowed(): bool`, (d: AuthzDecision) => d.isAllowed)
  .registerFunction(`${T}Decision.reason(): string`, (d: AuthzDecision) => d.why)
  .registerFunction(`${T}Decision.errored(): bool`, (d: AuthzDecision) => d.err !== '')
  .registerFunction(`${T}Decision.error(): string`, (d: AuthzDecision) => d.err)
  .registerVariable('authorizer', `${T}Authorizer`)
  .registerVariable('object', 'dyn')
  .registerVariable('oldObject', 'dyn')
  .registerVariable('request', 'dyn')
  .registerVariable('params', 'dyn')
  .registerVariable('namespaceObject', 'dyn')
  .registerVariable('variables', 'dyn');

const compiled = new Map<string, (ctx: Record<string, unknown>) => unknown>();

function compile(expr: string): (ctx: Record<string, unknown>) => unknown {
  let fn = compiled.get(expr);
  if (!fn) {
    fn = env.parse(expr) as unknown as (ctx: Record<string, unknown>) => unknown;
    if (compiled.size > 5000) compiled.clear();
    compiled.set(expr, fn);
  }
  return fn;
}

function celErrorText(err: unknown): string {
  const e = err as { summary?: string; message?: string };
  if (typeof e?.summary === 'string' && e.summary) return e.summary;
  return String(e?.message ?? err).split('\n')[0];
}

/** Evaluates a CEL expression; throws `expression '<expr>' resulted in error: <why>` like the real server. */
function evalCel(expr: string, ctx: Record<string, unknown>): unknown {
  try {
    const v = compile(expr)(ctx);
    if (v && typeof (v as Promise<unknown>).then === 'function') throw new Error('asynchronous evaluation is not supported');
    return v;
  } catch (err) {
    throw new Error(`expression '${expr}' resulted in error: ${celErrorText(err)}`, { cause: err });
  }
}

/** JSON -> CEL values: integral numbers become int (BigInt) as Kubernetes' CEL typing does for integer fields. */
export function toCel(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(toCel);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) out[k] = toCel(x);
    return out;
  }
  return v;
}

// ---------- matching ----------

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Kubernetes LabelSelector semantics; an absent or empty selector matches everything. */
export function selectorMatches(sel: LabelSelector | undefined | null, labels: Record<string, string> | undefined | null): boolean {
  if (!sel) return true;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const present = Object.prototype.hasOwnProperty.call(l, e.key);
    switch (e.operator) {
      case 'In': if (!present || !(e.values ?? []).includes(l[e.key])) return false; break;
      case 'NotIn': if (present && (e.values ?? []).includes(l[e.key])) return false; break;
      case 'Exists': if (!present) return false; break;
      case 'DoesNotExist': if (present) return false; break;
      default: throw new Error(`labelSelector: operator ${JSON.stringify(e.operator)} is not one of In, NotIn, Exists, DoesNotExist`);
    }
  }
  return true;
}

interface ResourceRule {
  apiGroups?: string[];
  apiVersions?: string[];
  operations?: string[];
  resources?: string[];
  resourceNames?: string[];
  scope?: string;
}

const anyOf = (list: string[] | undefined, v: string): boolean => !!list && (list.includes('*') || list.includes(v));

function resourceInRule(resources: string[] | undefined, resource: string, sub: string): boolean {
  for (const r of resources ?? []) {
    if (r === '*/*') return true;
    const [res, rsub] = r.split('/', 2);
    if (rsub === undefined) {
      if (!sub && (res === '*' || res === resource)) return true;
    } else if ((res === '*' || res === resource) && (rsub === '*' ? sub !== '' : rsub === sub)) {
      return true;
    }
  }
  return false;
}

/** kube's admission rule matcher (NamedRuleWithOperations). */
export function ruleMatches(rule: ResourceRule, req: AdmissionRequest): boolean {
  if (!anyOf(rule.operations, req.operation)) return false;
  if (!anyOf(rule.apiGroups, req.apiGroup)) return false;
  if (!anyOf(rule.apiVersions, req.apiVersion)) return false;
  if (!resourceInRule(rule.resources, req.resource, req.subresource ?? '')) return false;
  const scope = rule.scope ?? '*';
  if (scope === 'Cluster' && req.namespace) return false;
  if (scope === 'Namespaced' && !req.namespace) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0 && !rule.resourceNames.includes(req.name)) return false;
  return true;
}

function labelsOf(o: any): Record<string, string> | undefined {
  return o?.metadata?.labels;
}

/** MatchResources: namespaceSelector, objectSelector, excludeResourceRules, resourceRules. */
export function matchResources(mr: any, req: AdmissionRequest, requireRules: boolean): boolean {
  if (!mr) return !requireRules;
  // namespaceSelector: on the namespace's labels; for a Namespace itself its own labels; other cluster-scoped objects always match
  if (mr.namespaceSelector) {
    if (req.resource === 'namespaces' && req.apiGroup === '' && !req.namespace) {
      if (!selectorMatches(mr.namespaceSelector, labelsOf(req.object ?? req.oldObject))) return false;
    } else if (req.namespace) {
      if (!selectorMatches(mr.namespaceSelector, labelsOf(req.namespaceObject))) return false;
    }
  }
  if (mr.objectSelector) {
    const objOk = req.object ? selectorMatches(mr.objectSelector, labelsOf(req.object)) : false;
    const oldOk = req.oldObject ? selectorMatches(mr.objectSelector, labelsOf(req.oldObject)) : false;
    if (!objOk && !oldOk) return false;
  }
  for (const r of mr.excludeResourceRules ?? []) if (ruleMatches(r, req)) return false;
  const rules: ResourceRule[] = mr.resourceRules ?? [];
  if (rules.length === 0) return !requireRules;
  return rules.some((r) => ruleMatches(r, req));
}

// ---------- evaluation ----------

function celRequest(req: AdmissionRequest): Record<string, unknown> {
  const gvk = { group: req.apiGroup, version: req.apiVersion, kind: req.kind };
  const gvr = { group: req.apiGroup, version: req.apiVersion, resource: req.resource };
  return toCel({
    uid: '',
    kind: gvk,
    resource: gvr,
    subResource: req.subresource ?? '',
    requestKind: gvk,
    requestResource: gvr,
    requestSubResource: req.subresource ?? '',
    name: req.name,
    namespace: req.namespace ?? '',
    operation: req.operation,
    userInfo: {
      username: req.userInfo.username,
      uid: req.userInfo.uid ?? '',
      groups: req.userInfo.groups,
      extra: req.userInfo.extra ?? {},
    },
    dryRun: !!req.dryRun,
    options: { kind: req.operation === 'CREATE' ? 'CreateOptions' : req.operation === 'UPDATE' ? 'UpdateOptions' : 'DeleteOptions', apiVersion: 'meta.k8s.io/v1' },
  }) as Record<string, unknown>;
}

/** Lazily evaluated `variables.<name>` (each at most once; later variables may use earlier ones). */
function lazyVariables(defs: { name: string; expression: string }[], ctx: Record<string, unknown>): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  const cache = new Map<string, { value?: unknown; error?: Error }>();
  for (const d of defs) {
    Object.defineProperty(vars, d.name, {
      enumerable: true,
      get() {
        let c = cache.get(d.name);
        if (!c) {
          try { c = { value: evalCel(d.expression, ctx) }; } catch (err) { c = { error: err as Error }; }
          cache.set(d.name, c);
        }
        if (c.error) throw c.error;
        return c.value;
      },
    });
  }
  return vars;
}

const REASON_CODES: Record<string, number> = { Forbidden: 403, Unauthorized: 401, RequestEntityTooLarge: 413, Invalid: 422 };

interface Decision { action: 'deny' | 'admit'; message: string; reason: string; expressionIndex: number }

function qualifiedResource(req: AdmissionRequest): string {
  return req.apiGroup ? `${req.resource}.${req.apiGroup}` : req.resource;
}

/** admission.NewForbidden's framing: `<resource> "<name>" is forbidden: <msg>`. */
function forbiddenText(req: AdmissionRequest, msg: string): string {
  return req.name ? `${qualifiedResource(req)} ${JSON.stringify(req.name)} is forbidden: ${msg}` : `${qualifiedResource(req)} is forbidden: ${msg}`;
}

function evaluatePolicy(policy: any, req: AdmissionRequest, ctx: Record<string, unknown>): { decisions: Decision[]; audit: Record<string, string> } {
  const spec = policy.spec ?? {};
  const failurePolicy: string = spec.failurePolicy ?? 'Fail';
  const onError = (message: string): Decision[] => (failurePolicy === 'Ignore' ? [] : [{ action: 'deny', message, reason: 'Invalid', expressionIndex: -1 }]);

  // matchConditions: all must be true, else the policy does not apply; errors follow failurePolicy
  for (const mc of spec.matchConditions ?? []) {
    let v: unknown;
    try { v = evalCel(mc.expression, ctx); } catch (err) {
      return { decisions: onError(`failed to evaluate match condition '${mc.name}': ${(err as Error).message}`), audit: {} };
    }
    if (typeof v !== 'boolean') return { decisions: onError(`match condition '${mc.name}' must evaluate to bool`), audit: {} };
    if (!v) return { decisions: [], audit: {} };
  }
  const decisions: Decision[] = [];
  (spec.validations ?? []).forEach((val: any, i: number) => {
    let v: unknown;
    try { v = evalCel(val.expression, ctx); } catch (err) {
      decisions.push(...onError((err as Error).message).map((d) => ({ ...d, expressionIndex: i })));
      return;
    }
    if (v === true) return;
    if (typeof v !== 'boolean') {
      decisions.push(...onError(`expression '${val.expression}' must evaluate to bool`).map((d) => ({ ...d, expressionIndex: i })));
      return;
    }
    let message = '';
    if (val.messageExpression) {
      try {
        const m = evalCel(val.messageExpression, ctx);
        // the real server falls back to `message` when the messageExpression is empty, multi-line or fails
        if (typeof m === 'string' && m.trim() && !m.includes('\n')) message = m.trim();
      } catch { /* fall back */ }
    }
    if (!message) message = val.message ? String(val.message).trim() : `failed expression: ${String(val.expression).trim()}`;
    decisions.push({ action: 'deny', message, reason: val.reason ?? 'Invalid', expressionIndex: i });
  });
  const audit: Record<string, string> = {};
  for (const aa of spec.auditAnnotations ?? []) {
    try {
      const v = evalCel(aa.valueExpression, ctx);
      if (typeof v === 'string' && v) audit[`${policy.metadata?.name}/${aa.key}`] = v;
    } catch { /* real server: logged, annotation omitted */ }
  }
  return { decisions, audit };
}

/**
 * Runs every ValidatingAdmissionPolicyBinding whose policy matches the request. The first denying decision
 * (in binding-name order) becomes the Status; Warn decisions become warnings, Audit ones the
 * validation_failure audit annotation.
 */
export interface ParamSource {
  /** Whether the kind is namespaced; undefined when the server does not serve it. */
  namespaced(apiVersion: string, kind: string): boolean | undefined;
  /** Every object of the kind, in `namespace` (or all of them when undefined / cluster-scoped). */
  list(apiVersion: string, kind: string, namespace: string | undefined): any[];
}

export interface AdmitOptions {
  /** Backs the CEL `authorizer` variable (the server's authorizer, e.g. rbac.authorize over current RBAC objects). */
  authorize?: AuthorizeFn;
  /** Backs `params` (policy paramKind + binding paramRef). */
  params?: ParamSource;
}

/** CollectParams of the real dispatcher: the param objects a binding evaluates with ([null] = no params). */
export function collectParams(policy: any, binding: any, req: AdmissionRequest, source: ParamSource | undefined): any[] {
  const kind = policy?.spec?.paramKind;
  const ref = binding?.spec?.paramRef;
  if (!kind || !ref) return [null];
  if (!source) throw new Error('params (spec.paramKind with a binding paramRef) cannot be resolved in this admission context');
  const namespaced = source.namespaced(kind.apiVersion ?? '', kind.kind ?? '');
  if (namespaced === undefined) throw new Error(`paramKind ${kind.apiVersion}/${kind.kind} is not served`);
  let ns: string | undefined;
  if (ref.namespace && !namespaced) throw new Error('paramRef.namespace must not be provided for a cluster-scoped `paramKind`');
  else if (ref.namespace) ns = ref.namespace;
  else if (!namespaced) ns = undefined;
  else if (!req.namespace) throw new Error('cannot use namespaced paramRef in policy binding that matches cluster-scoped resources');
  else ns = req.namespace;
  let params = source.list(kind.apiVersion, kind.kind, ns);
  if (ref.name) params = params.filter((o) => o?.metadata?.name === ref.name);
  else if (ref.selector) params = params.filter((o) => selectorMatches(ref.selector, o?.metadata?.labels));
  else params = [];
  if (params.length === 0 && ref.parameterNotFoundAction === 'Deny') {
    throw new Error('no params found for policy binding with `Deny` parameterNotFoundAction');
  }
  return params;
}

export function admit(req: AdmissionRequest, policies: any[], bindings: any[], opts: AdmitOptions = {}): AdmissionResult {
  const result: AdmissionResult = { allowed: true, warnings: [], auditAnnotations: {} };
  const byName = new Map<string, any>();
  for (const p of policies ?? []) if (p?.metadata?.name) byName.set(p.metadata.name, p);
  const sorted = [...(bindings ?? [])].sort((a, b) => String(a?.metadata?.name).localeCompare(String(b?.metadata?.name)));

  const request = celRequest(req);
  const object = toCel(req.object);
  const oldObject = toCel(req.oldObject);
  const namespaceObject = toCel(req.namespaceObject ?? null);
  const authorizer = new Authorizer(req.userInfo, opts.authorize, req);
  const auditFailures: unknown[] = [];
  let denial: { policy: string; binding: string; d: Decision } | null = null;

  for (const binding of sorted) {
    const policyName = binding?.spec?.policyName;
    const policy = byName.get(policyName);
    if (!policy) continue; // a binding to a missing policy does nothing (as the real server)
    if (!matchResources(policy.spec?.matchConstraints, req, true)) continue;
    if (binding.spec?.matchResources && !matchResources(binding.spec.matchResources, req, false)) continue;

    const decisions: Decision[] = [];
    let params: any[];
    try {
      params = collectParams(policy, binding, req, opts.params);
    } catch (err) {
      params = [];
      if ((policy.spec?.failurePolicy ?? 'Fail') !== 'Ignore') {
        decisions.push({ action: 'deny', message: `failed to configure binding: ${(err as Error).message}`, reason: 'Invalid', expressionIndex: -1 });
      }
    }
    for (const param of params) {
      const ctx: Record<string, unknown> = { object, oldObject, request, params: toCel(param), namespaceObject, authorizer };
      ctx.variables = lazyVariables(policy.spec?.variables ?? [], ctx);
      const evaluated = evaluatePolicy(policy, req, ctx);
      decisions.push(...evaluated.decisions);
      Object.assign(result.auditAnnotations, evaluated.audit);
    }

    const actions: string[] = binding.spec?.validationActions ?? [];
    const bindingName = binding.metadata?.name;
    for (const d of decisions) {
      if (actions.includes('Deny') && !denial) denial = { policy: policyName, binding: bindingName, d };
      if (actions.includes('Warn')) {
        result.warnings.push(`Validation failed for ValidatingAdmissionPolicy '${policyName}' with binding '${bindingName}': ${d.message}`);
      }
      if (actions.includes('Audit')) {
        auditFailures.push({ message: d.message, policy: policyName, binding: bindingName, expressionIndex: d.expressionIndex, validationActions: actions });
      }
    }
  }
  if (auditFailures.length) result.auditAnnotations[VALIDATION_FAILURE_ANNOTATION] = JSON.stringify(auditFailures);
  if (denial) {
    const inner = `ValidatingAdmissionPolicy '${denial.policy}' with binding '${denial.binding}' denied request: ${denial.d.message}`;
    const reason = denial.d.reason || 'Invalid';
    const details: NonNullable<AdmissionResult['status']>['details'] = { kind: req.resource, causes: [{ message: inner }] };
    if (req.name) details.name = req.name;
    if (req.apiGroup) details.group = req.apiGroup;
    result.allowed = false;
    result.status = { code: REASON_CODES[reason] ?? 422, reason, message: forbiddenText(req, inner), details };
  }
  return result;
}

/**
 * CEL compile errors of a ValidatingAdmissionPolicy, as the real server's validation reports them
 * (`spec.validations[0].expression: Invalid value: "1 +": compilation failed: ...`), for a 422 on create/update.
 */
export function expressionErrors(policy: any): FieldError[] {
  const out: FieldError[] = [];
  const check = (field: string, expr: unknown): void => {
    if (typeof expr !== 'string' || !expr.trim()) {
      out.push({ type: 'FieldValueRequired', field, detail: 'expression is not specified' });
      return;
    }
    try { compile(expr); } catch (err) {
      out.push({ type: 'FieldValueInvalid', field, value: expr, detail: `compilation failed: ${celErrorText(err)}` });
    }
  };
  const spec = policy?.spec ?? {};
  (spec.matchConditions ?? []).forEach((m: any, i: number) => check(`spec.matchConditions[${i}].expression`, m?.expression));
  (spec.variables ?? []).forEach((v: any, i: number) => check(`spec.variables[${i}].expression`, v?.expression));
  (spec.validations ?? []).forEach((v: any, i: number) => {
    check(`spec.validations[${i}].expression`, v?.expression);
    if (v?.messageExpression !== undefined && v.messageExpression !== '') check(`spec.validations[${i}].messageExpression`, v.messageExpression);
  });
  (spec.auditAnnotations ?? []).forEach((a: any, i: number) => check(`spec.auditAnnotations[${i}].valueExpression`, a?.valueExpression));
  return out;
}

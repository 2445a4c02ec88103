import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { UserInfo } from '../../../../../infra/local/cluster/auth.ts';
import { authorize, BOOTSTRAP_RBAC, type RbacObjects } from '../../../../../infra/local/cluster/rbac.ts';
import {
  admit, expressionErrors, ruleMatches, selectorMatches, VALIDATION_FAILURE_ANNOTATION, type AdmissionRequest,
} from '../../../../../infra/local/cluster/admission.ts';

const admin: UserInfo = { username: 'admin', groups: ['system:masters', 'system:authenticated'] };
const alice: UserInfo = { username: 'alice', groups: ['system:authenticated'] };

const secret = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'platform', labels: { tier: 'blog' } }, data: { password: 'Y2FuYXJ5' }, ...extra,
});

function request(operation: AdmissionRequest['operation'], user: UserInfo, name = 'blogsecret', extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  const obj = secret(name);
  return {
    operation, userInfo: user, apiGroup: '', apiVersion: 'v1', kind: 'Secret', resource: 'secrets', namespace: 'platform', name,
    object: operation === 'DELETE' ? null : obj,
    oldObject: operation === 'CREATE' ? null : obj,
    namespaceObject: { metadata: { name: 'platform', labels: { env: 'prod' } } },
    ...extra,
  };
}

/** The article's guard: only system:masters may change or delete platform/blogsecret. */
const protect = {
  apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy',
  metadata: { name: 'protect-blogsecret' },
  spec: {
    failurePolicy: 'Fail',
    matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE', 'DELETE'], resources: ['secrets'], resourceNames: ['blogsecret'] }] },
    validations: [{
      expression: "'system:masters' in request.userInfo.groups",
      message: 'blogsecret is protected',
      messageExpression: "'user ' + request.userInfo.username + ' may not ' + request.operation.lowerAscii() + ' ' + oldObject.metadata.name",
      reason: 'Forbidden',
    }],
  },
};
const binding = (name: string, policyName: string, actions: string[], matchResources?: unknown) => ({
  apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding',
  metadata: { name }, spec: { policyName, validationActions: actions, ...(matchResources ? { matchResources } : {}) },
});
const protectBinding = binding('protect-blogsecret-binding', 'protect-blogsecret', ['Deny']);

describe('admit: a policy guarding one Secret', () => {
  it.each([
    // [case, request, allowed]
    ['exempt group may delete', request('DELETE', admin), true],
    ['exempt group may update', request('UPDATE', admin), true],
    ['other user may not delete', request('DELETE', alice), false],
    ['other user may not update', request('UPDATE', alice), false],
    ['CREATE is not in the policy operations', request('CREATE', alice), true],
    ['other names are not covered (resourceNames)', request('DELETE', alice, 'othersecret'), true],
    ['other resources are not covered', request('DELETE', alice, 'blogsecret', { resource: 'configmaps', kind: 'ConfigMap' }), true],
    ['other API groups are not covered', request('DELETE', alice, 'blogsecret', { apiGroup: 'apps' }), true],
    ['subresources are not covered by a plain resource rule', request('UPDATE', alice, 'blogsecret', { subresource: 'status' }), true],
  ] as [string, AdmissionRequest, boolean][])('%s', (_case, req, allowed) => {
    expect(admit(req, [protect], [protectBinding]).allowed).toBe(allowed);
  });

  it('denies exactly as the real server: reason, code, message from messageExpression, causes', () => {
    // Act
    const r = admit(request('DELETE', alice), [protect], [protectBinding]);
    // Assess
    expect(r.status).toEqual({
      code: 403,
      reason: 'Forbidden',
      message: "secrets \"blogsecret\" is forbidden: ValidatingAdmissionPolicy 'protect-blogsecret' with binding 'protect-blogsecret-binding' denied request: user alice may not delete blogsecret",
      details: { name: 'blogsecret', kind: 'secrets', causes: [{ message: "ValidatingAdmissionPolicy 'protect-blogsecret' with binding 'protect-blogsecret-binding' denied request: user alice may not delete blogsecret" }] },
    });
    expect(JSON.stringify(r)).not.toContain('Y2FuYXJ5');
  });

  it('does nothing without a binding, and a binding to a missing policy does nothing', () => {
    expect(admit(request('DELETE', alice), [protect], []).allowed).toBe(true);
    expect(admit(request('DELETE', alice), [protect], [binding('b', 'missing', ['Deny'])]).allowed).toBe(true);
  });
});

const policy = (name: string, validations: unknown[], extra: Record<string, unknown> = {}) => ({
  metadata: { name },
  spec: {
    matchConstraints: { resourceRules: [{ apiGroups: ['*'], apiVersions: ['*'], operations: ['*'], resources: ['*'] }] },
    validations,
    ...extra,
  },
});

describe('admit: messages, reasons and failure policy', () => {
  it.each([
    ['message used when no messageExpression', { expression: 'false', message: '  no  ' }, 'no', 'Invalid', 422],
    ['default message names the expression', { expression: 'object.metadata.name == "x"' }, 'failed expression: object.metadata.name == "x"', 'Invalid', 422],
    ['messageExpression wins', { expression: 'false', message: 'static', messageExpression: '"dynamic " + object.metadata.name' }, 'dynamic blogsecret', 'Invalid', 422],
    ['empty messageExpression falls back', { expression: 'false', message: 'static', messageExpression: '""' }, 'static', 'Invalid', 422],
    ['failing messageExpression falls back', { expression: 'false', message: 'static', messageExpression: 'object.nope' }, 'static', 'Invalid', 422],
    ['reason Forbidden -> 403', { expression: 'false', message: 'm', reason: 'Forbidden' }, 'm', 'Forbidden', 403],
    ['reason Unauthorized -> 401', { expression: 'false', message: 'm', reason: 'Unauthorized' }, 'm', 'Unauthorized', 401],
    ['reason RequestEntityTooLarge -> 413', { expression: 'false', message: 'm', reason: 'RequestEntityTooLarge' }, 'm', 'RequestEntityTooLarge', 413],
    ['evaluation error denies under Fail', { expression: 'object.spec.replicas > 1' }, "expression 'object.spec.replicas > 1' resulted in error: No such key: spec", 'Invalid', 422],
    ['non-bool result denies under Fail', { expression: '"yes"' }, "expression '\"yes\"' must evaluate to bool", 'Invalid', 422],
  ])('%s', (_case, validation, message, reason, code) => {
    const r = admit(request('UPDATE', alice), [policy('p', [validation])], [binding('b', 'p', ['Deny'])]);
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toBe(`secrets "blogsecret" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request: ${message}`);
    expect(r.status?.reason).toBe(reason);
    expect(r.status?.code).toBe(code);
  });

  it('failurePolicy Ignore admits on evaluation errors but still denies on false', () => {
    const ignoring = (expression: string) => policy('p', [{ expression }], { failurePolicy: 'Ignore' });
    expect(admit(request('UPDATE', alice), [ignoring('object.spec.x == 1')], [binding('b', 'p', ['Deny'])]).allowed).toBe(true);
    expect(admit(request('UPDATE', alice), [ignoring('false')], [binding('b', 'p', ['Deny'])]).allowed).toBe(false);
  });

  it('refuses a paramRef it cannot resolve instead of ignoring it', () => {
    const b = { ...binding('b', 'p', ['Deny']), spec: { policyName: 'p', validationActions: ['Deny'], paramRef: { name: 'limits' } } };
    const r = admit(request('UPDATE', alice), [policy('p', [{ expression: 'true' }], { paramKind: { apiVersion: 'v1', kind: 'ConfigMap' } })], [b]);
    expect(r.status?.message).toContain('failed to configure binding: params (spec.paramKind with a binding paramRef) cannot be resolved');
  });

  it('uses the first denial in binding-name order', () => {
    const r = admit(request('UPDATE', alice), [policy('p1', [{ expression: 'false', message: 'one' }]), policy('p2', [{ expression: 'false', message: 'two' }])],
      [binding('z', 'p1', ['Deny']), binding('a', 'p2', ['Deny'])]);
    expect(r.status?.message).toContain("ValidatingAdmissionPolicy 'p2' with binding 'a' denied request: two");
  });
});

describe('admit: CEL variables', () => {
  it.each([
    ['CREATE: oldObject is null', request('CREATE', alice), 'oldObject == null && object.metadata.name == "blogsecret"'],
    ['DELETE: object is null, oldObject is the stored object', request('DELETE', alice), 'object == null && oldObject.data.password == "Y2FuYXJ5"'],
    ['UPDATE: both present', request('UPDATE', alice), 'object != null && oldObject != null'],
    ['request fields', request('UPDATE', alice, 'blogsecret', { dryRun: true }),
      'request.operation == "UPDATE" && request.name == "blogsecret" && request.namespace == "platform" && request.kind.kind == "Secret" && request.resource.resource == "secrets" && request.dryRun'],
    ['request.userInfo', request('UPDATE', { username: 'bob', uid: 'u-1', groups: ['g1', 'system:authenticated'] }),
      'request.userInfo.username == "bob" && request.userInfo.uid == "u-1" && "g1" in request.userInfo.groups'],
    ['integers are CEL ints', request('UPDATE', alice, 'x', { object: { metadata: { name: 'x' }, spec: { replicas: 3 } } }), 'object.spec.replicas + 1 == 4'],
    ['namespaceObject', request('UPDATE', alice), 'namespaceObject.metadata.labels.env == "prod"'],
    ['optional chaining', request('UPDATE', alice), 'object.?metadata.?annotations.orValue({}).size() == 0'],
    ['has() and macros', request('UPDATE', alice), 'has(object.metadata.labels) && object.metadata.labels.exists(k, k == "tier")'],
    ['variables, one using another', request('UPDATE', alice), 'variables.isBlog && variables.greeting == "hi alice"'],
  ] as [string, AdmissionRequest, string][])('%s', (_case, req, expression) => {
    const p = policy('p', [{ expression }], {
      variables: [
        { name: 'user', expression: 'request.userInfo.username' },
        { name: 'greeting', expression: '"hi " + variables.user' },
        { name: 'isBlog', expression: 'object != null && object.metadata.labels.tier == "blog"' },
      ],
    });
    const r = admit(req, [p], [binding('b', 'p', ['Deny'])]);
    expect(r.status?.message).toBeUndefined();
    expect(r.allowed).toBe(true);
  });
});

describe('admit: matching', () => {
  it.each([
    ['matchConditions true applies', [{ name: 'not-admin', expression: '!("system:masters" in request.userInfo.groups)' }], alice, false],
    ['matchConditions false skips', [{ name: 'not-admin', expression: '!("system:masters" in request.userInfo.groups)' }], admin, true],
  ])('%s', (_case, matchConditions, user, allowed) => {
    const p = policy('p', [{ expression: 'false' }], { matchConditions });
    expect(admit(request('UPDATE', user as UserInfo), [p], [binding('b', 'p', ['Deny'])]).allowed).toBe(allowed);
  });

  it.each([
    ['binding namespaceSelector matches', { namespaceSelector: { matchLabels: { env: 'prod' } } }, false],
    ['binding namespaceSelector misses', { namespaceSelector: { matchLabels: { env: 'dev' } } }, true],
    ['binding objectSelector matches', { objectSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['blog'] }] } }, false],
    ['binding objectSelector misses', { objectSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['blog'] }] } }, true],
    ['binding resourceRules narrow to configmaps', { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['*'], resources: ['configmaps'] }] }, true],
    ['binding excludeResourceRules', { excludeResourceRules: [{ apiGroups: [''], apiVersions: ['*'], operations: ['*'], resources: ['secrets'], resourceNames: ['blogsecret'] }] }, true],
  ])('%s', (_case, matchResources, allowed) => {
    const p = policy('p', [{ expression: 'false' }]);
    expect(admit(request('UPDATE', alice), [p], [binding('b', 'p', ['Deny'], matchResources)]).allowed).toBe(allowed);
  });

  it('a policy without matchConstraints matches nothing', () => {
    expect(admit(request('UPDATE', alice), [{ metadata: { name: 'p' }, spec: { validations: [{ expression: 'false' }] } }], [binding('b', 'p', ['Deny'])]).allowed).toBe(true);
  });

  it.each([
    [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'] }, {}, true],
    [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'] }, { subresource: 'status' }, false],
    [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*/*'] }, { subresource: 'status' }, true],
    [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['secrets/*'] }, { subresource: 'status' }, true],
    [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['secrets/*'] }, {}, false],
    [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*/status'] }, { subresource: 'status' }, true],
    [{ operations: ['CREATE'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'] }, {}, false],
    [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['v2'], resources: ['*'] }, {}, false],
    [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'], scope: 'Cluster' }, {}, false],
    [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'], scope: 'Namespaced' }, {}, true],
  ])('rule %j with %j -> %s', (rule, extra, matches) => {
    expect(ruleMatches(rule, request('UPDATE', alice, 'blogsecret', extra as Partial<AdmissionRequest>))).toBe(matches);
  });

  it.each([
    [undefined, {}, true],
    [{ matchLabels: { a: '1' } }, { a: '1' }, true],
    [{ matchLabels: { a: '1' } }, { a: '2' }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, {}, false],
    [{ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, {}, true],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, {}, true],
  ])('selector %j on %j -> %s', (sel, labels, matches) => {
    expect(selectorMatches(sel, labels)).toBe(matches);
  });
});

describe('admit: validation actions', () => {
  const failing = policy('p', [{ expression: 'false', message: 'not allowed here' }]);

  it('Warn admits with a warning in the real wording', () => {
    const r = admit(request('UPDATE', alice), [failing], [binding('b', 'p', ['Warn'])]);
    expect(r).toEqual({ allowed: true, warnings: ["Validation failed for ValidatingAdmissionPolicy 'p' with binding 'b': not allowed here"], auditAnnotations: {} });
  });

  it('Audit admits and records the validation_failure annotation', () => {
    const r = admit(request('UPDATE', alice), [failing], [binding('b', 'p', ['Audit'])]);
    expect(r.allowed).toBe(true);
    expect(JSON.parse(r.auditAnnotations[VALIDATION_FAILURE_ANNOTATION])).toEqual([
      { message: 'not allowed here', policy: 'p', binding: 'b', expressionIndex: 0, validationActions: ['Audit'] },
    ]);
  });

  it('Deny with Warn and Audit does all three', () => {
    const r = admit(request('UPDATE', alice), [failing], [binding('b', 'p', ['Deny', 'Warn', 'Audit'])]);
    expect(r.allowed).toBe(false);
    expect(r.warnings).toHaveLength(1);
    expect(r.auditAnnotations[VALIDATION_FAILURE_ANNOTATION]).toContain('not allowed here');
  });

  it('policy auditAnnotations are keyed by policy name', () => {
    const p = policy('p', [{ expression: 'true' }], { auditAnnotations: [{ key: 'who', valueExpression: '"changed by " + request.userInfo.username' }] });
    expect(admit(request('UPDATE', alice), [p], [binding('b', 'p', ['Deny'])]).auditAnnotations).toEqual({ 'p/who': 'changed by alice' });
  });
});

describe('expressionErrors', () => {
  it('accepts valid expressions', () => {
    expect(expressionErrors(protect)).toEqual([]);
  });

  it.each([
    [{ validations: [{ expression: '1 +' }] }, 'spec.validations[0].expression', 'FieldValueInvalid'],
    [{ validations: [{ expression: 'true', messageExpression: '"a" +' }] }, 'spec.validations[0].messageExpression', 'FieldValueInvalid'],
    [{ validations: [{ expression: '' }] }, 'spec.validations[0].expression', 'FieldValueRequired'],
    [{ matchConditions: [{ name: 'm', expression: '(' }], validations: [{ expression: 'true' }] }, 'spec.matchConditions[0].expression', 'FieldValueInvalid'],
    [{ variables: [{ name: 'v', expression: 'a b' }], validations: [{ expression: 'true' }] }, 'spec.variables[0].expression', 'FieldValueInvalid'],
  ])('%j -> %s', (spec, field, type) => {
    const errs = expressionErrors({ spec });
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ field, type });
    if (type === 'FieldValueInvalid') expect(errs[0].detail).toMatch(/^compilation failed: /);
  });
});

describe('admit: the rendered ripple policy (infra/k8s/admission/blogsecret.yaml)', () => {
  const docs = parseAllDocuments(readFileSync(new URL('../../../../../infra/k8s/admission/blogsecret.yaml', import.meta.url), 'utf8')).map((d) => d.toJS());
  const policies = docs.filter((d) => d.kind === 'ValidatingAdmissionPolicy');
  const bindings = docs.filter((d) => d.kind === 'ValidatingAdmissionPolicyBinding');
  const handler: UserInfo = { username: 'arn:aws:sts::1:assumed-role/protect/fn', groups: ['ripple:protect', 'system:authenticated'] };

  it.each([
    ['alice may not delete', request('DELETE', alice), false],
    ['alice may not update', request('UPDATE', alice), false],
    ['alice may not create the protected name', request('CREATE', alice), false],
    ['the protect handler group may update', request('UPDATE', handler), true],
    ['system:masters may delete', request('DELETE', admin), true],
    ['same name in another namespace is not protected', request('DELETE', alice, 'blogsecret', { namespace: 'team-a' }), true],
  ] as [string, AdmissionRequest, boolean][])('%s', (_case, req, allowed) => {
    // the API server labels every namespace with kubernetes.io/metadata.name
    const ns = req.namespace ?? '';
    const r = admit({ ...req, namespaceObject: { metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } } } }, policies, bindings);
    expect(r.allowed).toBe(allowed);
    if (!allowed) expect(r.status?.message).toMatch(/denied request: This Secret is protected and may not be altered or deleted\.$/);
  });
});

describe('admit: the CEL authorizer', () => {
  // Prepare: alice may delete secrets in platform; the SA ci/builder may read configmaps everywhere
  const rbac: RbacObjects = {
    roles: [{ metadata: { name: 'r', namespace: 'platform' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['delete'] }] }],
    roleBindings: [{ metadata: { name: 'b', namespace: 'platform' }, roleRef: { kind: 'Role', name: 'r' }, subjects: [{ kind: 'User', name: 'alice' }] }],
    clusterRoles: [...BOOTSTRAP_RBAC.filter((o) => o.kind === 'ClusterRole'), { metadata: { name: 'cm' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] }],
    clusterRoleBindings: [...BOOTSTRAP_RBAC.filter((o) => o.kind === 'ClusterRoleBinding'),
      { metadata: { name: 'cm' }, roleRef: { kind: 'ClusterRole', name: 'cm' }, subjects: [{ kind: 'ServiceAccount', name: 'builder', namespace: 'ci' }] }],
  };
  const opts = { authorize: (a: Parameters<typeof authorize>[0]) => authorize(a, rbac) };

  it.each([
    ['resource check allowed', 'authorizer.group("").resource("secrets").namespace("platform").check("delete").allowed()', true],
    ['resource check denied elsewhere', '!authorizer.group("").resource("secrets").namespace("default").check("delete").allowed()', true],
    ['requestResource is the request itself', 'authorizer.requestResource.check("delete").allowed() && !authorizer.requestResource.check("patch").allowed()', true],
    ['path check', 'authorizer.path("/version").check("get").allowed()', true],
    ['service account', 'authorizer.serviceAccount("ci", "builder").group("").resource("configmaps").name("x").check("get").allowed()', true],
    ['reason names the binding', 'authorizer.group("").resource("secrets").namespace("platform").check("delete").reason().startsWith("RBAC: allowed by RoleBinding")', true],
    ['no error', '!authorizer.path("/x").check("get").errored() && authorizer.path("/x").check("get").error() == ""', true],
  ])('%s', (_case, expression, allowed) => {
    const r = admit(request('DELETE', alice), [policy('p', [{ expression }])], [binding('b', 'p', ['Deny'])], opts);
    expect(r.status?.message).toBeUndefined();
    expect(r.allowed).toBe(allowed);
  });

  it('without an authorize function the expression errors and failurePolicy decides', () => {
    const r = admit(request('DELETE', alice), [policy('p', [{ expression: 'authorizer.path("/version").check("get").allowed()' }])], [binding('b', 'p', ['Deny'])]);
    expect(r.status?.message).toContain('resulted in error');
  });
});

describe('admit: params', () => {
  // Prepare: ConfigMaps as params, one per namespace plus a labelled pair
  const cms = [
    { metadata: { name: 'limits', namespace: 'platform' }, data: { maxKeys: '1', owner: 'alice' } },
    { metadata: { name: 'limits', namespace: 'team-a' }, data: { maxKeys: '5', owner: 'bob' } },
    { metadata: { name: 'l1', namespace: 'platform', labels: { set: 'x' } }, data: { maxKeys: '3', owner: 'alice' } },
    { metadata: { name: 'l2', namespace: 'platform', labels: { set: 'x' } }, data: { maxKeys: '3', owner: 'carol' } },
  ];
  const source = {
    namespaced: (apiVersion: string, kind: string) => (apiVersion === 'v1' && kind === 'ConfigMap' ? true : undefined),
    list: (_v: string, _k: string, ns: string | undefined) => cms.filter((c) => !ns || c.metadata.namespace === ns),
  };
  const owned = policy('owned', [{ expression: 'params.data.owner == request.userInfo.username', messageExpression: '"owner is " + params.data.owner' }],
    { paramKind: { apiVersion: 'v1', kind: 'ConfigMap' } });
  const withRef = (paramRef: unknown) => ({ metadata: { name: 'b' }, spec: { policyName: 'owned', validationActions: ['Deny'], paramRef } });

  it.each([
    ['by name, namespace defaults to the request\'s', { name: 'limits' }, alice, true],
    ['by name, other user', { name: 'limits' }, { username: 'bob', groups: [] }, false],
    ['by name in an explicit namespace', { name: 'limits', namespace: 'team-a' }, { username: 'bob', groups: [] }, true],
    ['by selector: every param must pass', { selector: { matchLabels: { set: 'x' } } }, alice, false],
    ['not found, Allow', { name: 'missing', parameterNotFoundAction: 'Allow' }, alice, true],
    ['not found, Deny', { name: 'missing', parameterNotFoundAction: 'Deny' }, alice, false],
  ])('%s', (_case, paramRef, user, allowed) => {
    const r = admit(request('UPDATE', user as UserInfo), [owned], [withRef(paramRef)], { params: source });
    expect(r.allowed).toBe(allowed);
  });

  it('reports the real texts', () => {
    expect(admit(request('UPDATE', { username: 'bob', groups: [] }), [owned], [withRef({ name: 'limits' })], { params: source }).status?.message)
      .toContain("denied request: owner is alice");
    expect(admit(request('UPDATE', alice), [owned], [withRef({ name: 'missing', parameterNotFoundAction: 'Deny' })], { params: source }).status?.message)
      .toContain('failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction');
  });

  it('a binding without paramRef evaluates with params = null', () => {
    const p = policy('n', [{ expression: 'params == null' }], { paramKind: { apiVersion: 'v1', kind: 'ConfigMap' } });
    expect(admit(request('UPDATE', alice), [p], [binding('b', 'n', ['Deny'])], { params: source }).allowed).toBe(true);
  });
});

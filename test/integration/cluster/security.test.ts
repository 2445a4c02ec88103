/**
 * The embedded cluster's security through real clients: kubectl (spawned with a kubeconfig in a temp dir) and
 * client-node. RBAC denials, a ValidatingAdmissionPolicy guarding one Secret, `kubectl auth can-i`, and the
 * audit log (which must never contain Secret data).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import type { AuditEvent } from '../../../infra/local/cluster/audit.ts';

const CANARY = 'canary-4f1d2c9e-do-not-log';
const CANARY_B64 = Buffer.from(CANARY).toString('base64');

let cluster: EmbeddedCluster;
let dir: string;
let auditFile: string;
const events: AuditEvent[] = [];
const kubeconfigs: Record<string, string> = {};

interface Run { code: number; stdout: string; stderr: string }

/** Runs kubectl as `who` (a kubeconfig written for that identity). */
function kubectl(who: string, args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfigs[who], '--cache-dir', join(dir, 'cache'), ...args],
      { env: { PATH: process.env.PATH, HOME: dir }, timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

/** kubectl's error output without `Warning:` lines (Warn-action policies of other tests may add some). */
function errorText(r: Run): string {
  return r.stderr.split('\n').filter((l) => !l.startsWith('Warning: ')).join('\n').trim();
}

function writeKubeconfig(name: string, yaml: string): void {
  const file = join(dir, `${name}.kubeconfig`);
  writeFileSync(file, yaml);
  kubeconfigs[name] = file;
}

const PROTECT_POLICY = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: protect-blogsecret
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: ["v1"]
        operations: ["UPDATE", "DELETE"]
        resources: ["secrets"]
        resourceNames: ["blogsecret"]
  validations:
    - expression: "'system:masters' in request.userInfo.groups"
      messageExpression: "'platform/blogsecret is protected: ' + request.userInfo.username + ' may not ' + request.operation.lowerAscii() + ' it'"
      reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: protect-blogsecret-binding
spec:
  policyName: protect-blogsecret
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: platform
`;

const ALICE_RBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: secret-editor
  namespace: platform
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: alice-secret-editor
  namespace: platform
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: secret-editor
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: User
    name: alice
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ripple-security-'));
  auditFile = join(dir, 'audit.jsonl');
  cluster = await startCluster({ audit: { file: auditFile, onEvent: (e) => events.push(e) } });
  writeKubeconfig('admin', cluster.kubeconfig());
  writeKubeconfig('alice', cluster.kubeconfig({ user: 'alice', groups: [] }));
  // Prepare: the protected Secret, holding a canary value, created through kubectl (data passes the wire in clear)
  expect((await kubectl('admin', ['create', 'namespace', 'platform'])).code).toBe(0);
  const created = await kubectl('admin', ['create', 'secret', 'generic', 'blogsecret', '-n', 'platform', `--from-literal=password=${CANARY}`]);
  expect(created.stderr).toBe('');
});

afterAll(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('RBAC', () => {
  it('denies kubectl --as=alice delete with the real Forbidden message', async () => {
    // Act
    const r = await kubectl('admin', ['--as=alice', 'delete', 'secret', 'blogsecret', '-n', 'platform']);
    // Assess
    expect(r.code).not.toBe(0);
    expect(errorText(r)).toBe('Error from server (Forbidden): secrets "blogsecret" is forbidden: User "alice" cannot delete resource "secrets" in API group "" in the namespace "platform"');
  });

  it('denies alice with her own token: list in a namespace and across namespaces', async () => {
    const ns = await kubectl('alice', ['get', 'secrets', '-n', 'platform']);
    expect(ns.stderr).toContain('Error from server (Forbidden): secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace "platform"');
    const all = await kubectl('alice', ['get', 'secrets', '-A']);
    expect(all.stderr).toContain('secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" at the cluster scope');
  });

  it('forbids impersonation to a user without the impersonate verb', async () => {
    const r = await kubectl('alice', ['--as=bob', 'get', 'secrets', '-n', 'platform']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope');
  });

  it('binds ServiceAccounts and groups: kubectl --as=system:serviceaccount:... and --as-group', async () => {
    // Prepare: builder SA in ci may list configmaps in platform; group platform-readers may get secrets there
    const bindings = `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: builder-view, namespace: platform }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view }
subjects: [{ kind: ServiceAccount, name: builder, namespace: ci }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: secret-getter, namespace: platform }
rules: [{ apiGroups: [""], resources: [secrets], verbs: [get], resourceNames: [blogsecret] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: readers-get, namespace: platform }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: secret-getter }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: Group, name: platform-readers }]
`;
    const applied = await kubectl('admin', ['apply', '-f', '-'], bindings);
    expect(applied.code, applied.stderr).toBe(0);
    // Act + Assess
    const sa = await kubectl('admin', ['--as=system:serviceaccount:ci:builder', 'get', 'configmaps', '-n', 'platform']);
    expect(sa.code, sa.stderr).toBe(0);
    const saOther = await kubectl('admin', ['--as=system:serviceaccount:other:builder', 'get', 'configmaps', '-n', 'platform']);
    expect(saOther.stderr).toContain('User "system:serviceaccount:other:builder" cannot list resource "configmaps"');
    const grouped = await kubectl('admin', ['--as=dave', '--as-group=platform-readers', 'get', 'secret', 'blogsecret', '-n', 'platform', '-o', 'name']);
    expect(grouped.stdout.trim(), grouped.stderr).toBe('secret/blogsecret');
    const notNamed = await kubectl('admin', ['--as=dave', '--as-group=platform-readers', 'get', 'secret', 'other-name', '-n', 'platform']);
    expect(notNamed.stderr).toContain('secrets "other-name" is forbidden: User "dave" cannot get resource "secrets" in API group "" in the namespace "platform"');
    const saEvent = events.find((e) => e.impersonatedUser?.username === 'system:serviceaccount:ci:builder');
    expect(saEvent?.impersonatedUser?.groups).toEqual(['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated']);
  });

  it('answers 403 Status objects to client-node, and 401 to an unknown token', async () => {
    const api = cluster.kubeConfig({ user: 'carol', groups: ['readers'] }).makeApiClient(CoreV1Api);
    const err = await api.readNamespacedSecret({ name: 'blogsecret', namespace: 'platform' }).catch((e) => e);
    expect(err.code).toBe(403);
    const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    expect(body).toMatchObject({
      kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403,
      message: 'secrets "blogsecret" is forbidden: User "carol" cannot get resource "secrets" in API group "" in the namespace "platform"',
      details: { name: 'blogsecret', kind: 'secrets' },
    });

    const kc = cluster.kubeConfig();
    const user = kc.getCurrentUser();
    if (user) (user as { token?: string }).token = 'not-a-token';
    const unauth = await kc.makeApiClient(CoreV1Api).listNamespace().catch((e) => e);
    expect(unauth.code).toBe(401);
  });

  it('grants through a RoleBinding created with client-node, to a ClusterRole, for a group', async () => {
    // Prepare
    const rbac = cluster.kubeConfig().makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRoleBinding({ namespace: 'platform', body: {
      metadata: { name: 'readers-view' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'readers' }],
    } });
    const carol = cluster.kubeConfig({ user: 'carol', groups: ['readers'] }).makeApiClient(CoreV1Api);
    // Act + Assess: view reads configmaps but not secrets (as the real `view` role)
    await expect(carol.listNamespacedConfigMap({ namespace: 'platform' })).resolves.toBeDefined();
    const err = await carol.listNamespacedSecret({ namespace: 'platform' }).catch((e) => e);
    expect(err.code).toBe(403);
  });
});

describe('ValidatingAdmissionPolicy', () => {
  beforeAll(async () => {
    const rbac = await kubectl('admin', ['apply', '-f', '-'], ALICE_RBAC);
    expect(rbac.code, rbac.stderr).toBe(0);
    const vap = await kubectl('admin', ['apply', '-f', '-'], PROTECT_POLICY);
    expect(vap.code, vap.stderr).toBe(0);
  });

  it('denies alice (allowed by RBAC) deleting the protected Secret, with the policy message', async () => {
    const r = await kubectl('admin', ['--as=alice', 'delete', 'secret', 'blogsecret', '-n', 'platform']);
    expect(r.code).not.toBe(0);
    expect(errorText(r)).toBe(
      "Error from server (Forbidden): secrets \"blogsecret\" is forbidden: ValidatingAdmissionPolicy 'protect-blogsecret' with binding 'protect-blogsecret-binding' denied request: platform/blogsecret is protected: alice may not delete it",
    );
  });

  it('denies alice updating it (kubectl label = PATCH = UPDATE), with her own token', async () => {
    const r = await kubectl('alice', ['label', 'secret', 'blogsecret', '-n', 'platform', 'touched=yes']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("denied request: platform/blogsecret is protected: alice may not update it");
  });

  it('leaves CREATE and other Secrets alone', async () => {
    const create = await kubectl('alice', ['create', 'secret', 'generic', 'other', '-n', 'platform', '--from-literal=a=b']);
    expect(create.code, create.stderr).toBe(0);
    const label = await kubectl('alice', ['label', 'secret', 'other', '-n', 'platform', 'touched=yes']);
    expect(label.code, label.stderr).toBe(0);
    const del = await kubectl('alice', ['delete', 'secret', 'other', '-n', 'platform']);
    expect(del.code, del.stderr).toBe(0);
  });

  it('lets the admin (system:masters) update it', async () => {
    const r = await kubectl('admin', ['label', 'secret', 'blogsecret', '-n', 'platform', 'reviewed=yes']);
    expect(r.code, r.stderr).toBe(0);
    const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
    expect((await core.readNamespacedSecret({ name: 'blogsecret', namespace: 'platform' })).metadata?.labels?.reviewed).toBe('yes');
  });

  it('returns Warn actions as Warning headers, which kubectl prints', async () => {
    // Prepare: a warn-only policy on ConfigMaps without an owner label
    const warnPolicy = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: require-owner }
spec:
  matchConstraints:
    resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["configmaps"] }]
  validations:
    - expression: "has(object.metadata.labels) && 'owner' in object.metadata.labels"
      message: configmaps should carry an owner label
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: { name: require-owner-warn }
spec: { policyName: require-owner, validationActions: [Warn, Audit] }
`;
    expect((await kubectl('admin', ['apply', '-f', '-'], warnPolicy)).code).toBe(0);
    // Act
    const r = await kubectl('admin', ['create', 'configmap', 'no-owner', '-n', 'platform', '--from-literal=a=b']);
    // Assess
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("Warning: Validation failed for ValidatingAdmissionPolicy 'require-owner' with binding 'require-owner-warn': configmaps should carry an owner label");
    const audited = events.find((e) => e.verb === 'create' && e.objectRef?.name === 'no-owner');
    expect(JSON.parse(audited?.annotations['validation.policy.admission.k8s.io/validation_failure'] ?? '[]')).toEqual([
      { message: 'configmaps should carry an owner label', policy: 'require-owner', binding: 'require-owner-warn', expressionIndex: 0, validationActions: ['Warn', 'Audit'] },
    ]);
  });

  it('denies with reason Invalid (422) by default, which kubectl prints as the real server\'s docs show', async () => {
    const policy = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: small-configmaps }
spec:
  matchConstraints:
    resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["configmaps"] }]
  variables:
    - name: keys
      expression: "has(object.data) ? size(object.data) : 0"
  validations:
    - expression: "variables.keys <= 1"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: { name: small-configmaps-deny }
spec:
  policyName: small-configmaps
  validationActions: [Deny]
  matchResources:
    objectSelector: { matchLabels: { size: checked } }
`;
    expect((await kubectl('admin', ['apply', '-f', '-'], policy)).code).toBe(0);
    const big = `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: big, namespace: platform, labels: { size: checked } }\ndata: { a: "1", b: "2" }\n`;
    const r = await kubectl('admin', ['create', '-f', '-'], big);
    expect(r.code).not.toBe(0);
    expect(errorText(r)).toBe(
      "The configmaps \"big\" is invalid: : ValidatingAdmissionPolicy 'small-configmaps' with binding 'small-configmaps-deny' denied request: failed expression: variables.keys <= 1",
    );
    // objects outside the binding's objectSelector are not checked
    const unlabelled = await kubectl('admin', ['create', 'configmap', 'big2', '-n', 'platform', '--from-literal=a=1', '--from-literal=b=2']);
    expect(unlabelled.code, unlabelled.stderr).toBe(0);
  });

  it('rejects a policy whose CEL does not compile', async () => {
    const bad = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: broken }
spec:
  matchConstraints:
    resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["configmaps"] }]
  validations:
    - expression: "object.metadata.name =="
`;
    const r = await kubectl('admin', ['apply', '-f', '-'], bad);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.validations[0].expression: Invalid value');
    expect(r.stderr).toContain('compilation failed');
  });
});

describe('kubectl auth can-i', () => {
  it.each([
    ['alice', ['--as=alice', 'auth', 'can-i', 'delete', 'secrets/blogsecret', '-n', 'platform'], 'yes'],
    ['alice', ['--as=alice', 'auth', 'can-i', 'delete', 'secrets', '-n', 'default'], 'no'],
    ['alice', ['--as=alice', 'auth', 'can-i', 'create', 'deployments.apps', '-n', 'platform'], 'no'],
    ['alice', ['--as=alice', 'auth', 'can-i', 'get', '/version'], 'yes'],
    ['admin', ['auth', 'can-i', 'delete', 'namespaces'], 'yes'],
    ['alice own token', ['auth', 'can-i', 'list', 'secrets', '-n', 'platform'], 'yes'],
    ['alice own token', ['auth', 'can-i', 'list', 'secrets', '-A'], 'no'],
  ])('%s: %j -> %s', async (who, args, answer) => {
    const r = await kubectl(who.startsWith('alice own') ? 'alice' : 'admin', args as string[]);
    expect(r.stdout.trim()).toBe(answer);
    expect(r.code).toBe(answer === 'yes' ? 0 : 1);
  });

  it('kubectl auth whoami shows the impersonated identity', async () => {
    const r = await kubectl('admin', ['--as=system:serviceaccount:ci:builder', 'auth', 'whoami', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).status.userInfo).toEqual({
      username: 'system:serviceaccount:ci:builder',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'],
    });
  });

  it('lists alice\'s rules in a namespace', async () => {
    const r = await kubectl('alice', ['auth', 'can-i', '--list', '-n', 'platform']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/secrets\s+\[\]\s+\[\]\s+\[get list watch create update patch delete\]/);
  });
});

describe('the rendered ripple admission policy (infra/k8s/admission/blogsecret.yaml)', () => {
  it('denies alice with its message and exempts the ripple:protect group', async () => {
    // Prepare: retire this file's own guard, apply the product's rendered policy instead
    expect((await kubectl('admin', ['delete', 'validatingadmissionpolicybinding', 'protect-blogsecret-binding'])).code).toBe(0);
    const rendered = fileURLToPath(new URL('../../../infra/k8s/admission/blogsecret.yaml', import.meta.url));
    const applied = await kubectl('admin', ['apply', '-f', rendered]);
    expect(applied.code, applied.stderr).toBe(0);
    // Act
    const denied = await kubectl('admin', ['--as=alice', 'annotate', 'secret', 'blogsecret', '-n', 'platform', 'touched=yes']);
    const exempt = await kubectl('admin', ['--as=alice', '--as-group=ripple:protect', 'annotate', 'secret', 'blogsecret', '-n', 'platform', 'restored=yes']);
    // Assess
    expect(errorText(denied)).toBe(
      "Error from server (Forbidden): secrets \"blogsecret\" is forbidden: ValidatingAdmissionPolicy 'ripple-protect-blogsecret' with binding 'ripple-protect-blogsecret' denied request: This Secret is protected and may not be altered or deleted.",
    );
    expect(exempt.code, exempt.stderr).toBe(0);
  });
});

describe('RBAC escalation prevention', () => {
  it('lets a namespace admin bind what she holds, not cluster-admin', async () => {
    // Prepare: dana administers team-d
    expect((await kubectl('admin', ['create', 'namespace', 'team-d'])).code).toBe(0);
    expect((await kubectl('admin', ['create', 'rolebinding', 'dana-admin', '--clusterrole=admin', '--user=dana', '-n', 'team-d'])).code).toBe(0);
    // Act
    const ok = await kubectl('admin', ['--as=dana', 'create', 'rolebinding', 'eve-view', '--clusterrole=view', '--user=eve', '-n', 'team-d']);
    const escalating = await kubectl('admin', ['--as=dana', 'create', 'rolebinding', 'eve-root', '--clusterrole=cluster-admin', '--user=eve', '-n', 'team-d']);
    const role = await kubectl('admin', ['--as=dana', 'create', 'role', 'nodes', '--verb=get', '--resource=nodes', '-n', 'team-d']);
    // Assess
    expect(ok.code, ok.stderr).toBe(0);
    expect(errorText(escalating)).toBe([
      'error: failed to create rolebinding: rolebindings.rbac.authorization.k8s.io "eve-root" is forbidden: user "dana" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:',
      '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}',
      '{NonResourceURLs:["*"], Verbs:["*"]}',
    ].join('\n'));
    expect(role.code).not.toBe(0);
    expect(role.stderr).toContain('is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}');
  });
});

describe('ValidatingAdmissionPolicy with authorizer and params', () => {
  beforeAll(async () => {
    const setup = `
apiVersion: v1
kind: Namespace
metadata: { name: gated }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: limits, namespace: gated }
data: { maxKeys: "1" }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: frank-edit-cm, namespace: gated }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cm-writer }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: frank }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: cm-writer }
rules: [{ apiGroups: [""], resources: [configmaps], verbs: [create, get, list] }]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: gated-configmaps }
spec:
  paramKind: { apiVersion: v1, kind: ConfigMap }
  matchConstraints:
    resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["configmaps"] }]
    namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: gated } }
  validations:
    - expression: "authorizer.group('').resource('secrets').namespace(request.namespace).check('get').allowed()"
      message: only users who may read Secrets here may create ConfigMaps
      reason: Forbidden
    - expression: "!has(object.data) || size(object.data) <= int(params.data.maxKeys)"
      messageExpression: "'at most ' + params.data.maxKeys + ' keys'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: { name: gated-configmaps }
spec:
  policyName: gated-configmaps
  validationActions: [Deny]
  paramRef: { name: limits, parameterNotFoundAction: Deny }
`;
    const r = await kubectl('admin', ['apply', '-f', '-'], setup);
    expect(r.code, r.stderr).toBe(0);
  });

  it('authorizer: denies a user who may not read Secrets, then allows once granted', async () => {
    const denied = await kubectl('admin', ['--as=frank', 'create', 'configmap', 'one', '-n', 'gated', '--from-literal=a=1']);
    expect(errorText(denied)).toBe(
      "error: failed to create configmap: configmaps \"one\" is forbidden: ValidatingAdmissionPolicy 'gated-configmaps' with binding 'gated-configmaps' denied request: only users who may read Secrets here may create ConfigMaps",
    );
    expect((await kubectl('admin', ['create', 'rolebinding', 'frank-secrets', '--clusterrole=edit', '--user=frank', '-n', 'gated'])).code).toBe(0);
    const allowed = await kubectl('admin', ['--as=frank', 'create', 'configmap', 'one', '-n', 'gated', '--from-literal=a=1']);
    expect(allowed.code, allowed.stderr).toBe(0);
  });

  it('params: the limit comes from the ConfigMap the binding names', async () => {
    const r = await kubectl('admin', ['create', 'configmap', 'two', '-n', 'gated', '--from-literal=a=1', '--from-literal=b=2']);
    const ok = await kubectl('admin', ['create', 'configmap', 'three', '-n', 'gated', '--from-literal=a=1']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(errorText(r)).toBe(
      // reason Invalid (422), but the message keeps admission's "is forbidden" framing, as the real server's
      "error: failed to create configmap: configmaps \"two\" is forbidden: ValidatingAdmissionPolicy 'gated-configmaps' with binding 'gated-configmaps' denied request: at most 1 keys",
    );
  });
});

describe('audit log', () => {
  it('records the forbidden delete with user, impersonated user, verb, objectRef and code', () => {
    const e = events.find((x) => x.verb === 'delete' && x.impersonatedUser?.username === 'alice' && x.responseStatus.code === 403
      && x.annotations['authorization.k8s.io/decision'] === 'forbid');
    expect(e).toBeDefined();
    expect(e).toMatchObject({
      kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', stage: 'ResponseComplete',
      user: { username: 'admin' },
      objectRef: { resource: 'secrets', namespace: 'platform', name: 'blogsecret', apiVersion: 'v1' },
      responseStatus: { code: 403 },
    });
  });

  it('records the VAP denial as an allowed-by-RBAC request that failed with 403', () => {
    const e = events.find((x) => x.verb === 'delete' && x.impersonatedUser?.username === 'alice' && x.responseStatus.code === 403
      && x.annotations['authorization.k8s.io/decision'] === 'allow');
    expect(e?.annotations['authorization.k8s.io/reason']).toBe('RBAC: allowed by RoleBinding "alice-secret-editor/platform" of Role "secret-editor" to User "alice"');
    expect(e?.responseStatus.message).toContain("ValidatingAdmissionPolicy 'protect-blogsecret'");
  });

  it('records successful writes (the admin creating the Secret)', () => {
    const e = events.find((x) => x.verb === 'create' && x.objectRef?.resource === 'secrets' && x.objectRef.name === 'blogsecret');
    expect(e).toMatchObject({ user: { username: 'admin' }, responseStatus: { code: 201 } });
  });

  it('never contains Secret data, in events or in the JSON-lines file', async () => {
    // Prepare: one more write carrying the canary through kubectl apply (which copies data into an annotation)
    const manifest = `apiVersion: v1\nkind: Secret\nmetadata: { name: applied, namespace: platform }\ndata: { password: ${CANARY_B64} }\n`;
    expect((await kubectl('admin', ['apply', '-f', '-'], manifest)).code).toBe(0);
    await kubectl('admin', ['get', 'secret', 'applied', '-n', 'platform', '-o', 'yaml']);
    // Assess
    const fromEvents = JSON.stringify(events);
    expect(events.length).toBeGreaterThan(5);
    expect(fromEvents).not.toContain(CANARY);
    expect(fromEvents).not.toContain(CANARY_B64);
    const deadline = Date.now() + 5000;
    let file = '';
    while (Date.now() < deadline) {
      file = readFileSync(auditFile, 'utf8');
      if (file.includes('"applied"')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(file).toContain('"applied"');
    expect(file).not.toContain(CANARY);
    expect(file).not.toContain(CANARY_B64);
    for (const line of file.trim().split('\n')) expect(JSON.parse(line)).toMatchObject({ kind: 'Event', level: 'Metadata' });
  });
});

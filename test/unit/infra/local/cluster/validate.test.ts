import { describe, expect, it } from 'vitest';
import { lookupResource } from '../../../../../infra/local/cluster/resources.ts';
import { base64ErrorPosition, duplicateFields, nameErrors, secretDecodeError, validateObject } from '../../../../../infra/local/cluster/validate.ts';

const SECRETS = lookupResource('', 'v1', 'secrets')!;
const DEPLOYMENTS = lookupResource('apps', 'v1', 'deployments')!;

describe('names', () => {
  it.each([
    ['subdomain', 'a.b-c', 0],
    ['subdomain', 'Upper', 1],
    ['subdomain', 'under_score', 1],
    ['subdomain', '-lead', 1],
    ['label', 'a.b', 1],
    ['label', 'x'.repeat(64), 1],
    ['label', 'X'.repeat(64), 2],
    ['path', 'system:basic-user', 0],
    ['path', 'a/b', 1],
    ['path', '..', 1],
  ] as const)('%s %j has %d error(s)', (rule, name, n) => {
    expect(nameErrors(rule, name)).toHaveLength(n);
  });
});

describe('base64 in Secret data', () => {
  it.each([
    ['YWJj', -1],
    ['YWI=', -1],
    ['YQ==', -1],
    ['not base64!', 3],
    ['YWJ', 0],
    ['YQ=a', 2],
  ])('%j -> %d', (v, pos) => {
    expect(base64ErrorPosition(v)).toBe(pos);
  });

  it('reports the decoding error the real server gives', () => {
    expect(secretDecodeError({ data: { a: 'YQ==', b: 'a b' } })).toBe('Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 1');
  });
});

describe('validateObject', () => {
  it('forbids changing data of an immutable Secret and its type', () => {
    const old = { metadata: { name: 's' }, immutable: true, type: 'Opaque', data: { a: 'MQ==' } };
    const errs = validateObject(SECRETS, { metadata: { name: 's' }, immutable: true, type: 'kubernetes.io/tls', data: { a: 'Mg==', 'tls.crt': 'eA==', 'tls.key': 'eA==' } }, old);
    expect(errs.map((e) => `${e.field}: ${e.type}`)).toEqual(['type: FieldValueInvalid', 'data: FieldValueForbidden']);
  });

  it('requires a selector matching the template labels and containers with image', () => {
    const errs = validateObject(DEPLOYMENTS, { metadata: { name: 'd' }, spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'c' }] } } } }, null);
    expect(errs.map((e) => e.field)).toEqual(['spec.template.metadata.labels', 'spec.template.spec.containers[0].image']);
  });
});

describe('RBAC validation', () => {
  const ROLES = lookupResource('rbac.authorization.k8s.io', 'v1', 'roles')!;
  const CRB = lookupResource('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings')!;
  it.each([
    [{ verbs: [], apiGroups: [''], resources: ['secrets'] }, ['rules[0].verbs']],
    [{ verbs: ['get'], resources: ['secrets'] }, ['rules[0].apiGroups']],
    [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }, ['rules[0].nonResourceURLs']],
    [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'] }, []],
  ])('Role rule %j -> errors on %j', (rule, fields) => {
    expect(validateObject(ROLES, { metadata: { name: 'r' }, rules: [rule] }, null).map((e) => e.field)).toEqual(fields);
  });

  it('checks ClusterRoleBinding roleRef and subjects as the real server does', () => {
    const errs = validateObject(CRB, {
      metadata: { name: 'b' },
      roleRef: { kind: 'Role', name: 'x' },
      subjects: [{ kind: 'User', name: 'alice' }, { kind: 'ServiceAccount', name: 'sa' }, { kind: 'Robot', name: 'r' }],
    }, null);
    expect(errs.map((e) => e.field)).toEqual(['roleRef.apiGroup', 'roleRef.kind', 'subjects[0].apiGroup', 'subjects[1].namespace', 'subjects[2].kind']);
  });
});

describe('duplicateFields (strict decoding of repeated keys)', () => {
  it.each([
    ['{"a":1,"a":2}', ['a']],
    ['{"spec":{"replicas":2,"replicas":3,"x":{"y":1}}}', ['spec.replicas']],
    ['{"spec":{"containers":[{"name":"a","name":"b"},{"name":"c"}]}}', ['spec.containers[0].name']],
    ['{"a":{"b":1},"c":{"b":2}}', []],
    ['{"s":"a\\"b","s2":"}","t":[1,2,{"u":null,"u":true}]}', ['t[2].u']],
    ['not json', []],
  ])('%s', (text, want) => {
    expect(duplicateFields(text)).toEqual(want);
  });
});

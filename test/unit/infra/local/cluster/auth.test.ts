import { describe, expect, it } from 'vitest';
import {
  Authenticator, ImpersonationError, impersonatedUser, impersonation, impersonationChecks, parseTokenFile, serviceAccountUser,
} from '../../../../../infra/local/cluster/auth.ts';

describe('Authenticator', () => {
  const auth = new Authenticator([
    { token: 'admin-token', user: 'admin', groups: ['system:masters'] },
    { token: 'alice-token', user: 'alice', uid: 'u-alice', groups: [] },
  ]);

  it.each([
    ['Bearer admin-token', { username: 'admin', groups: ['system:masters', 'system:authenticated'] }],
    ['bearer alice-token', { username: 'alice', uid: 'u-alice', groups: ['system:authenticated'] }],
    [' Bearer alice-token ', { username: 'alice', uid: 'u-alice', groups: ['system:authenticated'] }],
    ['Bearer  alice-token', null],
    ['Bearer unknown', null],
    ['Bearer ', null],
    ['Basic YWxpY2U6cHc=', null],
    [undefined, null],
  ])('%s', (header, expected) => {
    expect(auth.authenticate(header === undefined ? {} : { authorization: header })).toEqual(expected);
  });

  it('adds tokens later and never duplicates system:authenticated', () => {
    auth.add({ token: 'sa-token', user: 'system:serviceaccount:ci:builder', groups: ['system:serviceaccounts', 'system:authenticated'] });
    expect(auth.authenticate({ authorization: 'Bearer sa-token' })?.groups).toEqual(['system:serviceaccounts:ci', 'system:serviceaccounts', 'system:authenticated']);
  });

  it('gives a ServiceAccount token its groups even when the entry lists none', () => {
    auth.add({ token: 'fwd-token', user: 'system:serviceaccount:ripple-system:ripple-forwarder', groups: [] });
    expect(auth.authenticate({ authorization: 'Bearer fwd-token' })).toEqual({
      username: 'system:serviceaccount:ripple-system:ripple-forwarder',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:ripple-system', 'system:authenticated'],
    });
  });

  it('rejects an empty token or user', () => {
    expect(() => auth.add({ token: '', user: 'x', groups: [] })).toThrow(/token must not be empty/);
    expect(() => auth.add({ token: 't', user: '', groups: [] })).toThrow(/user must not be empty/);
  });
});

describe('parseTokenFile', () => {
  it('reads the kube-apiserver static token file format', () => {
    const text = [
      '# comment',
      'admin-token,admin,uid-admin,"system:masters"',
      '',
      'alice-token,alice,uid-alice,"team-a,team-b, readers"',
      'bob-token,bob,uid-bob',
      'carol-token,"carol, the admin",,',
    ].join('\n');
    expect(parseTokenFile(text)).toEqual([
      { token: 'admin-token', user: 'admin', uid: 'uid-admin', groups: ['system:masters'] },
      { token: 'alice-token', user: 'alice', uid: 'uid-alice', groups: ['team-a', 'team-b', 'readers'] },
      { token: 'bob-token', user: 'bob', uid: 'uid-bob', groups: [] },
      { token: 'carol-token', user: 'carol, the admin', groups: [] },
    ]);
  });

  it.each([
    ['t,alice', /line 1: must have at least 3 columns \(token, user name, user uid\), found 2/],
    ['\n,alice,u', /line 2: token \(column 1\) must not be empty/],
    ['t,,u', /line 1: user name \(column 2\) must not be empty/],
    ['t,a,u\nt,b,u', /line 2: duplicate token/],
    ['t,a,u,"g1', /line 1: unterminated quoted field/],
  ])('%j fails clearly', (text, error) => {
    expect(() => parseTokenFile(text)).toThrow(error);
  });
});

describe('impersonation', () => {
  it.each([
    ['no headers', {}, null],
    ['user only', { 'impersonate-user': 'alice' }, { username: 'alice', groups: [], extra: {} }],
    ['groups as distinct values', { 'impersonate-user': ['alice'], 'impersonate-group': ['g1', 'g2'] }, { username: 'alice', groups: ['g1', 'g2'], extra: {} }],
    ['groups joined by node', { 'impersonate-user': 'alice', 'impersonate-group': 'g1, g2' }, { username: 'alice', groups: ['g1', 'g2'], extra: {} }],
    ['uid and extras (percent-decoded, lowercased keys)', { 'impersonate-user': 'alice', 'impersonate-uid': 'u1', 'impersonate-extra-acme.com%2fproject': ['a', 'b'], 'impersonate-extra-scopes': 'view' },
      { username: 'alice', groups: [], uid: 'u1', extra: { 'acme.com/project': ['a', 'b'], scopes: ['view'] } }],
  ])('%s', (_case, headers, expected) => {
    expect(impersonation(headers)).toEqual(expected);
  });

  it.each([
    [{ 'impersonate-group': 'system:masters' }, 'requested [Group system:masters] without impersonating a user'],
    [{ 'impersonate-uid': 'u1' }, 'requested [UID u1] without impersonating a user'],
    [{ 'impersonate-user': ['a', 'b'] }, 'Impersonate-User: only one user may be impersonated'],
  ])('%j is a bad request', (headers, message) => {
    expect(() => impersonation(headers)).toThrow(ImpersonationError);
    expect(() => impersonation(headers)).toThrow(message);
  });

  it.each([
    ['plain user gets system:authenticated', { username: 'alice', groups: ['g'], extra: {} }, { username: 'alice', groups: ['g', 'system:authenticated'] }],
    ['service account gets its groups when none requested', { username: 'system:serviceaccount:ci:builder', groups: [], extra: {} },
      { username: 'system:serviceaccount:ci:builder', groups: ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'] }],
    ['service account with requested groups keeps only those', { username: 'system:serviceaccount:ci:builder', groups: ['x'], extra: {} },
      { username: 'system:serviceaccount:ci:builder', groups: ['x', 'system:authenticated'] }],
    ['anonymous gets system:unauthenticated', { username: 'system:anonymous', groups: [], extra: {} }, { username: 'system:anonymous', groups: ['system:unauthenticated'] }],
  ])('impersonatedUser: %s', (_case, imp, expected) => {
    expect(impersonatedUser(imp)).toEqual(expected);
  });

  it('lists the impersonate checks kube makes', () => {
    const admin = { username: 'admin', groups: ['system:masters'] };
    const checks = impersonationChecks(admin, { username: 'system:serviceaccount:ci:builder', groups: ['g'], uid: 'u1', extra: { scopes: ['view'] } });
    expect(checks.map(({ verb, apiGroup, resource, subresource, namespace, name }) => ({ verb, apiGroup, resource, subresource, namespace, name }))).toEqual([
      { verb: 'impersonate', apiGroup: '', resource: 'serviceaccounts', subresource: undefined, namespace: 'ci', name: 'builder' },
      { verb: 'impersonate', apiGroup: '', resource: 'groups', subresource: undefined, namespace: undefined, name: 'g' },
      { verb: 'impersonate', apiGroup: 'authentication.k8s.io', resource: 'uids', subresource: undefined, namespace: undefined, name: 'u1' },
      { verb: 'impersonate', apiGroup: 'authentication.k8s.io', resource: 'userextras', subresource: 'scopes', namespace: undefined, name: 'view' },
    ]);
    expect(impersonationChecks(admin, { username: 'alice', groups: [], extra: {} })[0]).toMatchObject({ resource: 'users', name: 'alice' });
  });

  it('serviceAccountUser builds the real identity', () => {
    expect(serviceAccountUser('ripple-system', 'ripple-forwarder')).toEqual({
      username: 'system:serviceaccount:ripple-system:ripple-forwarder',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:ripple-system', 'system:authenticated'],
    });
  });
});

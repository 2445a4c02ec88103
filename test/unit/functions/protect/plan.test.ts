import { describe, expect, it } from 'vitest';
import { allowedBy, planProtect, settle, type Attempt, type ProtectInput } from '../../../../functions/protect/plan.ts';
import { Protect } from '../../../../core/policy/schema.ts';

const A = 'hmac-sha256:' + 'a'.repeat(32);
const B = 'hmac-sha256:' + 'b'.repeat(32);
const allow = { groups: ['platform-admins'], users: ['alice'], serviceAccounts: ['ci/deployer'] };
const enforce = Protect.parse({ allow });
const audit = Protect.parse({ allow, mode: 'audit' });
const nobody = Protect.parse({});
const deleteOnly = Protect.parse({ allow, operations: ['DELETE'] });

const att = (verb: string, username: string | undefined, groups: string[] = [], extra: Partial<Attempt> = {}): Attempt => ({ via: username ? 'audit' : 'event', verb, actor: { username, groups }, at: '2026-11-25T12:00:00Z', id: 'x', ...extra });

function input(protect: Protect, attempt: Attempt, current: ProtectInput['current'], snapshot: ProtectInput['snapshot'] = { fingerprint: A }): ProtectInput {
  return { policy: { name: 'base', protect }, current, snapshot, attempt };
}

describe('allowedBy', () => {
  it.each([
    ['alice', [], true],
    ['bob', ['platform-admins'], true],
    ['system:serviceaccount:ci:deployer', [], true],
    ['system:serviceaccount:ci:other', ['system:serviceaccounts'], false],
    ['bob', ['system:masters'], false],
  ])('%s %o -> %s', (username, groups, ok) => {
    expect(allowedBy(allow, { username, groups }) !== null).toBe(ok);
  });
});

describe('planProtect', () => {
  it.each([
    // name, protect, attempt, current, snapshot, verdict, actions
    ['read is ignored', enforce, att('get', 'bob'), { fingerprint: A }, { fingerprint: A }, 'ignored', []],
    ['first sight seeds', enforce, att('get', 'bob'), { fingerprint: A }, null, 'ignored', ['seed-snapshot']],
    ['ripple group is own', enforce, att('update', 'ripple-protect', ['ripple:protect']), { fingerprint: A }, { fingerprint: A }, 'own', []],
    ['ripple field manager is own', enforce, { ...att('update', undefined), actor: { groups: [], manager: 'ripple' } }, { fingerprint: B }, { fingerprint: A }, 'own', []],
    ['RBAC/admission denial', enforce, att('delete', 'bob', [], { code: 403 }), { fingerprint: A }, { fingerprint: A }, 'denied', []],
    ['allowed user updates snapshot', enforce, att('update', 'alice'), { fingerprint: B }, { fingerprint: A }, 'allowed', ['update-snapshot']],
    ['allowed group, same content', enforce, att('patch', 'carol', ['platform-admins']), { fingerprint: A }, { fingerprint: A }, 'allowed', []],
    ['allowed SA deletes: snapshot records absence', enforce, att('delete', 'system:serviceaccount:ci:deployer'), null, { fingerprint: A }, 'allowed', ['mark-absent']],
    ['allowed delete, snapshot already absent', enforce, att('delete', 'alice'), null, { fingerprint: '', absent: true }, 'allowed', []],
    ['allowed create after an allowed delete: snapshot follows', enforce, att('create', 'alice'), { fingerprint: B }, { fingerprint: '', absent: true }, 'allowed', ['update-snapshot']],
    ['allowed create on first sight seeds', enforce, att('create', 'alice'), { fingerprint: B }, null, 'allowed', ['seed-snapshot']],
    ['violating create after an allowed delete -> removed', enforce, att('create', 'bob'), { fingerprint: B }, { fingerprint: '', absent: true }, 'violation', ['restore:remove']],
    ['violating create over a deleted base -> rewritten (create then is a re-create)', enforce, att('create', 'bob'), { fingerprint: B }, { fingerprint: A }, 'violation', ['restore:rewrite']],
    ['violating create is guarded even when only DELETE is', deleteOnly, att('create', 'bob'), { fingerprint: B }, { fingerprint: '', absent: true }, 'violation', ['restore:remove']],
    ['violating create, audit mode: reported only', audit, att('create', 'bob'), { fingerprint: B }, { fingerprint: '', absent: true }, 'violation', []],
    ['violating create already undone', enforce, att('create', 'bob'), null, { fingerprint: '', absent: true }, 'violation', []],
    ['denied create', enforce, att('create', 'bob', [], { code: 403 }), null, { fingerprint: '', absent: true }, 'denied', []],
    ['no-op deletecollection after an allowed re-create keeps the new content', enforce, att('deletecollection', 'bob'), { fingerprint: B }, { fingerprint: A }, 'ignored', []],
    ['delete record whose object is still there (dry run): nothing to undo', enforce, att('delete', 'bob'), { fingerprint: A }, { fingerprint: A }, 'ignored', []],
    ['event: present while the snapshot says absent is drift', nobody, { ...att('update', undefined), actor: { groups: [], manager: 'kubectl' } }, { fingerprint: B }, { fingerprint: '', absent: true }, 'violation', ['restore:remove']],
    ['the namespace controller deletes it with its namespace: nothing to restore into a terminating namespace', enforce, att('delete', 'system:serviceaccount:kube-system:namespace-controller', ['system:serviceaccounts']), null, { fingerprint: A }, 'ignored', []],
    ['the namespace controller never changes content', enforce, att('update', 'system:serviceaccount:kube-system:namespace-controller'), { fingerprint: B }, { fingerprint: A }, 'violation', ['restore:rewrite']],
    ['resync: absent as the snapshot says', enforce, { ...att('delete', undefined), via: 'resync' }, null, { fingerprint: '', absent: true }, 'ignored', []],
    ['violation update -> rewrite', enforce, att('update', 'bob'), { fingerprint: B }, { fingerprint: A }, 'violation', ['restore:rewrite']],
    ['violation delete -> recreate', enforce, att('delete', 'bob'), null, { fingerprint: A }, 'violation', ['restore:recreate']],
    ['violation on immutable -> replace', enforce, att('update', 'bob'), { fingerprint: B, immutable: true }, { fingerprint: A }, 'violation', ['restore:replace']],
    ['violation type change -> replace', enforce, att('update', 'bob'), { fingerprint: B, type: 'kubernetes.io/tls' }, { fingerprint: A, type: 'Opaque' }, 'violation', ['restore:replace']],
    ['violation, already restored', enforce, att('update', 'bob'), { fingerprint: A }, { fingerprint: A }, 'violation', []],
    ['audit mode reports only', audit, att('delete', 'bob'), null, { fingerprint: A }, 'violation', []],
    ['update not protected -> allowed for anyone', deleteOnly, att('update', 'bob'), { fingerprint: B }, { fingerprint: A }, 'allowed', ['update-snapshot']],
    ['delete still protected', deleteOnly, att('delete', 'bob'), null, { fingerprint: A }, 'violation', ['restore:recreate']],
    ['unattributed with allow list waits', enforce, att('update', undefined), { fingerprint: B }, { fingerprint: A }, 'unattributed', []],
    ['unattributed with nobody allowed restores', nobody, { ...att('delete', undefined), actor: { groups: [], manager: 'kubectl' } }, null, { fingerprint: A }, 'violation', ['restore:recreate']],
    ['event without drift is ignored', nobody, { ...att('update', undefined), actor: { groups: [], manager: 'kubectl' } }, { fingerprint: A }, { fingerprint: A }, 'ignored', []],
    ['resync seeds a missing snapshot', enforce, { ...att('update', undefined), via: 'resync' }, { fingerprint: A }, null, 'ignored', ['seed-snapshot']],
    ['event on first sight seeds, never a violation', nobody, { ...att('update', undefined), actor: { groups: [], manager: 'kubectl' } }, { fingerprint: B }, null, 'ignored', ['seed-snapshot']],
    ['violation without snapshot seeds, cannot restore', enforce, att('update', 'bob'), { fingerprint: B }, null, 'violation', ['seed-snapshot']],
    ['deletecollection that spared it', enforce, att('deletecollection', 'bob'), { fingerprint: A }, { fingerprint: A }, 'ignored', []],
    ['deletecollection that removed it', enforce, att('deletecollection', 'bob'), null, { fingerprint: A }, 'violation', ['restore:recreate']],
    ['system:masters is not exempt', enforce, att('delete', 'admin', ['system:masters']), null, { fingerprint: A }, 'violation', ['restore:recreate']],
  ] as const)('%s', (_n, protect, attempt, current, snapshot, verdict, actions) => {
    const d = planProtect(input(protect, attempt as Attempt, current, snapshot));
    expect(d.verdict).toBe(verdict);
    expect(d.actions.map((a) => (a.do === 'restore' ? `restore:${a.how}` : a.do))).toEqual(actions);
    expect(d.outcome).not.toBe('');
  });
});

describe('the delete of the namespace holding the protected object', () => {
  const ns = (username: string, groups: string[] = [], extra: Partial<Attempt> = {}): Attempt => att('delete', username, groups, { scope: 'namespace', ...extra });
  it.each([
    // name, protect, attempt, current, snapshot, verdict, actions
    ['refused by admission: reported, nothing changes', enforce, ns('dora', [], { code: 403 }), { fingerprint: A }, { fingerprint: A }, 'denied', []],
    ['by an allowed actor: the snapshot records the object absent, although the namespace controller has not removed it yet', enforce, ns('alice'), { fingerprint: A }, { fingerprint: A }, 'allowed', ['mark-absent:withNamespace']],
    ['by an allowed actor, already absent', enforce, ns('alice'), null, { fingerprint: '', absent: true }, 'allowed', []],
    ['DELETE not protected: anyone may', Protect.parse({ allow, operations: ['UPDATE'] }), ns('dora'), null, { fingerprint: A }, 'allowed', ['mark-absent:withNamespace']],
    ['by anyone else, enforce: namespace and object re-created', enforce, ns('dora'), { fingerprint: A }, { fingerprint: A }, 'violation', ['restore:recreate-namespace']],
    ['by anyone else, object already gone with it', enforce, ns('dora'), null, { fingerprint: A }, 'violation', ['restore:recreate-namespace']],
    ['by anyone else, audit mode: reported (copies keep last-known-good)', audit, ns('dora'), null, { fingerprint: A }, 'violation', []],
    ['by anyone else when the object was already absent: nothing to restore', enforce, ns('dora'), null, { fingerprint: '', absent: true }, 'violation', []],
    ['system:masters is not exempt unless allowed', enforce, ns('admin', ['system:masters']), null, { fingerprint: A }, 'violation', ['restore:recreate-namespace']],
    ['ripple itself', enforce, ns('ripple-protect', ['ripple:protect']), null, { fingerprint: A }, 'own', []],
  ] as const)('%s', (_n, protect, attempt, current, snapshot, verdict, actions) => {
    const d = planProtect(input(protect, attempt as Attempt, current, snapshot));
    expect(d.verdict).toBe(verdict);
    expect(d.actions.map((a) => (a.do === 'restore' ? `restore:${a.how}` : a.do === 'mark-absent' && a.withNamespace ? 'mark-absent:withNamespace' : a.do))).toEqual(actions);
    expect(d.reason).toMatch(/namespace|ripple/);
  });
});

describe('no audit records in the deployment (RIPPLE_AUDIT_RECORDS=off)', () => {
  const ev = att('update', undefined);
  it.each([
    ['enforce: admission refused everyone else, so the change is allowed and the snapshot follows', enforce, ev, { fingerprint: B }, { fingerprint: A }, 'allowed', ['update-snapshot']],
    ['enforce: a delete moves the snapshot to absent', enforce, att('delete', undefined), null, { fingerprint: A }, 'allowed', ['mark-absent']],
    ['audit: the actor cannot be known; unattributed, the snapshot follows', audit, ev, { fingerprint: B }, { fingerprint: A }, 'unattributed', ['update-snapshot']],
    ['nobody allowed: still a violation, restored', nobody, { ...ev, actor: { groups: [], manager: 'kubectl' } }, { fingerprint: B }, { fingerprint: A }, 'violation', ['restore:rewrite']],
  ] as const)('%s', (_n, protect, attempt, current, snapshot, verdict, actions) => {
    const d = planProtect({ ...input(protect, attempt as Attempt, current, snapshot), auditRecords: false });
    expect(d.verdict).toBe(verdict);
    expect(d.actions.map((a) => (a.do === 'restore' ? `restore:${a.how}` : a.do))).toEqual(actions);
  });

  it('with audit records (the default) the same change waits for its record', () => {
    expect(planProtect(input(enforce, ev, { fingerprint: B })).verdict).toBe('unattributed');
    expect(planProtect(input(enforce, ev, { fingerprint: B })).actions).toEqual([]);
  });
});

describe('written again after the audited request', () => {
  const at = '2026-11-25T12:00:05.123456Z';
  it.each([
    ['violation, later write -> not restored', att('update', 'bob', [], { at }), '2026-11-25T12:00:06Z', 'violation', []],
    ['violation, same second -> restored', att('update', 'bob', [], { at }), '2026-11-25T12:00:05Z', 'violation', ['restore']],
    ['allowed, later write -> snapshot not taken', att('update', 'alice', [], { at }), '2026-11-25T12:00:09Z', 'allowed', []],
    ['allowed, same second -> snapshot updated', att('update', 'alice', [], { at }), '2026-11-25T12:00:05Z', 'allowed', ['update-snapshot']],
  ] as const)('%s', (_n, attempt, lastWriteAt, verdict, actions) => {
    const d = planProtect(input(enforce, attempt, { fingerprint: B, lastWriteAt }));
    expect(d.verdict).toBe(verdict);
    expect(d.actions.map((a) => a.do)).toEqual(actions);
  });
});

describe('settle', () => {
  it('only the latest successful change acts; earlier ones are reported', () => {
    const mk = (verb: string, user: string, at: string, current: ProtectInput['current'], code?: number) => {
      const attempt = att(verb, user, [], { at, id: at, code });
      return { attempt, decision: planProtect(input(enforce, attempt, current)) };
    };
    const items = [mk('update', 'bob', '2026-11-25T12:00:01Z', { fingerprint: B }), mk('update', 'alice', '2026-11-25T12:00:02Z', { fingerprint: B }), mk('delete', 'eve', '2026-11-25T12:00:03Z', { fingerprint: B }, 403)];
    const out = settle(items);
    expect(out.map((i) => i.decision.verdict)).toEqual(['violation', 'allowed', 'denied']);
    expect(out.map((i) => i.decision.actions.map((a) => a.do))).toEqual([[], ['update-snapshot'], []]);
    expect(out[0].decision.outcome).toMatch(/superseded/);
  });
});

/**
 * The copy modes' decisions (functions/clone/annotations), one row per annotation and rule of Reflector's and
 * Replicator's READMEs and code: how each tool reads its annotations, and what the planner does with a source's
 * push and a target's pull (refusals included).
 */
import { describe, expect, it } from 'vitest';
import { RippleConfig } from '../../../../core/config/schema.ts';
import {
  ANN_REPLICATED_FROM,
  dotnetTrue,
  goBool,
  LABEL_PULLS_FROM,
  parseRef,
  parseSelector,
  pullLabelValue,
  reflectorListMatches,
  REFLECTOR,
  replicatorListMatches,
  REPLICATOR,
  selectorMatches,
  strictRegex,
} from '../../../../functions/clone/annotations/annotations.ts';
import { planPull, planPush, type AnnotationAction, type PushInput } from '../../../../functions/clone/annotations/plan.ts';
import { annotationWork } from '../../../../functions/clone/annotations/triggers.ts';
import type { ClonedObject } from '../../../../functions/clone/plan.ts';
import { DETAIL_TYPES } from '../../../../core/constants.ts';

const cfgOf = (over: object = {}) => RippleConfig.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RippleConfig', reflector: { enabled: true, ...over }, replicator: { enabled: true, ...over } });
const CFG = cfgOf();
const NOW = '2026-12-04T10:00:00.000Z';
const ns = (name: string, labels: Record<string, string> = {}) => ({ metadata: { name, labels } });
const secret = (namespace: string, name: string, annotations: Record<string, string> = {}, data: Record<string, string> = { k: 'djE=' }, labels?: Record<string, string>): ClonedObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { namespace, name, uid: `uid-${namespace}-${name}`, resourceVersion: '7', annotations, ...(labels ? { labels } : {}) },
  type: 'Opaque',
  data,
});
const byNs = (actions: AnnotationAction[]) => Object.fromEntries(actions.map((a) => [a.namespace, a.action]));
const push = (tool: 'reflector' | 'replicator', src: ClonedObject | null, namespaces: string[], existing: ClonedObject[] = [], over: Partial<PushInput> = {}) =>
  planPush({ tool, cfg: CFG[tool]!, kind: 'Secret', source: { namespace: 'src', name: 's' }, object: src, namespaces: namespaces.map((n) => ns(n)), existing, now: NOW, ...over });

describe('how each tool reads its annotations', () => {
  it.each([
    ['true', true, true],
    ['True', true, true],
    [' TRUE ', true, null],
    ['1', false, true],
    ['t', false, true],
    ['yes', false, null],
    ['false', false, false],
  ])('boolean %j: Reflector (.NET TryParse) %s, Replicator (Go ParseBool) %s', (v, reflector, replicator) => {
    expect(dotnetTrue(v)).toBe(reflector);
    expect(goBool(v)).toBe(replicator);
  });

  it.each([
    // Reflector: absent/empty = all; entries trimmed; the first match must be the whole name
    [undefined, 'any', true],
    ['', 'any', true],
    [' , ', 'any', false],
    ['team-a, team-b', 'team-b', true],
    ['team-.*', 'team-x', true],
    ['team', 'team-x', false],
    ['a|ab', 'ab', false], // leftmost match "a" is not the whole name (.NET Regex.Match semantics)
    ['(a+)+$', 'aaaa', false], // not run (backtracking): compared as an exact name
  ])('Reflector namespace list %j vs %s -> %s', (list, namespace, want) => {
    expect(reflectorListMatches(list, namespace)).toBe(want);
  });

  it.each([
    ['my-ns-1,namespace-[0-9]*', 'namespace-12', true],
    ['my-ns-1,namespace-[0-9]*', 'my-ns-10', false],
    ['app', 'app-2', false],
    ['^app.*', 'app-2', true],
    ['a|b', 'a-x', true], // BuildStrictRegex gives ^a|b$: as Replicator
    ['(', '(', false], // does not compile: skipped
  ])('Replicator pattern list %j vs %s -> %s', (list, namespace, want) => {
    expect(replicatorListMatches(list, namespace)).toBe(want);
  });

  it('strictRegex, refs, selectors', () => {
    expect(strictRegex(' ns-.* ')).toBe('^ns-.*$');
    expect(parseRef('a/b', 'reflector')).toEqual({ namespace: 'a', name: 'b' });
    expect(parseRef('b', 'reflector')).toBeNull();
    expect(parseRef('a/b/c', 'reflector')).toBeNull();
    expect(parseRef('a/b/c', 'replicator')).toEqual({ namespace: 'a', name: 'b/c' });
    const sel = parseSelector('my-label=value,my-other-label,my-other-label notin (foo,bar),!gone')!;
    expect(selectorMatches(sel, { 'my-label': 'value', 'my-other-label': 'x' })).toBe(true);
    expect(selectorMatches(sel, { 'my-label': 'value', 'my-other-label': 'foo' })).toBe(false);
    expect(selectorMatches(sel, { 'my-label': 'value', 'my-other-label': 'x', gone: '' })).toBe(false);
    expect(parseSelector('a in (x')).toBeNull();
    expect(parseSelector('')).toEqual([]);
  });
});

const rAllow = (namespaces?: string, auto?: string) => ({ [REFLECTOR.allowed]: 'true', ...(namespaces !== undefined ? { [REFLECTOR.allowedNamespaces]: namespaces } : {}), ...(auto !== undefined ? { [REFLECTOR.autoEnabled]: 'true', [REFLECTOR.autoNamespaces]: auto } : {}) });

describe('Reflector push (auto)', () => {
  it('allowed + auto-enabled: a copy in every namespace both lists allow, not in the source namespace', () => {
    const src = secret('src', 's', rAllow('team-.*', 'team-a'), { k: 'djE=' }, { app: 'x' });
    const plan = push('reflector', src, ['src', 'team-a', 'team-b', 'other']);
    expect(byNs(plan)).toEqual({ 'team-a': 'create', 'team-b': 'skip', other: 'skip' });
    const created = plan.find((a) => a.action === 'create') as Extract<AnnotationAction, { action: 'create' }>;
    expect(created.object.metadata?.annotations).toEqual({ [REFLECTOR.autoReflects]: 'True', [REFLECTOR.reflects]: 'src/s', [REFLECTOR.reflectedVersion]: '7', [REFLECTOR.reflectedAt]: NOW });
    expect(created.object.metadata?.labels).toEqual({ app: 'x' });
    expect(created.object.data).toEqual({ k: 'djE=' });
  });

  it('no auto: nothing pushed; an auto copy left over is deleted; an unrelated same-named object is never touched', () => {
    const copy = secret('b', 's', { [REFLECTOR.autoReflects]: 'True', [REFLECTOR.reflects]: 'src/s' });
    const mine = secret('c', 's', {});
    const plan = push('reflector', secret('src', 's', rAllow()), ['b', 'c'], [copy, mine]);
    expect(byNs(plan)).toEqual({ b: 'delete', c: 'skip' });
  });

  it('source gone: auto copies deleted', () => {
    const copy = secret('b', 's', { [REFLECTOR.autoReflects]: 'True', [REFLECTOR.reflects]: 'src/s' });
    expect(byNs(push('reflector', null, ['b'], [copy]))).toEqual({ b: 'delete' });
  });

  it('up to date by content: no write even if reflected-version lags; edited data: written back; existing non-copy: reported', () => {
    const src = secret('src', 's', rAllow(undefined, ''), { k: 'djE=' });
    const same = secret('b', 's', { [REFLECTOR.autoReflects]: 'True', [REFLECTOR.reflects]: 'src/s', [REFLECTOR.reflectedVersion]: '1' }, { k: 'djE=' });
    const edited = secret('c', 's', { [REFLECTOR.autoReflects]: 'True', [REFLECTOR.reflects]: 'src/s' }, { k: 'ZWRpdA==' });
    const foreign = secret('d', 's', {}, { k: 'bWluZQ==' });
    const mirror = secret('e', 's', { [REFLECTOR.reflects]: 'src/s' });
    const plan = push('reflector', src, ['b', 'c', 'd', 'e'], [same, edited, foreign, mirror]);
    expect(byNs(plan)).toEqual({ b: 'skip', c: 'update', d: 'report-unmanaged', e: 'skip' });
    const up = plan.find((a) => a.action === 'update') as Extract<AnnotationAction, { action: 'update' }>;
    expect(up.differs).toEqual(['data']);
    expect(up.object.data).toEqual({ k: 'djE=' });
  });

  it('a service-account token is never pushed', () => {
    const src = { ...secret('src', 's', { [REPLICATOR.replicateTo]: 'b', ...rAllow(undefined, '') }), type: 'kubernetes.io/service-account-token' };
    for (const tool of ['reflector', 'replicator'] as const) expect(push(tool, src, ['b'])[0]).toMatchObject({ action: 'skip', reason: expect.stringContaining('service-account-token is not pushed') });
  });

  it('pushFrom: only sources in those namespaces push (pulls are not affected)', () => {
    const src = secret('src', 's', { [REPLICATOR.replicateTo]: 'b', ...rAllow(undefined, '') });
    for (const tool of ['reflector', 'replicator'] as const) {
      const cfg = cfgOf({ pushFrom: ['platform-*'] })[tool]!;
      expect(push(tool, src, ['b'], [], { cfg })[0]).toMatchObject({ action: 'skip', reason: `source namespace src matches no ${tool}.pushFrom pattern: it may not push` });
      expect(push(tool, src, ['b'], [], { cfg: cfgOf({ pushFrom: ['src'] })[tool]! })[0]!.action).toBe('create');
    }
  });

  it('the config scope bounds it: excluded and kube-* namespaces get nothing; a source out of scope pushes nothing', () => {
    const cfg = cfgOf({ namespaces: { exclude: ['quiet'] } });
    const src = secret('src', 's', rAllow(undefined, ''));
    expect(byNs(push('reflector', src, ['quiet', 'kube-public', 'ok'], [], { cfg: cfg.reflector! }))).toEqual({ quiet: 'skip', 'kube-public': 'skip', ok: 'create' });
    const out = push('reflector', src, ['ok'], [], { cfg: cfgOf({ objects: { selector: { matchLabels: { share: 'yes' } } } }).reflector! });
    expect(out[0]).toMatchObject({ action: 'skip', reason: 'source labels do not match reflector.objects.selector' });
    // outside the scope nothing is deleted either: a copy made there before (by Reflector) is left as it is
    const there = secret('quiet', 's', { [REFLECTOR.autoReflects]: 'True', [REFLECTOR.reflects]: 'src/s' });
    expect(push('reflector', null, ['quiet'], [there], { cfg: cfg.reflector! })[0]).toMatchObject({ action: 'skip', reason: 'namespace quiet is excluded by reflector.namespaces.exclude "quiet"; the copy there is left as it is' });
  });
});

describe('Replicator push (replicate-to, replicate-to-matching)', () => {
  it('replicate-to patterns and replicate-to-matching selectors; never into its own namespace; without any allow annotation', () => {
    const src = secret('src', 's', { [REPLICATOR.replicateTo]: 'my-ns-1,namespace-[0-9]*,src', [REPLICATOR.replicateToMatching]: 'team=a' }, { k: 'djE=' }, { app: 'x' });
    const plan = planPush({ tool: 'replicator', cfg: CFG.replicator!, kind: 'Secret', source: { namespace: 'src', name: 's' }, object: src, namespaces: [ns('src'), ns('my-ns-1'), ns('namespace-3'), ns('labelled', { team: 'a' }), ns('other')], existing: [], now: NOW });
    expect(byNs(plan)).toEqual({ 'my-ns-1': 'create', 'namespace-3': 'create', labelled: 'create', other: 'skip' });
    const created = plan[0] as Extract<AnnotationAction, { action: 'create' }>;
    expect(created.object.metadata?.annotations).toEqual({ [REPLICATOR.replicatedAt]: NOW, [REPLICATOR.replicatedFromVersion]: '7', [REPLICATOR.replicatedKeys]: 'k', [ANN_REPLICATED_FROM]: 'Secret/src/s' });
    expect(created.object.metadata?.labels).toEqual({ app: 'x' });
  });

  it('strip-labels and keep-owner-references', () => {
    const src = secret('src', 's', { [REPLICATOR.replicateTo]: 'b', [REPLICATOR.stripLabels]: 'true', [REPLICATOR.keepOwnerReferences]: 'true' }, { k: 'djE=' }, { app: 'x' });
    src.metadata!.ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: 'u' }];
    const created = push('replicator', src, ['b'])[0] as Extract<AnnotationAction, { action: 'create' }>;
    expect(created.object.metadata?.labels).toBeUndefined();
    expect(created.object.metadata?.ownerReferences).toEqual(src.metadata!.ownerReferences);
  });

  it('a same-named object that is not its copy is reported, not overwritten (Replicator would overwrite it)', () => {
    const src = secret('src', 's', { [REPLICATOR.replicateTo]: 'b' });
    expect(byNs(push('replicator', src, ['b'], [secret('b', 's')]))).toEqual({ b: 'report-unmanaged' });
    // a copy Replicator itself pushed names no source: not adopted (any same-named pusher could take it over);
    // the report says how to hand it over
    const old = secret('b', 's', { [REPLICATOR.replicatedFromVersion]: '3', [REPLICATOR.replicatedKeys]: 'k' }, { k: 'b2xk' });
    const [a] = push('replicator', src, ['b'], [old]);
    expect(a).toMatchObject({ action: 'report-unmanaged' });
    expect(a!.reason).toContain(`annotate it ${ANN_REPLICATED_FROM}=Secret/src/s`);
    old.metadata!.annotations![ANN_REPLICATED_FROM] = 'Secret/src/s';
    expect(byNs(push('replicator', src, ['b'], [old]))).toEqual({ b: 'update' });
  });

  it('no longer wanted: deleted when it holds only replicated keys, else only those keys removed', () => {
    const src = secret('src', 's', { [REPLICATOR.replicateTo]: 'x' });
    const only = secret('b', 's', { [ANN_REPLICATED_FROM]: 'Secret/src/s', [REPLICATOR.replicatedKeys]: 'k' }, { k: 'djE=' });
    const more = secret('c', 's', { [ANN_REPLICATED_FROM]: 'Secret/src/s', [REPLICATOR.replicatedKeys]: 'k' }, { k: 'djE=', own: 'bWluZQ==' });
    const plan = push('replicator', src, ['b', 'c'], [only, more]);
    expect(byNs(plan)).toEqual({ b: 'delete', c: 'update' });
    const up = plan[1] as Extract<AnnotationAction, { action: 'update' }>;
    expect(up.object.data).toEqual({ own: 'bWluZQ==' });
    expect(up.object.metadata?.annotations?.[REPLICATOR.replicatedKeys]).toBeUndefined();
    // ripple's mark stays (admission lets the clone identity write marked objects only), and it is done once
    expect(up.object.metadata?.annotations?.[ANN_REPLICATED_FROM]).toBe('Secret/src/s');
    expect(byNs(push('replicator', src, ['c'], [up.object]))).toEqual({ c: 'skip' });
  });

  it('replicate-once: a replicated target is not updated again unless replicate-once-version moves', () => {
    const copy = secret('b', 's', { [ANN_REPLICATED_FROM]: 'Secret/src/s', [REPLICATOR.replicatedKeys]: 'k', [REPLICATOR.replicatedFromVersion]: '3' }, { k: 'b2xk' });
    const once = secret('src', 's', { [REPLICATOR.replicateTo]: 'b', [REPLICATOR.replicateOnce]: 'true' });
    expect(byNs(push('replicator', once, ['b'], [copy]))).toEqual({ b: 'skip' });
    const bumped = secret('src', 's', { [REPLICATOR.replicateTo]: 'b', [REPLICATOR.replicateOnce]: 'true', [REPLICATOR.replicateOnceVersion]: '2' });
    expect(byNs(push('replicator', bumped, ['b'], [copy]))).toEqual({ b: 'update' });
  });
});

const target = (tool: 'reflector' | 'replicator', from: string, data: Record<string, string> = {}, extra: Record<string, string> = {}) =>
  secret('app', 't', { [tool === 'reflector' ? REFLECTOR.reflects : REPLICATOR.replicateFrom]: from, ...extra }, data);
const pull = (tool: 'reflector' | 'replicator', t: ClonedObject, src: ClonedObject | null, cfg = CFG) => planPull({ tool, cfg: cfg[tool]!, kind: 'Secret', target: t, source: src, now: NOW });

describe('pull (reflects, replicate-from) and its permission check', () => {
  it.each([
    ['reflector', {}, 'refuse', 'PullRefused'],
    ['reflector', { [REFLECTOR.allowed]: 'true' }, 'update', undefined],
    ['reflector', { [REFLECTOR.allowed]: 'true', [REFLECTOR.allowedNamespaces]: 'other' }, 'refuse', 'PullRefused'],
    ['reflector', { [REFLECTOR.allowed]: 'true', [REFLECTOR.allowedNamespaces]: 'ap.*' }, 'update', undefined],
    ['replicator', { [REPLICATOR.allowed]: 'true' }, 'refuse', 'PullRefused'], // allowed-namespaces missing: not permitted
    ['replicator', { [REPLICATOR.allowed]: 'true', [REPLICATOR.allowedNamespaces]: 'app' }, 'update', undefined],
    ['replicator', { [REPLICATOR.allowed]: 'yes', [REPLICATOR.allowedNamespaces]: 'app' }, 'refuse', 'PullRefused'],
    ['replicator', { [REPLICATOR.allowed]: 'true', [REPLICATOR.allowedNamespaces]: 'ap' }, 'refuse', 'PullRefused'],
  ] as const)('%s source annotations %j -> %s', (tool, ann, action, why) => {
    const a = pull(tool, target(tool, 'src/s'), secret('src', 's', ann));
    expect(a.action).toBe(action);
    if (why) expect(a).toMatchObject({ why });
    if (a.action === 'refuse') expect(a.reason).toContain('nothing copied');
  });

  it('Reflector pull: data replaced, source labels, marks auto-reflects False and ripple\'s pull label; a missing source leaves it as is', () => {
    const a = pull('reflector', target('reflector', 'src/s', { mine: 'eA==' }), secret('src', 's', { [REFLECTOR.allowed]: 'true' }, { k: 'djE=' }, { app: 'x' })) as Extract<AnnotationAction, { action: 'update' }>;
    expect(a.object.data).toEqual({ k: 'djE=' });
    expect(a.object.metadata?.labels).toEqual({ app: 'x', [LABEL_PULLS_FROM]: pullLabelValue('reflector', 'Secret', { namespace: 'src', name: 's' }) });
    expect(a.object.metadata?.annotations).toMatchObject({ [REFLECTOR.autoReflects]: 'False', [REFLECTOR.reflectedVersion]: '7' });
    expect(pull('reflector', target('reflector', 'src/s', { k: 'b2xk' }), null)).toMatchObject({ action: 'refuse', why: 'PullSourceMissing' });
  });

  it('Replicator pull: source keys set, the target\'s own keys kept, keys gone from the source removed; source deleted: data removed', () => {
    const src = secret('src', 's', { [REPLICATOR.allowed]: 'true', [REPLICATOR.allowedNamespaces]: 'app' }, { k: 'djE=', n: 'bg==' });
    const t = target('replicator', 'src/s', { own: 'bw==', old: 'b2xk', k: 'eA==' }, { [REPLICATOR.replicatedKeys]: 'k,old', [REPLICATOR.replicatedFromVersion]: '3' });
    const a = pull('replicator', t, src) as Extract<AnnotationAction, { action: 'update' }>;
    expect(a.object.data).toEqual({ own: 'bw==', k: 'djE=', n: 'bg==' });
    expect(a.object.metadata?.annotations?.[REPLICATOR.replicatedKeys]).toBe('k,n');
    const gone = pull('replicator', t, null) as Extract<AnnotationAction, { action: 'update' }>;
    expect(gone.action).toBe('update');
    expect(gone.object.data).toBeUndefined();
    // never replicated and no source: reported, nothing written
    expect(pull('replicator', target('replicator', 'src/s'), null)).toMatchObject({ action: 'refuse', why: 'PullSourceMissing' });
  });

  it('up to date: no write; invalid reference: reported; a target outside the config scope: skipped', () => {
    const src = secret('src', 's', { [REFLECTOR.allowed]: 'true' }, { k: 'djE=' });
    const first = pull('reflector', target('reflector', 'src/s'), src) as Extract<AnnotationAction, { action: 'update' }>;
    expect(pull('reflector', first.object, src).action).toBe('skip');
    expect(pull('replicator', target('replicator', 'just-a-name'), null)).toMatchObject({ action: 'refuse', why: 'PullInvalid' });
    expect(pull('reflector', target('reflector', 'src/s'), src, cfgOf({ namespaces: { exclude: ['app'] } })).action).toBe('skip');
  });

  it('a source outside the config scope is refused (a pull cannot reach past the scope)', () => {
    const src = secret('src', 's', { [REFLECTOR.allowed]: 'true' });
    expect(pull('reflector', target('reflector', 'src/s'), src, cfgOf({ namespaces: { exclude: ['src'] } }))).toMatchObject({ action: 'refuse', why: 'PullRefused' });
  });
});

describe('which events concern the modes', () => {
  const modes = [{ tool: 'reflector' as const, cfg: CFG.reflector! }];
  const ev = (dt: string, detail: object) => ({ type: 'ripple' as const, cluster: 'local', why: '', event: { 'detail-type': dt, detail: { cluster: 'local', labels: {}, annotations: {}, changes: [], ...detail } } as never });
  it.each([
    [DETAIL_TYPES.updated, { kind: 'Secret', namespace: 'a', name: 's', changes: ['data'] }, null],
    [DETAIL_TYPES.updated, { kind: 'Secret', namespace: 'a', name: 's', changes: ['annotations'] }, 'object'],
    [DETAIL_TYPES.updated, { kind: 'Secret', namespace: 'a', name: 's', changes: ['data'], annotations: { [REFLECTOR.allowed]: 'true' } }, 'object'],
    [DETAIL_TYPES.deleted, { kind: 'Secret', namespace: 'a', name: 's', annotations: { [REFLECTOR.reflects]: 'x/y' } }, 'object'],
    [DETAIL_TYPES.created, { kind: 'Namespace', name: 'n' }, 'namespace'],
    [DETAIL_TYPES.deleted, { kind: 'Namespace', name: 'n' }, null],
    [DETAIL_TYPES.created, { kind: 'Deployment', namespace: 'a', name: 'd' }, null],
  ])('%s %j -> %s', (dt, detail, want) => {
    expect(annotationWork(ev(dt, detail), modes)?.type ?? null).toBe(want);
  });
  it('modes off: nothing, whatever the trigger', () => {
    expect(annotationWork({ type: 'schedule', cluster: 'local', every: true, why: '' }, [])).toBeNull();
  });
});

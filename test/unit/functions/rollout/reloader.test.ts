/**
 * The Reloader mode's decision, one row per annotation and flag (Reloader's README, its matcher and e2e cases).
 */
import { describe, expect, it } from 'vitest';
import type { V1PodSpec } from '@kubernetes/client-node';
import { lastWriteAt, mountedReferences, nameMatches, parseGoDuration, reloaderDecision, selectAnnotations, type ReloaderChange, type ReloaderWorkload } from '../../../../functions/rollout/reloader.ts';

const change = (over: Partial<ReloaderChange> = {}): ReloaderChange => ({ kind: 'Secret', namespace: 'app', name: 'db', annotations: {}, event: 'updated', ...over });

/** A workload consuming Secret db through envFrom (and ConfigMap cfg through a mounted volume). */
function wl(ann: Record<string, string> = {}, opts: { tmplAnn?: Record<string, string>; spec?: V1PodSpec; createdAt?: string } = {}): ReloaderWorkload {
  return {
    kind: 'Deployment',
    annotations: ann,
    ...(opts.createdAt ? { createdAt: opts.createdAt } : {}),
    template: {
      metadata: { annotations: opts.tmplAnn ?? {} },
      spec: opts.spec ?? {
        containers: [{ name: 'app', envFrom: [{ secretRef: { name: 'db' } }], volumeMounts: [{ name: 'c', mountPath: '/c' }] }],
        volumes: [{ name: 'c', configMap: { name: 'cfg' } }],
      },
    },
  };
}
const cfg = { autoReloadAll: false };
const all = { autoReloadAll: true };
const restarts = (c: ReloaderChange, w: ReloaderWorkload, settings = cfg) => reloaderDecision(c, w, settings).restart;

describe('opt-in by annotation', () => {
  it.each([
    ['no annotation', {}, false],
    ['reloader.stakater.com/auto: "true"', { 'reloader.stakater.com/auto': 'true' }, true],
    ['reloader.stakater.com/auto: "True" (compared exactly, as Reloader does)', { 'reloader.stakater.com/auto': 'True' }, false],
    ['reloader.stakater.com/auto: "false"', { 'reloader.stakater.com/auto': 'false' }, false],
    ['secret.reloader.stakater.com/auto: "true" (typed, this kind)', { 'secret.reloader.stakater.com/auto': 'true' }, true],
    ['configmap.reloader.stakater.com/auto: "true" (typed, the other kind)', { 'configmap.reloader.stakater.com/auto': 'true' }, false],
    ['secret.reloader.stakater.com/reload: db', { 'secret.reloader.stakater.com/reload': 'db' }, true],
    ['secret.reloader.stakater.com/reload: "x, db ,y" (comma list, spaces trimmed)', { 'secret.reloader.stakater.com/reload': 'x, db ,y' }, true],
    ['configmap.reloader.stakater.com/reload: db (other kind)', { 'configmap.reloader.stakater.com/reload': 'db' }, false],
    ['secret.reloader.stakater.com/reload: "d.*" (regex)', { 'secret.reloader.stakater.com/reload': 'd.*' }, true],
    ['secret.reloader.stakater.com/reload: "d" (anchored: no partial match)', { 'secret.reloader.stakater.com/reload': 'd' }, false],
    ['secret.reloader.stakater.com/reload: "b" (anchored at the start too)', { 'secret.reloader.stakater.com/reload': 'b' }, false],
    ['reloader.stakater.com/search without match on the object', { 'reloader.stakater.com/search': 'true' }, false],
  ])('Secret db changed, workload with %s', (_, ann, expected) => {
    expect(restarts(change(), wl(ann))).toBe(expected);
  });

  it('typed auto narrows: configmap.reloader.stakater.com/auto restarts for its ConfigMap, not for a Secret', () => {
    const w = wl({ 'configmap.reloader.stakater.com/auto': 'true' });
    expect(restarts(change({ kind: 'ConfigMap', name: 'cfg' }), w)).toBe(true);
    expect(restarts(change(), w)).toBe(false);
  });

  it('search + match: only objects annotated reloader.stakater.com/match: "true", and only when referenced', () => {
    const w = wl({ 'reloader.stakater.com/search': 'true' });
    expect(restarts(change({ annotations: { 'reloader.stakater.com/match': 'true' } }), w)).toBe(true);
    expect(restarts(change({ annotations: { 'reloader.stakater.com/match': 'false' } }), w)).toBe(false);
    expect(restarts(change({ name: 'unused', annotations: { 'reloader.stakater.com/match': 'true' } }), w)).toBe(false);
  });

  it('a named object restarts the workload even without a reference; auto needs one', () => {
    expect(restarts(change({ name: 'elsewhere' }), wl({ 'secret.reloader.stakater.com/reload': 'elsewhere' }))).toBe(true);
    expect(restarts(change({ name: 'elsewhere' }), wl({ 'reloader.stakater.com/auto': 'true' }))).toBe(false);
  });

  it('named lists still apply with reloader.stakater.com/auto: "false"', () => {
    expect(restarts(change(), wl({ 'reloader.stakater.com/auto': 'false', 'secret.reloader.stakater.com/reload': 'db' }))).toBe(true);
  });
});

describe('which annotations count: the workload\'s, else the pod template\'s, never both', () => {
  it('annotations on the pod template count when the workload has none', () => {
    expect(restarts(change(), wl({}, { tmplAnn: { 'reloader.stakater.com/auto': 'true' } }))).toBe(true);
  });
  it('the workload\'s relevant annotations win over the template\'s', () => {
    const w = wl({ 'reloader.stakater.com/auto': 'false' }, { tmplAnn: { 'reloader.stakater.com/auto': 'true' } });
    expect(restarts(change(), w)).toBe(false);
    expect(selectAnnotations(w.annotations, w.template?.metadata?.annotations, 'Secret').from).toBe('workload');
  });
  it('an exclude list on the template is not read when the workload carries the relevant annotation', () => {
    const w = wl({ 'reloader.stakater.com/auto': 'true' }, { tmplAnn: { 'secrets.exclude.reloader.stakater.com/reload': 'db' } });
    expect(restarts(change(), w)).toBe(true);
  });
});

describe('exclude lists and ignore', () => {
  it.each([
    ['secrets.exclude.reloader.stakater.com/reload: db', { 'secrets.exclude.reloader.stakater.com/reload': 'db' }, false],
    ['secrets.exclude.reloader.stakater.com/reload: "d.*" (exact names, not regexes)', { 'secrets.exclude.reloader.stakater.com/reload': 'd.*' }, true],
    ['configmaps.exclude.reloader.stakater.com/reload: db (other kind)', { 'configmaps.exclude.reloader.stakater.com/reload': 'db' }, true],
  ])('auto workload with %s', (_, ann, expected) => {
    expect(restarts(change(), wl({ 'reloader.stakater.com/auto': 'true', ...ann }))).toBe(expected);
  });

  it('exclude wins over a named list', () => {
    expect(restarts(change(), wl({ 'secret.reloader.stakater.com/reload': 'db', 'secrets.exclude.reloader.stakater.com/reload': 'db' }))).toBe(false);
  });

  it.each([
    ['"true"', 'true', false],
    ['"false"', 'false', true],
  ])('reloader.stakater.com/ignore: %s on the Secret', (_, v, expected) => {
    expect(restarts(change({ annotations: { 'reloader.stakater.com/ignore': v } }), wl({ 'secret.reloader.stakater.com/reload': 'db' }))).toBe(expected);
  });
});

describe('autoReloadAll', () => {
  it.each([
    ['no annotation', {}, true],
    ['reloader.stakater.com/auto: "false"', { 'reloader.stakater.com/auto': 'false' }, false],
    ['secret.reloader.stakater.com/auto: "false"', { 'secret.reloader.stakater.com/auto': 'false' }, false],
    ['configmap.reloader.stakater.com/auto: "false" (other kind: still reloaded)', { 'configmap.reloader.stakater.com/auto': 'false' }, true],
  ])('workload with %s', (_, ann, expected) => {
    expect(restarts(change(), wl(ann), all)).toBe(expected);
  });
  it('still needs a reference', () => {
    expect(restarts(change({ name: 'other' }), wl(), all)).toBe(false);
  });
});

describe('references', () => {
  const secretVolume = (mounted: boolean, projected = false): V1PodSpec => ({
    containers: [{ name: 'app', ...(mounted ? { volumeMounts: [{ name: 'v', mountPath: '/v' }] } : {}) }],
    volumes: [projected ? { name: 'v', projected: { sources: [{ secret: { name: 'db' } }] } } : { name: 'v', secret: { secretName: 'db' } }],
  });
  it.each([
    ['a mounted volume', secretVolume(true), true],
    ['a volume no container mounts', secretVolume(false), false],
    ['a mounted projected volume', secretVolume(true, true), true],
    ['an unmounted projected volume', secretVolume(false, true), false],
    ['env valueFrom.secretKeyRef', { containers: [{ name: 'a', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'db', key: 'k' } } }] }] }, true],
    ['an init container envFrom', { initContainers: [{ name: 'i', envFrom: [{ secretRef: { name: 'db' } }] }], containers: [{ name: 'a' }] }, true],
    ['a volume only an init container mounts', { initContainers: [{ name: 'i', volumeMounts: [{ name: 'v', mountPath: '/v' }] }], containers: [{ name: 'a' }], volumes: [{ name: 'v', secret: { secretName: 'db' } }] }, true],
    ['imagePullSecrets only', { containers: [{ name: 'a' }], imagePullSecrets: [{ name: 'db' }] }, false],
  ] as [string, V1PodSpec, boolean][])('auto workload referencing Secret db through %s', (_, spec, expected) => {
    expect(restarts(change(), wl({ 'reloader.stakater.com/auto': 'true' }, { spec }))).toBe(expected);
    expect(mountedReferences(spec, { kind: 'Secret', name: 'db' }).counted.length > 0).toBe(expected);
  });
});

describe('created together', () => {
  const t0 = Date.parse('2026-12-04T06:00:00Z');
  it.each([
    ['created event, workload created in the same second', 'created', '2026-12-04T06:00:00Z', false],
    ['created event, workload created later', 'created', '2026-12-04T06:00:05Z', false],
    ['created event, workload older', 'created', '2026-12-04T05:59:00Z', true],
    ['update, workload created in the same second (pods may predate the write)', 'updated', '2026-12-04T06:00:00Z', true],
    ['update, workload created later', 'updated', '2026-12-04T06:00:01Z', false],
  ] as const)('%s', (_, event, createdAt, expected) => {
    expect(restarts(change({ event, lastWriteAt: t0 }), wl({ 'reloader.stakater.com/auto': 'true' }, { createdAt }))).toBe(expected);
    expect(restarts(change({ event, lastWriteAt: t0 }), wl({ 'secret.reloader.stakater.com/reload': 'db' }, { createdAt }))).toBe(expected);
  });
  it('last write = the latest of creation and managedFields times', () => {
    expect(lastWriteAt({ creationTimestamp: '2026-12-04T05:00:00Z', managedFields: [{ time: '2026-12-04T06:00:00Z' }, { time: '2026-12-04T05:30:00Z' }] })).toBe(t0);
    expect(lastWriteAt({})).toBeUndefined();
  });
});

describe('named-list patterns', () => {
  it.each([
    ['db', 'db', true],
    ['db-.*', 'db-primary', true],
    ['db-[0-9]+', 'db-12', true],
    ['db|cache', 'cache', true],
    ['(?i)DB', 'db', true],
    ['[', '[', true], // invalid: compared exactly
    ['(a+)+', 'aaaa', false], // nested quantifier: compared exactly, never run
    ['(a+)+', '(a+)+', true],
    ['(a|a)*', 'aa', false],
    ['.*a.*b.*c.*d', 'xaxbxcxd', false], // more than three unbounded quantifiers: compared exactly
    ['(?=db)db', 'db', false], // lookaround: not RE2 syntax
  ])('%s vs %s', (entry, name, expected) => {
    expect(nameMatches(entry, name)).toBe(expected);
  });

  it('a hostile pattern cannot stall the handler', () => {
    const start = Date.now();
    expect(nameMatches('(x+x+)+y', 'x'.repeat(253))).toBe(false);
    expect(Date.now() - start).toBeLessThan(50);
  });
});

describe('pause-period durations (Go syntax)', () => {
  it.each([
    ['5m', 300_000],
    ['30s', 30_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['500ms', 500],
    ['', null],
    ['5', null],
    ['abc', null],
    ['0s', null],
    ['-5m', null],
  ])('%j -> %j', (v, ms) => {
    expect(parseGoDuration(v)).toBe(ms);
  });
});

import { describe, expect, it } from 'vitest';
import { ANN_RESTARTED_AT, ANN_RESTARTED_FOR } from '../../../../core/constants.ts';
import { formatRestartedFor, parseRestartedFor, planRollouts, reloadSettings, type ChangedObject, type ReloadSettings, type WorkloadView } from '../../../../functions/rollout/plan.ts';

const FP1 = 'hmac-sha256:' + '1'.repeat(32);
const FP2 = 'hmac-sha256:' + '2'.repeat(32);
const settings: ReloadSettings = { kinds: ['Deployment', 'StatefulSet', 'DaemonSet'], references: ['env', 'envFrom', 'volume', 'projected'], optOutAnnotations: ['ripple.dev/reload'], reloaderAnnotations: false, policies: ['p'], coalesceMs: 10_000 };
const NOW = new Date('2026-11-25T12:00:00.000Z');

const secret = (name: string, fingerprint = FP1, s: ReloadSettings = settings): ChangedObject => ({ kind: 'Secret', namespace: 'team-a', name, fingerprint, settings: s });
const cm = (name: string, fingerprint = FP1): ChangedObject => ({ kind: 'ConfigMap', namespace: 'team-a', name, fingerprint, settings });

function wl(name: string, opts: { kind?: WorkloadView['kind']; secrets?: string[]; cms?: string[]; ann?: Record<string, string>; tmplAnn?: Record<string, string>; paused?: boolean; ns?: string } = {}): WorkloadView {
  return {
    kind: opts.kind ?? 'Deployment',
    namespace: opts.ns ?? 'team-a',
    name,
    annotations: opts.ann ?? {},
    paused: opts.paused ?? false,
    template: {
      metadata: { annotations: opts.tmplAnn ?? {} },
      spec: {
        containers: [{ name: 'app', envFrom: [...(opts.secrets ?? []).map((n) => ({ secretRef: { name: n } })), ...(opts.cms ?? []).map((n) => ({ configMapRef: { name: n } }))] }],
      },
    },
  };
}

describe('restarted-for annotation', () => {
  it.each([
    ['', []],
    ['Secret/a=' + FP1, [['Secret/a', FP1]]],
    ['Secret/b=' + FP2 + ',ConfigMap/a=' + FP1, [['Secret/b', FP2], ['ConfigMap/a', FP1]]],
    ['garbage,=x,Pod/a=' + FP1 + ',Secret/a=', []],
  ])('parse %j', (value, entries) => {
    expect([...parseRestartedFor(value)]).toEqual(entries);
  });

  it('formats sorted by Kind/name', () => {
    expect(formatRestartedFor(new Map([['Secret/b', FP2], ['ConfigMap/z', FP1], ['Secret/a', FP1]]))).toBe(`ConfigMap/z=${FP1},Secret/a=${FP1},Secret/b=${FP2}`);
  });
});

describe('planRollouts', () => {
  it('patches only consuming workloads, one patch each, with the annotations on the pod template', () => {
    const plan = planRollouts([secret('db')], [wl('uses', { secrets: ['db'] }), wl('other', { secrets: ['x'] }), wl('sts', { kind: 'StatefulSet', secrets: ['db'] })], NOW);
    expect(plan.patches.map((p) => `${p.workload.kind}/${p.workload.name}`)).toEqual(['Deployment/uses', 'StatefulSet/sts']);
    expect(plan.patches[0].body).toEqual({ spec: { template: { metadata: { annotations: { [ANN_RESTARTED_FOR]: `Secret/db=${FP1}`, [ANN_RESTARTED_AT]: NOW.toISOString() } } } } });
  });

  it('a listed resourceVersion makes the patch conditional on it (concurrent invocations write once)', () => {
    const plan = planRollouts([secret('db')], [{ ...wl('uses', { secrets: ['db'] }), resourceVersion: '42' }], NOW);
    expect(plan.patches[0].body.metadata).toEqual({ resourceVersion: '42' });
  });

  it('K changed objects in one batch -> one patch per workload listing all of them', () => {
    const plan = planRollouts([secret('a'), secret('b', FP2), cm('c')], [wl('w', { secrets: ['a', 'b'], cms: ['c'] })], NOW);
    expect(plan.patches).toHaveLength(1);
    expect(plan.patches[0].restartedFor).toBe(`ConfigMap/c=${FP1},Secret/a=${FP1},Secret/b=${FP2}`);
    expect(plan.patches[0].changed.map((e) => e.name)).toEqual(['c', 'a', 'b']);
  });

  it('no patch when the fingerprint is already recorded (duplicate delivery, no-op change, replay)', () => {
    const plan = planRollouts([secret('db'), secret('db')], [wl('w', { secrets: ['db'], tmplAnn: { [ANN_RESTARTED_FOR]: `Secret/db=${FP1}` } })], NOW);
    expect(plan.patches).toEqual([]);
    expect(plan.upToDate).toHaveLength(1);
  });

  it('a new fingerprint replaces the recorded one and keeps entries of other consumed objects', () => {
    const plan = planRollouts([secret('db', FP2)], [wl('w', { secrets: ['db', 'keep'], tmplAnn: { [ANN_RESTARTED_FOR]: `Secret/db=${FP1},Secret/keep=${FP1},Secret/gone=${FP1}` } })], NOW);
    expect(plan.patches[0].restartedFor).toBe(`Secret/db=${FP2},Secret/keep=${FP1}`);
  });

  it.each([
    ['paused Deployment', wl('w', { secrets: ['db'], paused: true }), /paused/],
    ['opt-out on the workload', wl('w', { secrets: ['db'], ann: { 'ripple.dev/reload': 'false' } }), /opted out/],
    ['opt-out on the pod template', wl('w', { secrets: ['db'], tmplAnn: { 'ripple.dev/reload': 'False' } }), /opted out/],
    ['kind not reloaded', wl('w', { kind: 'DaemonSet', secrets: ['db'] }), /not in reload.kinds/],
  ])('%s -> skipped with a reason', (_name, w, reason) => {
    const plan = planRollouts([secret('db', FP1, { ...settings, kinds: ['Deployment', 'StatefulSet'] })], [w], NOW);
    expect(plan.patches).toEqual([]);
    expect(plan.skipped).toHaveLength(1);
    expect(plan.skipped[0].reason).toMatch(reason);
  });

  it('opt-out annotation set to anything but "false" does not opt out', () => {
    const plan = planRollouts([secret('db')], [wl('w', { secrets: ['db'], ann: { 'ripple.dev/reload': 'true' } })], NOW);
    expect(plan.patches).toHaveLength(1);
  });

  it('honours a per-policy opt-out annotation name', () => {
    const plan = planRollouts([secret('db', FP1, { ...settings, optOutAnnotations: ['example.com/no-reload'] })], [wl('w', { secrets: ['db'], ann: { 'example.com/no-reload': 'false' } })], NOW);
    expect(plan.patches).toEqual([]);
  });

  it('imagePullSecrets are reported, not restarted', () => {
    const w = wl('w');
    w.template!.spec!.imagePullSecrets = [{ name: 'db' }];
    const plan = planRollouts([secret('db')], [w], NOW);
    expect(plan.patches).toEqual([]);
    expect(plan.reported[0].reason).toMatch(/imagePullSecrets/);
  });

  it('ignores workloads of other namespaces', () => {
    expect(planRollouts([secret('db')], [wl('w', { secrets: ['db'], ns: 'team-b' })], NOW).patches).toEqual([]);
  });

  it('a paused Deployment also consuming an up-to-date object reports both', () => {
    const plan = planRollouts([secret('a'), secret('b')], [wl('w', { secrets: ['a', 'b'], paused: true, tmplAnn: { [ANN_RESTARTED_FOR]: `Secret/a=${FP1}` } })], NOW);
    expect(plan.upToDate.map((s) => s.object.name)).toEqual(['a']);
    expect(plan.skipped.map((s) => s.object.name)).toEqual(['b']);
  });
});

describe('reloadSettings', () => {
  const p = (name: string, reload?: object) => ({ metadata: { name }, spec: { reload } }) as never;
  it('null without a reload section', () => {
    expect(reloadSettings([p('a')])).toBeNull();
  });
  it('merges policies', () => {
    const s = reloadSettings([
      p('b', { kinds: ['Deployment'], references: ['env'], optOutAnnotation: 'x/a', reloaderAnnotations: false, coalesce: '500ms' }),
      p('a', { kinds: ['DaemonSet'], references: ['volume'], optOutAnnotation: 'x/b', reloaderAnnotations: true, coalesce: '2m' }),
      p('c'),
    ])!;
    expect(s).toEqual({ kinds: ['Deployment', 'DaemonSet'], references: ['env', 'volume'], optOutAnnotations: ['x/a', 'x/b'], reloaderAnnotations: true, policies: ['a', 'b'], coalesceMs: 120_000 });
  });
});

describe('named restart targets (reload.targets)', () => {
  const named = (targets: ReloadSettings['targets']): ReloadSettings => ({ ...settings, targets });
  it('restart a named workload whose pods do not read the object, once per content', () => {
    const s = named([{ kind: 'Deployment', name: 'busybox' }]);
    const plan = planRollouts([secret('db', FP1, s)], [wl('busybox'), wl('bystander'), wl('reader', { secrets: ['db'] })], NOW);
    expect(plan.patches.map((p) => p.workload.name)).toEqual(['busybox', 'reader']);
    expect(plan.patches[0].restartedFor).toBe(`Secret/db=${FP1}`);
    // recorded: the same content again restarts nothing (the entry is kept although nothing references it)
    const again = planRollouts([secret('db', FP1, s)], [wl('busybox', { tmplAnn: { [ANN_RESTARTED_FOR]: plan.patches[0].restartedFor } })], NOW);
    expect(again.patches).toEqual([]);
  });

  it('a namespace on the target limits it to changes in that namespace; the kind must match', () => {
    const s = named([{ kind: 'Deployment', name: 'busybox', namespace: 'other' }, { kind: 'StatefulSet', name: 'db-sts' }]);
    const plan = planRollouts([secret('db', FP1, s)], [wl('busybox'), wl('db-sts'), wl('db-sts', { kind: 'StatefulSet' })], NOW);
    expect(plan.patches.map((p) => `${p.workload.kind}/${p.workload.name}`)).toEqual(['StatefulSet/db-sts']);
  });

  it('an opted-out named workload is not restarted', () => {
    const s = named([{ kind: 'Deployment', name: 'busybox' }]);
    const plan = planRollouts([secret('db', FP1, s)], [wl('busybox', { ann: { 'ripple.dev/reload': 'false' } })], NOW);
    expect(plan.patches).toEqual([]);
    expect(plan.skipped[0]?.reason).toMatch(/opted out/);
  });

  it.each<[string, NonNullable<ReloadSettings['targets']>, string[]]>([
    ['matchLabels', [{ kind: 'Deployment', selector: { matchLabels: { app: 'web' } } }], ['web-1', 'web-2']],
    ['matchExpressions In', [{ kind: 'Deployment', selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] } }], ['api', 'web-1', 'web-2']],
    ['Exists, in another namespace only', [{ kind: 'Deployment', selector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, namespace: 'other' }], []],
    ['another kind', [{ kind: 'StatefulSet', selector: { matchLabels: { app: 'web' } } }], []],
  ])('targets chosen by label (%s): the workloads whose labels match, once per content', (_n, targets, want) => {
    const s = named(targets);
    const labelled = (name: string, app?: string): WorkloadView => ({ ...wl(name), labels: app ? { app } : {} });
    const ws = [labelled('web-1', 'web'), labelled('web-2', 'web'), labelled('api', 'api'), labelled('plain')];
    const plan = planRollouts([secret('db', FP1, s)], ws, NOW);
    expect(plan.patches.map((p) => p.workload.name).sort()).toEqual(want);
    if (want.length) {
      const again = planRollouts([secret('db', FP1, s)], plan.patches.map((p) => ({ ...ws.find((w) => w.name === p.workload.name)!, template: { metadata: { annotations: { [ANN_RESTARTED_FOR]: p.restartedFor } } } })), NOW);
      expect(again.patches).toEqual([]);
    }
  });

  it('reloadSettings merges the targets of the policies', () => {
    const pol = (name: string, targets?: { kind: 'Deployment'; name: string }[]) => ({ metadata: { name }, spec: { reload: { kinds: ['Deployment' as const], references: ['env' as const], optOutAnnotation: 'ripple.dev/reload', reloaderAnnotations: false, ...(targets ? { targets } : {}) } } });
    expect(reloadSettings([pol('a', [{ kind: 'Deployment', name: 'x' }]), pol('b')])?.targets).toEqual([{ kind: 'Deployment', name: 'x' }]);
    expect(reloadSettings([pol('b')])?.targets).toBeUndefined();
  });
});

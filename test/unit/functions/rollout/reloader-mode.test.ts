/**
 * The Reloader mode's pure parts in the rollout handler: scope, which event counts (Reloader's --reload-on-create /
 * --reload-on-delete), the pause-period patch and resume time, and the CronJob's Job.
 */
import { describe, expect, it } from 'vitest';
import { RippleConfig, type RippleConfigInput, type ReloaderConfig } from '../../../../core/config/schema.ts';
import { ANN_RESTARTED_FOR } from '../../../../core/constants.ts';
import { jobFrom, jobName } from '../../../../functions/rollout/cronjob.ts';
import { planRollouts, type WorkloadView } from '../../../../functions/rollout/plan.ts';
import { applyPausePeriods, countedEvent, LABEL_PAUSED_FOR_PERIOD, namespaceOutOfScope, objectOutOfScope, reloaderChanged, resumeAt } from '../../../../functions/rollout/reloader-mode.ts';
import type { ChangeEvent } from '../../../../functions/rollout/reloader.ts';

const cfg = (r: RippleConfigInput['reloader'] = {}): ReloaderConfig => RippleConfig.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RippleConfig', reloader: { enabled: true, ...r } }).reloader!;
const NOW = new Date('2026-12-04T06:00:00.000Z');

describe('which event counts', () => {
  it.each([
    ['updated', [], true, { event: 'updated' }],
    ['created, default', ['created'], true, { skip: 'created, and reloader.reloadOnCreate is off' }],
    ['created, reloadOnCreate', ['created'], true, { event: 'created' }, { reloadOnCreate: true }],
    ['created + updated, default', ['created', 'updated'], true, { event: 'updated' }],
    ['deleted and gone, default', ['deleted'], false, { skip: 'deleted, and reloader.reloadOnDelete is off' }],
    ['deleted and gone, reloadOnDelete', ['deleted'], false, { event: 'deleted' }, { reloadOnDelete: true }],
    ['gone after an update (deleted since)', ['updated'], false, { skip: 'gone' }],
    ['deleted and re-created, reloadOnDelete', ['deleted'], true, { event: 'deleted' }, { reloadOnDelete: true }],
  ] as [string, ChangeEvent[], boolean, object, RippleConfigInput['reloader']?][])('%s', (_, events, present, expected, r = {}) => {
    const seen = new Set<ChangeEvent>(events.length ? events : ['updated']);
    expect(countedEvent(cfg(r), seen, present)).toEqual(expected);
  });
});

describe('scope', () => {
  it.each([
    ['shop', {}, null],
    ['kube-system', {}, 'namespace kube-system is excluded by default ("kube-*"); list it by exact name in reloader.namespaces.include'],
    ['kube-system', { include: ['*', 'kube-system'] }, null],
    ['ripple-system', {}, expect.stringContaining('excluded by default')],
    ['legacy-a', { exclude: ['legacy-*'] }, 'namespace legacy-a is excluded by reloader.namespaces.exclude "legacy-*"'],
    ['shop', { include: ['team-*'] }, 'namespace shop matches no reloader.namespaces.include pattern'],
  ] as [string, object, unknown][])('namespace %s with %j', (ns, namespaces, expected) => {
    expect(namespaceOutOfScope(cfg({ namespaces }), ns)).toEqual(expected);
  });

  it('object kinds and label selector (Reloader\'s --resources-to-ignore, --resource-label-selector)', () => {
    expect(objectOutOfScope(cfg({ objects: { kinds: ['Secret'] } }), 'ConfigMap', {})).toBe('ConfigMap is not in reloader.objects.kinds');
    const sel = cfg({ objects: { selector: { matchLabels: { reload: 'yes' } } } });
    expect(objectOutOfScope(sel, 'Secret', { reload: 'yes' })).toBeNull();
    expect(objectOutOfScope(sel, 'Secret', {})).toBe('labels do not match reloader.objects.selector');
  });
});

describe('pause-period', () => {
  const dep = (ann: Record<string, string>, paused = false): WorkloadView => ({
    kind: 'Deployment',
    namespace: 'shop',
    name: 'web',
    annotations: ann,
    paused,
    template: { metadata: {}, spec: { containers: [{ name: 'app', envFrom: [{ secretRef: { name: 'db' } }] }] } },
  });
  const plan = (w: WorkloadView) => {
    const c = cfg({ autoReloadAll: true });
    const changed = reloaderChanged(c, { kind: 'Secret', namespace: 'shop', name: 'db', annotations: {}, event: 'updated' }, 'hmac-sha256:' + 'a'.repeat(32));
    const p = planRollouts([changed], [w], NOW);
    const notes = applyPausePeriods(p, [w], new Set(['Secret/db']), NOW);
    return { body: p.patches[0]?.body, notes };
  };

  it('a restart also pauses the Deployment, marks when and by whom', () => {
    const { body } = plan(dep({ 'deployment.reloader.stakater.com/pause-period': '5m' }));
    expect(body?.spec.paused).toBe(true);
    expect(body?.metadata).toEqual({ annotations: { 'deployment.reloader.stakater.com/paused-at': '2026-12-04T06:00:00Z' }, labels: { [LABEL_PAUSED_FOR_PERIOD]: 'true' } });
  });
  it('no pause-period, or already paused: template only (a paused one rolls out on resume)', () => {
    expect(plan(dep({})).body?.spec.paused).toBeUndefined();
    const paused = plan(dep({ 'deployment.reloader.stakater.com/pause-period': '5m' }, true));
    expect(paused.body?.spec.paused).toBeUndefined();
    expect(paused.body?.spec.template.metadata.annotations[ANN_RESTARTED_FOR]).toMatch(/^Secret\/db=/);
  });
  it('an invalid period restarts without a pause, and says so', () => {
    const r = plan(dep({ 'deployment.reloader.stakater.com/pause-period': 'soon' }));
    expect(r.body?.spec.paused).toBeUndefined();
    expect(r.notes).toEqual(['Deployment shop/web: deployment.reloader.stakater.com/pause-period "soon" is not a duration (e.g. "5m"); restarted without a pause']);
  });
  it.each([
    ['paused by ripple, 5m from 06:00', { paused: true }, { 'deployment.reloader.stakater.com/pause-period': '5m', 'deployment.reloader.stakater.com/paused-at': '2026-12-04T06:00:00Z' }, Date.parse('2026-12-04T06:05:00Z')],
    ['resumed by someone since', { paused: false }, { 'deployment.reloader.stakater.com/pause-period': '5m', 'deployment.reloader.stakater.com/paused-at': '2026-12-04T06:00:00Z' }, null],
    ['unparsable paused-at: at once', { paused: true }, { 'deployment.reloader.stakater.com/pause-period': '5m', 'deployment.reloader.stakater.com/paused-at': 'x' }, 0],
  ])('resume time: %s', (_, spec, annotations, expected) => {
    expect(resumeAt({ spec, metadata: { annotations } })).toBe(expected);
  });
});

describe('CronJob', () => {
  it('the Job name is derived from the restart record (a retry finds the same Job) and fits 63 characters', () => {
    expect(jobName('nightly', 'ConfigMap/cfg=x')).toBe(jobName('nightly', 'ConfigMap/cfg=x'));
    expect(jobName('nightly', 'ConfigMap/cfg=x')).not.toBe(jobName('nightly', 'ConfigMap/cfg=y'));
    expect(jobName('a'.repeat(52) + '-' + 'b'.repeat(10), 'r').length).toBeLessThanOrEqual(63);
    expect(jobName('nightly', 'r')).toMatch(/^nightly-[0-9a-f]{6}$/);
  });
  it('the Job is the jobTemplate, owned by its CronJob, marked manual, with the restart annotations', () => {
    const cron = { metadata: { name: 'nightly', namespace: 'ops', uid: 'u1' }, spec: { schedule: '0 3 * * *', jobTemplate: { metadata: { labels: { team: 'ops' } }, spec: { backoffLimit: 2, template: { metadata: { annotations: { a: 'b' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'j', image: 'i' }] } } } } } };
    const job = jobFrom(cron, 'nightly-abc123', { [ANN_RESTARTED_FOR]: 'ConfigMap/cfg=x' });
    expect(job.metadata).toEqual({
      name: 'nightly-abc123',
      namespace: 'ops',
      labels: { team: 'ops' },
      annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly', uid: 'u1', controller: true, blockOwnerDeletion: true }],
    });
    expect(job.spec?.backoffLimit).toBe(2);
    expect(job.spec?.template.metadata?.annotations).toEqual({ a: 'b', [ANN_RESTARTED_FOR]: 'ConfigMap/cfg=x' });
    expect(cron.spec.jobTemplate.spec.template.metadata.annotations).toEqual({ a: 'b' });
  });
});

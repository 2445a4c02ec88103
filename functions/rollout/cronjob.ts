/**
 * CronJob as a rollout kind (the Reloader mode only). A CronJob has no pods to roll: as Reloader does, a restart
 * creates a new Job from its jobTemplate now (annotation `cronjob.kubernetes.io/instantiate: manual`, owned by
 * the CronJob), so the next run does not wait for the schedule. The pod template read and recorded is
 * `spec.jobTemplate.spec.template`.
 *
 * Once only: the Job's name is derived from the restart record (`<cronjob>-<6 hex of its hash>`), so a retry after
 * a crash between the Job and the record finds the Job there (409) and only writes the record; the record
 * (`ripple.dev/restarted-for` on the jobTemplate's pod template) then makes every later delivery up to date.
 */
import { createHash } from 'node:crypto';
import type { V1CronJob, V1Job } from '@kubernetes/client-node';
import { ANN_RESTARTED_FOR, FIELD_MANAGER } from '../../core/constants.ts';
import { ConflictError } from '../../core/errors.ts';
import { listAllRaw, orNull, type RawApi } from '../runtime/kube.ts';
import type { Workload, WorkloadKindOps } from './workloads.ts';

const path = (namespace: string, resource: 'cronjobs' | 'jobs', name?: string) =>
  `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/${resource}${name ? `/${encodeURIComponent(name)}` : ''}`;

/** The Job a restart creates: deterministic per CronJob and restart record (at most 63 characters, as Job names must be). */
export function jobName(cronJob: string, restartedFor: string): string {
  const h = createHash('sha256').update(restartedFor).digest('hex').slice(0, 6);
  return `${cronJob.slice(0, 56).replace(/[-.]+$/, '')}-${h}`;
}

/** The Job Reloader would create from the CronJob, with the restart's pod template annotations. */
export function jobFrom(cron: V1CronJob, name: string, templateAnnotations: Record<string, string>): V1Job {
  const jt = cron.spec?.jobTemplate ?? {};
  const spec = structuredClone(jt.spec ?? { template: {} });
  spec.template = { ...spec.template, metadata: { ...spec.template?.metadata, annotations: { ...spec.template?.metadata?.annotations, ...templateAnnotations } } };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: cron.metadata?.namespace,
      labels: jt.metadata?.labels,
      annotations: { 'cronjob.kubernetes.io/instantiate': 'manual', ...jt.metadata?.annotations },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cron.metadata?.name ?? '', uid: cron.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec,
  };
}

export const cronJobOps: WorkloadKindOps = {
  resource: 'cronjobs',
  list: (raw, namespace) => listAllRaw<Workload>(raw, path(namespace, 'cronjobs'), { verb: 'list', resource: 'cronjobs', namespace }),
  get: (raw, namespace, name) => orNull(raw.request<V1CronJob>('GET', path(namespace, 'cronjobs', name), { describe: { verb: 'get', resource: 'cronjobs', namespace, name } })),
  podTemplate: (o) => (o as V1CronJob).spec?.jobTemplate?.spec?.template,
  paused: () => false,
  async patch(raw: RawApi, namespace: string, name: string, body: object): Promise<void> {
    const annotations = (body as { spec: { template: { metadata: { annotations: Record<string, string> } } } }).spec.template.metadata.annotations;
    const cron = await raw.request<V1CronJob>('GET', path(namespace, 'cronjobs', name), { describe: { verb: 'get', resource: 'cronjobs', namespace, name } });
    const job = jobName(name, annotations[ANN_RESTARTED_FOR] ?? '');
    try {
      await raw.request('POST', path(namespace, 'jobs'), {
        describe: { verb: 'create', resource: 'jobs', namespace, name: job },
        body: jobFrom(cron, job, annotations),
        query: { fieldManager: FIELD_MANAGER },
        discardAnswer: true,
      });
    } catch (err) {
      // created by an earlier attempt of this very restart (same record, same name)
      if (!(err instanceof ConflictError)) throw err;
    }
    await raw.request<void>('PATCH', path(namespace, 'cronjobs', name), {
      describe: { verb: 'patch', resource: 'cronjobs', namespace, name },
      body: { spec: { jobTemplate: { spec: { template: { metadata: { annotations } } } } } },
      contentType: 'application/strategic-merge-patch+json',
      query: { fieldManager: FIELD_MANAGER },
      discardAnswer: true,
    });
  },
};

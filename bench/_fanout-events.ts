/**
 * What the forwarder would send in `npm run bench -- fanout` (it runs elsewhere in production): the copies'
 * events, read by a list (initial sync) or streamed from a watch into the rollout queue while the clone writes
 * (base update), and the base's own change event.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { DETAIL_TYPES } from '../core/constants.ts';
import { fingerprint } from '../core/fingerprint.ts';
import { objectChangeEntry } from '../events/schema.ts';
import { listAllRaw } from '../kube/paging.ts';
import type { KubeconfigKube as Kube } from '../kube/kubeconfig.ts';
import { delivered, type rolloutQueue } from './_fanout-harness.ts';

type RolloutQueue = ReturnType<typeof rolloutQueue>;

/** The events the forwarder would send for every copy of the base (created or updated), read by a list. */
export async function copyEvents(admin: Kube, keyBytes: Buffer, dt: 'created' | 'updated'): Promise<object[]> {
  const all = await listAllRaw<V1Secret>(admin.raw, '/api/v1/secrets', { verb: 'list', resource: 'secrets' }, { query: { fieldSelector: 'metadata.name=blogsecret' } });
  return all.filter((s) => s.metadata?.namespace !== 'base').map((c) => copyEvent(c, keyBytes, dt));
}

/** The event the forwarder would send for a change of `s` (a copy, or the base in namespace base). */
function changeEvent(s: V1Secret, keyBytes: Buffer, dt: 'created' | 'updated', changes: Parameters<typeof objectChangeEntry>[1]['changes'], manager?: string): object {
  return delivered(
    objectChangeEntry(DETAIL_TYPES[dt], {
      cluster: 'local', apiVersion: 'v1', kind: 'Secret', namespace: s.metadata!.namespace!, name: 'blogsecret', uid: s.metadata!.uid!, resourceVersion: s.metadata!.resourceVersion!,
      labels: s.metadata?.labels ?? {}, annotations: {}, ownerReferences: [], fingerprint: fingerprint(keyBytes, { kind: 'Secret', type: s.type, data: s.data }), changes,
      ...(manager ? { manager } : {}), observedAt: new Date().toISOString(),
    }),
  );
}

/** The event the forwarder would send for a copy's change (ripple's own write). */
const copyEvent = (c: V1Secret, keyBytes: Buffer, dt: 'created' | 'updated') => changeEvent(c, keyBytes, dt, dt === 'updated' ? ['data', 'annotations'] : [], 'ripple');

/**
 * The forwarder's part, as in production: a watch of the copies from `resourceVersion` on, started before the
 * base changes; each copy's update becomes its event the moment it is seen and goes into the rollout queue
 * (rolloutQueue: local SQS semantics) while the clone is still writing. `done()` resolves when all N copies were
 * seen and every batch was processed: the events sent and the records that failed.
 */
export function forwardCopies(h: { admin: Kube; keyBytes: Buffer; N: number; rolloutQueue(): RolloutQueue }, resourceVersion: string): { done(): Promise<{ events: object[]; failedRecords: number; lastEventAt: number }> } {
  const queue = h.rolloutQueue();
  const events: object[] = [];
  const seen = new Set<string>();
  const ctl = new AbortController();
  let lastEventAt = 0;
  let allSeen!: () => void;
  const complete = new Promise<void>((r) => (allSeen = r));
  const watching = h.admin.raw
    .watch('/api/v1/secrets', { fieldSelector: 'metadata.name=blogsecret', resourceVersion }, (line) => {
      const c = line.object as V1Secret;
      if (line.type !== 'MODIFIED' || c.metadata?.namespace === 'base' || seen.has(c.metadata!.namespace!)) return;
      seen.add(c.metadata!.namespace!);
      const e = copyEvent(c, h.keyBytes, 'updated');
      events.push(e);
      queue.send(e);
      if (seen.size === h.N) {
        lastEventAt = performance.now();
        allSeen();
      }
    }, ctl.signal)
    .catch((err: Error) => {
      if (!ctl.signal.aborted) throw err;
    });
  return {
    async done() {
      await Promise.race([complete, watching.then(() => { throw new Error(`copy watch ended after ${seen.size} of ${h.N} copies`); })]);
      ctl.abort();
      const failedRecords = await queue.drained();
      return { events, failedRecords, lastEventAt };
    },
  };
}

/** The event the forwarder would send for the base Secret's update. */
export function sourceUpdated(updated: V1Secret, keyBytes: Buffer): object {
  return changeEvent(updated, keyBytes, 'updated', ['data']);
}

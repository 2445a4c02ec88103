/**
 * The embedded cluster in a process of its own, for `npm run bench -- fanout` (as in production, where the API
 * server and its controllers do not share a CPU with the handlers). Started with fork(); talks over the IPC
 * channel:
 *   parent -> { id, type: 'kubeconfig', opts } | { id, type: 'sync' } | { id, type: 'stop' } | { id, type: 'profile', … }
 *   child  -> { type: 'ready', url } | { type: 'audit', events } | { type: 'reply', id, value }
 * Audit events travel as compact tuples (what the bench counts: user, verb, resource, URI, code, and when: the
 * wall clock, Date.now(), which parent and child share), in batches;
 * 'sync' flushes them first, so after its reply the parent has every event of the requests it saw answered.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { startCluster, type StartClusterOptions } from '../infra/local/cluster/index.ts';

export type AuditTuple = [user: string, verb: string, resource: string | null, requestURI: string, code: number, at: number];
export type ClusterRequest =
  | { type: 'kubeconfig'; opts?: { user?: string; groups?: string[] } }
  | { type: 'sync' }
  | { type: 'stop' }
  /** CPU profile of this process between 'start' and 'stop' (written to `file`; FANOUT_PROFILE). */
  | { type: 'profile'; action: 'start' } | { type: 'profile'; action: 'stop'; file: string };
export type ClusterMessage = ClusterRequest & { id: number };

const send = (m: object) => new Promise<void>((resolve) => process.send!(m, () => resolve()));

const opts = JSON.parse(process.argv[2] ?? '{}') as StartClusterOptions;
const cluster = await startCluster(opts);
let buffered: AuditTuple[] = [];
cluster.onAudit((e) => buffered.push([e.user.username, e.verb, e.objectRef?.resource ?? null, e.requestURI, e.responseStatus.code, Date.now()]));
const flush = async () => {
  if (!buffered.length) return;
  const events = buffered;
  buffered = [];
  await send({ type: 'audit', events });
};
const timer = setInterval(() => void flush(), 50);
let session: Session | null = null;
process.on('message', (m: ClusterMessage) => {
  void (async () => {
    if (m.type === 'kubeconfig') return send({ type: 'reply', id: m.id, value: cluster.kubeconfig(m.opts) });
    if (m.type === 'profile') {
      if (m.action === 'start') {
        session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
      } else if (session) {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(m.file, JSON.stringify(profile));
        session.disconnect();
        session = null;
      }
      return send({ type: 'reply', id: m.id, value: null });
    }
    if (m.type === 'sync') {
      await flush();
      return send({ type: 'reply', id: m.id, value: process.cpuUsage() });
    }
    clearInterval(timer);
    await cluster.stop();
    await flush();
    await send({ type: 'reply', id: m.id, value: process.cpuUsage() });
    process.disconnect();
  })();
});
await send({ type: 'ready', url: cluster.url });

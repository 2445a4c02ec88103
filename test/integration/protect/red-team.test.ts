/**
 * Red team: hostile users against a protected base with every handler live (`ripple dev`: the embedded cluster, the
 * forwarder, the local bus and rules, the audit-log subscription, clone, protect and rollout), driven by kubectl.
 * After each attack the suite waits for ripple to settle and asserts the user's guarantee, not the path: the base,
 * protect's snapshot, every copy and the consumer's pod template are as the last allowed actor (the cluster admin,
 * system:masters) left them, and no copy ever showed the attacker's content while ripple settled (sampled throughout).
 *
 * - alice: ClusterRole edit everywhere (RBAC lets her write the base and every copy)
 * - dora: may delete namespaces
 * Three deployments of the article's policy: enforce with admission installed; enforce with the policy's admission
 * bindings removed (a cluster where they were never applied: the handlers alone must hold); and audit mode
 * (admission warns and lets everything through: the base keeps the violation, reported; nothing spreads).
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDev, type DevSession } from '../../../infra/local/dev/index.ts';
import { createOutput } from '../../../infra/local/dev/output.ts';
import { serviceCopy } from '../../support/service.ts';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const TEAMS = ['team-a', 'team-b'];
const SETTLE_MS = 2_500;

interface Stack {
  session: DevSession;
  dir: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  kubectl(args: string[], input?: string): Promise<{ code: number; out: string }>;
  ok(args: string[], input?: string): Promise<string>;
  log(): string;
}

async function startStack(mode: 'enforce' | 'audit'): Promise<Stack> {
  const dir = serviceCopy(`ripple-red-team-${mode}-`);
  const policy = join(dir, 'policies', 'blogsecret.yaml');
  writeFileSync(policy, readFileSync(policy, 'utf8').replace('mode: enforce', `mode: ${mode}`));
  let text = '';
  const out = createOutput((s) => void (text += s), { color: false, logs: 'json' });
  const session = await startDev({ cwd: dir, stateDir: join(dir, '.ripple'), scenario: false, retryScale: 600 }, out);
  const kc = new KubeConfig();
  kc.loadFromFile(session.kubeconfigPath);
  const env = { PATH: process.env.PATH, HOME: dir, KUBECONFIG: session.kubeconfigPath, KUBECACHEDIR: join(dir, 'cache') };
  const kubectl = (args: string[], input?: string) =>
    new Promise<{ code: number; out: string }>((done) => {
      const child = execFile('kubectl', args, { env, timeout: 30_000 }, (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
      if (input !== undefined) child.stdin?.end(input);
    });
  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.out}`);
    return r.out;
  };
  return { session, dir, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api), kubectl, ok, log: () => text };
}

/** Stop the stack and remove its directory (its output kept in RED_TEAM_LOG-<time>.log when that is set). */
async function stopStack(s: Stack | undefined): Promise<void> {
  if (!s) return;
  await s.session.stop();
  if (process.env.RED_TEAM_LOG) writeFileSync(`${process.env.RED_TEAM_LOG}-${Date.now()}.log`, s.log());
  rmSync(s.dir, { recursive: true, force: true });
}

/** Seeded, and settled: copies of v1 everywhere, the consumer restarted for them, protect's first snapshot taken. */
async function settledStack(s: Stack): Promise<State> {
  await seed(s);
  return until(s, 'copies v1 and a restart', (st) => everyCopy('v1')(st) && st.consumer.includes('ripple.dev/restarted-for') && st.snapshot !== null, 60_000);
}

const secretYaml = (ns: string, value: string) => `apiVersion: v1\nkind: Secret\nmetadata: { name: blogsecret, namespace: ${ns} }\nstringData: { password: ${value} }\n`;
const deploymentYaml = (ns: string) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: blog, namespace: ${ns} }\nspec:\n  selector: { matchLabels: { app: blog } }\n  template:\n    metadata: { labels: { app: blog } }\n    spec:\n      containers:\n        - name: blog\n          image: nginx:1.27\n          env: [{ name: BLOG_PASSWORD, valueFrom: { secretKeyRef: { name: blogsecret, key: password } } }]\n`;

/** Namespaces, the base (as the admin: the allowed actor), a consumer, and the hostile users' RBAC. */
async function seed(s: Stack): Promise<void> {
  for (const ns of ['platform', ...TEAMS]) await s.ok(['create', 'namespace', ns]);
  await s.ok(['apply', '-f', '-'], secretYaml('platform', 'v1'));
  await s.ok(['apply', '-f', '-'], deploymentYaml('team-a'));
  await s.ok(['create', 'clusterrolebinding', 'alice-edit', '--clusterrole=edit', '--user=alice']);
  await s.ok(['create', 'clusterrole', 'namespace-deleter', '--verb=delete,get,list', '--resource=namespaces']);
  await s.ok(['create', 'clusterrolebinding', 'dora-deletes-namespaces', '--clusterrole=namespace-deleter', '--user=dora']);
}

interface State {
  base: string | null;
  copies: Record<string, string | null>;
  /** The consumer's pod-template annotations (ripple's restart marks live there). */
  consumer: string;
  /** protect's last-known-good snapshot: the fingerprint it holds, `absent`, or null before the first one. */
  snapshot: string | null;
}

async function password(core: CoreV1Api, ns: string): Promise<string | null> {
  try {
    const s = await core.readNamespacedSecret({ namespace: ns, name: 'blogsecret' });
    return Buffer.from(s.data?.password ?? '', 'base64').toString();
  } catch (err) {
    if ((err as { code?: number }).code === 404) return null;
    throw err;
  }
}

async function state(s: Stack): Promise<State> {
  const copies: Record<string, string | null> = {};
  for (const ns of TEAMS) copies[ns] = await password(s.core, ns);
  const d = await s.apps.readNamespacedDeployment({ namespace: 'team-a', name: 'blog' });
  const snap = await s.core.readNamespacedSecret({ namespace: 'ripple-system', name: 'ripple-snapshot-blogsecret' }).catch(() => null);
  const ann = snap?.metadata?.annotations ?? {};
  const snapshot = snap ? (ann['ripple.dev/snapshot-absent'] === 'true' ? 'absent' : (ann['ripple.dev/source-fingerprint'] ?? '')) : null;
  return { base: await password(s.core, 'platform'), copies, consumer: JSON.stringify(d.spec?.template.metadata?.annotations ?? {}), snapshot };
}

async function until(s: Stack, what: string, cond: (st: State) => boolean, ms = 30_000): Promise<State> {
  const end = Date.now() + ms;
  let st = await state(s);
  while (!cond(st)) {
    if (Date.now() > end) throw new Error(`not reached in ${ms} ms: ${what}; state ${JSON.stringify(st)}`);
    await new Promise((r) => setTimeout(r, 150));
    st = await state(s);
  }
  return st;
}

/**
 * Run `attack`, then sample the copies every 100 ms for SETTLE_MS (none may ever hold `forbidden`), wait for
 * `settled`, and return the final state.
 */
async function attackAndWatch(s: Stack, attack: () => Promise<unknown>, forbidden: string, settled: (st: State) => boolean): Promise<{ final: State; seen: Set<string> }> {
  const seen = new Set<string>();
  await attack();
  const end = Date.now() + SETTLE_MS;
  while (Date.now() < end) {
    const st = await state(s);
    for (const v of Object.values(st.copies)) if (v !== null) seen.add(v);
    await new Promise((r) => setTimeout(r, 100));
  }
  const final = await until(s, 'settled', settled);
  for (const v of Object.values(final.copies)) if (v !== null) seen.add(v);
  expect(seen.has(forbidden), `a copy showed "${forbidden}"`).toBe(false);
  return { final, seen };
}

const everyCopy = (v: string | null) => (st: State) => TEAMS.every((ns) => st.copies[ns] === v);
const as = (user: string) => ['--as', user];

/** The admission bypasses already known, as alice; every one must be refused in enforce mode. */
function bypasses(s: Stack): [string, () => Promise<{ code: number; out: string }>][] {
  const a = as('alice');
  return [
    ['merge patch', () => s.kubectl(['patch', 'secret', 'blogsecret', '-n', 'platform', '--type=merge', '-p', '{"stringData":{"password":"evil"}}', ...a])],
    ['JSON patch', () => s.kubectl(['patch', 'secret', 'blogsecret', '-n', 'platform', '--type=json', '-p', `[{"op":"replace","path":"/data/password","value":"${Buffer.from('evil').toString('base64')}"}]`, ...a])],
    ['strategic merge patch', () => s.kubectl(['patch', 'secret', 'blogsecret', '-n', 'platform', '-p', '{"stringData":{"password":"evil"}}', ...a])],
    ['server-side apply --force-conflicts', () => s.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=alice', '-f', '-', ...a], secretYaml('platform', 'evil'))],
    ['replace --force', () => s.kubectl(['replace', '--force', '-f', '-', ...a], secretYaml('platform', 'evil'))],
    ['label only', () => s.kubectl(['label', 'secret', 'blogsecret', '-n', 'platform', 'owned-by=alice', ...a])],
    ['finalizer added', () => s.kubectl(['patch', 'secret', 'blogsecret', '-n', 'platform', '--type=merge', '-p', '{"metadata":{"finalizers":["alice.example/hold"]}}', ...a])],
    ['delete', () => s.kubectl(['delete', 'secret', 'blogsecret', '-n', 'platform', ...a])],
    ['server dry-run delete', () => s.kubectl(['delete', 'secret', 'blogsecret', '-n', 'platform', '--dry-run=server', ...a])],
    ['namespace delete (dora)', () => s.kubectl(['delete', 'namespace', 'platform', '--wait=false', ...as('dora')])],
  ];
}

describe.skipIf(!hasKubectl)('red team, enforce mode with admission installed', () => {
  let s: Stack;
  let last: State;
  beforeAll(async () => {
    s = await startStack('enforce');
    await seed(s);
  }, 120_000);
  afterAll(() => stopStack(s));

  it('the allowed actor updates the base: every copy follows and the consumer rolls out', { timeout: 60_000 }, async () => {
    const first = await until(s, 'copies v1', everyCopy('v1'));
    await s.ok(['apply', '-f', '-'], secretYaml('platform', 'v2'));
    last = await until(s, 'copies v2 and a restart', (st) => everyCopy('v2')(st) && st.consumer !== first.consumer && st.consumer.includes('ripple.dev/restarted-for') && st.snapshot !== null);
  });

  it('every known bypass is refused, and nothing changes anywhere', { timeout: 120_000 }, async () => {
    for (const [name, attack] of bypasses(s)) {
      const r = await attack();
      expect(r.code, `${name}: ${r.out}`).not.toBe(0);
    }
    const { final } = await attackAndWatch(s, async () => undefined, 'evil', everyCopy('v2'));
    expect(final).toEqual(last);
  });

  it('after an allowed delete, alice cannot create the base; after the admin re-creates it, a no-op deletecollection restores nothing', { timeout: 90_000 }, async () => {
    await s.ok(['delete', 'secret', 'blogsecret', '-n', 'platform']);
    await until(s, 'copies deleted with the base (onSourceDelete: delete)', (st) => st.base === null && everyCopy(null)(st));
    const create = await s.kubectl(['apply', '-f', '-', ...as('alice')], secretYaml('platform', 'evil'));
    expect(create.code).not.toBe(0);
    await s.ok(['apply', '-f', '-'], secretYaml('platform', 'v3'));
    last = await until(s, 'copies v3', (st) => st.base === 'v3' && everyCopy('v3')(st) && st.snapshot !== 'absent');
    const { final } = await attackAndWatch(s, () => s.ok(['delete', 'secrets', '-n', 'platform', '-l', 'matches=nothing', ...as('alice')]), 'v2', (st) => st.base === 'v3' && everyCopy('v3')(st));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await state(s)).toEqual(final);
  });
});

describe.skipIf(!hasKubectl)('red team, enforce mode without the policy\'s admission (the handlers alone)', () => {
  let s: Stack;
  let last: State;
  beforeAll(async () => {
    s = await startStack('enforce');
    // a cluster where the policy's admission was never applied
    await s.ok(['delete', 'validatingadmissionpolicybinding', 'ripple-protect-blogsecret', 'ripple-protect-blogsecret-namespace']);
    last = await settledStack(s);
  }, 120_000);
  afterAll(() => stopStack(s));

  it('an edit of the base is restored from last-known-good and never reaches a copy or the consumer', { timeout: 60_000 }, async () => {
    const { final } = await attackAndWatch(s, () => s.ok(['patch', 'secret', 'blogsecret', '-n', 'platform', '--type=merge', '-p', '{"stringData":{"password":"evil"}}', ...as('alice')]), 'evil', (st) => st.base === 'v1' && everyCopy('v1')(st));
    expect(final).toEqual(last);
  });

  it('route 1: the base\'s namespace deleted by dora is re-created with the base; copies and consumer untouched', { timeout: 90_000 }, async () => {
    const { final } = await attackAndWatch(s, () => s.ok(['delete', 'namespace', 'platform', ...as('dora')]), 'evil', (st) => st.base === 'v1' && everyCopy('v1')(st));
    expect(final).toEqual(last);
    const ns = await s.core.readNamespace({ name: 'platform' });
    expect(ns.metadata?.annotations?.['ripple.dev/recreated-for']).toBe('blogsecret');
    // protect has its access back: it still guards the base
    await attackAndWatch(s, () => s.ok(['patch', 'secret', 'blogsecret', '-n', 'platform', '--type=merge', '-p', '{"stringData":{"password":"evil"}}', ...as('alice')]), 'evil', (st) => st.base === 'v1');
    expect(s.log()).toMatch(/"verdict":"violation"[^\n]*"verb":"delete"[^\n]*|"verb":"delete"[^\n]*"verdict":"violation"/);
  });

  it('route 2: a create after an allowed delete is removed and never copied', { timeout: 90_000 }, async () => {
    await s.ok(['delete', 'secret', 'blogsecret', '-n', 'platform']);
    await until(s, 'copies deleted', (st) => st.base === null && everyCopy(null)(st));
    const gone = await state(s);
    expect(gone.snapshot).toBe('absent');
    const { final } = await attackAndWatch(s, () => s.ok(['apply', '-f', '-', ...as('alice')], secretYaml('platform', 'evil')), 'evil', (st) => st.base === null && everyCopy(null)(st));
    expect(final).toEqual(gone);
  });

  it('route 3: after the admin re-creates the base, a no-op deletecollection restores nothing older', { timeout: 90_000 }, async () => {
    await s.ok(['apply', '-f', '-'], secretYaml('platform', 'v3'));
    last = await until(s, 'copies v3', (st) => st.base === 'v3' && everyCopy('v3')(st) && st.snapshot !== 'absent');
    const { final } = await attackAndWatch(s, () => s.ok(['delete', 'secrets', '-n', 'platform', '-l', 'matches=nothing', ...as('alice')]), 'v1', (st) => st.base === 'v3' && everyCopy('v3')(st));
    expect(final).toEqual(last);
  });
});

describe.skipIf(!hasKubectl)('red team, audit mode (admission warns; violations reported, never spread)', () => {
  let s: Stack;
  let last: State;
  beforeAll(async () => {
    s = await startStack('audit');
    last = await settledStack(s);
  }, 120_000);
  afterAll(() => stopStack(s));

  const events = async (ns: string) => (await s.core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.reason === 'ProtectionViolation').map((e) => e.message ?? '');

  it('an edit of the base goes through with a warning and is reported; copies and the consumer keep last-known-good', { timeout: 60_000 }, async () => {
    const { final } = await attackAndWatch(s, () => s.ok(['patch', 'secret', 'blogsecret', '-n', 'platform', '--type=merge', '-p', '{"stringData":{"password":"evil"}}', ...as('alice')]), 'evil', (st) => st.base === 'evil');
    expect(final).toEqual({ ...last, base: 'evil' });
    await expect.poll(() => events('platform'), { timeout: 15_000 }).toEqual(expect.arrayContaining([expect.stringContaining('alice patch Secret platform/blogsecret: violation')]));
    // the admin puts it right: allowed, and the copies are already there
    await s.ok(['apply', '-f', '-'], secretYaml('platform', 'v1'));
    await until(s, 'base v1', (st) => st.base === 'v1');
  });

  it('route 1: dora deletes the base\'s namespace: reported on the snapshot in ripple-system; copies and consumer untouched', { timeout: 90_000 }, async () => {
    const { final } = await attackAndWatch(s, () => s.ok(['delete', 'namespace', 'platform', ...as('dora')]), 'evil', (st) => st.base === null);
    expect(final).toEqual({ ...last, base: null });
    await expect.poll(() => events('ripple-system'), { timeout: 15_000 }).toEqual(expect.arrayContaining([expect.stringContaining('dora delete Secret platform/blogsecret: violation')]));
    // the admin brings it back with new content: protect gets its access back, the copies follow
    await s.ok(['create', 'namespace', 'platform']);
    await s.ok(['apply', '-f', '-'], secretYaml('platform', 'v2'));
    last = await until(s, 'copies v2', (st) => st.base === 'v2' && everyCopy('v2')(st), 45_000);
  });

  it('route 2: a create after an allowed delete stays uncopied (reported)', { timeout: 90_000 }, async () => {
    await s.ok(['delete', 'secret', 'blogsecret', '-n', 'platform']);
    await until(s, 'copies deleted', (st) => st.base === null && everyCopy(null)(st));
    const { final } = await attackAndWatch(s, () => s.ok(['apply', '-f', '-', ...as('alice')], secretYaml('platform', 'evil')), 'evil', (st) => st.base === 'evil');
    expect(TEAMS.map((ns) => final.copies[ns])).toEqual([null, null]);
  });
});

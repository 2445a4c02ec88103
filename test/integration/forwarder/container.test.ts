/**
 * The forwarder as its container runs it, without a container engine: what forwarder/Dockerfile ships (the
 * esbuild bundle at /app/forwarder.mjs, read-only, on a distroless Node 24 base that holds only /nodejs/bin/node
 * and the C/C++ runtime libraries it links — no shell, no package manager, no node_modules) is assembled as a
 * root filesystem of bind mounts and run in fresh mount and PID namespaces, chrooted, with the root mounted
 * read-only and the uid/gid from the Deployment's securityContext, configured exactly as the shipped manifests
 * configure it: the ConfigMap and the container env of infra/k8s/forwarder, the ServiceAccount token, CA and
 * namespace at the standard in-cluster path, KUBERNETES_SERVICE_HOST/PORT.
 *
 * It needs root and unshare(1) (Linux namespaces); elsewhere it is skipped, saying why.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { bundleForwarder } from '../../../forwarder/build.ts';
import type { EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import { startCluster } from '../../../infra/local/cluster/index.ts';
import type { LocalEventBridge } from '../../../infra/local/eventbridge/index.ts';
import { startEventBridge } from '../../../infra/local/eventbridge/index.ts';
import { FORWARDER_SA, kubectl, until } from './helpers.ts';

const root = join(import.meta.dirname, '../../..');
const dockerfile = readFileSync(join(root, 'forwarder/Dockerfile'), 'utf8');

/** Why the namespaced run cannot happen on this machine, or null when it can. */
function unavailable(): string | null {
  if (process.platform !== 'linux') return 'needs Linux namespaces';
  if (process.getuid?.() !== 0) return 'needs root (mount namespaces, chroot)';
  // The same kinds of mounts the run below makes, on an empty directory.
  const probe = mkdtempSync(join(tmpdir(), 'ripple-ns-probe-'));
  try {
    for (const d of ['proc', 'tmp']) mkdirSync(join(probe, d));
    const script = 'set -e; mount --bind "$1" "$1"; mount -t proc proc "$1/proc"; mount -t tmpfs tmpfs "$1/tmp"; mount -o remount,bind,ro "$1"; command -v chroot >/dev/null';
    execFileSync('unshare', ['--mount', '--pid', '--fork', 'sh', '-c', script, 'probe', probe], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `unshare/mount not permitted here (${String((err as { stderr?: Buffer }).stderr ?? err).trim().split('\n')[0]})`;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}
const why = unavailable();
if (why) console.warn(`forwarder container test skipped: ${why}`);

/** The final stage of forwarder/Dockerfile: what the image ships and how it starts. */
function finalStage(): { from: string; user: string; copyTo: string; cmd: string[]; runs: number } {
  const stage = dockerfile.split(/^FROM /m).pop()!;
  const from = stage.split('\n')[0].trim();
  const user = /^USER (\S+)/m.exec(stage)![1];
  const copyTo = /^COPY --from=build .* (\/\S+)$/m.exec(stage)![1];
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(stage)![1]) as string[];
  return { from, user, copyTo, cmd, runs: (stage.match(/^RUN /gm) ?? []).length };
}

/** Shared libraries the node binary links (what distroless's base layers provide). */
function linkedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  return [...out.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]);
}

const sh = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

const dir = mkdtempSync(join(tmpdir(), 'ripple-fwd-image-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('forwarder/Dockerfile', () => {
  it('the Dockerfile ships one read-only bundle on distroless Node 24 as non-root, with nothing run in the final stage', () => {
    const s = finalStage();
    expect(s.from).toMatch(/^gcr\.io\/distroless\/nodejs24-debian\d+:nonroot$/);
    expect(s.user).toBe('65532:65532');
    expect(s.runs).toBe(0);
    expect(s.copyTo).toBe('/app/forwarder.mjs');
    expect(s.cmd).toEqual(['/app/forwarder.mjs']);
    expect(dockerfile).toMatch(/--chmod=0444 \/out\/forwarder\.mjs/);
    // The build stage bundles with the same script the tests use.
    expect(dockerfile).toMatch(/^RUN node forwarder\/build\.ts \/out\/forwarder\.mjs$/m);
  });

  it("the Dockerfile's build stage has every file the bundle needs: its COPY lines alone build it", async () => {
    // Prepare: a build context holding only what the build stage copies (node_modules stands in for `npm ci`).
    const build = dockerfile.split(/^FROM /m)[1];
    const ctx = join(dir, 'build-context');
    mkdirSync(ctx);
    const copies = [...build.matchAll(/^COPY (?!--from)(.+)$/gm)].map((m) => m[1].trim().split(/\s+/));
    expect(copies.length).toBeGreaterThan(1);
    for (const parts of copies) {
      const to = parts.pop()!;
      for (const from of parts) cpSync(join(root, from), join(ctx, to.endsWith('/') && !from.endsWith('/') ? join(to, basename(from)) : to), { recursive: true });
    }
    symlinkSync(join(root, 'node_modules'), join(ctx, 'node_modules'));
    // Act: the stage's own RUN line.
    const run = /^RUN node (\S+) (\S+)$/m.exec(build)!;
    const out = join(dir, 'from-context.mjs');
    execFileSync(process.execPath, [join(ctx, run[1]), out], { cwd: ctx, stdio: 'pipe' });
    // Assess: it bundled, and the bundle starts (and stops at the missing configuration).
    let code = 0;
    let stdout = '';
    try {
      execFileSync(process.execPath, [out], { cwd: dir, env: { PATH: '' }, encoding: 'utf8' });
    } catch (err) {
      code = (err as { status: number }).status;
      stdout = (err as { stdout: string }).stdout;
    }
    expect(code).toBe(2);
    expect(stdout).toMatch(/RIPPLE_CLUSTER_NAME is required/);
  }, 60_000);
});

describe.skipIf(why !== null)('forwarder container (namespaced run of the image layout)', () => {
  let cluster: EmbeddedCluster;
  let bus: LocalEventBridge;
  let core: CoreV1Api;
  const rootfs = join(dir, 'rootfs');
  let child: ChildProcess | undefined;
  const lines: any[] = [];
  let stderr = '';

  beforeAll(async () => {
    cluster = await startCluster();
    bus = await startEventBridge();
    core = cluster.kubeConfig().makeApiClient(CoreV1Api);
    await kubectl(cluster.kubeconfig(), ['apply', '-k', join(root, 'infra/k8s/forwarder')]);
    await kubectl(cluster.kubeconfig(), ['apply', '-f', join(root, 'infra/k8s/rbac/forwarder.yaml')]);
    mkdirSync(rootfs, { mode: 0o755 });
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await bus?.stop();
    await cluster?.stop();
  });

  it('runs read-only, as 65532, from node + bundle alone, with the shipped config and its ServiceAccount; sends events; SIGTERM exits 0', async () => {
    // Prepare: the shipped Deployment and ConfigMap, as applied to the cluster.
    const apps = cluster.kubeConfig().makeApiClient(AppsV1Api);
    const dep = await apps.readNamespacedDeployment({ namespace: 'ripple-system', name: 'ripple-forwarder' });
    const pod = dep.spec!.template.spec!;
    const container = pod.containers.find((c) => c.name === 'forwarder')!;
    expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
    const uid = pod.securityContext!.runAsUser!;
    const gid = pod.securityContext!.runAsGroup!;
    expect(`${uid}:${gid}`).toBe(finalStage().user);
    const env: Record<string, string> = {};
    for (const from of container.envFrom ?? []) {
      const cm = await core.readNamespacedConfigMap({ namespace: 'ripple-system', name: from.configMapRef!.name! });
      Object.assign(env, cm.data);
    }
    const podName = 'ripple-forwarder-7c9d8-abcde';
    for (const e of container.env ?? []) {
      const path = e.valueFrom?.fieldRef?.fieldPath;
      env[e.name] = path === 'metadata.name' ? podName : path === 'metadata.namespace' ? 'ripple-system' : e.value!;
    }
    // What the kubelet adds, and what differs on this machine: the API server's address, the bus endpoint with
    // static credentials (EKS Pod Identity in a real pod), a free metrics port.
    const api = new URL(cluster.url);
    Object.assign(env, {
      KUBERNETES_SERVICE_HOST: api.hostname,
      KUBERNETES_SERVICE_PORT: api.port,
      HOSTNAME: podName,
      RIPPLE_EVENTBRIDGE_ENDPOINT: bus.url,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      RIPPLE_HTTP_PORT: '0',
      PATH: '/nodejs/bin',
    });

    // The image layout: the bundle, node and its libraries; the ServiceAccount volume; /proc, /dev/null, /tmp.
    const { cmd } = finalStage();
    const bundle = join(dir, 'forwarder.mjs');
    await bundleForwarder(bundle);
    const nodeBinary = process.execPath;
    const binds: [string, string][] = [
      [bundle, cmd[0]],
      [nodeBinary, '/nodejs/bin/node'],
      ...linkedLibraries(nodeBinary).map((lib) => [lib, lib] as [string, string]),
      ['/dev/null', '/dev/null'],
    ];
    for (const [, to] of binds) {
      mkdirSync(join(rootfs, dirname(to)), { recursive: true });
      writeFileSync(join(rootfs, to), '');
    }
    for (const d of ['proc', 'tmp', 'etc']) mkdirSync(join(rootfs, d), { recursive: true });
    writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n');
    const saDir = join(dir, 'serviceaccount');
    mkdirSync(saDir);
    const kc = YAML.parse(cluster.kubeconfig(FORWARDER_SA));
    writeFileSync(join(saDir, 'token'), kc.users[0].user.token, { mode: 0o444 });
    writeFileSync(join(saDir, 'ca.crt'), Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64'), { mode: 0o444 });
    writeFileSync(join(saDir, 'namespace'), 'ripple-system', { mode: 0o444 });
    const saPath = '/var/run/secrets/kubernetes.io/serviceaccount';
    mkdirSync(join(rootfs, saPath), { recursive: true });
    expect(existsSync(join(rootfs, 'bin/sh'))).toBe(false);

    const script = [
      'set -e',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      `R=${sh(rootfs)}`,
      'mount --bind "$R" "$R"',
      ...binds.map(([from, to]) => `mount --bind ${sh(from)} "$R"${sh(to)}`),
      `mount --bind -o ro ${sh(saDir)} "$R"${sh(saPath)}`,
      'mount -t proc proc "$R/proc"',
      'mount -t tmpfs -o size=16m,mode=1777 tmpfs "$R/tmp"',
      'mount -o remount,bind,ro "$R"',
      // The container's PATH (only node's directory) from here on.
      `exec env PATH=/nodejs/bin "$(command -v chroot)" --userspec=${uid}:${gid} "$R" /nodejs/bin/node ${cmd.map(sh).join(' ')}`,
    ].join('\n');

    // Act: start it.
    const unshare = execFileSync('sh', ['-c', 'command -v unshare'], { encoding: 'utf8' }).trim();
    child = spawn(unshare, ['--mount', '--pid', '--fork', '--kill-child', '/bin/sh', '-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    child.stdout!.on('data', (c) => {
      buf += c;
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const p of parts) if (p.trim()) lines.push(JSON.parse(p));
    });
    child.stderr!.on('data', (c) => (stderr += c));
    const exited = new Promise<number | null>((r) => child!.on('exit', (code) => r(code)));
    const started = await until(`forwarder started (stderr: ${stderr})`, () => lines.find((l) => l.msg === 'forwarder started'), 30_000);
    const port = started.httpPort as number;
    await until('ready', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 30_000);

    // Assess: the process, seen from outside, runs as the image's user with a read-only root.
    const pid = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .find((p) => {
        try {
          return readlinkSync(`/proc/${p}/root`) === rootfs && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(cmd[0]);
        } catch {
          return false;
        }
      });
    expect(pid).toBeDefined();
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)\s+(\d+)/m.exec(status)!.slice(1)).toEqual([String(uid), String(uid)]);
    expect(/^Gid:\s+(\d+)\s+(\d+)/m.exec(status)!.slice(1)).toEqual([String(gid), String(gid)]);
    const rootMount = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .find((f) => f[4] === '/')!;
    expect(rootMount[5].split(',')).toContain('ro');

    // Assess: it works as its ServiceAccount, leads (one replica), and a change reaches the bus.
    await until('leader', async () => /ripple_forwarder_is_leader 1/.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()), 30_000);
    await core.createNamespace({ body: { metadata: { name: 'from-the-image' } } });
    await core.createNamespacedSecret({ namespace: 'from-the-image', body: { metadata: { name: 'hello' }, stringData: { token: 'not-for-events' } } });
    const ev = await until('the Created event on the bus', () =>
      (bus.received() as any[]).find((e) => e['detail-type'] === 'Kubernetes Object Created' && e.detail.kind === 'Secret' && e.detail.name === 'hello'),
    );
    expect(ev.detail).toMatchObject({ cluster: env.RIPPLE_CLUSTER_NAME, namespace: 'from-the-image' });
    expect(JSON.stringify(bus.received())).not.toContain('not-for-events');
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);

    // Act: the kubelet's stop.
    process.kill(Number(pid), 'SIGTERM');
    // Assess
    expect(await exited).toBe(0);
    expect(lines.some((l) => l.msg === 'forwarder stopped' && l.unsent === 0)).toBe(true);
  }, 90_000);
});

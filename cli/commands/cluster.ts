/**
 * `ripple cluster`: runs the embedded Kubernetes API server until Ctrl-C, writes an admin kubeconfig and
 * prints how to use kubectl with it. See docs/embedded-cluster.md.
 */
import type { Command } from 'commander';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseTokenFile } from '../../infra/local/cluster/auth.ts';
import { startCluster, type EmbeddedCluster, type TokenEntry } from '../../infra/local/cluster/index.ts';

export interface ClusterCommandOptions {
  port: number;
  host: string;
  state?: string;
  kubeconfig: string;
  tokenFile?: string;
  auditLog?: string;
  watchHistory?: number;
  bookmarkInterval?: number;
  authorization: string;
  maxRequestsPerSecond?: number;
  verbose?: boolean;
}

/** One line per request, from its audit event (never bodies): `12:00:01 admin patch deployments.apps web -n default 200 (3 ms)`. */
export function requestLine(e: import('../../infra/local/cluster/index.ts').AuditEvent): string {
  const ref = e.objectRef;
  const what = ref
    ? [`${ref.apiGroup ? `${ref.resource}.${ref.apiGroup}` : ref.resource}${ref.subresource ? `/${ref.subresource}` : ''}`, ref.name, ref.namespace ? `-n ${ref.namespace}` : '']
      .filter(Boolean).join(' ')
    : e.requestURI;
  const who = e.impersonatedUser ? `${e.user.username} as ${e.impersonatedUser.username}` : e.user.username;
  const ms = Math.max(0, Date.parse(e.stageTimestamp) - Date.parse(e.requestReceivedTimestamp));
  const status = e.responseStatus.code >= 400 && e.responseStatus.reason ? `${e.responseStatus.code} ${e.responseStatus.reason}` : String(e.responseStatus.code);
  return `${e.stageTimestamp.slice(11, 19)} ${who} ${e.verb} ${what} ${status} (${ms} ms)`;
}

function integer(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: must be an integer >= ${min}, got "${v}"`);
    return n;
  };
}

/** Starts the cluster as the command does; returns it and the kubeconfig path (used by tests). */
export async function runCluster(opts: ClusterCommandOptions, log: (line: string) => void = console.log): Promise<{ cluster: EmbeddedCluster; kubeconfigPath: string }> {
  if (opts.authorization !== 'RBAC' && opts.authorization !== 'AlwaysAllow') {
    throw new Error(`--authorization: must be RBAC or AlwaysAllow, got "${opts.authorization}"`);
  }
  let tokens: TokenEntry[] | undefined;
  if (opts.tokenFile) {
    let text: string;
    try {
      text = readFileSync(opts.tokenFile, 'utf8');
    } catch (err) {
      throw new Error(`--token-file ${opts.tokenFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
    }
    try {
      tokens = parseTokenFile(text);
    } catch (err) {
      throw new Error(`--token-file ${opts.tokenFile}: ${(err as Error).message}`, { cause: err });
    }
  }
  const cluster = await startCluster({
    host: opts.host,
    port: opts.port,
    ...(opts.state ? { statePath: resolve(opts.state) } : {}),
    ...(opts.watchHistory !== undefined ? { watchHistory: opts.watchHistory } : {}),
    ...(opts.bookmarkInterval !== undefined ? { bookmarkIntervalMs: opts.bookmarkInterval * 1000 } : {}),
    ...(tokens ? { tokens } : {}),
    ...(opts.auditLog ? { audit: { file: resolve(opts.auditLog) } } : {}),
    authorization: opts.authorization as 'RBAC' | 'AlwaysAllow',
    ...(opts.maxRequestsPerSecond !== undefined ? { maxRequestsPerSecond: opts.maxRequestsPerSecond } : {}),
  });
  if (opts.verbose) cluster.onAudit((e) => log(requestLine(e)));
  const kubeconfigPath = resolve(opts.kubeconfig);
  mkdirSync(dirname(kubeconfigPath), { recursive: true });
  writeFileSync(kubeconfigPath, cluster.kubeconfig(), { mode: 0o600 });
  log(`embedded cluster listening on ${cluster.url}`);
  log(`kubeconfig (admin, group system:masters): ${kubeconfigPath}`);
  if (opts.state) log(`state: ${resolve(opts.state)} (kept across restarts)`);
  if (opts.maxRequestsPerSecond !== undefined) log(`request rate limit: ${opts.maxRequestsPerSecond}/s (429 + Retry-After over it; system:masters and watches exempt)`);
  if (opts.auditLog) log(`audit log: ${resolve(opts.auditLog)} (audit.k8s.io/v1 events, JSON lines)`);
  if (tokens?.length) log(`tokens: ${tokens.length} from ${opts.tokenFile} (plus the admin token)`);
  log('');
  log('try:');
  log(`  export KUBECONFIG=${kubeconfigPath}`);
  log('  kubectl get namespaces');
  log('  kubectl create secret generic demo --from-literal=key=value');
  log('  kubectl get secrets -A -w');
  log('  kubectl auth can-i create secrets --as alice');
  log('');
  log('Ctrl-C stops the cluster.');
  return { cluster, kubeconfigPath };
}

export function register(program: Command): void {
  program
    .command('cluster')
    .description('run the embedded Kubernetes API server (kubectl and client libraries work against it) until Ctrl-C')
    .option('--port <port>', 'port to listen on (0 = any free port)', integer('port', 0), 0)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--state <file>', 'keep the cluster state in this JSON file across restarts')
    .option('--kubeconfig <file>', 'where to write the admin kubeconfig', '.ripple/kubeconfig')
    .option('--token-file <file>', 'extra bearer tokens, kube-apiserver static token file format (token,user,uid,"group1,group2")')
    .option('--audit-log <file>', 'append audit.k8s.io/v1 events (level Metadata) to this file, one JSON per line')
    .option('--watch-history <n>', 'changes kept for watch resumption; older resourceVersions get 410 Expired', integer('watch-history', 0))
    .option('--bookmark-interval <seconds>', 'seconds between watch BOOKMARK events', integer('bookmark-interval', 0))
    .option('--authorization <mode>', 'RBAC or AlwaysAllow', 'RBAC')
    .option('--max-requests-per-second <n>', 'answer 429 TooManyRequests (Retry-After: 1) over this many requests/s, as API Priority and Fairness does (system:masters and watches exempt)', integer('max-requests-per-second', 1))
    .option('-v, --verbose', 'print one line per request (user, verb, object, status; never bodies)')
    .action(async (opts: ClusterCommandOptions) => {
      const { cluster } = await runCluster(opts);
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          console.log('\nstopping the embedded cluster');
          cluster.stop().then(done, done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}

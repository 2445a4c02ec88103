/**
 * `ripple dev` (= `npm start`): embedded cluster + local EventBridge + forwarder + handlers, wired by
 * serverless.yml, with the article's scenario narrated. See docs/local.md.
 */
import type { Command } from 'commander';
import { runDev } from '../../infra/local/dev/index.ts';
import type { LogMode } from '../../infra/local/dev/output.ts';

function positive(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: must be a positive number, got "${v}"`);
    return n;
  };
}

function keyValue(v: string, acc: Record<string, string>): Record<string, string> {
  const eq = v.indexOf('=');
  if (eq <= 0) throw new Error(`--param: expected key=value, got "${v}"`);
  return { ...acc, [v.slice(0, eq)]: v.slice(eq + 1) };
}

export function register(program: Command): void {
  program
    .command('dev')
    .description('run the whole pipeline locally (embedded cluster, local EventBridge, forwarder, handlers) as serverless.yml wires it, and narrate the scenario')
    .option('--once', 'run the scenario and exit: 0 only if every step converged')
    .option('--kubeconfig <file>', 'use this cluster instead of the embedded one')
    .option('--clusters <names>', 'a fleet: one embedded cluster per name (comma separated, e.g. hub,edge), each with its own forwarder, on one bus; .ripple/kubeconfig has a context per cluster (current: the first)')
    .option('--no-scenario', 'start the pipeline without seeding the scenario')
    .option('--stage <stage>', 'serverless stage (${sls:stage})')
    .option('--param <key=value>', 'serverless param (repeatable)', keyValue, {})
    .option('--config <file>', 'serverless file', 'serverless.yml')
    .option('--state-dir <dir>', 'where kubeconfigs and dead-letter files go', '.ripple')
    .option('--rate-scale <n>', 'divide schedule rates by n (60: rate(10 minutes) fires every 10 s)', positive('rate-scale'), 1)
    .option('--retry-scale <n>', 'divide retry delays (SQS visibility timeouts, Lambda async retries) by n', positive('retry-scale'), 60)
    .option('--step-timeout <seconds>', 'how long each scenario step may take to converge', positive('step-timeout'), 30)
    .option('--bus-port <port>', 'port of the local EventBridge (default: any free port)', (v: string) => Number(v))
    .option('--logs <mode>', 'function logs: pretty (default on a TTY), json (default otherwise), none')
    .option('--max-requests-per-second <n>', 'embedded cluster: answer 429 + Retry-After over this many requests/s (system:masters and watches exempt)', positive('max-requests-per-second'))
    .action(async (opts: { once?: boolean; kubeconfig?: string; clusters?: string; scenario: boolean; stage?: string; param: Record<string, string>; config: string; stateDir: string; rateScale: number; retryScale: number; stepTimeout: number; busPort?: number; logs?: string; maxRequestsPerSecond?: number }) => {
      if (opts.logs && !['pretty', 'json', 'none'].includes(opts.logs)) throw new Error(`--logs: must be pretty, json or none, got "${opts.logs}"`);
      const code = await runDev({
        once: opts.once,
        kubeconfig: opts.kubeconfig,
        ...(opts.clusters !== undefined ? { clusters: opts.clusters.split(',') } : {}),
        scenario: opts.scenario,
        stage: opts.stage,
        params: opts.param,
        serverlessFile: opts.config,
        stateDir: opts.stateDir,
        rateScale: opts.rateScale,
        retryScale: opts.retryScale,
        stepTimeoutMs: opts.stepTimeout * 1000,
        busPort: opts.busPort,
        logs: opts.logs as LogMode | undefined,
        ...(opts.maxRequestsPerSecond !== undefined ? { maxRequestsPerSecond: opts.maxRequestsPerSecond } : {}),
      });
      process.exitCode = code;
      // worker threads and sockets of a stopped session must not keep the process alive
      if (opts.once) setTimeout(() => process.exit(code), 500).unref();
    });
}

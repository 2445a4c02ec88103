/**
 * A `ripple dev` session: its options and what every wiring step (./wire.ts) shares — output, directories, the
 * time scales, the parts found missing, and the stop steps (run in reverse order).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LogMode, Output } from './output.ts';

export interface DevOptions {
  /** Service directory (where serverless.yml, policies/ and infra/k8s live). */
  cwd?: string;
  /** Where the kubeconfigs and dead-letter files go (default <cwd>/.ripple). */
  stateDir?: string;
  serverlessFile?: string;
  stage?: string;
  params?: Record<string, string>;
  /** Run against this cluster instead of the embedded one. */
  kubeconfig?: string;
  /**
   * A fleet: one embedded cluster per name, each with its own forwarder, on one bus; the first is the stage's
   * primary cluster. Absent: one embedded cluster named after the `cluster` param.
   */
  clusters?: string[];
  /** Run the scenario and exit: 0 only if every step converged. */
  once?: boolean;
  /** Seed and narrate the article's scenario (default true). */
  scenario?: boolean;
  /** Divide schedule rates by this (rate(10 minutes) with 60 -> every 10 s). Default 1. */
  rateScale?: number;
  /** Divide retry delays (SQS visibility timeouts, Lambda async retry delays) by this. Default 60. */
  retryScale?: number;
  stepTimeoutMs?: number;
  /** Port of the local EventBridge (default: any free port). */
  busPort?: number;
  /** Embedded cluster only: requests/s it accepts before answering 429 + Retry-After (absent: unlimited). */
  maxRequestsPerSecond?: number;
  logs?: LogMode;
  color?: boolean;
  write?: (s: string) => void;
  /** Resolves to stop a long-running (not --once) session; default: SIGINT/SIGTERM. */
  until?: Promise<void>;
}

/** The session every step shares. */
export interface Dev {
  o: DevOptions;
  out: Output;
  cwd: string;
  stateDir: string;
  dlqDir: string;
  /** Retry delays (SQS visibility timeouts, Lambda async retry delays) are divided by this. */
  retryScale: number;
  /** Schedule rates are divided by this. */
  rateScale: number;
  /** Parts of the service that are missing, each with what will not happen. */
  missing: string[];
  /** Register a stop step (run in reverse order). */
  onStop(f: () => Promise<void> | void): void;
}

export function newDev(o: DevOptions, out: Output): Dev & { stop(): Promise<void> } {
  const cwd = resolve(o.cwd ?? process.cwd());
  const stateDir = resolve(o.stateDir ?? join(cwd, '.ripple'));
  const dlqDir = join(stateDir, 'dlq');
  mkdirSync(dlqDir, { recursive: true });
  const stopFns: Array<() => Promise<void> | void> = [];
  return {
    o,
    out,
    cwd,
    stateDir,
    dlqDir,
    retryScale: o.retryScale ?? 60,
    rateScale: o.rateScale ?? 1,
    missing: [],
    onStop: (f) => void stopFns.push(f),
    async stop() {
      for (const f of stopFns.splice(0).reverse()) {
        try {
          await f();
        } catch {
          // keep stopping the rest
        }
      }
    },
  };
}

/**
 * The repository's service as `ripple dev` runs it, in a temporary directory: code linked, everything dev reads
 * or renders copied (a re-render must not write into the repository); and kubectl against a kubeconfig file.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');

/** A fresh copy of the service (`prefix` names the directory); `policies` filters what of policies/ is copied (default: all). */
export function serviceCopy(prefix: string, policies: (src: string) => boolean = () => true): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const p of ['functions', 'forwarder', 'cli', 'node_modules', 'package.json']) symlinkSync(join(repo, p), join(dir, p));
  for (const p of ['infra', 'events', 'schema', 'serverless.yml']) cpSync(join(repo, p), join(dir, p), { recursive: true });
  cpSync(join(repo, 'policies'), join(dir, 'policies'), { recursive: true, filter: policies });
  return dir;
}

/** kubectl with `kubeconfig` (a file), `input` on stdin; rejects with kubectl's stderr. */
export function kubectlWith(kubeconfig: string, args: string[], input?: string): Promise<string> {
  return new Promise((res, rej) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 20_000, env: { PATH: process.env.PATH, HOME: tmpdir() } }, (err, stdout, stderr) =>
      err ? rej(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : res(stdout),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

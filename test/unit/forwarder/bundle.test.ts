/** The container runs one esbuild bundle: it must start without node_modules and fail clearly without config. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleForwarder } from '../../../forwarder/build.ts';

const dir = mkdtempSync(join(tmpdir(), 'ripple-forwarder-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('forwarder bundle', () => {
  it('is self-contained and exits 2 with the missing variable named', async () => {
    // Prepare: bundle into a directory with no node_modules anywhere above it.
    const { outfile } = await bundleForwarder(join(dir, 'forwarder.mjs'));
    // Act
    const run = await promisify(execFile)(process.execPath, [outfile], { cwd: dir, env: { PATH: '' } }).catch((e) => e);
    // Assess
    expect(run.code).toBe(2);
    const line = JSON.parse(run.stdout.trim().split('\n').pop());
    expect(line).toMatchObject({ level: 'error', msg: 'invalid configuration' });
    expect(line.message).toMatch(/RIPPLE_CLUSTER_NAME is required/);
  }, 60_000);
});

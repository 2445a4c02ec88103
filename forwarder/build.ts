/**
 * Bundles the forwarder into one self-contained ES module (no node_modules at run time), the file the
 * container image runs: `node forwarder/build.ts [outfile]` (default dist/forwarder/forwarder.mjs).
 */
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function bundleForwarder(outfile = join(root, 'dist/forwarder/forwarder.mjs')): Promise<{ outfile: string; bytes: number }> {
  const res = await build({
    entryPoints: [join(root, 'forwarder/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    // CommonJS dependencies inside an ES module bundle need `require`.
    banner: { js: "import { createRequire as __rippleCreateRequire } from 'node:module'; const require = __rippleCreateRequire(import.meta.url);" },
  });
  const bytes = Object.values(res.metafile!.outputs).reduce((n, o) => n + o.bytes, 0);
  return { outfile, bytes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { outfile, bytes } = await bundleForwarder(process.argv[2]);
  console.log(`${outfile}: ${(bytes / 1024).toFixed(0)} KiB`);
}

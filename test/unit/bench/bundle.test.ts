import { describe, expect, it } from 'vitest';
import { build, type Metafile } from 'esbuild';
import { dominantInputs, esbuildOptions, packagingConfig } from '../../../bench/bundle.ts';

describe('bench bundle', () => {
  it('reads the functions and esbuild options the package is built with from serverless.yml', () => {
    const cfg = packagingConfig();
    expect(cfg.functions).toEqual([
      { name: 'clone', entry: 'functions/clone/handler.ts', exportName: 'handler' },
      { name: 'rollout', entry: 'functions/rollout/handler.ts', exportName: 'handler' },
      { name: 'protect', entry: 'functions/protect/handler.ts', exportName: 'handler' },
    ]);
    expect(cfg.esbuild).toMatchObject({ format: 'esm', outputFileExtension: '.mjs', minify: true, exclude: ['@aws-sdk/*', '@kubernetes/client-node'] });
  });

  it('sums the bytes each package contributes to an output, largest first', () => {
    const meta = {
      inputs: {},
      outputs: {
        'out/handler.mjs': {
          bytes: 0,
          imports: [],
          exports: [],
          inputs: {
            'node_modules/@kubernetes/client-node/dist/a.js': { bytesInOutput: 300 },
            'node_modules/@kubernetes/client-node/node_modules/undici/index.js': { bytesInOutput: 200 },
            'node_modules/@kubernetes/client-node/dist/b.js': { bytesInOutput: 100 },
            'node_modules/zod/v4/core.js': { bytesInOutput: 250 },
            'functions/clone/handler.ts': { bytesInOutput: 50 },
          },
        },
      },
    } as unknown as Metafile;
    expect(dominantInputs(meta, 'out/handler.mjs')).toEqual([
      { what: '@kubernetes/client-node', bytes: 400 },
      { what: 'zod', bytes: 250 },
      { what: 'undici', bytes: 200 },
      { what: '(project)', bytes: 50 },
    ]);
    expect(dominantInputs(meta, 'out/other.mjs')).toEqual([]);
  });

  it.each(packagingConfig().functions.map((f) => [f.name, f.entry] as const))(
    '%s bundle, built as packaged: at most 300 KB, only zod\'s mini build and English messages, no @kubernetes/client-node inside, and only a dynamic (kubeconfig-branch) import of it',
    async (_name, entry) => {
      // Act
      const res = await build({ ...(esbuildOptions(packagingConfig().esbuild, false) as object), entryPoints: [entry], write: false, metafile: true, sourcemap: false, logLevel: 'silent', outdir: 'out' });
      // Assess
      const inputs = Object.keys(res.metafile.inputs);
      expect(inputs.some((p) => p.includes('node_modules/@kubernetes/client-node'))).toBe(false);
      const code = res.outputFiles.find((f) => f.path.endsWith('.mjs'))!.text;
      expect(code).not.toMatch(/from\s*["']@kubernetes\/client-node["']/);
      expect(code).toMatch(/import\(\s*["']@kubernetes\/client-node["']\s*\)/);
      // The budget (issue 15): the classic zod build, with every locale, was 443 KB of each bundle.
      expect(Buffer.byteLength(code)).toBeLessThanOrEqual(300 * 1024);
      const inOutput = Object.entries(Object.values(res.metafile.outputs).find((o) => o.entryPoint)!.inputs).filter(([, i]) => i.bytesInOutput > 0);
      expect(inOutput.map(([p]) => p).filter((p) => /node_modules\/zod\/v4\/(classic\/|locales\/(?!en\.js))/.test(p))).toEqual([]);
    },
    60_000,
  );
});

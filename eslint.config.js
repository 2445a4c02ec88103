import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { dirname, relative, resolve, sep } from 'node:path';

// ripple import fences (issue 14): who may import whom, checked on every relative import, export-from, import() and require().
// Product code (what ships: the Lambda bundles and the forwarder image) never imports the local stack, the CLI or
// the build-time renderers; clone and rollout never import each other; core/ imports nothing of ripple but itself.
const FENCES = [
  { from: ['core/', 'events/', 'kube/', 'functions/', 'forwarder/'], deny: ['infra/local/', 'cli/', 'render/'], why: 'product code never imports the local stack (infra/local), the CLI or build-time renderers (render/)' },
  { from: ['functions/clone/'], deny: ['functions/rollout/'], why: 'clone and rollout are independent handlers: share through core/ or functions/runtime/' },
  { from: ['functions/rollout/'], deny: ['functions/clone/'], why: 'clone and rollout are independent handlers: share through core/ or functions/runtime/' },
  { from: ['core/'], deny: ['kube/', 'functions/', 'forwarder/', 'events/', 'infra/', 'bench/', 'test/'], why: 'core/ is the foundation: it imports nothing of ripple but core/' },
  { from: ['kube/'], deny: ['functions/', 'forwarder/'], why: 'kube/ is the one client: handlers and the forwarder build on it, not the other way round' },
];
const REPO_ROOT = import.meta.dirname;
const layers = {
  meta: { type: 'problem', docs: { description: 'import fences between ripple layers (docs/adr/0005-layout.md)' }, schema: [] },
  create(context) {
    const rel = (p) => relative(REPO_ROOT, p).split(sep).join('/');
    const file = rel(context.filename);
    const fences = FENCES.filter((f) => f.from.some((p) => file.startsWith(p)));
    if (fences.length === 0) return {};
    const check = (node) => {
      if (!node || node.type !== 'Literal' || typeof node.value !== 'string' || !node.value.startsWith('.')) return;
      const target = rel(resolve(dirname(context.filename), node.value));
      for (const f of fences) {
        const hit = f.deny.find((d) => target.startsWith(d));
        if (hit) context.report({ node, message: `${file} must not import ${target}: ${f.why}` });
      }
    };
    return {
      ImportDeclaration: (n) => check(n.source),
      ExportNamedDeclaration: (n) => check(n.source),
      ExportAllDeclaration: (n) => check(n.source),
      ImportExpression: (n) => check(n.source),
      CallExpression: (n) => n.callee.type === 'Identifier' && n.callee.name === 'require' && check(n.arguments[0]),
    };
  },
};
const fences = { files: ['**/*.{ts,cts,mts,js,cjs,mjs}'], plugins: { ripple: { rules: { layers } } }, rules: { 'ripple/layers': 'error' } };

export default tseslint.config(
  { ignores: ['node_modules/', '.serverless/', '.esbuild/', 'dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  fences,
);

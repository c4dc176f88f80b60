// ESLint with type information (tsconfig.eslint.json) over the packages' sources and tests, the
// cross-package tests, the bench, the scripts and the bin launchers. `npm test` runs it first.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.tap/**', 'coverage/**', '.ximp-local/**', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.eslint.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // The two rules this lint exists for: a promise nobody awaits or handles, and a promise
      // handed where a plain callback is expected (its rejection would go unhandled).
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // tap queues a subtest and reports its failure itself; awaiting t.test() is optional.
          allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      // Passing on a caught error (typed unknown) is how a rejection is forwarded unchanged.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // The packages compile to CommonJS and load some modules lazily (systeminformation) or by
      // `import x = require()` (better-sqlite3): require is deliberate here.
      '@typescript-eslint/no-require-imports': 'off',
      // An `async` method without `await` keeps one Promise-returning interface (start/stop).
      '@typescript-eslint/require-await': 'off',
      // Injected dependencies (`now()`, `stdout()`) are declared as methods but implemented as
      // closures that never use `this`; the rule cannot tell them apart from real methods.
      '@typescript-eslint/unbound-method': 'off',
      // Style only (a `!` or `as` the compiler does not need); fixable with --fix in one sweep.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Input sanitising matches control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    // Tests read JSON answers and protocol frames typed `any` on purpose; the no-unsafe-* family
    // would only ask for casts that prove nothing. The promise rules stay on.
    files: ['packages/*/test/**', 'test/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The dashboard runs in the browser: its own tsconfig (DOM lib), browser globals. Its unit
    // tests run under Node and tap.
    files: ['packages/web/src/**', 'packages/web/test/**'],
    languageOptions: {
      globals: { ...globals.browser },
      parserOptions: { project: './packages/web/tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    // The dashboard's build script: plain ESM for Node, no type information.
    files: ['packages/web/build.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, sourceType: 'module', globals: { ...globals.node } },
  },
  {
    // Plain CommonJS scripts and launchers: no types to be unsafe about, Node's globals.
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: {
      // `const WebSocket = require('ws')` is the client these scripts mean, not Node's global.
      'no-redeclare': ['error', { builtinGlobals: false }],
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);

import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'proto/src/gen/**', 'bench/k6/**', 'data/**', 'results/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
  {
    // Test code stays out of the product: no product source imports the test runner or the test kits
    // (deploy/src/cli/bundle.test.ts checks the built `chat` bundle as well).
    files: ['*/src/**/*.ts'],
    ignores: ['**/*.test.ts', 'testkit/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['vitest', 'vitest/*', '@vitest/*'], message: 'product code must not import the test runner; test helpers belong in testkit/' },
            { group: ['@chat/testkit', '@chat/testkit/*'], message: 'product code must not import the test kits (testkit/ is test-only)' },
          ],
        },
      ],
    },
  },
  {
    // CLI entry points (the examples' too) and load generators print to the terminal by design; so do the test run's live CQL setup and the Chromium check (why suites skip).
    files: ['deploy/src/cli/**/*.ts', 'bench/src/**/*.ts', 'examples/*/src/main.ts', '**/*.test.ts', 'deploy/test/**/*.ts', 'testkit/src/live-cql/**/*.ts', 'testkit/src/chromium.ts'],
    rules: { 'no-console': 'off' },
  },
);

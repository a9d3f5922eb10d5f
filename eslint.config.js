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
    // CLI entry points and load generators print to the terminal by design; so does the test run's live CQL setup (why suites skip).
    files: ['deploy/src/cli/**/*.ts', 'bench/src/**/*.ts', '**/*.test.ts', 'deploy/test/**/*.ts', 'testkit/src/live-cql/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);

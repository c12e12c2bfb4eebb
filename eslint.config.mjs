// Lint configuration: typescript-eslint's type-aware recommended rules over the whole tree. The rules
// that matter most for a rate limiter are the promise rules: a floating promise is a check whose
// rejection nobody sees, and a promise passed where a callback is expected is never awaited.
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['node_modules/', 'cdk.out/', 'coverage/', '.bench/', 'dist/'],
  },
  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Each file is checked with the nearest tsconfig.json (the root one, or a sub-project's).
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-private-class-members': 'error',
      // A leading underscore marks a parameter or binding that is required by a signature but unused.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // An async method that implements a promise-returning interface (close(), a probe's run())
      // reads better than one that wraps its result in Promise.resolve, and a synchronous throw
      // inside it still becomes a rejection, which is what its callers handle.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Jest's asymmetric matchers (expect.any, expect.stringMatching, ...) are typed `any`, and tests
    // read parsed JSON bodies and synthesized templates field by field: the no-unsafe-* rules would
    // flag every such line without finding anything the assertions do not already check.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Synthesized CloudFormation templates and parsed bodies are untyped JSON in tests.
      '@typescript-eslint/no-explicit-any': 'off',
      // Some tests load a module afresh inside jest.isolateModules, which takes require().
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Plain JavaScript (jest.config.js, the cold-start runner) is CommonJS run by Node, outside the
    // TypeScript project: no type information, Node's globals.
    files: ['**/*.js', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
);

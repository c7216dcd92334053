// @ts-check
/**
 * ESLint flat config (issue #16): the @eslint/js and typescript-eslint recommended sets, with
 * eslint-config-prettier last so that no stylistic rule fights Prettier (.prettierrc.json).
 * `npm run lint` runs ESLint and `prettier --check .`; scripts/test.sh runs that before anything else.
 *
 * The type-aware set (recommendedTypeChecked) is opt-in, `npm run lint:types`: it builds the whole
 * TypeScript program again (as `tsc` does), and took 63-66 s wall (38-43 s CPU) on the 2-core
 * development machine under load, against 21-28 s wall (11-12 s CPU) for this set, so it is left
 * out of the test command. `npm run lint` caches results per file content (plain rules only).
 *
 * Every rule switched off or changed below says why.
 */
import js from '@eslint/js';
import prettier from 'eslint-config-prettier/flat';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const typed = process.env.OSPREY_LINT_TYPES === '1';

export default defineConfig(
  globalIgnores(['dist/', 'data/', 'test-artifacts/', 'test/fixtures/', '.osprey-test-*']),
  js.configs.recommended,
  typed ? tseslint.configs.recommendedTypeChecked : tseslint.configs.recommended,
  {
    rules: {
      // a leading underscore marks a binding kept on purpose: `const { acl: _old, ...rest } = x`
      // omits a field from a copy, and an `_req` argument keeps a callback's signature readable
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // the rule is for control characters typed into a regex by accident; Osprey's are all on
      // purpose: it validates and escapes protocol bytes (header values, object keys, XML text)
      'no-control-regex': 'off',
    },
  },
  typed
    ? {
        languageOptions: {
          // each file is checked with the tsconfig.json nearest to it (the root one, web/console's)
          parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        rules: {
          // node:test's test()/describe()/it() return promises that the runner itself awaits; test
          // files call them at top level, as node:test documents
          '@typescript-eslint/no-floating-promises': [
            'error',
            { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
          ],
          // an `async` method without `await` is how Osprey implements an async interface (the fs
          // driver's StorageDriver methods, test fakes): a throw in it becomes a rejection, as callers expect
          '@typescript-eslint/require-await': 'off',
        },
      }
    : {},
  {
    // the few plain .js files (bin/, this config) are in no tsconfig: no type information for them
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
  prettier,
);

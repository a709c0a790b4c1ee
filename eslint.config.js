import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import folderDependencies from './eslint/folderDependencies.js';

// The AWS SDK's client packages are each one large CommonJS file; an ES import of one makes Node
// compile it an extra time and scan it for its export names (~0.4 s of CPU for EC2, in every
// leader and every test process that loads it), so src/ and test/ load them through
// src/common/awsSdkPackages.ts, with require.
const AWS_SDK_BY_REQUIRE =
  'Load an AWS SDK client package through src/common/awsSdkPackages.ts (type imports are fine).';
const AWS_SDK_IMPORT = { group: ['@aws-sdk/client-*'], allowTypeImports: true, message: AWS_SDK_BY_REQUIRE };
const AWS_SDK_DYNAMIC_IMPORT = {
  selector: 'ImportExpression[source.value=/^@aws-sdk\\u002Fclient-/]',
  message: AWS_SDK_BY_REQUIRE,
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.tap/**',
      'coverage/**',
      'bin/**',
      '*.config.js',
      // Plain JS, loaded by this config: no TypeScript project to check it against.
      'eslint/**',
      'test/fixtures/*.mjs',
      // The status page's browser script (no build step; checked by the headless-browser test).
      'static/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
    },
  },
  {
    // Folders import only what the layout allows (eslint/folderDependencies.js): no cycles, and
    // neither the leader nor the scaler knows which cluster manager it drives.
    files: ['src/**/*.ts'],
    plugins: { toil: folderDependencies },
    rules: {
      'toil/folder-dependencies': 'error',
      'no-restricted-imports': ['error', { patterns: [AWS_SDK_IMPORT] }],
      'no-restricted-syntax': ['error', AWS_SDK_DYNAMIC_IMPORT],
    },
  },
  {
    files: ['src/leader/**/*.ts', 'src/scaler/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/mesos/*'],
              message: 'The leader and the scaler drive cluster managers through src/ports, never src/mesos.',
            },
            AWS_SDK_IMPORT,
          ],
        },
      ],
    },
  },
  {
    // Time is injected in the scaler and the leader (DESIGN.md): the real clock lives in common/clock.ts.
    files: ['src/scaler/**/*.ts', 'src/leader/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
          message: 'Use the injected Clock.',
        },
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'Use the injected Clock.',
        },
        { selector: "CallExpression[callee.name='setTimeout']", message: 'Use the injected Clock.' },
        { selector: "CallExpression[callee.name='setInterval']", message: 'Use the injected Clock.' },
        AWS_SDK_DYNAMIC_IMPORT,
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // tap's t.test() returns a promise that tap itself tracks.
      '@typescript-eslint/no-floating-promises': 'off',
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='testdir']",
          message:
            'Use testDir(t, …) from test/fixtures/testDir.ts: tap removes a t.testdir before the teardowns that stop the processes writing there.',
        },
        AWS_SDK_DYNAMIC_IMPORT,
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [AWS_SDK_IMPORT] }] },
  },
  {
    files: ['test/fixtures/testDir.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);

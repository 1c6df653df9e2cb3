// Jest runs TypeScript through SWC (fast, no type-check; `npm run typecheck` does that)
// as native ESM, because several dependencies (p-queue, hyparquet) ship ESM only.
export default {
  testEnvironment: '<rootDir>/test/ort-environment.js',
  // .mts: method plugins and their tests written outside an ES-module package (clearbench new-method).
  extensionsToTreatAsEsm: ['.ts', '.mts'],
  transform: {
    '^.+\\.m?ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 120000,
};

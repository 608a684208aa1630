// Jest in native ESM mode (lexical is ESM-only, and a CJS process would load two copies of yjs): ts-jest transpiles, tsc type-checks in `npm run typecheck`.
/** @type {import('jest').Config} */
export default {
  rootDir: '.',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  testMatch: ['<rootDir>/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/artifacts/'],
  moduleNameMapper: {
    '^@marginalia/shared$': '<rootDir>/../shared/src/index.ts',
    '^@marginalia/server$': '<rootDir>/../server/src/index.ts',
    '^@marginalia/server/(.*)\\.js$': '<rootDir>/../server/src/$1',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json', diagnostics: false }],
  },
  testTimeout: 60000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/support/summary-reporter.cjs'],
};

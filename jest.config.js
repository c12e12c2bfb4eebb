/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 60000,
  // cdk.out holds synthesized copies of the tree; never crawl it.
  modulePathIgnorePatterns: ['<rootDir>/cdk.out'],
};

// tap's coverage map: whatever a test file runs (and the agent and collector processes it spawns,
// which inherit the list), only the packages' sources count, never tests or helpers.
// The dist/*.js files are listed too: tests and bins load the workspace packages from dist/ through
// require(), and on Node 20 tap's loader hook does not see require(), so it cannot tell that a dist
// file stands for a src/*.ts file. Their coverage is kept and reported against src/*.ts through the
// source maps tsc writes next to them.
export default () => ['packages/*/src/**/*.ts', 'packages/*/dist/**/*.js'];

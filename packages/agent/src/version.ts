/** The agent's version, as reported in Hello and by `--version`. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const AGENT_VERSION: string = (require('../package.json') as { version: string }).version;

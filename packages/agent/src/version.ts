/** The agent's version, as reported in Hello and by `--version`. */
export const AGENT_VERSION: string = (require('../package.json') as { version: string }).version;

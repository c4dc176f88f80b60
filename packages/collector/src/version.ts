/** The collector's version, as reported by `--version` and the API. */
export const COLLECTOR_VERSION: string = (require('../package.json') as { version: string }).version;

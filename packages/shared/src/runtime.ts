/**
 * The runtime this process runs on, e.g. "node v24.22.3": printed by every `--version` and sent
 * by the agent in Hello, so operators can tell which nodes run which Node.js.
 */
export function runtimeVersion(): string {
  return `node ${process.version}`;
}

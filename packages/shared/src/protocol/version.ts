/** The wire protocol version this build speaks; sent in Hello and Welcome. */
export const PROTOCOL_VERSION = 1;

/** The WebSocket subprotocol both sides must agree on. */
export const SUBPROTOCOL = 'ximp.v1';

/** The path of the agent listener. */
export const AGENT_PATH = '/v1/agent';

/** The header that names the node on the upgrade request. */
export const NODE_HEADER = 'x-ximp-node';

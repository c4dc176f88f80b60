/** WebSocket close codes used between agent and collector (SPEC §7). */
export const CloseCodes = {
  NORMAL: 1000,
  SHUTTING_DOWN: 1001,
  FRAME_TOO_BIG: 1009,
  /** The collector stopped acknowledging while a remote store's queue was full, and now has room: replay. */
  TRY_AGAIN_LATER: 1013,
  TOKEN_REVOKED: 4001,
  TOKEN_EXPIRED: 4002,
  REPLACED: 4003,
  MALFORMED: 4400,
  HELLO_TIMEOUT: 4408,
} as const;

export type CloseCode = (typeof CloseCodes)[keyof typeof CloseCodes];

/** Close codes after which the agent backs off slowly: its credentials will not work again as they are. */
export function isAuthClose(code: number): boolean {
  return code === CloseCodes.TOKEN_REVOKED || code === CloseCodes.TOKEN_EXPIRED;
}

/** Close codes after which the agent reconnects at once. */
export function isImmediateReconnectClose(code: number): boolean {
  return code === CloseCodes.SHUTTING_DOWN || code === CloseCodes.REPLACED || code === CloseCodes.TRY_AGAIN_LATER;
}

/**
 * The contract of `POST /api/v1/agent-tokens/revoke` (SPEC §10), shared by the collector that
 * answers it and the CLI that splits a long list of ids into calls of at most this many.
 */

/** At most this many ids in one bulk revocation: one transaction and one answer, both bounded. */
export const MAX_REVOKE_IDS = 1000;

/** What became of one id: the strings `DELETE /api/v1/agent-tokens/{id}` answers too. */
export type AgentTokenRevokeStatus = 'revoked' | 'already_revoked' | 'not_found';

/** A live session a revocation closed. */
export interface ClosedSessionJson {
  node: string;
  address: string;
}

/** One id's entry in the answer, in request order. */
export interface AgentTokenRevokeResultJson {
  /** Null for a string that is no token ID at all: it is not sent back (it may be a pasted secret). */
  id: string | null;
  status: AgentTokenRevokeStatus;
  closed_sessions: ClosedSessionJson[];
}

/** The request body. */
export interface AgentTokenRevokeRequestJson {
  ids: string[];
}

/** The answer (200). */
export interface AgentTokenRevokeAnswerJson {
  results: AgentTokenRevokeResultJson[];
}

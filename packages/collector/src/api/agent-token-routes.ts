import {
  CloseCodes,
  MAX_REVOKE_IDS,
  parseDuration,
  type AgentTokenJson,
  type AgentTokenRevokeAnswerJson,
  type AgentTokenRevokeResultJson,
  type ClosedSessionJson,
  type CreatedAgentTokenJson,
  type RevokedAgentTokenJson,
} from '@ximp/shared';
import { isAgentTokenId } from '../auth/agent-token';
import { agentTokenStatus, type AgentTokenRecord, type RevokeResult } from '../auth/agent-token-store';
import type { ApiDeps } from './api-deps';
import { HttpError, invalidRequest } from './http-error';
import { isoOrNull } from './iso-time';
import { checkNodeName, rejectUnknownFields, stringField } from './request-fields';
import { readJsonObject } from './request-body';
import type { Route } from './route-table';

const DAY_MS = 86_400_000;
/** Ten years: far enough for any rotation policy, near enough to stay a sane date. */
const MAX_EXPIRY_MS = 3650 * DAY_MS;
const MIN_EXPIRY_MS = 60_000;

export function agentTokenJson(record: AgentTokenRecord, now: number): AgentTokenJson {
  return {
    id: record.id,
    node: record.node,
    status: agentTokenStatus(record, now),
    created: isoOrNull(record.createdMs),
    expires: isoOrNull(record.expiresMs),
    days_left: Math.max(0, Math.floor((record.expiresMs - now) / DAY_MS)),
    revoked: isoOrNull(record.revokedMs),
    last_used: isoOrNull(record.lastUsedMs),
  };
}

function notFound(id: string | null): HttpError {
  return new HttpError(404, 'not_found', id === null ? 'no agent token with that ID' : `no agent token "${id}"`);
}

/**
 * The `ids` of a bulk revocation: an array of 1 to MAX_REVOKE_IDS strings. Messages name the
 * field (and the index), never a value: an id may be a whole token pasted by mistake.
 */
function revokeIds(body: Record<string, unknown>): string[] {
  rejectUnknownFields(body, ['ids']);
  const ids = Object.prototype.hasOwnProperty.call(body, 'ids') ? body.ids : undefined;
  if (ids === undefined || ids === null) throw invalidRequest('ids: required');
  if (!Array.isArray(ids)) throw invalidRequest(`ids: expected an array of token IDs (actual: ${typeof ids})`);
  if (ids.length === 0) throw invalidRequest('ids: expected at least one token ID');
  if (ids.length > MAX_REVOKE_IDS) throw invalidRequest(`ids: at most ${MAX_REVOKE_IDS} token IDs in one request (got ${ids.length})`);
  ids.forEach((id: unknown, i) => {
    if (typeof id !== 'string') throw invalidRequest(`ids[${i}]: expected a string (actual: ${id === null ? 'null' : Array.isArray(id) ? 'array' : typeof id})`);
  });
  return ids as string[];
}

/** The audit entry of a revocation, written inside its transaction when the token was newly revoked. */
function auditRevocation(deps: ApiDeps, actor: string, source: string, now: number): (id: string, outcome: RevokeResult) => void {
  return (id, outcome) => {
    if (outcome === 'revoked') deps.audit.record({ actor, action: 'agent_token.revoke', target: id, source }, now);
  };
}

/** Closes every live session of a revoked token, also one revoked before: a revoked token never keeps a live session. */
function closeTokenSessions(deps: ApiDeps, id: string): ClosedSessionJson[] {
  return deps.sessions.closeSessionsOfToken(id, CloseCodes.TOKEN_REVOKED, 'token revoked').map((s) => ({ node: s.node, address: s.address }));
}

export const AGENT_TOKEN_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: '/api/v1/agent-tokens',
    permission: 'agent_tokens:manage',
    handler({ deps, query }) {
      const node = query.get('node');
      if (node !== null) checkNodeName(node, 'node');
      const now = deps.now();
      return { status: 200, body: deps.tokens.list(node ?? undefined).map((r) => agentTokenJson(r, now)) };
    },
  },
  {
    method: 'POST',
    pattern: '/api/v1/agent-tokens',
    permission: 'agent_tokens:manage',
    headers: { 'Cache-Control': 'no-store' },
    async handler({ deps, req, principal, source }) {
      const body = await readJsonObject(req);
      rejectUnknownFields(body, ['node', 'expires']);
      const node = checkNodeName(stringField(body, 'node', true), 'node');
      const expiresText = stringField(body, 'expires', false);
      let expiresInMs = deps.config.defaultTokenExpiryMs;
      if (expiresText !== undefined) {
        const parsed = parseDuration(expiresText);
        if (parsed === null) throw invalidRequest('expires: expected a duration like "365d" or "90d12h"');
        if (parsed < MIN_EXPIRY_MS || parsed > MAX_EXPIRY_MS) throw invalidRequest('expires: must be between 1m and 3650d');
        expiresInMs = parsed;
      }
      const now = deps.now();
      const created = deps.tokens.create(node, expiresInMs, now);
      deps.audit.record({ actor: principal!.clientId, action: 'agent_token.create', target: created.id, source }, now);
      deps.log.info({ tokenId: created.id, node, client: principal!.clientId, remote: source }, 'agent token created');
      return {
        status: 201,
        body: {
          id: created.id,
          node: created.node,
          created: isoOrNull(created.createdMs),
          expires: isoOrNull(created.expiresMs),
          token: created.token,
        } satisfies CreatedAgentTokenJson,
      };
    },
  },
  {
    method: 'POST',
    pattern: '/api/v1/agent-tokens/revoke',
    permission: 'agent_tokens:manage',
    async handler({ deps, req, principal, source }) {
      // Each distinct id once, in order of first appearance.
      const listed = [...new Set(revokeIds(await readJsonObject(req)))];
      // A malformed id cannot name a token: not found, and never sent back (it may be a secret).
      const wellFormed = listed.filter((id) => isAgentTokenId(id));
      const now = deps.now();
      // One transaction for all of them, each new revocation's audit entry committed with it.
      const outcomes = await deps.tokens.revokeAllGrouped(wellFormed, now, auditRevocation(deps, principal!.clientId, source, now));
      const outcomeOf = new Map(wellFormed.map((id, i) => [id, outcomes[i]]));
      const counts = { revoked: 0, already_revoked: 0, not_found: 0 };
      let closedSessions = 0;
      const results: AgentTokenRevokeResultJson[] = listed.map((id) => {
        const status = outcomeOf.get(id) ?? 'not_found';
        counts[status]++;
        if (status === 'not_found') return { id: isAgentTokenId(id) ? id : null, status, closed_sessions: [] };
        const closed = closeTokenSessions(deps, id);
        closedSessions += closed.length;
        return { id, status, closed_sessions: closed };
      });
      deps.log.info(
        {
          client: principal!.clientId,
          remote: source,
          requested: listed.length,
          revoked: counts.revoked,
          already_revoked: counts.already_revoked,
          not_found: counts.not_found,
          closed_sessions: closedSessions,
        },
        'agent tokens revoked',
      );
      return { status: 200, body: { results } satisfies AgentTokenRevokeAnswerJson };
    },
  },
  {
    method: 'DELETE',
    pattern: '/api/v1/agent-tokens/:id',
    permission: 'agent_tokens:manage',
    async handler({ deps, params, principal, source }) {
      const id = params.id;
      if (!isAgentTokenId(id)) throw notFound(null);
      const now = deps.now();
      // Committed with the revocations asked for at the same moment, the audit entry with it.
      const audit = auditRevocation(deps, principal!.clientId, source, now);
      const result = await deps.tokens.revokeGrouped(id, now, (outcome) => audit(id, outcome));
      if (result === 'not_found') throw notFound(id);
      const closed = closeTokenSessions(deps, id);
      if (result === 'revoked') {
        deps.log.info({ tokenId: id, client: principal!.clientId, remote: source, closedSessions: closed.length }, 'agent token revoked');
      }
      return {
        status: 200,
        body: { id, status: result, closed_sessions: closed } satisfies RevokedAgentTokenJson,
      };
    },
  },
];

/** SPEC §3: the longest node name, as for a DNS name. */
export const MAX_NODE_NAME_LENGTH = 253;

/** SPEC §3: lowercase DNS-style, `[a-z0-9]` then `[a-z0-9.-]`, at most 253 characters. */
export const NODE_NAME_PATTERN = /^[a-z0-9][a-z0-9.-]{0,252}$/;

/** The rule in words, for messages that tell what a valid name looks like. */
export const NODE_NAME_FORM = '[a-z0-9] then [a-z0-9.-], at most 253 characters';

/** True when `text` is a valid node name (SPEC §3). */
export function isNodeName(text: unknown): text is string {
  return typeof text === 'string' && NODE_NAME_PATTERN.test(text);
}

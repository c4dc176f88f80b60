import { isNodeName, NODE_NAME_FORM } from '@ximp/shared';
import { invalidRequest } from './http-error';

export { isNodeName };

/** Refuses fields the route does not know, naming the first one, so a typo is not silently ignored. */
export function rejectUnknownFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) throw invalidRequest(`${key}: unknown field (expected ${allowed.join(', ')})`);
  }
}

/** Refuses parameters the route does not know or that appear twice, so a typo is not silently ignored. */
export function checkParams(query: URLSearchParams, allowed: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of query.keys()) {
    if (!allowed.includes(name)) throw invalidRequest(`${name.slice(0, 64)}: unknown parameter (expected ${allowed.join(', ')})`);
    if (seen.has(name)) throw invalidRequest(`${name}: given more than once`);
    seen.add(name);
  }
}

/** A string field; `undefined` when optional and absent. Messages name the field, never echo values. */
export function stringField(body: Record<string, unknown>, name: string, required: true): string;
export function stringField(body: Record<string, unknown>, name: string, required: false): string | undefined;
export function stringField(body: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const value = Object.prototype.hasOwnProperty.call(body, name) ? body[name] : undefined;
  if (value === undefined || value === null) {
    if (required) throw invalidRequest(`${name}: required`);
    return undefined;
  }
  if (typeof value !== 'string') throw invalidRequest(`${name}: expected a string (actual: ${Array.isArray(value) ? 'array' : typeof value})`);
  return value;
}

/** Checks a node name from a body, a path or a query, naming where it came from. */
export function checkNodeName(text: string, field: string): string {
  if (!isNodeName(text)) {
    throw invalidRequest(`${field}: expected a lowercase DNS-style name (${NODE_NAME_FORM})`);
  }
  return text;
}

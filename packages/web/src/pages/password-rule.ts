/** The server's rule, checked here first so the user learns it before sending. */
export const MIN_PASSWORD_LENGTH = 12;

/** What is wrong with a new password, or null when it may be sent. */
export function passwordProblem(current: string, next: string, repeat: string): string | null {
  if (next.length < MIN_PASSWORD_LENGTH) return `The new password must have at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (next === current) return 'The new password must differ from the current one.';
  if (next !== repeat) return 'The two new passwords differ.';
  return null;
}

/** Where to go after signing in: `?next=` when it is a path of this app, else the fleet. */
export function nextPath(search: string): string {
  const next = new URLSearchParams(search).get('next');
  if (next === null || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || next.startsWith('/signin')) return '/fleet';
  return next;
}

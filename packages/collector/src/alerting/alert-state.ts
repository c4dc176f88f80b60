/** Where one alert (one rule on one node) stands, as Prometheus users know it. */
export type AlertStatus = 'inactive' | 'pending' | 'firing';

/** What an evaluation changed; `resolved` is firing → inactive. */
export type AlertTransition = 'pending' | 'firing' | 'resolved' | 'cleared';

export interface AlertInstance {
  status: AlertStatus;
  /** When the condition started to hold (pending since), in ms; null while inactive. */
  activeSince: number | null;
  /** When it fired; null unless firing. */
  firedAt: number | null;
  /** The last value seen while the condition held (threshold rules), else null. */
  value: number | null;
}

export const INACTIVE: AlertInstance = Object.freeze({ status: 'inactive', activeSince: null, firedAt: null, value: null });

/**
 * One evaluation step: `holds` is whether the rule's condition is true for this node now. The
 * condition must hold for `forMs` (from the first evaluation it held) before the alert fires; a
 * pending alert whose condition stops holding goes back to inactive without ever firing.
 */
export function stepAlert(
  current: AlertInstance,
  holds: boolean,
  value: number | null,
  forMs: number,
  now: number,
): { next: AlertInstance; transition: AlertTransition | null } {
  if (!holds) {
    if (current.status === 'firing') return { next: INACTIVE, transition: 'resolved' };
    if (current.status === 'pending') return { next: INACTIVE, transition: 'cleared' };
    return { next: current, transition: null };
  }
  const since = current.activeSince ?? now;
  if (current.status === 'firing') return { next: { ...current, value }, transition: null };
  if (now - since >= forMs) return { next: { status: 'firing', activeSince: since, firedAt: now, value }, transition: 'firing' };
  if (current.status === 'pending') return { next: { ...current, value }, transition: null };
  return { next: { status: 'pending', activeSince: since, firedAt: null, value }, transition: 'pending' };
}

// The one retry-delay rule lives in shared (the collector's remote-write sender uses it too).
export { Backoff, type BackoffOptions } from '@ximp/shared';

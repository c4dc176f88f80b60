import type { Panel } from '../charts/chart-spec';

/** A saved dashboard as `/api/v1/dashboards` shows it. */
export interface Dashboard {
  id: string;
  name: string;
  builtin: boolean;
  panels: Panel[];
  created_by: string;
  updated_at: string;
}

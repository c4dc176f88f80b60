/**
 * The decoded frames as a discriminated union. Only codec.ts knows the generated protobuf code;
 * everything else speaks these plain types.
 */
export interface Label {
  name: string;
  value: string;
}

export interface HostFacts {
  hostname: string;
  os: string;
  kernel: string;
  arch: string;
  cpuModel: string;
  cpuCount: number;
  memoryBytes: number;
  virtualization: string;
  /** What runs the agent, e.g. "node v24.22.3"; absent from agents older than the field. */
  runtime?: string;
}

export interface Hello {
  type: 'hello';
  protocolVersion: number;
  node: string;
  agentVersion: string;
  bootId: string;
  host: HostFacts;
  labels: Label[];
  intervalMs: number;
  streamId: string;
}

export interface Limits {
  maxFrameBytes: number;
  maxSamplesPerBatch: number;
  maxLabelsPerSeries: number;
  maxSeriesPerSession: number;
}

export interface Welcome {
  type: 'welcome';
  sessionId: string;
  protocolVersion: number;
  limits: Limits;
  /** Unix ms; 0 means the token never expires. */
  tokenExpiresUnixMs: number;
  lastAckedSequence: number;
  /** How often the collector pings, ms; 0 from a collector that does not say (the agent keeps its default). */
  pingIntervalMs: number;
}

export interface SeriesDefinition {
  id: number;
  name: string;
  labels: Label[];
}

export interface MetricBatch {
  type: 'batch';
  sequence: number;
  timestampUnixMs: number;
  definitions: SeriesDefinition[];
  seriesIds: number[];
  values: number[];
  droppedBatchesTotal: number;
  /**
   * The agent's clock when it sent the frame (unix ms); absent or 0 from older agents. Clock skew
   * is this minus the receive time: a replayed batch's timestamp is old, its send time is not.
   */
  sentUnixMs?: number;
}

export interface Ack {
  type: 'ack';
  sequence: number;
}

export interface ErrorFrame {
  type: 'error';
  code: number;
  message: string;
}

export type AgentFrame = Hello | MetricBatch | ErrorFrame;
export type CollectorFrame = Welcome | Ack | ErrorFrame;

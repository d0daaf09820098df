/** One CloudWatch embedded metric format record, as Powertools Metrics prints it: one JSON line. */
export interface EmfLine {
  namespace: string;
  /** Each dimension set, as dimension names (`[['service', 'environment', 'code']]`). */
  dimensionSets: string[][];
  /** The metric names the line publishes. */
  metrics: string[];
  /** Unit by metric name. */
  units: Record<string, string>;
  /** The record's root members: metric values, dimension values and properties. */
  values: Record<string, unknown>;
}

interface RawEmf {
  _aws?: { CloudWatchMetrics?: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [member: string]: unknown;
}

/** The EMF records among `text`'s lines (other lines, such as logs and banners, are skipped). */
export function emfLines(text: string): EmfLine[] {
  const lines: EmfLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{') || !line.includes('"_aws"')) continue;
    let raw: RawEmf;
    try {
      raw = JSON.parse(line) as RawEmf;
    } catch {
      continue;
    }
    for (const directive of raw._aws?.CloudWatchMetrics ?? []) {
      const { _aws: _, ...values } = raw;
      lines.push({
        namespace: directive.Namespace,
        dimensionSets: directive.Dimensions,
        metrics: directive.Metrics.map((metric) => metric.Name),
        units: Object.fromEntries(directive.Metrics.map((metric) => [metric.Name, metric.Unit])),
        values,
      });
    }
  }
  return lines;
}

/**
 * Prometheus text exposition (version 0.0.4), written here: counters, gauges read at scrape
 * time, and histograms with fixed buckets. Labels are few and bounded (route patterns, not URLs).
 */

/** Seconds: from a descriptor search (sub-millisecond) to a large photo on a busy worker. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type Labels = Readonly<Record<string, string>>;

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels);
  if (extra) pairs.push(extra);
  return pairs.length === 0 ? '' : `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

const keyOf = (labels: Labels): string => JSON.stringify(Object.entries(labels).sort());

interface Metric {
  render(): string[];
}

export class Counter implements Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const k = keyOf(labels);
    const entry = this.values.get(k) ?? { labels, value: 0 };
    entry.value += by;
    this.values.set(k, entry);
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${labelText(labels)} ${value}`);
    return lines;
  }
}

/** A value read when scraped (queue depth, gallery size). */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}

  render(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name} ${this.read()}`];
  }
}

export class Histogram implements Metric {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[] = LATENCY_BUCKETS,
  ) {}

  observe(labels: Labels, value: number): void {
    const k = keyOf(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { labels, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) s.counts[i]++;
    s.sum += value;
    s.count++;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      for (let i = 0; i < this.buckets.length; i++)
        lines.push(`${this.name}_bucket${labelText(s.labels, ['le', String(this.buckets[i])])} ${s.counts[i]}`);
      lines.push(`${this.name}_bucket${labelText(s.labels, ['le', '+Inf'])} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines;
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];

  add<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }

  /** Gauges that need the database are refreshed by the caller before this. */
  render(): string {
    return `${this.metrics.flatMap((m) => m.render()).join('\n')}\n`;
  }
}

/** The service's own metrics. */
export interface ServiceMetrics {
  readonly registry: Registry;
  readonly requests: Counter;
  readonly latency: Histogram;
  readonly stages: Histogram;
  readonly rejected: Counter;
  /** Set before each scrape from the store. */
  gallery: { people: number; faces: number };
}

export function serviceMetrics(pool: { readonly queued: number; readonly running: number }): ServiceMetrics {
  const registry = new Registry();
  const m: ServiceMetrics = {
    registry,
    requests: registry.add(
      new Counter('facekit_http_requests_total', 'HTTP requests answered, by route, method and status'),
    ),
    latency: registry.add(
      new Histogram('facekit_http_request_duration_seconds', 'Time from request to answer, by route and method'),
    ),
    stages: registry.add(
      new Histogram(
        'facekit_inference_stage_seconds',
        'Time per pipeline stage and photo (decode, detect, landmarks, encode, thumbnail, search)',
      ),
    ),
    rejected: registry.add(
      new Counter('facekit_inference_rejected_total', 'Photos refused with 503 because the queue was full'),
    ),
    gallery: { people: 0, faces: 0 },
  };
  registry.add(new Gauge('facekit_inference_queue_depth', 'Photos waiting for an inference worker', () => pool.queued));
  registry.add(new Gauge('facekit_inference_running', 'Photos being analysed', () => pool.running));
  registry.add(new Gauge('facekit_gallery_people', 'People in the gallery', () => m.gallery.people));
  registry.add(new Gauge('facekit_gallery_faces', 'Faces in the gallery', () => m.gallery.faces));
  return m;
}

/**
 * Peak memory, sampled every 100 ms: this process's RSS (the whole local stack: gateway,
 * handlers, state machine runner, bench) and, apart, its child processes' RSS (DynamoDB
 * Local's JVM; the provider's process is left out, see {@link setProviderProcess}). The
 * kernel's own high-water mark of this process is reported too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Child processes that stand in for the provider: not DynamoDB Local, counted apart. */
const providerPids = new Set<number>();

/** Names the child process that plays the provider, so its CPU is not DynamoDB Local's. */
export function setProviderProcess(pid: number): void {
  providerPids.add(pid);
}

export interface MemoryPeaks {
  /** Highest sampled RSS of this process, MB. */
  selfMb: number;
  /** Highest sampled RSS summed over child processes but the provider's (DynamoDB Local), MB. */
  childrenMb: number;
  /** The kernel's high-water mark of this process (process.resourceUsage().maxRSS), MB. */
  selfMaxRssMb: number;
  /** Highest sampled V8 heap in use (live objects and garbage not yet collected) of this process, MB. */
  heapUsedMb: number;
  /** Highest sampled memory outside the V8 heap held by JS objects (Buffers, ArrayBuffers, strings' external storage), MB. */
  externalMb: number;
  /** This process's memory at the sample of the highest RSS, MB: what the peak is made of. */
  atPeak: { rssMb: number; heapTotalMb: number; heapUsedMb: number; externalMb: number; arrayBuffersMb: number };
  /** Highest sampled RSS of this process in each tenth of the window (by time), MB: a peak flat in the data stays level across them. */
  byTenth: number[];
  samples: number;
}

export interface MemorySampler {
  /** Starts a new window; `peaks()` covers samples since then. */
  mark(): void;
  peaks(): MemoryPeaks;
  /** Peaks over the whole run. */
  overall(): MemoryPeaks;
  stop(): void;
}

const MB = 1024 * 1024;

export function startMemorySampler(everyMs = 100): MemorySampler {
  const empty = () => ({ self: 0, children: 0, heapUsed: 0, external: 0, samples: 0, atPeak: process.memoryUsage(), timeline: [] as [number, number][] });
  let window = empty();
  const all = empty();
  const sample = () => {
    const usage = process.memoryUsage();
    const { rss: self, heapUsed, external } = usage;
    const children = childrenRss();
    window.timeline.push([performance.now(), self]);
    for (const peak of [window, all]) {
      if (self > peak.self) peak.atPeak = usage;
      peak.self = Math.max(peak.self, self);
      peak.children = Math.max(peak.children, children);
      peak.heapUsed = Math.max(peak.heapUsed, heapUsed);
      peak.external = Math.max(peak.external, external);
      peak.samples += 1;
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  timer.unref();
  const report = (peak: typeof window): MemoryPeaks => ({
    selfMb: peak.self / MB,
    childrenMb: peak.children / MB,
    selfMaxRssMb: (process.resourceUsage().maxRSS * 1024) / MB,
    heapUsedMb: peak.heapUsed / MB,
    externalMb: peak.external / MB,
    atPeak: {
      rssMb: peak.atPeak.rss / MB,
      heapTotalMb: peak.atPeak.heapTotal / MB,
      heapUsedMb: peak.atPeak.heapUsed / MB,
      externalMb: peak.atPeak.external / MB,
      arrayBuffersMb: peak.atPeak.arrayBuffers / MB,
    },
    byTenth: byTenth(peak.timeline),
    samples: peak.samples,
  });
  return {
    mark: () => {
      sample();
      window = empty();
      sample();
    },
    peaks: () => report(window),
    overall: () => report(all),
    stop: () => clearInterval(timer),
  };
}

/** The highest RSS in each tenth of the timeline's span, MB. */
function byTenth(timeline: [number, number][]): number[] {
  if (timeline.length < 2) return [];
  const from = timeline[0]![0];
  const span = timeline.at(-1)![0] - from || 1;
  const peaks = Array.from({ length: 10 }, () => 0);
  for (const [at, rss] of timeline) {
    const tenth = Math.min(9, Math.floor(((at - from) / span) * 10));
    peaks[tenth] = Math.max(peaks[tenth]!, rss / MB);
  }
  return peaks;
}

/** Child process ids of this process (Linux /proc); empty elsewhere. */
export function childPids(): number[] {
  try {
    const pids: number[] = [];
    for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
      const text = readFileSync(`/proc/${process.pid}/task/${tid}/children`, 'utf8').trim();
      if (text) pids.push(...text.split(/\s+/).map(Number));
    }
    return pids;
  } catch {
    return [];
  }
}

function childrenRss(): number {
  let total = 0;
  for (const pid of childPids().filter((pid) => !providerPids.has(pid))) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match) total += Number(match[1]) * 1024;
    } catch {
      // exited between listing and reading
    }
  }
  return total;
}

/**
 * CPU seconds (user + system) used so far by this process, by its children (DynamoDB
 * Local), by the provider's process, and by the whole machine (all cores, /proc/stat), so a
 * phase can say how much CPU other processes took from it.
 */
export function cpuSeconds(): { self: number; children: number; provider: number; machine: number } {
  const usage = process.cpuUsage();
  let children = 0;
  let provider = 0;
  const ticks = 100; // USER_HZ on Linux
  for (const pid of childPids()) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const used = (Number(fields[11]) + Number(fields[12])) / ticks;
      if (providerPids.has(pid)) provider += used;
      else children += used;
    } catch {
      // exited
    }
  }
  return { self: (usage.user + usage.system) / 1e6, children, provider, machine: machineBusySeconds() };
}

function machineBusySeconds(): number {
  try {
    const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
    const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100;
  } catch {
    return 0;
  }
}

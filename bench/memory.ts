/**
 * Peak memory, sampled every 100 ms: this process's RSS (the whole local stack: gateway,
 * handlers, state machine runner, and the bench's request monitor and sampler) and, apart,
 * its child processes' RSS (DynamoDB Local's JVM; the provider's process and the bench's own
 * helper processes are left out, see {@link setProviderProcess} and {@link setHelperProcess}).
 * The kernel's own high-water mark of this process is reported too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

/** Child processes that stand in for the provider: not DynamoDB Local, counted apart. */
const providerPids = new Set<number>();

/** Names the child process that plays the provider, so its CPU is not DynamoDB Local's. */
export function setProviderProcess(pid: number): void {
  providerPids.add(pid);
}

/** Child processes that do the bench's own work (the baselines, reading the source items): neither the stack nor DynamoDB Local. */
const helperPids = new Set<number>();

/** Names a child process of the bench's own (baseline-process.ts, source-items-process.ts), so its CPU and memory are counted apart. */
export function setHelperProcess(pid: number): void {
  helperPids.add(pid);
}

export interface MemoryPeaks {
  /** Highest sampled RSS of this process, MB. */
  selfMb: number;
  /** Highest sampled RSS summed over child processes but the provider's and the bench's helpers (DynamoDB Local), MB. */
  childrenMb: number;
  /** The kernel's high-water mark of this process (process.resourceUsage().maxRSS), MB. */
  selfMaxRssMb: number;
  /** Highest sampled V8 heap in use (live objects and garbage not yet collected) of this process, MB. */
  heapUsedMb: number;
  /** Highest sampled memory outside the V8 heap held by JS objects (Buffers, ArrayBuffers, strings' external storage), MB. */
  externalMb: number;
  /** This process's memory at the sample of the highest RSS, MB: what the peak is made of. */
  atPeak: {
    rssMb: number;
    heapTotalMb: number;
    heapUsedMb: number;
    externalMb: number;
    arrayBuffersMb: number;
    /** V8's heap by space (new_space, old_space, large_object_space, code_space...): committed and in use, MB. */
    spaces: Record<string, { committedMb: number; usedMb: number }>;
    /** The RSS by kind (Linux /proc/self/status): anonymous memory (heaps, malloc arenas, stacks) and file-backed pages (the node binary, libraries), MB. */
    anonMb: number;
    fileMb: number;
  };
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
  const empty = () => ({ self: 0, children: 0, heapUsed: 0, external: 0, samples: 0, atPeak: process.memoryUsage(), detail: peakDetail(), timeline: [] as [number, number][] });
  let window = empty();
  const all = empty();
  const sample = () => {
    const usage = process.memoryUsage();
    const { rss: self, heapUsed, external } = usage;
    const children = childrenRss();
    let detail: ReturnType<typeof peakDetail> | undefined;
    window.timeline.push([performance.now(), self]);
    for (const peak of [window, all]) {
      if (self > peak.self) {
        peak.atPeak = usage;
        // Only at a new peak (a few times a second at most while the RSS grows): what the peak is made of.
        peak.detail = detail ??= peakDetail();
      }
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
      ...peak.detail,
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

/** V8's heap spaces and this process's RSS by kind, now. */
function peakDetail(): { spaces: Record<string, { committedMb: number; usedMb: number }>; anonMb: number; fileMb: number } {
  const spaces = Object.fromEntries(
    getHeapSpaceStatistics()
      .filter((space) => space.space_size > 0)
      .map((space) => [space.space_name, { committedMb: space.space_size / MB, usedMb: space.space_used_size / MB }]),
  );
  let anonMb = 0;
  let fileMb = 0;
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    anonMb = Number(/RssAnon:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
    fileMb = Number(/RssFile:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    // not Linux
  }
  return { spaces, anonMb, fileMb };
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
  for (const pid of childPids().filter((pid) => !providerPids.has(pid) && !helperPids.has(pid))) {
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
 * Local), by the provider's process, by the bench's helper processes (the baseline process;
 * counted while they run), and by the whole machine (all cores, /proc/stat), so a phase can
 * say how much CPU other processes took from it.
 */
export function cpuSeconds(): { self: number; children: number; provider: number; helpers: number; machine: number } {
  const usage = process.cpuUsage();
  let children = 0;
  let provider = 0;
  let helpers = 0;
  const ticks = 100; // USER_HZ on Linux
  for (const pid of childPids()) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const used = (Number(fields[11]) + Number(fields[12])) / ticks;
      if (providerPids.has(pid)) provider += used;
      else if (helperPids.has(pid)) helpers += used;
      else children += used;
    } catch {
      // exited
    }
  }
  return { self: (usage.user + usage.system) / 1e6, children, provider, helpers, machine: machineBusySeconds() };
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

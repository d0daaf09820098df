/**
 * Peak memory, sampled every 100 ms: this process's RSS (the whole local stack: gateway,
 * handlers, state machine runner, bench) and, apart, its child processes' RSS (DynamoDB
 * Local's JVM; the provider's process is left out, see {@link setProviderProcess}). The
 * kernel's own high-water mark of this process is reported too.
 */
import { readdirSync, readFileSync } from 'node:fs';

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
  let window = { self: 0, children: 0, samples: 0 };
  const all = { self: 0, children: 0, samples: 0 };
  const sample = () => {
    const self = process.memoryUsage.rss();
    const children = childrenRss();
    for (const peak of [window, all]) {
      peak.self = Math.max(peak.self, self);
      peak.children = Math.max(peak.children, children);
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
    samples: peak.samples,
  });
  return {
    mark: () => {
      sample();
      window = { self: 0, children: 0, samples: 0 };
      sample();
    },
    peaks: () => report(window),
    overall: () => report(all),
    stop: () => clearInterval(timer),
  };
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

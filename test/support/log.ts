import type { Log } from '../../functions/core/services/caller';
import type { Caller } from '../../functions/core/services/caller';

/** A log that keeps its lines, for services under test. */
export function recordingLog(): Log & { lines: { level: string; message: string; extra?: unknown }[] } {
  const lines: { level: string; message: string; extra?: unknown }[] = [];
  const record = (level: string) => (message: string, extra?: unknown) => void lines.push({ level, message, extra });
  return { lines, debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}

export function caller(tenantId: string, role: 'admin' | 'member' = 'admin'): Caller {
  return { tenantId, role, log: recordingLog() };
}

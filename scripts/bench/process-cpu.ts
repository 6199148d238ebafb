/**
 * CPU time a process has used (user + system), read from /proc: what a request costs the server
 * itself, whatever else competes for the cores. A ratio of throughputs on a shared machine moves
 * with the load; CPU per answer moves far less.
 */
import { readFileSync } from 'node:fs'

// /proc/<pid>/stat counts in clock ticks; Linux's USER_HZ is 100 on every common architecture.
const TICKS_PER_SECOND = 100

/** Seconds of CPU (user + system) `pid` has used so far, or NaN when /proc cannot tell. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    return Number.NaN
  }
}

/** Microseconds of `pid`'s CPU per answer while `work` runs. */
export async function cpuPerAnswer<T extends { requests: number }>(
  pid: number,
  work: () => Promise<T>,
): Promise<T & { cpuUsPerRequest: number }> {
  const before = cpuSecondsOf(pid)
  const result = await work()
  const used = cpuSecondsOf(pid) - before
  return { ...result, cpuUsPerRequest: result.requests > 0 ? (used * 1e6) / result.requests : Number.NaN }
}

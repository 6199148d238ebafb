/** How big the image is, how much of it the project adds over the base, and what dominates that. */
import type { HistoryEntry } from './engine.js'

/** Image sizes are reported in MB of 10^6 bytes, the unit `docker images` and `podman images` print. */
export const MB = 1_000_000

/** The project's part of the image: the history steps above the base image's own. */
export interface AddedLayers {
  bytes: number
  steps: HistoryEntry[]
}

/**
 * Steps above the base: the image's history is newest first and ends with the base's steps, so
 * everything before the last `base.length` entries was added by the Dockerfile's final stage.
 */
export function layersAboveBase(image: HistoryEntry[], base: HistoryEntry[]): AddedLayers {
  if (base.length > image.length)
    throw new Error('the base image has more history than the image built on it')
  const tail = image.slice(image.length - base.length)
  const mismatch = tail.findIndex((e, i) => e.createdBy !== base[i]?.createdBy)
  if (mismatch !== -1) throw new Error('the image was not built on this base image (histories differ)')
  const steps = image.slice(0, image.length - base.length)
  return { bytes: steps.reduce((sum, s) => sum + s.size, 0), steps }
}

/** A size for people: "123.4 MB". */
export function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`
}

/** A history step as a short label: the instruction without the shell wrapper podman/docker add. */
export function stepLabel(createdBy: string, width = 90): string {
  const text = createdBy
    .replace(/^\/bin\/sh -c #\(nop\)\s*/, '')
    .replace(/^\|\d+ [^ ]+=\S+( [^ ]+=\S+)* /, '')
    .replace(/^\/bin\/sh -c /, 'RUN ')
    // Content hashes say nothing to a reader; the destination does.
    .replace(/\b(dir|file):[0-9a-f]{64}/g, '$1')
    .replace(/\s+/g, ' ')
    .trim()
  return text.length > width ? `${text.slice(0, width - 1)}…` : text
}

/** Parses `du -sb` output into entries, largest first. */
export function parseDu(output: string): { path: string; bytes: number }[] {
  return output
    .split('\n')
    .map((line) => /^(\d+)\s+(.+)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ bytes: Number(m[1]), path: m[2] ?? '' }))
    .sort((a, b) => b.bytes - a.bytes)
}

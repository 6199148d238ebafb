/** The container engine that builds the image: Docker where an engine answers, else Debian's podman. */
import { run, succeeds, which } from './exec.js'

/** A container engine's command-line client. */
export interface Engine {
  name: 'docker' | 'podman'
  bin: string
}

/** What the image says about how to run it (`image inspect`), the parts a runtime obeys. */
export interface ImageConfig {
  id: string
  /** Uncompressed size of all layers, bytes. */
  size: number
  layers: string[]
  user: string
  env: string[]
  workdir: string
  entrypoint: string[]
  cmd: string[]
  stopSignal: string | undefined
  /** HEALTHCHECK test as Docker stores it (["CMD", ...] or ["CMD-SHELL", "..."]); empty when none. */
  healthcheck: string[]
}

/** One entry of `image history`, newest first; `size` is 0 for metadata-only steps. */
export interface HistoryEntry {
  createdBy: string
  size: number
}

/** IMAGE_TEST_ENGINE=docker|podman forces one; otherwise Docker when `docker info` succeeds. */
export function detectEngine(forced = process.env.IMAGE_TEST_ENGINE): Engine {
  if (forced && forced !== 'docker' && forced !== 'podman') {
    throw new Error(`IMAGE_TEST_ENGINE must be docker or podman (got "${forced}")`)
  }
  const docker = which('docker')
  const podman = which('podman')
  if (forced === 'docker' || (!forced && docker && succeeds(docker, ['info']))) {
    if (!docker) throw new Error('IMAGE_TEST_ENGINE=docker but there is no docker client')
    return { name: 'docker', bin: docker }
  }
  if (!podman) {
    throw new Error(
      'no Docker engine answers and podman is not installed (apt-get install podman debootstrap)',
    )
  }
  return { name: 'podman', bin: podman }
}

/** Reads an image's run configuration. */
export async function inspectImage(engine: Engine, ref: string): Promise<ImageConfig> {
  const { stdout } = await run(engine.bin, ['image', 'inspect', ref], { timeoutMs: 60_000 })
  const [raw] = JSON.parse(stdout) as RawInspect[]
  if (!raw) throw new Error(`image inspect ${ref} returned nothing`)
  const config = raw.Config ?? {}
  return {
    id: raw.Id,
    size: Number(raw.Size),
    layers: raw.RootFS?.Layers ?? [],
    user: config.User ?? '',
    env: config.Env ?? [],
    workdir: config.WorkingDir || '/',
    entrypoint: config.Entrypoint ?? [],
    cmd: config.Cmd ?? [],
    stopSignal: config.StopSignal || undefined,
    // podman keeps it beside Config, docker inside it.
    healthcheck: (raw.Healthcheck ?? config.Healthcheck)?.Test ?? [],
  }
}

interface RawInspect {
  Id: string
  Size: number | string
  RootFS?: { Layers?: string[] }
  Healthcheck?: { Test?: string[] }
  Config?: {
    User?: string
    Env?: string[]
    WorkingDir?: string
    Entrypoint?: string[] | null
    Cmd?: string[] | null
    StopSignal?: string
    Healthcheck?: { Test?: string[] }
  }
}

/** The image's build history, newest step first, sizes in bytes. */
export async function imageHistory(engine: Engine, ref: string): Promise<HistoryEntry[]> {
  // podman prints one JSON array with numeric sizes; docker one object per line, sizes as strings.
  const args =
    engine.name === 'podman'
      ? ['history', '--no-trunc', '--format', 'json', ref]
      : ['history', '--no-trunc', '--human=false', '--format', '{{json .}}', ref]
  const { stdout } = await run(engine.bin, args, { timeoutMs: 60_000 })
  const text = stdout.trim()
  const rows: Record<string, unknown>[] = text.startsWith('[')
    ? JSON.parse(text)
    : text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
  return rows.map((r) => ({
    createdBy: String(r.CreatedBy ?? r.createdBy ?? ''),
    size: Number(r.size ?? r.Size ?? 0) || 0,
  }))
}

/** True when the engine has an image under this reference. */
export async function imageExists(engine: Engine, ref: string): Promise<boolean> {
  const result = await run(engine.bin, ['image', 'inspect', '--format', '{{.Id}}', ref], {
    timeoutMs: 60_000,
    allowFailure: true,
  })
  return result.code === 0
}

/** Removes an image by id, quietly: it may still be in use by a tag or another build's cache. */
export async function removeImageQuietly(engine: Engine, id: string): Promise<void> {
  await run(engine.bin, ['rmi', id], { timeoutMs: 60_000, allowFailure: true })
}

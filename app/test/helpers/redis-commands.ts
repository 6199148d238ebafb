/** Watches the Redis commands an app sends on its main client. */
import type { FastifyInstance } from 'fastify'

/** A command as ioredis hands it to `sendCommand`. */
export interface SentCommand {
  name: string
  args: unknown[]
}

/** The commands `app` sends on `app.redis` while `work` runs. */
export async function redisCommandsDuring(
  app: FastifyInstance,
  work: () => Promise<unknown>,
): Promise<SentCommand[]> {
  const redis = app.redis as unknown as { sendCommand: (...args: unknown[]) => unknown }
  const original = redis.sendCommand
  const sent: SentCommand[] = []
  redis.sendCommand = function (this: unknown, ...args: unknown[]) {
    const command = args[0] as { name?: string; args?: unknown[] }
    sent.push({ name: String(command.name), args: command.args ?? [] })
    return original.apply(this, args)
  }
  try {
    await work()
  } finally {
    redis.sendCommand = original
  }
  return sent
}

/** Whether a command runs a Lua script (the session check is one). */
export const isScript = (command: SentCommand) => command.name === 'evalsha' || command.name === 'eval'

/** Whether a command pushes a notification (the relay's, on the user's channel: background work). */
export const isPush = (command: SentCommand) =>
  command.name === 'publish' || command.args.some((arg) => String(arg).includes('notify:'))

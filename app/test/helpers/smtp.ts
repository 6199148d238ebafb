/** A real SMTP server in-process (the `smtp-server` package): the mail sink the lifecycle tests read. */
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'

/** One received mail, raw and with quoted-printable soft breaks undone. */
export interface ReceivedMail {
  to: string[]
  raw: string
  /** The raw message with quoted-printable decoded (good enough to find links and text). */
  decoded: string
}

const decodeQuotedPrintable = (s: string) =>
  s
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))

/** Starts a sink on a free port; `url` goes into SMTP_URL. */
export async function startSmtpSink() {
  const mails: ReceivedMail[] = []
  const waiters: (() => void)[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        mails.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          decoded: decodeQuotedPrintable(raw),
        })
        for (const wake of waiters.splice(0)) wake()
        done()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.server.address() as AddressInfo
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    /** The next mail to `to` (with `subject`, if given) after `since` mails, waiting up to `timeoutMs`. */
    async next(to: string, since: number, subject?: string, timeoutMs = 5000): Promise<ReceivedMail> {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = mails
          .slice(since)
          .find((m) => m.to.includes(to) && (!subject || m.raw.includes(`Subject: ${subject}`)))
        if (found) return found
        if (Date.now() > deadline) throw new Error(`no mail to ${to} within ${timeoutMs} ms`)
        await new Promise<void>((resolve) => {
          waiters.push(resolve)
          setTimeout(resolve, 100)
        })
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** The token of the first `#token=` link in a mail. */
export function tokenIn(mail: ReceivedMail): string {
  const match = /#token=([A-Za-z0-9_-]+)/.exec(mail.decoded)
  if (!match?.[1]) throw new Error(`no token link in mail:\n${mail.decoded}`)
  return match[1]
}

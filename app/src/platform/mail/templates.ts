/** Mail templates: every mail in plain text and HTML, with user-supplied values escaped in the HTML. */

/** A mail ready to send. */
export interface RenderedMail {
  subject: string
  text: string
  html: string
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  )

function layout(title: string, paragraphs: string[], link?: { url: string; label: string }): string {
  const body = paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family: sans-serif; line-height: 1.5">
<h1 style="font-size: 1.25em">${escapeHtml(title)}</h1>
${body}
${link ? `<p><a href="${escapeHtml(link.url)}">${escapeHtml(link.label)}</a></p>` : ''}
</body></html>
`
}

/** The password reset mail: a single-use link that expires. */
export function passwordResetMail(name: string, url: string, ttlMinutes: number): RenderedMail {
  const subject = 'Reset your password'
  const lines = [
    `Hello ${name},`,
    `Someone asked to reset the password of your account. The link works once, for ${ttlMinutes} minutes.`,
    'If it was not you, ignore this mail: your password stays as it is.',
  ]
  return {
    subject,
    text: `${lines.join('\n\n')}\n\n${url}\n`,
    html: layout(subject, lines, { url, label: 'Choose a new password' }),
  }
}

/** The email verification mail, sent at registration and when the address changes. */
export function verifyEmailMail(name: string, url: string, ttlHours: number): RenderedMail {
  const subject = 'Confirm your email address'
  const lines = [
    `Hello ${name},`,
    `Please confirm that this address belongs to you. The link works once, for ${ttlHours} hours.`,
    'If you did not ask for this, ignore this mail.',
  ]
  return {
    subject,
    text: `${lines.join('\n\n')}\n\n${url}\n`,
    html: layout(subject, lines, { url, label: 'Confirm my email address' }),
  }
}

/** Sent to the previous address once an email change is confirmed. */
export function emailChangedMail(name: string, newEmail: string): RenderedMail {
  const subject = 'Your email address was changed'
  const lines = [
    `Hello ${name},`,
    `The email address of your account is now ${newEmail}; this address no longer receives its mail.`,
    'If you did not make this change, contact support at once.',
  ]
  return { subject, text: `${lines.join('\n\n')}\n`, html: layout(subject, lines) }
}

/** A change to the account's two-factor authentication, as `mfaChangedMail` reports it. */
export type MfaChange = 'enabled' | 'disabled' | 'recovery-codes' | 'recovery-code-used' | 'code-failures'

const MFA_CHANGES: Record<MfaChange, { subject: string; line: string }> = {
  enabled: {
    subject: 'Two-factor authentication is on',
    line: 'Signing in to your account now needs a code from your authenticator app as well as your password.',
  },
  disabled: {
    subject: 'Two-factor authentication was turned off',
    line: 'Signing in to your account needs only your password again.',
  },
  'recovery-codes': {
    subject: 'New recovery codes were created',
    line: 'New recovery codes were created for your account; the previous ones no longer work.',
  },
  'recovery-code-used': {
    subject: 'A recovery code was used',
    line: 'One of your recovery codes was used on your account, to sign in or to confirm a sensitive change (email, password, two-factor settings or erasure); that code no longer works.',
  },
  'code-failures': {
    subject: 'Your password was used but the code was wrong',
    line: 'Someone signed in with your password, then entered many wrong two-factor codes. Until tomorrow, signing in needs a recovery code (or a password reset).',
  },
}

/** Sent after every change to two-factor authentication (the owner may not have made it). */
export function mfaChangedMail(name: string, change: MfaChange): RenderedMail {
  const { subject, line } = MFA_CHANGES[change]
  const lines = [
    `Hello ${name},`,
    line,
    'Every other session of your account was signed out.',
    'If you did not do this, reset your password at once and contact support.',
  ]
  // Nothing changed in the account's sessions for these two.
  if (change === 'recovery-code-used' || change === 'code-failures') lines.splice(2, 1)
  return { subject, text: `${lines.join('\n\n')}\n`, html: layout(subject, lines) }
}

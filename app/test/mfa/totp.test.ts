import { expect } from 'chai'
import {
  base32Decode,
  base32Encode,
  hotp,
  matchingStep,
  otpauthUri,
  type TotpParams,
  totp,
} from '../../src/features/mfa/totp.js'

// RFC 6238 Appendix B: the seeds are the ASCII digits repeated to the HMAC's key length.
const SEEDS = {
  sha1: Buffer.from('12345678901234567890'),
  sha256: Buffer.from('12345678901234567890123456789012'),
  sha512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234'),
}
const VECTORS: [number, string, keyof typeof SEEDS][] = [
  [59, '94287082', 'sha1'],
  [59, '46119246', 'sha256'],
  [59, '90693936', 'sha512'],
  [1111111109, '07081804', 'sha1'],
  [1111111109, '68084774', 'sha256'],
  [1111111109, '25091201', 'sha512'],
  [1111111111, '14050471', 'sha1'],
  [1111111111, '67062674', 'sha256'],
  [1111111111, '99943326', 'sha512'],
  [1234567890, '89005924', 'sha1'],
  [1234567890, '91819424', 'sha256'],
  [1234567890, '93441116', 'sha512'],
  [2000000000, '69279037', 'sha1'],
  [2000000000, '90698825', 'sha256'],
  [2000000000, '38618901', 'sha512'],
  [20000000000, '65353130', 'sha1'],
  [20000000000, '77737706', 'sha256'],
  [20000000000, '47863826', 'sha512'],
]

describe('TOTP (RFC 6238)', () => {
  it('gives every test vector of RFC 6238 Appendix B', () => {
    for (const [seconds, expected, algorithm] of VECTORS) {
      const params: TotpParams = { algorithm, digits: 8, periodSeconds: 30 }
      expect(totp(SEEDS[algorithm], seconds * 1000, params), `${algorithm} at ${seconds}`).to.equal(expected)
    }
  })

  it('gives the HOTP values of RFC 4226 Appendix D (6 digits)', () => {
    const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583']
    expected.forEach((code, counter) => {
      expect(hotp(SEEDS.sha1, counter)).to.equal(code)
    })
  })

  it('accepts the current step and one either side, nothing further', () => {
    const at = 1_111_111_109_000
    const step = Math.floor(at / 30_000)
    for (const drift of [-1, 0, 1]) {
      expect(matchingStep(SEEDS.sha1, hotp(SEEDS.sha1, step + drift), at)).to.equal(step + drift)
    }
    for (const drift of [-2, 2]) {
      expect(matchingStep(SEEDS.sha1, hotp(SEEDS.sha1, step + drift), at)).to.equal(undefined)
    }
    expect(matchingStep(SEEDS.sha1, '12345', at)).to.equal(undefined)
    expect(matchingStep(SEEDS.sha1, 'abcdef', at)).to.equal(undefined)
  })

  it('round-trips base32 (RFC 4648 test vectors) and builds an otpauth URI', () => {
    expect(base32Encode(Buffer.from('foobar'))).to.equal('MZXW6YTBOI')
    expect(base32Encode(Buffer.from('f'))).to.equal('MY')
    expect(base32Decode('mzxw6ytboi').toString()).to.equal('foobar')
    expect(base32Decode(base32Encode(SEEDS.sha1)).equals(SEEDS.sha1)).to.equal(true)
    const uri = new URL(otpauthUri(SEEDS.sha1, 'Blueprint', 'a@example.com'))
    expect(uri.protocol).to.equal('otpauth:')
    expect(uri.searchParams.get('secret')).to.equal('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ')
    expect(uri.searchParams.get('issuer')).to.equal('Blueprint')
    expect(uri.host).to.equal('totp')
    expect(decodeURIComponent(uri.pathname)).to.equal('/Blueprint:a@example.com')
  })
})

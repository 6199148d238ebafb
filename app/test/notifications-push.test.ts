import { expect } from 'chai'
import { pushBatch } from '../src/features/notifications/push.js'
import type { RelayedNotification } from '../src/features/notifications/relay.js'

const item = (userId: string, type: string): RelayedNotification => ({
  userId,
  type,
  message: JSON.stringify({ userId, type }),
})

describe('notifications: pushing a relay run', () => {
  it('invalidates each user’s reports once per run, before pushing their money events', async () => {
    const order: string[] = []
    const failed = await pushBatch(
      [
        item('a', 'transfer.out'),
        item('b', 'transfer.in'),
        item('a', 'withdrawal.completed'),
        item('a', 'security.login'),
      ],
      { publishJson: async (userId, json) => void order.push(`push ${userId} ${JSON.parse(json).type}`) },
      async (userId) => void order.push(`invalidate ${userId}`),
    )
    expect(failed).to.equal(0)
    expect(order.filter((o) => o.startsWith('invalidate')).sort()).to.deep.equal([
      'invalidate a',
      'invalidate b',
    ])
    for (const push of ['push a transfer.out', 'push a withdrawal.completed']) {
      expect(order.indexOf(push)).to.be.greaterThan(order.indexOf('invalidate a'))
    }
    expect(order.indexOf('push b transfer.in')).to.be.greaterThan(order.indexOf('invalidate b'))
    expect(order).to.include('push a security.login')
  })

  it('still pushes the events of a user whose invalidation failed (nothing would send them later)', async () => {
    const pushed: string[] = []
    const failed = await pushBatch(
      [item('a', 'security.login'), item('a', 'transfer.out'), item('b', 'transfer.in')],
      { publishJson: async (userId, json) => void pushed.push(`${userId} ${JSON.parse(json).type}`) },
      async (userId) => {
        if (userId === 'a') throw new Error('redis away')
      },
    )
    expect(failed).to.equal(0)
    expect(pushed.sort()).to.deep.equal(['a security.login', 'a transfer.out', 'b transfer.in'])
  })

  it('sends each user’s events in the order of the run', async () => {
    const sent: string[] = []
    const batch = [1, 2, 3, 4, 5, 6].map((n) => ({
      ...item(n % 2 ? 'a' : 'b', n % 3 ? 'transfer.in' : 'security.login'),
      message: String(n),
    }))
    await pushBatch(
      batch,
      { publishJson: async (userId, json) => void sent.push(`${userId}${json}`) },
      async (userId) => {
        // b's invalidation is slow: a's events go meanwhile, b's keep their own order.
        if (userId === 'b') await new Promise((resolve) => setTimeout(resolve, 20))
      },
    )
    expect(sent.filter((s) => s.startsWith('a'))).to.deep.equal(['a1', 'a3', 'a5'])
    expect(sent.filter((s) => s.startsWith('b'))).to.deep.equal(['b2', 'b4', 'b6'])
  })

  it('counts a push that failed', async () => {
    const failed = await pushBatch(
      [item('a', 'security.login'), item('b', 'security.login')],
      {
        publishJson: async (userId) => {
          if (userId === 'b') throw new Error('redis away')
        },
      },
      async () => {},
    )
    expect(failed).to.equal(1)
  })
})

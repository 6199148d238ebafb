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

  it('holds back the money events of a user whose invalidation failed and counts them; the rest go', async () => {
    const pushed: string[] = []
    const failed = await pushBatch(
      [item('a', 'transfer.out'), item('b', 'transfer.in'), item('a', 'security.login')],
      { publishJson: async (userId, json) => void pushed.push(`${userId} ${JSON.parse(json).type}`) },
      async (userId) => {
        if (userId === 'a') throw new Error('redis away')
      },
    )
    expect(failed).to.equal(1)
    expect(pushed.sort()).to.deep.equal(['a security.login', 'b transfer.in'])
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

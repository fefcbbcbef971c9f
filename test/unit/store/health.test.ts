import { describe, expect, it } from 'vitest'
import { createTestStore } from '../../utils/store.js'

describe('store: health', () => {
  it('reads the database for the first probe, then answers at once (no promise) for the next second', async () => {
    const { store, close } = await createTestStore()
    try {
      const first = store.checkHealth()
      expect(first).toBeInstanceOf(Promise)
      await first
      expect(store.checkHealth()).toBeUndefined()
      expect(store.checkHealth()).toBeUndefined()
    } finally {
      await close()
    }
  })
})

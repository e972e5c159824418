import { createI18n } from 'vue-i18n'
import { describe, expect, it } from 'vitest'
import { messages } from '../src/messages'

type Tree = { [key: string]: string | Tree }

function keys(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) => (typeof value === 'string' ? [`${prefix}${key}`] : keys(value, `${prefix}${key}.`)))
}

// Every placeholder any message uses, so each one formats completely.
const params = new Proxy({} as Record<string, string>, { get: (_, name) => `<${String(name)}>`, has: () => true })

describe('messages', () => {
  for (const lang of ['zh-CN', 'en'] as const) {
    it(`every ${lang} text compiles and formats (a stray @ or | is syntax in vue-i18n)`, () => {
      const errors: unknown[] = []
      const i18n = createI18n({ legacy: false, locale: lang, messages, missingWarn: false, fallbackWarn: false, warnHtmlMessage: false })
      const all = keys(messages[lang] as unknown as Tree)
      expect(all.length).toBeGreaterThan(100)
      for (const key of all) {
        try {
          const text = i18n.global.t(key, params)
          if (text === key) errors.push(`${key}: missing`)
        } catch (exc) {
          errors.push(`${key}: ${String(exc)}`)
        }
      }
      expect(errors).toEqual([])
    })
  }

  it('a fill reads with its @ price', () => {
    const i18n = createI18n({ legacy: false, locale: 'zh-CN', messages })
    const fill = { side: '买入', code: 'sz000001', qty: '400', price: '10.85' }
    expect(i18n.global.t('notify.fill', fill)).toBe('成交 买入 sz000001 400 股 @ 10.85')
    i18n.global.locale.value = 'en'
    expect(i18n.global.t('notify.fill', { ...fill, side: 'buy' })).toBe('Fill buy sz000001 400 @ 10.85')
  })
})

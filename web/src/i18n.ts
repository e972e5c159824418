/** Chinese first, English one click away; the choice is remembered in localStorage. */
import { createI18n } from 'vue-i18n'
import type { Lang } from './format'
import { messages } from './messages'

export const LANG_KEY = 'aigupiao.lang'

export function savedLang(): Lang {
  try {
    return localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh-CN'
  } catch {
    return 'zh-CN'
  }
}

export const i18n = createI18n({
  legacy: false,
  locale: savedLang(),
  fallbackLocale: 'zh-CN',
  messages,
})

export function setLang(lang: Lang): void {
  i18n.global.locale.value = lang
  try {
    localStorage.setItem(LANG_KEY, lang)
  } catch {
    // private mode: the choice lasts for this page only
  }
  document.documentElement.lang = lang
}

export function currentLang(): Lang {
  return i18n.global.locale.value === 'en' ? 'en' : 'zh-CN'
}

/** The server's message in the reader's language. */
export function localMessage(detail: { message?: string | null; message_en?: string | null }): string {
  const zh = detail.message ?? ''
  const en = detail.message_en ?? ''
  return currentLang() === 'en' ? en || zh : zh || en
}
